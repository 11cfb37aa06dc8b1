/**
 * An ONNX CNN classifier (what `torch.onnx.export` writes for torchvision-style models) as a functional
 * TF.js model in channels-last layout, so that everything after loading — taps, heads, the ONNX Runtime
 * engine, every method and explorer, the TF.js fallback — treats it like any Keras or TF.js model.
 *
 * How ONNX values live in the TF.js graph (`Val`):
 * - a constant (initializers, Constant nodes and the shape arithmetic around Reshape / Pad, folded at
 *   load time: every shape is known once the input size is);
 * - 'nchw': an [N, C, H, W] activation, held as TF.js' [N, H, W, C];
 * - 'nc11': an [N, C, 1, 1] activation (global pooling, squeeze-excitation), held as [N, C]: 1×1
 *   convolutions on it are Dense layers, and the CAM family sees a pooling head as in Keras;
 * - 'flat': [N, F]. A flattened feature map is in TF.js' H, W, C order while PyTorch flattens C, H, W:
 *   the value carries the permutation, and the Dense (Gemm / MatMul) that reads it takes its weight rows
 *   in TF.js' order — the same numbers with no extra layer.
 *
 * Layer names keep PyTorch's module paths where the exporter kept them in node names
 * (`/layer4/layer4.1/relu_1/Relu` → `layer4.1.relu_1`); a module's path (`layer4`, `features.8`) names
 * the last layer inside it, the ONNX node and output names name the node's layer too (aliases).
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { CnnvisError, listChoices } from '../../errors';
import { registerAliases } from '../flatten';
import '../layerClasses';
import { binary, concat, constOf, gather, normAxis, reshapeDims, slice, squeezeDims, transpose, unsqueezeDims } from './consts';
import { ConstTensor, tensorValues, toNum, typeName } from './read';

type Sym = tf.SymbolicTensor;
type Layout = 'nchw' | 'nc11' | 'flat';

interface SymVal {
  kind: 'sym';
  t: Sym;
  layout: Layout;
  /** For 'flat' / 'nc11': ONNX feature index of each TF.js feature (absent: the same order). */
  perm?: number[];
  /** Known ≥ 0 (after a ReLU): max pooling may then pad with zeros. */
  nonneg?: boolean;
}
interface ConstVal {
  kind: 'const';
  c: ConstTensor;
}
type Val = SymVal | ConstVal;

/** The ops the importer converts (constant-only ops are folded; see consts.ts). */
export const SUPPORTED_ONNX_OPS = [
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Mul', 'Add',
  'Concat', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'Flatten', 'Reshape', 'Squeeze',
  'Unsqueeze', 'Gemm', 'MatMul', 'Softmax', 'Dropout', 'Identity', 'Constant', 'Pad',
  // on constants only (shape arithmetic):
  'Shape', 'Gather', 'Slice', 'Transpose', 'Cast', 'ConstantOfShape', 'Sub', 'Div',
];
const CONST_ONLY = new Set(['Shape', 'Gather', 'Slice', 'Transpose', 'Cast', 'ConstantOfShape', 'Sub', 'Div', 'Constant']);
const PASS_THROUGH = new Set(['Identity', 'Dropout']);

export interface OnnxImport {
  net: tf.LayersModel;
  /** Module paths, ONNX node and output names → TF.js layer names. */
  aliases: Map<string, string>;
  /** The graph input's name and [C, H, W]. */
  input: { name: string; shape: [number, number, number] };
  producer: string;
  opset: number;
}

/** A TF.js-valid layer name from free text. */
function sanitize(s: string): string {
  let n = s.replace(/[^A-Za-z0-9._\-/]/g, '_').replace(/\//g, '.');
  n = n.replace(/^[^A-Za-z0-9]+/, '');
  return n || 'layer';
}

/** PyTorch's module path from an exporter's node name: '/layer4/layer4.1/relu_1/Relu' → ['layer4', 'layer4.1', 'layer4.1.relu_1']. */
export function modulePaths(nodeName: string): string[] {
  if (!nodeName.startsWith('/')) return [];
  const segs = nodeName.split('/').filter(Boolean).slice(0, -1);
  const out: string[] = [];
  for (const s of segs) {
    const prev = out[out.length - 1];
    out.push(prev === undefined || s.startsWith(`${prev}.`) ? s : `${prev}.${s}`);
  }
  return out;
}

class Converter {
  private readonly vals = new Map<string, Val>();
  private readonly used = new Set<string>();
  private readonly g: onnx.IGraphProto;
  /** Number of nodes reading each value (for folding a bias Add into its MatMul). */
  private readonly readers = new Map<string, number>();
  /** Dense layers made from a MatMul without bias, by output name. */
  private readonly matmulDense = new Map<string, tf.layers.Layer>();
  /** Per node index: the layer name its last layer takes. */
  private nodeNames: string[] = [];
  /** TF.js layer of each node (the last one it created), for aliases. */
  readonly nodeLayer = new Map<number, string>();
  private node!: onnx.INodeProto;
  private nodeIndex = 0;
  private pendingWeights: Array<{ layer: tf.layers.Layer; weights: Array<{ dims: number[]; data: Float32Array }> }> = [];

  constructor(
    private readonly model: onnx.ModelProto,
    private readonly dir: string,
    private readonly label: string,
    private readonly opset: number,
  ) {
    this.g = model.graph as onnx.IGraphProto;
  }

  private fail(msg: string): never {
    throw new CnnvisError(`${this.label}: node '${this.node?.name || this.node?.opType}' (${this.node?.opType}): ${msg}`);
  }

  private unsupported(what: string): never {
    this.fail(`${what} is not supported; cnnvis converts ${SUPPORTED_ONNX_OPS.slice(0, -8).join(', ')} (for the layouts of torchvision-style CNNs)`);
  }

  // ---- attributes and inputs -------------------------------------------------------------------

  private attr(name: string): onnx.IAttributeProto | undefined {
    return this.node.attribute?.find((a) => a.name === name);
  }
  private ints(name: string, dflt: number[]): number[] {
    const a = this.attr(name);
    return a ? (a.ints ?? []).map(toNum) : dflt;
  }
  private int(name: string, dflt: number): number {
    const a = this.attr(name);
    return a ? toNum(a.i) : dflt;
  }
  private float(name: string, dflt: number): number {
    const a = this.attr(name);
    return a ? (a.f ?? dflt) : dflt;
  }
  private str(name: string, dflt: string): string {
    const a = this.attr(name);
    return a?.s ? Buffer.from(a.s).toString('utf8') : dflt;
  }

  private val(i: number): Val | undefined {
    const name = this.node.input?.[i];
    if (!name) return undefined;
    const v = this.vals.get(name);
    if (!v) this.fail(`input '${name}' is produced by no earlier node and is no weight: the file is incomplete or its nodes are out of order`);
    return v;
  }
  private sym(i: number): SymVal {
    const v = this.val(i);
    if (!v || v.kind !== 'sym') this.fail(`input ${i} must be an activation, not a constant`);
    return v;
  }
  private konst(i: number, what: string): ConstTensor {
    const v = this.val(i);
    if (!v || v.kind !== 'const') this.fail(`its ${what} (input ${i}) must be a constant`);
    return v.c;
  }
  private numbers(i: number): number[] | undefined {
    const v = this.val(i);
    if (!v) return undefined;
    if (v.kind !== 'const') this.fail(`input ${i} must be a constant`);
    return Array.from(v.c.data);
  }

  private out(v: Val, k = 0): void {
    const name = this.node.output?.[k];
    if (name) this.vals.set(name, v);
  }

  /** ONNX shape of a value. */
  private shape(v: Val): number[] {
    if (v.kind === 'const') return v.c.dims;
    const s = v.t.shape.map((d) => d ?? 1);
    if (v.layout === 'nchw') return [s[0], s[3], s[1], s[2]];
    if (v.layout === 'nc11') return [s[0], s[1], 1, 1];
    return s;
  }

  // ---- layers --------------------------------------------------------------------------------

  private name(suffix = ''): string {
    let base = this.nodeNames[this.nodeIndex] + suffix;
    let k = 1;
    while (this.used.has(base)) base = `${this.nodeNames[this.nodeIndex]}${suffix}_${k++}`;
    this.used.add(base);
    return base;
  }

  /** Applies a layer (named after the current node; `suffix` for helper layers) and queues its weights. */
  private apply(layer: tf.layers.Layer, inputs: Sym | Sym[], weights?: Array<{ dims: number[]; data: Float32Array }>): Sym {
    const y = layer.apply(inputs) as Sym;
    if (weights) this.pendingWeights.push({ layer, weights });
    this.nodeLayer.set(this.nodeIndex, layer.name);
    return y;
  }

  private symOut(t: Sym, layout: Layout, extra: Partial<SymVal> = {}): void {
    this.out({ kind: 'sym', t, layout, ...extra });
  }

  /** An nc11 / flat value in ONNX feature order as [N, F] (a permutation Dense when it is not). */
  private ordered(v: SymVal): Sym {
    if (!v.perm) return v.t;
    const F = v.perm.length;
    const k = new Float32Array(F * F);
    v.perm.forEach((onnxIdx, j) => (k[j * F + onnxIdx] = 1));
    return this.apply(tf.layers.dense({ units: F, useBias: false, kernelInitializer: 'zeros', name: this.name('_order') }), v.t, [{ dims: [F, F], data: k }]);
  }

  /** An activation as NHWC [N, H, W, C] (an nc11 value becomes [N, 1, 1, C]). */
  private nhwc(v: SymVal): Sym {
    if (v.layout === 'nchw') return v.t;
    if (v.layout === 'nc11') {
      const t = this.ordered(v);
      return this.apply(tf.layers.reshape({ targetShape: [1, 1, t.shape[1] as number], name: this.name('_4d') }), t);
    }
    return this.fail('needs a 4-d activation [N, C, H, W], got a 2-d one');
  }

  // ---- conversion ---------------------------------------------------------------------------

  convert(modelName: string, size?: [number, number]): OnnxImport {
    const g = this.g;
    for (const init of g.initializer ?? []) this.vals.set(init.name as string, { kind: 'const', c: tensorValues(init, this.dir, this.label) });
    const inits = new Set((g.initializer ?? []).map((t) => t.name));
    const inputs = (g.input ?? []).filter((i) => !inits.has(i.name));
    if (inputs.length !== 1) {
      throw new CnnvisError(`${this.label} has ${inputs.length} inputs (${inputs.map((i) => `'${i.name}'`).join(', ')}); cnnvis explains models with one image input [N, C, H, W]`);
    }
    const inp = inputs[0];
    const dims = (inp.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== null && d.dimValue !== undefined && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : null));
    const elem = inp.type?.tensorType?.elemType ?? 0;
    if (dims.length !== 4 || elem !== onnx.TensorProto.DataType.FLOAT) {
      throw new CnnvisError(`${this.label} takes '${inp.name}' of shape [${dims.map((d) => d ?? '?').join(', ')}] (${typeName(elem)}); cnnvis explains image classifiers with an input [N, C, H, W] of floats`);
    }
    const C = dims[1];
    if (C !== 1 && C !== 3) throw new CnnvisError(`${this.label} takes ${C ?? 'an unknown number of'} input channels; cnnvis supports RGB (3) or grayscale (1) images`);
    const H = dims[2] ?? size?.[0] ?? 224;
    const W = dims[3] ?? size?.[1] ?? 224;
    const inputName = sanitize(inp.name as string);
    this.used.add(inputName);
    const x = tf.input({ shape: [H, W, C], name: inputName });
    this.vals.set(inp.name as string, { kind: 'sym', t: x, layout: 'nchw' });

    const nodes = g.node ?? [];
    this.planNames(nodes, new Set([inp.name as string, ...[...inits].map(String)]));
    for (const n of nodes) for (const i of n.input ?? []) if (i) this.readers.set(i, (this.readers.get(i) ?? 0) + 1);
    nodes.forEach((n, i) => {
      this.node = n;
      this.nodeIndex = i;
      this.convertNode(n);
    });
    const outs = g.output ?? [];
    if (!outs.length) throw new CnnvisError(`${this.label} has no graph output`);
    const outVal = this.vals.get(outs[0].name as string);
    if (!outVal || outVal.kind !== 'sym') throw new CnnvisError(`${this.label}: the output '${outs[0].name}' is not computed from the input`);
    this.node = { name: outs[0].name, opType: 'output' };
    this.nodeIndex = nodes.length;
    this.nodeNames[nodes.length] = 'output';
    const y = outVal.layout === 'nchw' ? outVal.t : this.ordered(outVal);
    const net = tf.model({ inputs: x, outputs: y, name: sanitize(modelName) });
    for (const { layer, weights } of this.pendingWeights) {
      const ts = weights.map((w) => tf.tensor(w.data, w.dims));
      layer.setWeights(ts);
      tf.dispose(ts);
    }
    this.pendingWeights = [];
    return {
      net,
      aliases: this.aliases(nodes, net),
      input: { name: inp.name as string, shape: [C, H, W] },
      producer: `${this.model.producerName ?? ''} ${this.model.producerVersion ?? ''}`.trim(),
      opset: this.opset,
    };
  }

  /**
   * A name for each node's (last) layer: a module path names the last layer-making node inside it; other
   * nodes are `<module>.<node>` ('layer1.0.add'), or the node's own name without a module.
   */
  private planNames(nodes: onnx.INodeProto[], symbolic: Set<string>): void {
    const inits = new Set((this.g.initializer ?? []).map((t) => t.name as string));
    const isSym = new Set<string>([...symbolic].filter((s) => !inits.has(s)));
    const makesLayer = nodes.map((n) => {
      const sym = (n.input ?? []).some((i) => isSym.has(i));
      if (sym && n.opType !== 'Shape') for (const o of n.output ?? []) isSym.add(o);
      return sym && !CONST_ONLY.has(n.opType as string) && !PASS_THROUGH.has(n.opType as string);
    });
    const last = new Map<string, number>();
    nodes.forEach((n, i) => {
      if (makesLayer[i]) for (const p of modulePaths(n.name ?? '')) last.set(p, i);
    });
    this.nodeNames = nodes.map((n, i) => {
      const paths = modulePaths(n.name ?? '');
      const own = paths[paths.length - 1];
      if (own && last.get(own) === i) return sanitize(own);
      const leaf = (n.name ?? '').split('/').filter(Boolean).pop() ?? '';
      const tail = (leaf || `${n.opType}_${i}`).toLowerCase();
      return sanitize(own ? `${own}.${tail}` : tail);
    });
  }

  private aliases(nodes: onnx.INodeProto[], net: tf.LayersModel): Map<string, string> {
    const names = new Set(net.layers.map((l) => l.name));
    const aliases = new Map<string, string>();
    const set = (k: string, v: string) => {
      if (k && !names.has(k)) aliases.set(k, v);
    };
    nodes.forEach((n, i) => {
      const layer = this.nodeLayer.get(i);
      if (!layer) return;
      for (const p of modulePaths(n.name ?? '')) set(p, layer); // later nodes overwrite: the module's last layer
    });
    nodes.forEach((n, i) => {
      const layer = this.nodeLayer.get(i);
      if (!layer) return;
      if (n.name) set(n.name, layer);
      for (const o of n.output ?? []) set(o, layer);
    });
    return aliases;
  }

  private convertNode(n: onnx.INodeProto): void {
    const op = n.opType as string;
    const ins = (n.input ?? []).filter(Boolean).map((i) => this.vals.get(i));
    if (op === 'Constant') return this.constantNode();
    if (op === 'Shape') {
      const v = this.val(0) as Val;
      return this.out({ kind: 'const', c: constOf([this.shape(v).length], this.shape(v), true) });
    }
    if (ins.every((v) => v?.kind === 'const') && ins.length) return this.foldNode(op);
    switch (op) {
      case 'Identity':
      case 'Dropout':
        return this.out(this.val(0) as Val);
      case 'Conv':
        return this.conv();
      case 'BatchNormalization':
        return this.batchNorm();
      case 'Relu':
        return this.activation(tf.layers.reLU({ name: this.name() }), true);
      case 'Clip':
        return this.clip();
      case 'LeakyRelu':
        return this.activation(tf.layers.leakyReLU({ alpha: this.float('alpha', 0.01), name: this.name() }), false);
      case 'Sigmoid':
        return this.activation(tf.layers.activation({ activation: 'sigmoid', name: this.name() }), true);
      case 'Tanh':
        return this.activation(tf.layers.activation({ activation: 'tanh', name: this.name() }), false);
      case 'HardSigmoid': {
        const a = this.float('alpha', 0.2);
        const b = this.float('beta', 0.5);
        const kind = Math.abs(a - 1 / 6) < 1e-6 && b === 0.5 ? 'hardSigmoidKeras3' : Math.abs(a - 0.2) < 1e-6 && b === 0.5 ? 'hardSigmoid' : '';
        if (!kind) this.unsupported(`HardSigmoid with alpha ${a}, beta ${b} (supported: PyTorch's 1/6, 0.5 and Keras' 0.2, 0.5)`);
        return this.activation(tf.layers.activation({ activation: kind as 'hardSigmoid', name: this.name() }), true);
      }
      case 'HardSwish':
        return this.activation(tf.layers.activation({ activation: 'hardSwish' as 'linear', name: this.name() }), false);
      case 'Softmax':
        return this.softmax();
      case 'Add':
      case 'Mul':
        return this.merge(op);
      case 'Concat':
        return this.concatNode();
      case 'MaxPool':
      case 'AveragePool':
        return this.pool(op);
      case 'GlobalAveragePool':
      case 'GlobalMaxPool':
        return this.globalPool(op === 'GlobalMaxPool', true);
      case 'ReduceMean':
        return this.reduceMean();
      case 'Flatten':
        return this.flatten();
      case 'Reshape':
        return this.reshape();
      case 'Squeeze':
      case 'Unsqueeze':
        return this.squeeze(op === 'Unsqueeze');
      case 'Gemm':
        return this.gemm();
      case 'MatMul':
        return this.matmul();
      case 'Pad':
        return this.pad();
      default:
        return this.unsupported(`op '${op}'`);
    }
  }

  private constantNode(): void {
    const t = this.attr('value')?.t;
    if (t) return this.out({ kind: 'const', c: tensorValues(t, this.dir, this.label) });
    const f = this.attr('value_float');
    if (f) return this.out({ kind: 'const', c: constOf([], [f.f ?? 0], false) });
    const fs = this.attr('value_floats');
    if (fs) return this.out({ kind: 'const', c: constOf([fs.floats?.length ?? 0], fs.floats ?? [], false) });
    const i = this.attr('value_int');
    if (i) return this.out({ kind: 'const', c: constOf([], [toNum(i.i)], true) });
    const is = this.attr('value_ints');
    if (is) return this.out({ kind: 'const', c: constOf([is.ints?.length ?? 0], (is.ints ?? []).map(toNum), true) });
    this.unsupported('a Constant without a tensor value');
  }

  /** Ops whose inputs are all constants: computed now. */
  private foldNode(op: string): void {
    const c = (i: number) => this.konst(i, 'input');
    switch (op) {
      case 'Identity':
      case 'Dropout':
        return this.out({ kind: 'const', c: c(0) });
      case 'Cast': {
        const to = this.int('to', 1);
        const isInt = ![1, 10, 11, 16].includes(to);
        const src = c(0);
        return this.out({ kind: 'const', c: constOf(src.dims, isInt ? Array.from(src.data).map(Math.trunc) : src.data, isInt) });
      }
      case 'Gather':
        return this.out({ kind: 'const', c: gather(c(0), c(1), this.int('axis', 0)) });
      case 'Unsqueeze': {
        const a = c(0);
        return this.out({ kind: 'const', c: { ...a, dims: unsqueezeDims(a.dims, this.opset >= 13 ? this.numbers(1) ?? [] : this.ints('axes', [])) } });
      }
      case 'Squeeze': {
        const a = c(0);
        return this.out({ kind: 'const', c: { ...a, dims: squeezeDims(a.dims, this.opset >= 13 ? this.numbers(1) : this.ints('axes', [])) } });
      }
      case 'Concat':
        return this.out({ kind: 'const', c: concat((this.node.input ?? []).filter(Boolean).map((_, i) => c(i)), this.int('axis', 0)) });
      case 'Reshape': {
        const a = c(0);
        return this.out({ kind: 'const', c: { ...a, dims: reshapeDims(a.dims, Array.from(c(1).data), this.int('allowzero', 0) === 1) } });
      }
      case 'Flatten': {
        const a = c(0);
        const ax = normAxis(this.int('axis', 1), a.dims.length);
        const lead = a.dims.slice(0, ax).reduce((p, q) => p * q, 1);
        return this.out({ kind: 'const', c: { ...a, dims: [lead, a.dims.length ? a.data.length / lead : 1] } });
      }
      case 'Slice': {
        if (this.opset < 10) return this.out({ kind: 'const', c: slice(c(0), this.ints('starts', []), this.ints('ends', []), this.ints('axes', []).length ? this.ints('axes', []) : undefined) });
        return this.out({ kind: 'const', c: slice(c(0), this.numbers(1) ?? [], this.numbers(2) ?? [], this.numbers(3), this.numbers(4)) });
      }
      case 'Transpose':
        return this.out({ kind: 'const', c: transpose(c(0), this.ints('perm', [])) });
      case 'ConstantOfShape': {
        const dims = Array.from(c(0).data);
        const v = this.attr('value')?.t;
        const fill = v ? tensorValues(v, this.dir, this.label) : constOf([1], [0], false);
        const n = dims.reduce((p, q) => p * q, 1);
        return this.out({ kind: 'const', c: constOf(dims, new Array(n).fill(fill.data[0] ?? 0), fill.integer) });
      }
      case 'Add':
        return this.out({ kind: 'const', c: binary(c(0), c(1), (a, b) => a + b) });
      case 'Sub':
        return this.out({ kind: 'const', c: binary(c(0), c(1), (a, b) => a - b) });
      case 'Mul':
        return this.out({ kind: 'const', c: binary(c(0), c(1), (a, b) => a * b) });
      case 'Div': {
        const a = c(0);
        const b = c(1);
        return this.out({ kind: 'const', c: binary(a, b, a.integer && b.integer ? (p, q) => Math.trunc(p / q) : (p, q) => p / q) });
      }
      default:
        return this.unsupported(`op '${op}' (on constants)`);
    }
  }

  private activation(layer: tf.layers.Layer, nonneg: boolean): void {
    const v = this.sym(0);
    this.out({ ...v, t: this.apply(layer, v.t), nonneg });
  }

  private clip(): void {
    const lo = this.opset >= 11 ? this.numbers(1)?.[0] : this.attr('min') ? this.float('min', 0) : undefined;
    const hi = this.opset >= 11 ? this.numbers(2)?.[0] : this.attr('max') ? this.float('max', 0) : undefined;
    if (lo !== 0) this.unsupported(`Clip to [${lo ?? '−∞'}, ${hi ?? '∞'}] (supported: Clip from 0, as ReLU and ReLU6 export)`);
    const cap = hi !== undefined && Number.isFinite(hi) && hi < 3e38 ? hi : undefined;
    this.activation(tf.layers.reLU({ maxValue: cap, name: this.name() }), true);
  }

  private softmax(): void {
    const v = this.sym(0);
    const rank = this.shape(v).length;
    const axis = normAxis(this.int('axis', this.opset >= 13 ? -1 : 1), rank);
    if (axis !== 1) this.unsupported(`Softmax over axis ${axis} of a rank-${rank} value (supported: over the classes or channels)`);
    const t = v.layout === 'nchw' ? v.t : this.ordered(v);
    this.out({ kind: 'sym', t: this.apply(tf.layers.activation({ activation: 'softmax', name: this.name() }), t), layout: v.layout, nonneg: true });
  }

  // ---- convolution and dense ----------------------------------------------------------------

  private conv(): void {
    const v = this.sym(0);
    const w = dilateKernel(this.konst(1, 'weight'), this.ints('dilations', [1, 1]));
    const bias = this.node.input?.[2] ? this.konst(2, 'bias') : undefined;
    if (w.dims.length !== 4) this.unsupported(`Conv with a ${w.dims.length - 2}-d kernel (supported: 2-d)`);
    const [O, Ig, kh, kw] = w.dims;
    const group = this.int('group', 1);
    const strides = this.ints('strides', [1, 1]);
    const dil = [1, 1]; // dilation is in the kernel (dilateKernel)
    const Cin = Ig * group;
    const biasData = bias ? Float32Array.from(bias.data) : undefined;
    // Kernel [kh, kw, Cin, O]: block-diagonal for grouped convolutions (exact: the other groups' weights are 0).
    const kernelHWIO = (): Float32Array => {
      const k = new Float32Array(kh * kw * Cin * O);
      const per = O / group;
      for (let o = 0; o < O; o++) {
        const g0 = Math.floor(o / per) * Ig;
        for (let i = 0; i < Ig; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) k[((y * kw + x) * Cin + g0 + i) * O + o] = w.data[((o * Ig + i) * kh + y) * kw + x];
      }
      return k;
    };
    if (v.layout !== 'nchw' && kh === 1 && kw === 1 && this.ints('pads', [0, 0, 0, 0]).every((p) => p === 0)) {
      // A 1×1 convolution of a 1×1 map (squeeze-excitation): a Dense layer.
      const k = kernelHWIO();
      const perm = v.perm;
      const kk = perm ? permuteRows(k, Cin, O, perm) : k;
      const layer = tf.layers.dense({ units: O, useBias: !!biasData, kernelInitializer: 'zeros', name: this.name() });
      const t = this.apply(layer, v.t, biasData ? [{ dims: [Cin, O], data: kk }, { dims: [O], data: biasData }] : [{ dims: [Cin, O], data: kk }]);
      return this.symOut(t, 'nc11');
    }
    const x = this.nhwc(v);
    const [, H, W, C] = x.shape as number[];
    if (C !== Cin) this.fail(`its kernel expects ${Cin} input channels, the input has ${C}`);
    const pads = this.convPads(H, W, [kh, kw], strides, dil);
    const padding = this.paddingFor(x, pads, H, W, [(kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1], strides, 'conv');
    const common = { kernelSize: [kh, kw], strides, padding: padding.mode, dilationRate: dil, useBias: !!biasData, name: this.name() };
    let layer: tf.layers.Layer;
    let weights: Array<{ dims: number[]; data: Float32Array }>;
    if (group > 1 && group === Cin && Ig === 1) {
      const m = O / group;
      const k = new Float32Array(kh * kw * Cin * m);
      for (let c = 0; c < Cin; c++) for (let j = 0; j < m; j++) for (let y = 0; y < kh; y++) for (let xx = 0; xx < kw; xx++) k[((y * kw + xx) * Cin + c) * m + j] = w.data[((c * m + j) * kh + y) * kw + xx];
      layer = tf.layers.depthwiseConv2d({ ...common, depthMultiplier: m, depthwiseInitializer: 'zeros' } as Parameters<typeof tf.layers.depthwiseConv2d>[0]);
      weights = [{ dims: [kh, kw, Cin, m], data: k }];
    } else {
      layer = tf.layers.conv2d({ ...common, filters: O, kernelInitializer: 'zeros' } as Parameters<typeof tf.layers.conv2d>[0]);
      weights = [{ dims: [kh, kw, Cin, O], data: kernelHWIO() }];
    }
    if (biasData) weights.push({ dims: [O], data: biasData });
    this.symOut(this.apply(layer, padding.input, weights), 'nchw');
  }

  /** ONNX pads [top, left, bottom, right] of a conv or pool, auto_pad resolved. */
  private convPads(H: number, W: number, k: number[], s: number[], d: number[]): number[] {
    const auto = this.str('auto_pad', 'NOTSET');
    if (auto === 'VALID') return [0, 0, 0, 0];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const p = [H, W].map((n, i) => Math.max((Math.ceil(n / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n, 0));
      const small = p.map((t) => Math.floor(t / 2));
      const big = p.map((t, i) => t - small[i]);
      return auto === 'SAME_UPPER' ? [small[0], small[1], big[0], big[1]] : [big[0], big[1], small[0], small[1]];
    }
    const pads = this.ints('pads', [0, 0, 0, 0]);
    if (pads.length !== 4) this.unsupported(`pads ${JSON.stringify(pads)}`);
    return pads;
  }

  /**
   * 'valid', 'same' (when TF.js' same padding is these pads) or explicit zero padding in front. For max
   * pooling zeros are right only over values ≥ 0; elsewhere the edge rows and columns are repeated, which
   * for a max over windows that always hold the edge value is the same as padding with −∞.
   */
  private paddingFor(x: Sym, pads: number[], H: number, W: number, keff: number[], s: number[], kind: 'conv' | 'max' | 'avg', nonneg = false): { mode: 'valid' | 'same'; input: Sym } {
    const [t, l, b, r] = pads;
    if (t === 0 && l === 0 && b === 0 && r === 0) return { mode: 'valid', input: x };
    if (sameMatches(pads, H, W, keff, s)) return { mode: 'same', input: x };
    if (kind === 'max' && !nonneg) return { mode: 'valid', input: this.edgePad(x, pads) };
    const padded = this.apply(tf.layers.zeroPadding2d({ padding: [[t, b], [l, r]], name: this.name('_pad') }), x);
    return { mode: 'valid', input: padded };
  }

  /** Repeats the edge rows / columns (Cropping2D + Concatenate). */
  private edgePad(x: Sym, [t, l, b, r]: number[]): Sym {
    let y = x;
    const edges = (axis: 1 | 2, before: number, after: number) => {
      if (!before && !after) return;
      const n = y.shape[axis] as number;
      const crop = (keepFirst: boolean): Sym => {
        const c: [[number, number], [number, number]] = [[0, 0], [0, 0]];
        c[axis - 1] = keepFirst ? [0, n - 1] : [n - 1, 0];
        return this.apply(tf.layers.cropping2D({ cropping: c, name: this.name(`_edge${axis}${keepFirst ? 'a' : 'b'}`) }), y);
      };
      const parts: Sym[] = [];
      if (before) { const e = crop(true); for (let i = 0; i < before; i++) parts.push(e); }
      parts.push(y);
      if (after) { const e = crop(false); for (let i = 0; i < after; i++) parts.push(e); }
      y = this.apply(tf.layers.concatenate({ axis, name: this.name(`_pad${axis}`) }), parts);
    };
    edges(1, t, b);
    edges(2, l, r);
    return y;
  }

  private dense(v: SymVal, kernel: Float32Array, K: number, U: number, bias: Float32Array | undefined): Sym {
    const kk = v.perm ? permuteRows(kernel, K, U, v.perm) : kernel;
    const layer = tf.layers.dense({ units: U, useBias: true, kernelInitializer: 'zeros', name: this.name() });
    return this.apply(layer, v.t, [{ dims: [K, U], data: kk }, { dims: [U], data: bias ?? new Float32Array(U) }]);
  }

  private flatInput(): SymVal {
    const v = this.sym(0);
    if (v.layout === 'nchw') this.fail('needs a 2-d input [N, features]: flatten the feature map first');
    return v;
  }

  private gemm(): void {
    const v = this.flatInput();
    if (this.int('transA', 0)) this.unsupported('Gemm with transA');
    const b = this.konst(1, 'weight');
    const alpha = this.float('alpha', 1);
    const beta = this.float('beta', 1);
    const [r, c] = b.dims;
    const trans = this.int('transB', 0) === 1;
    const K = trans ? c : r;
    const U = trans ? r : c;
    const k = new Float32Array(K * U);
    for (let i = 0; i < K; i++) for (let j = 0; j < U; j++) k[i * U + j] = alpha * (trans ? b.data[j * K + i] : b.data[i * U + j]);
    let bias: Float32Array | undefined;
    if (this.node.input?.[2]) {
      const cc = this.konst(2, 'bias');
      const full = binary(cc, constOf([U], new Array(U).fill(0), false), (p, q) => p + q);
      if (full.data.length !== U) this.unsupported(`a Gemm bias of shape [${cc.dims.join(', ')}]`);
      bias = Float32Array.from(full.data, (z) => z * beta);
    }
    this.symOut(this.dense(v, k, K, U, bias), 'flat');
  }

  private matmul(): void {
    const v = this.flatInput();
    const b = this.konst(1, 'weight');
    if (b.dims.length !== 2) this.unsupported(`MatMul by a weight of shape [${b.dims.join(', ')}]`);
    const t = this.dense(v, Float32Array.from(b.data), b.dims[0], b.dims[1], undefined);
    const out = this.node.output?.[0] as string;
    this.matmulDense.set(out, t.sourceLayer as tf.layers.Layer);
    this.symOut(t, 'flat');
  }

  // ---- element-wise ------------------------------------------------------------------------

  private merge(op: 'Add' | 'Mul'): void {
    const a = this.val(0) as Val;
    const b = this.val(1) as Val;
    if (a.kind === 'const' || b.kind === 'const') {
      const [s, c] = a.kind === 'sym' ? [a, (b as ConstVal).c] : [b as SymVal, a.c];
      const src = (a.kind === 'sym' ? this.node.input?.[0] : this.node.input?.[1]) as string;
      const dense = this.matmulDense.get(src);
      if (op === 'Add' && dense && this.readers.get(src) === 1 && c.data.length === (s.t.shape[1] as number)) {
        // MatMul + Add: the bias of the MatMul's Dense layer.
        const q = this.pendingWeights.find((p) => p.layer === dense);
        if (q) q.weights[1] = { dims: [c.data.length], data: Float32Array.from(c.data) };
        this.nodeLayer.set(this.nodeIndex, dense.name);
        return this.out(s);
      }
      this.unsupported(`${op} of an activation and a constant (supported: the bias Add after a MatMul)`);
    }
    const x = a as SymVal;
    const y = b as SymVal;
    let layout: Layout;
    let perm: number[] | undefined;
    let xs: Sym;
    let ys: Sym;
    if (x.layout === 'nchw' || y.layout === 'nchw') {
      xs = this.nhwc(x);
      ys = this.nhwc(y);
      layout = 'nchw';
    } else {
      const same = JSON.stringify(x.perm) === JSON.stringify(y.perm);
      xs = same ? x.t : this.ordered(x);
      ys = same ? y.t : this.ordered(y);
      perm = same ? x.perm : undefined;
      layout = x.layout === 'nc11' && y.layout === 'nc11' ? 'nc11' : 'flat';
    }
    const name = this.name();
    const layer = op === 'Add' ? tf.layers.add({ name }) : tf.layers.multiply({ name });
    this.symOut(this.apply(layer, [xs, ys]), layout, { perm, nonneg: !!(x.nonneg && y.nonneg) });
  }

  private concatNode(): void {
    const vs = (this.node.input ?? []).filter(Boolean).map((_, i) => this.sym(i));
    const rank = this.shape(vs[0]).length;
    const axis = normAxis(this.int('axis', 1), rank);
    if (axis !== 1) this.unsupported(`Concat over axis ${axis} (supported: channels / features, axis 1)`);
    const nonneg = vs.every((v) => v.nonneg);
    if (vs.length === 1) return this.out(vs[0]);
    if (vs.some((v) => v.layout === 'nchw')) {
      const t = this.apply(tf.layers.concatenate({ axis: -1, name: this.name() }), vs.map((v) => this.nhwc(v)));
      return this.symOut(t, 'nchw', { nonneg });
    }
    let offset = 0;
    const perm: number[] = [];
    let any = false;
    for (const v of vs) {
      const F = v.t.shape[1] as number;
      if (v.perm) any = true;
      for (let j = 0; j < F; j++) perm.push(offset + (v.perm ? v.perm[j] : j));
      offset += F;
    }
    const t = this.apply(tf.layers.concatenate({ axis: -1, name: this.name() }), vs.map((v) => v.t));
    this.symOut(t, vs.every((v) => v.layout === 'nc11') ? 'nc11' : 'flat', { perm: any ? perm : undefined, nonneg });
  }

  private batchNorm(): void {
    const v = this.sym(0);
    const [scale, b, mean, variance] = [1, 2, 3, 4].map((i) => this.konst(i, ['', 'scale', 'bias', 'mean', 'variance'][i]));
    const eps = this.float('epsilon', 1e-5);
    const p = (c: ConstTensor) => (v.perm ? Float32Array.from(v.perm, (i) => c.data[i]) : Float32Array.from(c.data));
    const C = scale.data.length;
    const layer = tf.layers.batchNormalization({ axis: -1, epsilon: eps, name: this.name() });
    const t = this.apply(layer, v.t, [scale, b, mean, variance].map((c) => ({ dims: [C], data: p(c) })));
    this.symOut(t, v.layout, { perm: v.perm });
  }

  // ---- pooling and shapes ------------------------------------------------------------------

  private pool(op: 'MaxPool' | 'AveragePool'): void {
    const v = this.sym(0);
    const x = this.nhwc(v);
    const [, H, W] = x.shape as number[];
    const k = this.ints('kernel_shape', []);
    const s = this.ints('strides', [1, 1]);
    if (this.ints('dilations', [1, 1]).some((d) => d !== 1)) this.unsupported(`${op} with dilation`);
    const pads = [...this.convPads(H, W, k, s, [1, 1])];
    if (this.int('ceil_mode', 0)) {
      // PyTorch's ceil mode: one more window where it starts inside the input (or its left padding).
      [H, W].forEach((n, i) => {
        let o = Math.ceil((n + pads[i] + pads[i + 2] - k[i]) / s[i]) + 1;
        if ((o - 1) * s[i] >= n + pads[i]) o--;
        const extra = (o - 1) * s[i] + k[i] - (n + pads[i] + pads[i + 2]);
        if (extra > 0) {
          if (op === 'AveragePool') this.unsupported('AveragePool with ceil_mode when the last window overhangs');
          pads[i + 2] += extra;
        }
      });
    }
    const avg = op === 'AveragePool';
    const includePad = this.int('count_include_pad', 0) === 1;
    const cfg = { poolSize: k as [number, number], strides: s as [number, number], name: this.name() };
    if (avg && pads.some((p) => p > 0)) {
      // TF.js' same padding leaves the pad out of the average; counting it is an average over explicit zeros.
      if (!includePad && !sameMatches(pads, H, W, k, s)) this.unsupported("AveragePool with padding left out of the average (count_include_pad=0) unless it is TF's same padding");
      const input = includePad ? this.apply(tf.layers.zeroPadding2d({ padding: [[pads[0], pads[2]], [pads[1], pads[3]]], name: this.name('_pad') }), x) : x;
      const t = this.apply(tf.layers.averagePooling2d({ ...cfg, padding: includePad ? 'valid' : 'same' }), input);
      return this.symOut(t, 'nchw', { nonneg: v.nonneg });
    }
    const padding = this.paddingFor(x, pads, H, W, k, s, avg ? 'avg' : 'max', v.nonneg);
    const layer = avg ? tf.layers.averagePooling2d({ ...cfg, padding: padding.mode }) : tf.layers.maxPooling2d({ ...cfg, padding: padding.mode });
    this.symOut(this.apply(layer, padding.input), 'nchw', { nonneg: v.nonneg });
  }

  private globalPool(max: boolean, keep: boolean): void {
    const v = this.sym(0);
    if (v.layout !== 'nchw') return this.out(keep ? v : { ...v, layout: 'flat' });
    const layer = max ? tf.layers.globalMaxPooling2d({ name: this.name() }) : tf.layers.globalAveragePooling2d({ name: this.name() });
    this.symOut(this.apply(layer, v.t), keep ? 'nc11' : 'flat', { nonneg: v.nonneg });
  }

  private reduceMean(): void {
    const v = this.sym(0);
    const rank = this.shape(v).length;
    const axes = (this.opset >= 18 && this.node.input?.[1] ? this.numbers(1) ?? [] : this.ints('axes', [])).map((a) => normAxis(a, rank)).sort();
    if (rank !== 4 || axes.join(',') !== '2,3') this.unsupported(`ReduceMean over axes [${axes.join(', ')}] (supported: [2, 3], a global average pool)`);
    this.globalPool(false, this.int('keepdims', 1) === 1);
  }

  /** [N, C, H, W] → [N, C·H·W] in PyTorch's order (carried as a permutation of TF.js' H, W, C order). */
  private flattenSym(v: SymVal): void {
    if (v.layout !== 'nchw') return this.out({ ...v, layout: 'flat' });
    const [, H, W, C] = v.t.shape as number[];
    const t = this.apply(tf.layers.flatten({ name: this.name() }), v.t);
    const perm: number[] = [];
    if (H * W > 1) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) perm.push(c * H * W + h * W + w);
    this.symOut(t, 'flat', { perm: perm.length ? perm : undefined, nonneg: v.nonneg });
  }

  private flatten(): void {
    const v = this.sym(0);
    if (normAxis(this.int('axis', 1), this.shape(v).length) !== 1) this.unsupported('Flatten at an axis other than 1');
    this.flattenSym(v);
  }

  private reshape(): void {
    const v = this.sym(0);
    const from = this.shape(v);
    const to = reshapeDims(from, this.numbers(1) ?? [], this.int('allowzero', 0) === 1);
    const same = (p: number[], q: number[]) => p.length === q.length && p.every((d, i) => d === q[i]);
    if (same(from, to)) return this.out(v);
    if (to.length === 2 && to[1] === from.slice(1).reduce((a, b) => a * b, 1)) return this.flattenSym(v);
    if (v.layout === 'flat' && to.length === 4 && to[1] === from[1] && to[2] === 1 && to[3] === 1) return this.out({ ...v, layout: 'nc11' });
    this.unsupported(`Reshape from [${from.join(', ')}] to [${to.join(', ')}] (supported: flattening, and [N, C] ↔ [N, C, 1, 1])`);
  }

  private squeeze(unsqueeze: boolean): void {
    const v = this.sym(0);
    const from = this.shape(v);
    const axes = this.opset >= 13 ? this.numbers(1) ?? [] : this.ints('axes', []);
    const to = unsqueeze ? unsqueezeDims(from, axes) : squeezeDims(from, axes.length ? axes : [2, 3]);
    if (v.layout === 'nc11' && to.length === 2) return this.out({ ...v, layout: 'flat' });
    if (v.layout === 'flat' && to.length === 4 && to[2] === 1 && to[3] === 1) return this.out({ ...v, layout: 'nc11' });
    this.unsupported(`${unsqueeze ? 'Unsqueeze' : 'Squeeze'} from [${from.join(', ')}] to [${to.join(', ')}]`);
  }

  private pad(): void {
    const v = this.sym(0);
    const mode = this.str('mode', 'constant');
    const pads = this.opset >= 11 ? this.numbers(1) ?? [] : this.ints('pads', []);
    const value = this.opset >= 11 ? this.numbers(2)?.[0] ?? 0 : this.float('value', 0);
    if (mode !== 'constant' || value !== 0) this.unsupported(`Pad in mode '${mode}' with value ${value} (supported: zeros)`);
    if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5] || pads.some((p) => p < 0)) this.unsupported(`Pad by [${pads.join(', ')}] (supported: zeros around H and W)`);
    const x = this.nhwc(v);
    const t = this.apply(tf.layers.zeroPadding2d({ padding: [[pads[2], pads[6]], [pads[3], pads[7]]], name: this.name() }), x);
    this.symOut(t, 'nchw', { nonneg: v.nonneg });
  }
}

/**
 * A dilated kernel as an ordinary one with zeros between the taps (the same numbers: TF.js has no
 * gradient for dilated convolutions).
 */
function dilateKernel(w: ConstTensor, dil: number[]): ConstTensor {
  if (w.dims.length !== 4 || (dil[0] === 1 && dil[1] === 1)) return w;
  const [O, I, kh, kw] = w.dims;
  const [dh, dw] = dil;
  const KH = (kh - 1) * dh + 1;
  const KW = (kw - 1) * dw + 1;
  const out = new Float32Array(O * I * KH * KW);
  for (let oi = 0; oi < O * I; oi++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[(oi * KH + y * dh) * KW + x * dw] = w.data[(oi * kh + y) * kw + x];
  return { dims: [O, I, KH, KW], data: out, integer: false };
}

/** True when TF's 'same' padding of an n×n input (window keff, stride s) is exactly these pads [t, l, b, r]. */
function sameMatches([t, l, b, r]: number[], H: number, W: number, keff: number[], s: number[]): boolean {
  const same = [H, W].map((n, i) => Math.max((Math.ceil(n / s[i]) - 1) * s[i] + keff[i] - n, 0));
  return Math.floor(same[0] / 2) === t && same[0] - Math.floor(same[0] / 2) === b && Math.floor(same[1] / 2) === l && same[1] - Math.floor(same[1] / 2) === r;
}

/** Kernel [K, U] rows reordered so TF.js row j is ONNX row perm[j]. */
function permuteRows(k: Float32Array, K: number, U: number, perm: number[]): Float32Array {
  const out = new Float32Array(K * U);
  for (let j = 0; j < K; j++) out.set(k.subarray(perm[j] * U, perm[j] * U + U), j * U);
  return out;
}

/** Converts a parsed ONNX model; registers its aliases so layer options accept module paths. */
export function convertOnnx(model: onnx.ModelProto, dir: string, label: string, name: string, size?: [number, number]): OnnxImport {
  const opset = Math.max(0, ...(model.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => toNum(o.version)));
  const foreign = (model.graph?.node ?? []).find((n) => n.domain && n.domain !== 'ai.onnx');
  if (foreign) throw new CnnvisError(`${label}: node '${foreign.name}' is the custom op '${foreign.domain}.${foreign.opType}'; cnnvis converts standard ONNX ops: ${listChoices(SUPPORTED_ONNX_OPS, 60)}`);
  const imp = new Converter(model, dir, label, opset).convert(name, size);
  registerAliases({ net: imp.net, rebuilt: false, layers: new Map(), aliases: imp.aliases, models: [] });
  return imp;
}
