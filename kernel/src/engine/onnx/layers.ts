/**
 * TF.js layers as small ONNX graphs: for each supported layer, a forward graph and (built on demand) a
 * backward graph that maps the gradient of the layer's output to the gradients of its inputs, given
 * the values saved by the forward pass. Inside the engine, 4-d tensors are NCHW (ONNX' layout) and
 * 2-d tensors [batch, features]; layers that flatten or reshape convert to TF's NHWC order so the
 * numbers are TF's.
 *
 * Backward rules follow TF.js' gradients (ReLU passes where its output is > 0, ReLU6 where it is
 * strictly between 0 and 6, max-pooling routes to the window's first maximum). Through a ReLU the
 * gradient follows one of reluRules.ts' three rules: the plain gradient dy·m (m: the ReLU's open mask),
 * guided backpropagation max(dy, 0)·m (Springenberg et al. 2015) or the deconvnet's max(dy, 0) (Zeiler &
 * Fergus 2014). Backward graphs are compiled per rule, each with the fewest element-wise operators; the
 * Dense graph that also runs forward takes a `rule` input [3] = (a, b, c) instead and computes
 *   dx = a·dy·m + b·max(dy, 0)·m + c·max(dy, 0).
 *
 * Input gradients of stride-1 convolutions run as a forward convolution with the flipped, transposed
 * kernel (ONNX Runtime's ConvTranspose is several times slower than its Conv); strided ones use
 * ConvTranspose.
 */
import { INFERENCE_IDENTITY } from '../../models/layerClasses';
import * as tf from '@tensorflow/tfjs';
import { AttrValue, DT, GraphSpec, InitSpec, NodeSpec } from './proto';

/** Why a model cannot run on the engine (a layer kind or setting it does not compile). */
export class Unsupported extends Error {}

class Builder {
  readonly nodes: NodeSpec[] = [];
  readonly inits: InitSpec[] = [];
  private n = 0;

  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => `t${this.n++}`);
    this.nodes.push({ op, inputs, outputs: outs, attrs });
    return outs;
  }

  one(op: string, inputs: string[], attrs?: Record<string, AttrValue>): string {
    return this.op(op, inputs, attrs)[0];
  }

  /** Inputs the graph feeds itself on every run (large weights; see GraphSpec.bound). */
  private readonly bound: NonNullable<GraphSpec['bound']> = {};

  /** A small float constant, inline in the model. */
  f32(dims: number[], data: Float32Array): string {
    const name = `w${this.n++}`;
    this.inits.push({ name, dims, type: DT.FLOAT, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /**
   * A weight: small ones become constants; large ones (≥ 1 MiB) a graph input that `get` supplies on
   * every run, so the runtime keeps no copy of them (it copies every initializer, even external ones).
   */
  weight(dims: number[], get: () => Float32Array): string {
    const count = dims.reduce((a, d) => a * d, 1);
    if (count * 4 < 1 << 20) return this.f32(dims, get());
    const name = `w${this.n++}`;
    this.bound[name] = { dims, get };
    return name;
  }

  i64(values: number[]): string {
    const name = `c${this.n++}`;
    const b = new BigInt64Array(values.map((v) => BigInt(v)));
    this.inits.push({ name, dims: [values.length], type: DT.INT64, raw: new Uint8Array(b.buffer) });
    return name;
  }

  scalar(v: number): string {
    return this.f32([], Float32Array.of(v));
  }

  /** Renames a value to a graph output name. */
  output(value: string, name: string): void {
    this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
  }

  spec(inputs: { name: string; type?: number; dims: (number | string)[] }[], outputs: { name: string; type?: number; dims: (number | string)[] }[]): GraphSpec {
    // Pooling gains from a second thread even on small maps (a VGG16 pool: 7.9 → 3.0 ms).
    const heavy = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'MaxPool', 'AveragePool']);
    return {
      name: 'cnnvis',
      light: !this.nodes.some((n) => heavy.has(n.op)),
      bound: this.bound,
      nodes: this.nodes,
      initializers: this.inits,
      inputs: [...inputs, ...Object.entries(this.bound).map(([name, w]) => ({ name, type: DT.FLOAT, dims: w.dims }))].map((i) => ({ name: i.name, type: i.type ?? DT.FLOAT, dims: i.dims })),
      outputs: outputs.map((o) => ({ name: o.name, type: o.type ?? DT.FLOAT, dims: o.dims })),
    };
  }
}

/** Internal dims (without batch) of a TF output shape: NHWC → [C, H, W]; others as they are. */
export function internalDims(tfShape: number[]): number[] {
  return tfShape.length === 3 ? [tfShape[2], tfShape[0], tfShape[1]] : tfShape;
}

/** The activation functions the engine compiles (TF.js' names). */
export const ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'logSoftmax', 'elu', 'celu', 'selu', 'softplus', 'softsign',
  'hardSigmoid', 'hardSigmoidKeras3', 'swish', 'silu', 'hardSilu', 'hardSwish', 'leakyRelu', 'exponential', 'gelu',
  'gelu_new', 'mish', 'hardTanh', 'logSigmoid', 'tanhShrink', 'softShrink', 'hardShrink', 'squareplus', 'sparsePlus',
  'sparseSigmoid',
] as const;
export type Act = (typeof ACTIVATIONS)[number];

/** Activations whose derivative is computed from their input z; the others' from their output y. */
const FROM_INPUT: ReadonlySet<Act> = new Set<Act>([
  'swish', 'silu', 'hardSilu', 'hardSwish', 'gelu', 'gelu_new', 'mish', 'hardTanh', 'tanhShrink', 'softShrink', 'squareplus', 'sparsePlus', 'sparseSigmoid',
]);

function activationOf(layer: tf.layers.Layer): Act {
  const a = (layer as unknown as { activation?: { getClassName(): string } | null }).activation;
  const name = a ? a.getClassName() : 'linear';
  if ((ACTIVATIONS as readonly string[]).includes(name)) return name as Act;
  throw new Unsupported(`layer '${layer.name}' (${layer.getClassName()}) has activation '${name}', which the engine does not compile; it compiles ${ACTIVATIONS.join(', ')}`);
}

/** SELU's constants (TF's and ONNX's defaults). */
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

function applyAct(b: Builder, x: string, act: Act, rank: number): string {
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return b.one('Relu', [x]);
    case 'relu6':
      return b.one('Clip', [x, b.scalar(0), b.scalar(6)]);
    case 'sigmoid':
      return b.one('Sigmoid', [x]);
    case 'tanh':
      return b.one('Tanh', [x]);
    case 'softmax':
      if (rank !== 2) throw new Unsupported('softmax over a feature map');
      return b.one('Softmax', [x], { axis: 1 });
    case 'elu':
      return b.one('Elu', [x], { alpha: { float: 1 } });
    case 'selu':
      return b.one('Selu', [x], { alpha: { float: SELU_ALPHA }, gamma: { float: SELU_SCALE } });
    case 'softplus':
      return b.one('Softplus', [x]);
    case 'softsign':
      return b.one('Softsign', [x]);
    case 'logSoftmax':
      if (rank !== 2) throw new Unsupported('log-softmax over a feature map');
      return b.one('LogSoftmax', [x], { axis: 1 });
    case 'hardSigmoid':
      // TF.js (Keras 2): clip(0.2·x + 0.5, 0, 1).
      return b.one('HardSigmoid', [x], { alpha: { float: 0.2 }, beta: { float: 0.5 } });
    case 'hardSigmoidKeras3':
      // relu6(x + 3) / 6, in TF.js' order of float operations.
      return hardSigmoid3(b, x);
    case 'hardSilu':
    case 'hardSwish':
      return b.one('Mul', [x, hardSigmoid3(b, x)]);
    case 'swish':
    case 'silu':
      return b.one('Mul', [x, b.one('Sigmoid', [x])]);
    case 'celu':
      return b.one('Elu', [x], { alpha: { float: 1 } });
    case 'leakyRelu':
      return b.one('LeakyRelu', [x], { alpha: { float: 0.2 } });
    case 'exponential':
      return b.one('Exp', [x]);
    case 'hardTanh':
      return b.one('Clip', [x, b.scalar(-1), b.scalar(1)]);
    case 'logSigmoid':
      return b.one('Neg', [b.one('Softplus', [b.one('Neg', [x])])]);
    case 'tanhShrink':
      return b.one('Sub', [x, b.one('Tanh', [x])]);
    case 'softShrink':
      return b.one('Sub', [x, b.one('Clip', [x, b.scalar(-0.5), b.scalar(0.5)])]);
    case 'hardShrink':
      return b.one('Mul', [x, b.one('Cast', [b.one('Greater', [b.one('Abs', [x]), b.scalar(0.5)])], { to: DT.FLOAT })]);
    case 'squareplus':
      return b.one('Div', [b.one('Add', [x, b.one('Sqrt', [b.one('Add', [b.one('Mul', [x, x]), b.scalar(4)])])]), b.scalar(2)]);
    case 'sparsePlus': {
      const q = b.one('Div', [b.one('Mul', [b.one('Add', [x, b.scalar(1)]), b.one('Add', [x, b.scalar(1)])]), b.scalar(4)]);
      return b.one('Where', [b.one('Greater', [x, b.scalar(-1)]), b.one('Where', [b.one('Less', [x, b.scalar(1)]), q, x]), b.scalar(0)]);
    }
    case 'sparseSigmoid':
      return b.one('Clip', [b.one('Add', [b.one('Mul', [x, b.scalar(0.5)]), b.scalar(0.5)]), b.scalar(0), b.scalar(1)]);
    case 'gelu':
      return b.one('Mul', [b.one('Mul', [x, b.scalar(0.5)]), b.one('Add', [b.scalar(1), b.one('Erf', [b.one('Mul', [x, b.scalar(Math.SQRT1_2)])])])]);
    case 'gelu_new':
      return b.one('Mul', [b.one('Mul', [x, b.scalar(0.5)]), b.one('Add', [b.scalar(1), b.one('Tanh', [geluNewArg(b, x)])])]);
    case 'mish':
      return b.one('Mul', [x, b.one('Tanh', [b.one('Softplus', [x])])]);
  }
}

/** Keras 3's hard sigmoid relu6(x + 3) / 6. */
function hardSigmoid3(b: Builder, x: string): string {
  return b.one('Div', [b.one('Clip', [b.one('Add', [x, b.scalar(3)]), b.scalar(0), b.scalar(6)]), b.scalar(6)]);
}

/** 1 where −3 < x ≤ 3 (where relu6(x + 3) passes gradients in TF.js), else 0. */
function hardSigmoid3Open(b: Builder, x: string): string {
  const s = b.one('Add', [x, b.scalar(3)]);
  return b.one('Cast', [b.one('And', [b.one('Greater', [s, b.scalar(0)]), b.one('Not', [b.one('Greater', [s, b.scalar(6)])])])], { to: DT.FLOAT });
}

/** √(2/π)·(x + 0.044715·x³), the tanh argument of the tanh approximation of GELU. */
function geluNewArg(b: Builder, x: string): string {
  const x3 = b.one('Mul', [b.one('Mul', [x, x]), x]);
  return b.one('Mul', [b.one('Add', [x, b.one('Mul', [x3, b.scalar(0.044715)])]), b.scalar(Math.sqrt(2 / Math.PI))]);
}

/** How gradients pass ReLUs: the plain gradient, guided backpropagation or the deconvnet rule. */
export type Rule = 'gradient' | 'guided' | 'deconvnet';

/** Gradient through a ReLU (capped at `cap`) from its output y, following `rule` (see actBackward). */
function reluBackward(b: Builder, g: string, y: string, cap: number | undefined, rule: Rule | (() => string[])): string {
  const zero = () => b.scalar(0);
  if (rule === 'deconvnet') return b.one('Relu', [g]);
  let open = b.one('Greater', [y, zero()]);
  if (cap !== undefined) open = b.one('And', [open, b.one('Less', [y, b.scalar(cap)])]);
  if (rule === 'gradient') return b.one('Where', [open, g, zero()]);
  if (rule === 'guided') return b.one('Where', [open, b.one('Relu', [g]), zero()]);
  const m = b.one('Cast', [open], { to: DT.FLOAT });
  const [ra, rb, rc] = rule();
  const gp = b.one('Relu', [g]);
  const masked = b.one('Mul', [b.one('Add', [b.one('Mul', [g, ra]), b.one('Mul', [gp, rb])]), m]);
  return b.one('Add', [masked, b.one('Mul', [gp, rc])]);
}

/**
 * Gradient through an activation, from its output y (or its input z, for FROM_INPUT activations).
 * ReLUs follow `rule` (other activations keep their gradient, as on the TF.js path): a fixed rule
 * compiles to the fewest element-wise operators (a backward graph per rule), or the `rule` input's
 * coefficients (one graph for all rules, for the Dense graph that also runs forward).
 */
function actBackward(b: Builder, g: string, y: string, act: Act, rule: Rule | (() => string[]), z?: string): string {
  const zero = () => b.scalar(0);
  const input = () => {
    if (!z) throw new Error(`cnnvis: the gradient of '${act}' needs its input`);
    return z;
  };
  switch (act) {
    case 'linear':
      return g;
    case 'relu':
    case 'relu6':
      return reluBackward(b, g, y, act === 'relu6' ? 6 : undefined, rule);
    case 'sigmoid':
      return b.one('Mul', [g, b.one('Mul', [y, b.one('Sub', [b.scalar(1), y])])]);
    case 'tanh':
      return b.one('Mul', [g, b.one('Sub', [b.scalar(1), b.one('Mul', [y, y])])]);
    case 'softmax': {
      const s = b.one('ReduceSum', [b.one('Mul', [g, y]), b.i64([1])], { keepdims: 1 });
      return b.one('Mul', [y, b.one('Sub', [g, s])]);
    }
    case 'logSoftmax': {
      const s = b.one('ReduceSum', [g, b.i64([1])], { keepdims: 1 });
      return b.one('Sub', [g, b.one('Mul', [b.one('Exp', [y]), s])]);
    }
    case 'celu':
    case 'elu':
      // y > 0: 1; else e^z = y + 1.
      return b.one('Where', [b.one('Greater', [y, zero()]), g, b.one('Mul', [g, b.one('Add', [y, b.scalar(1)])])]);
    case 'selu':
      return b.one('Mul', [g, b.one('Where', [b.one('Greater', [y, zero()]), b.scalar(SELU_SCALE), b.one('Add', [y, b.scalar(SELU_SCALE * SELU_ALPHA)])])]);
    case 'softplus':
      // σ(z) = 1 − e^(−y).
      return b.one('Mul', [g, b.one('Sub', [b.scalar(1), b.one('Exp', [b.one('Neg', [y])])])]);
    case 'softsign': {
      const r = b.one('Sub', [b.scalar(1), b.one('Abs', [y])]);
      return b.one('Mul', [g, b.one('Mul', [r, r])]);
    }
    case 'hardSigmoid': {
      const open = b.one('And', [b.one('Greater', [y, zero()]), b.one('Less', [y, b.scalar(1)])]);
      return b.one('Where', [open, b.one('Mul', [g, b.scalar(0.2)]), zero()]);
    }
    case 'hardSigmoidKeras3': {
      // TF.js' relu6 passes where 0 < x + 3 ≤ 6; from y (1 wherever x + 3 ≥ 6), 0 < y < 1 (they differ only at x = 3 exactly).
      const open = b.one('And', [b.one('Greater', [y, zero()]), b.one('Less', [y, b.scalar(1)])]);
      return b.one('Where', [open, b.one('Div', [g, b.scalar(6)]), zero()]);
    }
    case 'hardSilu':
    case 'hardSwish': {
      // hs(z) + z·[−3 < z ≤ 3] / 6.
      const x = input();
      const d = b.one('Add', [hardSigmoid3(b, x), b.one('Div', [b.one('Mul', [x, hardSigmoid3Open(b, x)]), b.scalar(6)])]);
      return b.one('Mul', [g, d]);
    }
    case 'leakyRelu':
      return b.one('Where', [b.one('Greater', [y, zero()]), g, b.one('Mul', [g, b.scalar(0.2)])]);
    case 'exponential':
      return b.one('Mul', [g, y]);
    case 'hardTanh': {
      // TF.js' clipByValue passes where −1 ≤ z ≤ 1.
      const x = input();
      const open = b.one('And', [b.one('Not', [b.one('Less', [x, b.scalar(-1)])]), b.one('Not', [b.one('Greater', [x, b.scalar(1)])])]);
      return b.one('Where', [open, g, zero()]);
    }
    case 'logSigmoid':
      // σ(−z) = 1 − e^y.
      return b.one('Mul', [g, b.one('Sub', [b.scalar(1), b.one('Exp', [y])])]);
    case 'tanhShrink': {
      const t = b.one('Tanh', [input()]);
      return b.one('Mul', [g, b.one('Mul', [t, t])]);
    }
    case 'softShrink': {
      // 1 − [−0.5 ≤ z ≤ 0.5].
      const x = input();
      const inside = b.one('And', [b.one('Not', [b.one('Less', [x, b.scalar(-0.5)])]), b.one('Not', [b.one('Greater', [x, b.scalar(0.5)])])]);
      return b.one('Where', [inside, zero(), g]);
    }
    case 'hardShrink':
      // y = z where |z| > 0.5, else 0.
      return b.one('Where', [b.one('Equal', [y, zero()]), zero(), g]);
    case 'squareplus': {
      const x = input();
      const r = b.one('Sqrt', [b.one('Add', [b.one('Mul', [x, x]), b.scalar(4)])]);
      return b.one('Mul', [g, b.one('Mul', [b.one('Add', [b.scalar(1), b.one('Div', [x, r])]), b.scalar(0.5)])]);
    }
    case 'sparsePlus': {
      // 0 for z ≤ −1, (z + 1)/2 for −1 < z < 1, 1 for z ≥ 1.
      const x = input();
      const mid = b.one('Div', [b.one('Add', [x, b.scalar(1)]), b.scalar(2)]);
      return b.one('Mul', [g, b.one('Where', [b.one('Greater', [x, b.scalar(-1)]), b.one('Where', [b.one('Less', [x, b.scalar(1)]), mid, b.scalar(1)]), zero()])]);
    }
    case 'sparseSigmoid': {
      // 0.5 where 0 ≤ 0.5·z + 0.5 ≤ 1.
      const u = b.one('Add', [b.one('Mul', [input(), b.scalar(0.5)]), b.scalar(0.5)]);
      const open = b.one('And', [b.one('Not', [b.one('Less', [u, zero()])]), b.one('Not', [b.one('Greater', [u, b.scalar(1)])])]);
      return b.one('Where', [open, b.one('Mul', [g, b.scalar(0.5)]), zero()]);
    }
    case 'swish':
    case 'silu': {
      // σ(z)·(1 + z·(1 − σ(z))).
      const s = b.one('Sigmoid', [input()]);
      const d = b.one('Mul', [s, b.one('Add', [b.scalar(1), b.one('Mul', [input(), b.one('Sub', [b.scalar(1), s])])])]);
      return b.one('Mul', [g, d]);
    }
    case 'gelu': {
      // Φ(z) + z·φ(z).
      const x = input();
      const cdf = b.one('Mul', [b.scalar(0.5), b.one('Add', [b.scalar(1), b.one('Erf', [b.one('Mul', [x, b.scalar(Math.SQRT1_2)])])])]);
      const pdf = b.one('Mul', [b.one('Exp', [b.one('Mul', [b.one('Mul', [x, x]), b.scalar(-0.5)])]), b.scalar(1 / Math.sqrt(2 * Math.PI))]);
      return b.one('Mul', [g, b.one('Add', [cdf, b.one('Mul', [x, pdf])])]);
    }
    case 'gelu_new': {
      // ½(1 + t) + ½·z·(1 − t²)·√(2/π)·(1 + 3·0.044715·z²), t = tanh(√(2/π)(z + 0.044715 z³)).
      const x = input();
      const t = b.one('Tanh', [geluNewArg(b, x)]);
      const left = b.one('Mul', [b.scalar(0.5), b.one('Add', [b.scalar(1), t])]);
      const dArg = b.one('Mul', [b.one('Add', [b.scalar(1), b.one('Mul', [b.one('Mul', [x, x]), b.scalar(3 * 0.044715)])]), b.scalar(Math.sqrt(2 / Math.PI))]);
      const right = b.one('Mul', [b.one('Mul', [b.one('Mul', [x, b.scalar(0.5)]), b.one('Sub', [b.scalar(1), b.one('Mul', [t, t])])]), dArg]);
      return b.one('Mul', [g, b.one('Add', [left, right])]);
    }
    case 'mish': {
      // t + z·(1 − t²)·σ(z), t = tanh(softplus(z)).
      const x = input();
      const t = b.one('Tanh', [b.one('Softplus', [x])]);
      const d = b.one('Add', [t, b.one('Mul', [b.one('Mul', [x, b.one('Sub', [b.scalar(1), b.one('Mul', [t, t])])]), b.one('Sigmoid', [x])])]);
      return b.one('Mul', [g, d]);
    }
  }
}

function weightValues(layer: tf.layers.Layer, pattern: RegExp, required = true): { data: Float32Array; shape: number[] } | null {
  const w = layer.weights.find((v) => pattern.test(v.originalName ?? v.name));
  if (!w) {
    if (required) throw new Unsupported(`layer '${layer.name}' has no weight matching ${pattern}`);
    return null;
  }
  const t = w.read();
  // On wasm, a view of the backend's heap: no copy of a 400 MB kernel (the runtime copies it once).
  const backend = tf.backend() as unknown as { typedArrayFromHeap?(t: tf.Tensor): Float32Array };
  if (tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function') {
    return { data: backend.typedArrayFromHeap(t), shape: t.shape };
  }
  return { data: t.dataSync() as Float32Array, shape: t.shape };
}

/** TF padding for one spatial dimension: [before, after] and the output size. */
function tfPad(size: number, k: number, s: number, d: number, padding: string): { before: number; after: number; out: number } {
  const eff = (k - 1) * d + 1;
  if (padding === 'valid') return { before: 0, after: 0, out: Math.ceil((size - eff + 1) / s) };
  if (padding !== 'same') throw new Unsupported(`padding '${padding}'`);
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + eff - size, 0);
  return { before: Math.floor(total / 2), after: total - Math.floor(total / 2), out };
}

/** [kh, kw, I, O] (TF conv kernel) → [O, I, kh, kw]. */
function ohwiFromTf(w: Float32Array, kh: number, kw: number, I: number, O: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < kh; a++)
    for (let c = 0; c < kw; c++)
      for (let i = 0; i < I; i++)
        for (let o = 0; o < O; o++) out[((o * I + i) * kh + a) * kw + c] = w[((a * kw + c) * I + i) * O + o];
  return out;
}

/** [O, I, kh, kw] → flipped and transposed [I, O, kh, kw] (the input-gradient kernel). */
function flipTranspose(w: Float32Array, O: number, I: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let a = 0; a < kh; a++)
        for (let c = 0; c < kw; c++) out[((i * O + o) * kh + (kh - 1 - a)) * kw + (kw - 1 - c)] = w[((o * I + i) * kh + a) * kw + c];
  return out;
}

/** A batch normalization (inference mode) as x·s + t per channel, in float32 like TF.js' kernels. */
export function bnAffine(layer: tf.layers.Layer): { s: Float32Array; t: Float32Array } {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const eps = cfg.epsilon as number;
  const mean = weightValues(layer, /moving_mean/)!.data;
  const variance = weightValues(layer, /moving_variance/)!.data;
  const gamma = weightValues(layer, /gamma/, false)?.data;
  const beta = weightValues(layer, /beta/, false)?.data;
  const C = mean.length;
  const s = new Float32Array(C);
  const t = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    // TF.js: (x − mean) · γ / √(var + ε) + β.
    s[c] = Math.fround((gamma ? gamma[c] : 1) / Math.fround(Math.sqrt(Math.fround(variance[c] + eps))));
    t[c] = Math.fround((beta ? beta[c] : 0) - Math.fround(mean[c] * s[c]));
  }
  return { s, t };
}

/** The function of a stand-alone ReLU-like layer (ReLU, ReLU6, Activation relu/relu6), else null. */
export function reluLayerAct(layer: tf.layers.Layer): Act | null {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  if (cls === 'ReLU') {
    if (cfg.negativeSlope || cfg.threshold) return null;
    const mv = cfg.maxValue as number | null | undefined;
    return mv === null || mv === undefined ? 'relu' : mv === 6 ? 'relu6' : null;
  }
  if (cls === 'Activation') {
    const a = activationOf(layer);
    return a === 'relu' || a === 'relu6' ? a : null;
  }
  return null;
}

/** What the backward graph needs from the forward pass. */
export type Saved = 'x' | 'y';

export interface LayerKernel {
  /** Internal output dims (no batch). */
  outDims: number[];
  /** The output is the input, unchanged (Dropout and the like, InputLayer). */
  identity?: boolean;
  /** Gradients pass unchanged to every input (Add). */
  sumGradient?: boolean;
  /** Forward graph: inputs x0..x{n-1}, output y. */
  forward?: () => GraphSpec;
  /** Backward graph for a ReLU rule (layers without `usesRule` ignore it): inputs g + saved, outputs gx0..gx{n-1}. */
  backward?: (rule: Rule) => GraphSpec;
  /**
   * Or one graph for both directions (inputs x0 | g, ys (the saved output), rule; outputs y | gx0,
   * each direction with its own batch size): for layers with large weights (Dense).
   */
  both?: () => GraphSpec;
  /** Saved values the backward graph reads (besides g): 'x' is every input (x0, x1, …), 'y' the output. */
  saved: Saved[];
  /** The gradient depends on the ReLU rule (a backward graph per rule; the `both` graph's `rule` input). */
  usesRule: boolean;
  /** Constant inputs of both graphs (fed on every run; a graph ignores the ones it does not declare). */
  feeds?: Record<string, { data: Float32Array; dims: number[] }>;
}

const B = 'b';
/**
 * Layers that are the identity when their output size equals their input size (RandomHeight/Width:
 * models/layerClasses.ts makes them the identity at inference, as in Keras; TF.js' own resize).
 */
const SAME_SIZE_IDENTITY = new Set(['Resizing', 'CenterCrop', 'RandomCrop', 'RandomHeight', 'RandomWidth']);
/** Layers whose output is their input at inference (dropout, noise, augmentation, regularization). */
const IDENTITY = new Set(['InputLayer', ...[...INFERENCE_IDENTITY].filter((c) => !SAME_SIZE_IDENTITY.has(c))]);

/** Every layer kind the engine compiles (for messages). */
export const SUPPORTED_LAYERS = [
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Conv2DTranspose',
  'Dense',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'PReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'UpSampling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'Flatten',
  'Reshape',
  'Add',
  'Subtract',
  'Average',
  'Multiply',
  'Maximum',
  'Minimum',
  'Concatenate',
  'Rescaling',
  'Normalization',
  ...IDENTITY,
  'Resizing and CenterCrop (to the same size)',
];

function shapeOf(layer: tf.layers.Layer): number[] {
  const s = layer.outputShape as (number | null)[];
  if (!Array.isArray(s)) throw new Unsupported(`layer '${layer.name}' has no known output shape`);
  if (Array.isArray(s[0])) throw new Unsupported(`layer '${layer.name}' has several outputs`);
  return (s as (number | null)[]).slice(1).map((d) => {
    if (d === null) throw new Unsupported(`layer '${layer.name}' has an unknown output size`);
    return d;
  });
}

function inShapes(layer: tf.layers.Layer): number[][] {
  const node = layer.inboundNodes[0];
  if (!node) throw new Unsupported(`layer '${layer.name}' is not connected to an input`);
  return node.inputTensors.map((t) =>
    t.shape.slice(1).map((d) => {
      if (d === null) throw new Unsupported(`the input of layer '${layer.name}' has an unknown size`);
      return d;
    }),
  );
}

/** A 2-vector setting given as a number or a pair (kernel sizes, strides, dilations). */
function pair(v: unknown, dflt: number): [number, number] {
  if (v === undefined || v === null) return [dflt, dflt];
  if (Array.isArray(v)) return [v[0] as number, (v.length > 1 ? v[1] : v[0]) as number];
  return [v as number, v as number];
}

/** A channel axis given as a number or a one-element list (Keras 2 writes `axis: [3]`), as a non-negative index. */
function channelAxis(v: unknown, rank: number): number | null {
  const a = Array.isArray(v) ? (v.length === 1 ? v[0] : null) : v;
  if (typeof a !== 'number' || !Number.isInteger(a)) return null;
  return a < 0 ? a + rank : a;
}

/** A layer setting that is a number or one number per channel, as a float array for [C] (or one value). */
function perChannel(v: unknown, C: number, what: string): Float32Array {
  const arr = Array.isArray(v) ? (v as unknown[]).flat(4) : [v];
  if (!arr.every((x) => typeof x === 'number')) throw new Unsupported(`${what} is not a number or a list of numbers`);
  if (arr.length !== 1 && arr.length !== C) throw new Unsupported(`${what} has ${arr.length} values for ${C} channels`);
  return Float32Array.from(arr as number[]);
}

/**
 * The kernel of one layer. `linear` forces a linear activation (the logits layer of a model whose
 * softmax is fused into it).
 */
export interface Fold {
  /** A following batch normalization's affine map (per output channel), folded into the kernel. */
  bn?: { s: Float32Array; t: Float32Array };
  /** A following activation layer's function, applied by this graph. */
  act?: Act;
}

/**
 * `outChannels` (Conv2D only) keeps just those output channels, in that order: the kernel of a backward
 * pass whose incoming gradient is zero in every other channel (engine/onnx/net.ts).
 */
export function layerKernel(layer: tf.layers.Layer, linear = false, fold?: Fold, outChannels?: readonly number[]): LayerKernel {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') throw new Unsupported(`data format '${String(cfg.dataFormat)}' of layer '${layer.name}'`);
  const ins = cls === 'InputLayer' ? [shapeOf(layer)] : inShapes(layer);
  // Identity layers: the output is the input (their declared output shape is not trusted: TF.js'
  // Resizing declares a wrong one).
  if (IDENTITY.has(cls) || (cls === 'Activation' && (linear || activationOf(layer) === 'linear'))) return { outDims: internalDims(ins[0]), identity: true, saved: [], usesRule: false };
  if (SAME_SIZE_IDENTITY.has(cls)) {
    const [H, W] = ins[0];
    const declared = layer.outputShape as (number | null)[];
    const [h, w] = cfg.height !== undefined && cfg.width !== undefined ? [cfg.height, cfg.width] : [declared[1], declared[2]];
    if (ins[0].length !== 3 || h !== H || w !== W) {
      throw new Unsupported(`layer '${layer.name}' (${cls}) changes the size ${ins[0].slice(0, 2).join('×')} to ${String(h)}×${String(w)}; the engine compiles it only when the size stays the same`);
    }
    return { outDims: internalDims(ins[0]), identity: true, saved: [], usesRule: false };
  }
  const outTf = shapeOf(layer);
  if (outChannels && (cls !== 'Conv2D' || outTf.length !== 3)) throw new Unsupported(`output channels of layer '${layer.name}' (${cls})`);
  const fullDims = internalDims(outTf);
  const outDims = outChannels ? [outChannels.length, ...fullDims.slice(1)] : fullDims;
  const inDims = ins.map(internalDims);
  const rank = outTf.length + 1;
  const io = (names: string[], dims: number[][]) => names.map((n, i) => ({ name: n, dims: [B, ...dims[i]] }));
  // The usual graph outputs: the layer's output y, and the gradient of its (first) input gx0.
  const yOut = [{ name: 'y', dims: [B, ...outDims] }];
  const gxOut = [{ name: 'gx0', dims: [B, ...inDims[0]] }];
  /** Per-channel constant dims that broadcast over the internal layout. */
  const chanDims = (C: number) => (rank === 4 ? [1, C, 1, 1] : [1, C]);

  const ruleIn = (b: Builder) => {
    let parts: string[] | null = null;
    return () => (parts ??= [0, 1, 2].map((i) => b.one('Slice', ['rule', b.i64([i]), b.i64([i + 1]), b.i64([0])])));
  };
  const bwdInputs = (saved: Saved[]) => [
    { name: 'g', dims: [B, ...outDims] },
    ...saved.map((s) => (s === 'x' ? { name: 'x0', dims: [B, ...inDims[0]] } : { name: 'y', dims: [B, ...outDims] })),
  ];
  /**
   * A one-input layer whose graphs are one expression each: `fwd` computes y from x0, `bwd` the input's
   * gradient from g and the `saved` values (x0, y).
   */
  const unary = (saved: Saved[], fwd: (b: Builder) => string, bwd: (b: Builder, rule: Rule) => string, usesRule = false): LayerKernel => ({
    outDims,
    saved,
    usesRule,
    forward: () => {
      const b = new Builder();
      b.output(fwd(b), 'y');
      return b.spec(io(['x0'], inDims), yOut);
    },
    backward: (rule) => {
      const b = new Builder();
      b.output(bwd(b, rule), 'gx0');
      return b.spec(bwdInputs(saved), gxOut);
    },
  });
  /** TF.js' leaky ReLU: x > 0 ? x : alpha·x; gradient dy where x > 0, else alpha·dy (every ReLU rule keeps it, as on TF.js). */
  const leaky = (alpha: number): LayerKernel =>
    unary(
      ['x'],
      (b) => b.one('LeakyRelu', ['x0'], { alpha: { float: alpha } }),
      (b) => b.one('Where', [b.one('Greater', ['x0', b.scalar(0)]), 'g', b.one('Mul', ['g', b.scalar(alpha)])]),
    );
  /** What an activation's backward graph reads: nothing (linear), its input (recomputed from x0) or its output. */
  const savedFor = (act: Act): Saved[] => (act === 'linear' ? [] : FROM_INPUT.has(act) ? ['x'] : ['y']);

  switch (cls) {
    case 'Conv2D':
    case 'DepthwiseConv2D':
    case 'SeparableConv2D':
    case 'Conv2DTranspose': {
      if (rank !== 4) throw new Unsupported(`layer '${layer.name}' of rank ${rank}`);
      const depthwise = cls === 'DepthwiseConv2D';
      const separable = cls === 'SeparableConv2D';
      const transpose = cls === 'Conv2DTranspose';
      const act = fold?.act ?? (linear ? 'linear' : activationOf(layer));
      const [kh, kw] = pair(cfg.kernelSize, 1);
      const [sh, sw] = pair(cfg.strides, 1);
      const [dh, dw] = pair(cfg.dilationRate, 1);
      if (transpose && (dh !== 1 || dw !== 1)) throw new Unsupported(`dilated transposed convolution '${layer.name}'`);
      const [C, H, W] = inDims[0];
      const O = outDims[0];
      // Padding of the (forward) convolution: for a transposed one, the convolution from its output to its input.
      const ph = transpose ? tfPad(outDims[1], kh, sh, 1, cfg.padding as string) : tfPad(H, kh, sh, dh, cfg.padding as string);
      const pw = transpose ? tfPad(outDims[2], kw, sw, 1, cfg.padding as string) : tfPad(W, kw, sw, dw, cfg.padding as string);
      if (transpose ? ph.out !== H || pw.out !== W : ph.out !== outDims[1] || pw.out !== outDims[2]) throw new Unsupported(`layer '${layer.name}': output size mismatch`);
      // The TF kernel [kh, kw, C, O] (or a bias, s, t) restricted to the kept output channels.
      const pick = (v: Float32Array): Float32Array => {
        if (!outChannels) return v;
        const full = fullDims[0];
        const out = new Float32Array((v.length / full) * O);
        for (let r = 0, o = 0; r < v.length; r += full) for (const c of outChannels) out[o++] = v[r + c];
        return out;
      };
      // Channel multiplier of the depthwise part (DepthwiseConv2D, SeparableConv2D).
      const M = depthwise ? O / C : separable ? ((layer.weights.find((v) => /depthwise_kernel/.test(v.originalName ?? v.name))?.shape[3] as number | undefined) ?? 1) : 1;
      // Weights are read when a graph is built (not kept here: a VGG16 is 528 MB).
      // ONNX kernel [O, I/group, kh, kw]; for depthwise, output channel c·M + m reads input channel c.
      // Transposed: TF [kh, kw, O, C] → ONNX ConvTranspose [C, O, kh, kw] (also the Conv kernel of its input gradient).
      let onnxKernel: Float32Array | undefined;
      const kernelOnnx = () => {
        if (onnxKernel) return onnxKernel;
        if (transpose) return (onnxKernel = ohwiFromTf(weightValues(layer, /kernel/)!.data, kh, kw, O, C));
        const k = pick(weightValues(layer, depthwise || separable ? /depthwise_kernel/ : /kernel/)!.data);
        return (onnxKernel = depthwise || separable ? ohwiFromTf(k, kh, kw, 1, C * M) : ohwiFromTf(k, kh, kw, C, O));
      };
      // SeparableConv2D's pointwise kernel: TF [1, 1, C·M, O] → ONNX [O, C·M, 1, 1], and transposed for the backward pass.
      const pointwise = () => ohwiFromTf(weightValues(layer, /pointwise_kernel/)!.data, 1, 1, C * M, O);
      // ([1, 1, C·M, O] in TF's order is already the [C·M, O, 1, 1] kernel of the pointwise part's input gradient.)
      const pointwiseT = () => weightValues(layer, /pointwise_kernel/)!.data;
      const hasBias = layer.weights.some((v) => /bias/.test(v.originalName ?? v.name));
      const biasValues = (): Float32Array => pick(weightValues(layer, /bias/)!.data);
      // A folded batch norm stays a separate multiply and add, with s and t as graph inputs: the
      // runtime cannot fold them into the kernel, so values round exactly as TF.js computes them
      // (a folded kernel moves ReLU6 boundaries by an ulp and flips gradient masks).
      const bnFeeds = fold?.bn ? { bn_s: { data: pick(fold.bn.s), dims: [1, O, 1, 1] }, bn_t: { data: pick(fold.bn.t), dims: [1, O, 1, 1] } } : undefined;
      const bnInputs = fold?.bn ? [{ name: 'bn_s', dims: [1, O, 1, 1] }, { name: 'bn_t', dims: [1, O, 1, 1] }] : [];
      const group = depthwise || separable ? C : 1;
      const pads = [ph.before, pw.before, ph.after, pw.after];
      const convAttrs = { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads, group };
      const saved = savedFor(act);
      if (outChannels && FROM_INPUT.has(act)) throw new Unsupported(`output channels of layer '${layer.name}' with activation '${act}'`);
      if (bnFeeds && FROM_INPUT.has(act)) throw new Unsupported(`a batch norm folded before '${act}' in layer '${layer.name}'`);
      const usesRule = act === 'relu' || act === 'relu6';
      /** The pre-activation value from x0 (batch norm applied). */
      const pre = (b: Builder): string => {
        const bias = hasBias ? [b.f32([O], biasValues())] : [];
        let z: string;
        if (transpose) {
          const opad = [outDims[1] - (sh * (H - 1) + kh - ph.before - ph.after), outDims[2] - (sw * (W - 1) + kw - pw.before - pw.after)];
          z = b.one('ConvTranspose', ['x0', b.weight([C, O, kh, kw], kernelOnnx), ...bias], { kernel_shape: [kh, kw], strides: [sh, sw], pads, output_padding: opad });
        } else if (separable) {
          const d = b.one('Conv', ['x0', b.weight([C * M, 1, kh, kw], kernelOnnx)], convAttrs);
          z = b.one('Conv', [d, b.weight([O, C * M, 1, 1], pointwise), ...bias], { kernel_shape: [1, 1] });
        } else {
          z = b.one('Conv', ['x0', b.weight([O, depthwise ? 1 : C, kh, kw], kernelOnnx), ...bias], convAttrs);
        }
        if (bnFeeds) z = b.one('Add', [b.one('Mul', [z, 'bn_s']), 'bn_t']);
        return z;
      };
      /** The input gradient of a (grouped) convolution x [Ci, H, W] → [Co, ...] with ONNX kernel [Co, Ci/group, kh, kw]. */
      const convInputGrad = (b: Builder, gp: string, Co: number, Ci: number, kernel: () => Float32Array): string => {
        const I = Ci / group;
        if (sh === 1 && sw === 1 && dh === 1 && dw === 1 && (group === 1 || Co === Ci)) {
          // Stride 1: the input gradient is a convolution with the flipped kernel, transposed (per group).
          let flipped: Float32Array | undefined;
          const wf = () => (flipped ??= group === 1 ? flipTranspose(kernel(), Co, Ci, kh, kw) : flipTranspose(kernel(), Ci, 1, kh, kw));
          return b.one('Conv', [gp, b.weight(group === 1 ? [Ci, Co, kh, kw] : [Ci, 1, kh, kw], wf)], {
            kernel_shape: [kh, kw],
            pads: [kh - 1 - ph.before, kw - 1 - pw.before, kh - 1 - ph.after, kw - 1 - pw.after],
            group,
          });
        }
        const opad = [H - (sh * (ph.out - 1) + (kh - 1) * dh + 1 - ph.before - ph.after), W - (sw * (pw.out - 1) + (kw - 1) * dw + 1 - pw.before - pw.after)];
        return b.one('ConvTranspose', [gp, b.weight([Co, I, kh, kw], kernel)], { ...convAttrs, output_padding: opad });
      };
      return {
        outDims,
        saved,
        usesRule,
        forward: () => {
          const b = new Builder();
          b.output(applyAct(b, pre(b), act, rank), 'y');
          return b.spec([...io(['x0'], inDims), ...bnInputs], yOut);
        },
        backward: (rule) => {
          const b = new Builder();
          let gp = actBackward(b, 'g', 'y', act, rule, FROM_INPUT.has(act) ? pre(b) : undefined);
          if (bnFeeds) gp = b.one('Mul', [gp, 'bn_s']);
          let gx: string;
          if (transpose) {
            // The input gradient of a transposed convolution is the convolution with the same kernel.
            gx = b.one('Conv', [gp, b.weight([C, O, kh, kw], kernelOnnx)], { kernel_shape: [kh, kw], strides: [sh, sw], pads });
          } else if (separable) {
            const gd = b.one('Conv', [gp, b.weight([C * M, O, 1, 1], pointwiseT)], { kernel_shape: [1, 1] });
            gx = convInputGrad(b, gd, C * M, C, kernelOnnx);
          } else {
            gx = convInputGrad(b, gp, O, C, kernelOnnx);
          }
          b.output(gx, 'gx0');
          return b.spec([...bwdInputs(saved), ...(bnFeeds ? [bnInputs[0]] : [])], gxOut);
        },
        feeds: bnFeeds,
      };
    }
    case 'Dense': {
      if (rank !== 2 || inDims[0].length !== 1) throw new Unsupported(`Dense layer '${layer.name}' on a ${inDims[0].length + 1}-d input`);
      const act = linear ? 'linear' : activationOf(layer);
      const kernelVar = layer.weights.find((v) => /kernel/.test(v.originalName ?? v.name));
      if (!kernelVar) throw new Unsupported(`Dense layer '${layer.name}' has no kernel`);
      const [I, O] = kernelVar.shape as number[];
      const hasBias = layer.weights.some((v) => /bias/.test(v.originalName ?? v.name));
      const kernel = () => weightValues(layer, /kernel/)!;
      const usesRule = act === 'relu' || act === 'relu6';
      // One graph computes y = act(x·W + b) and dx = (dy·act'(y))·Wᵀ. The kernel (VGG16's fc1 is
      // 411 MB) is an input read from TF.js' memory on every run, so no copy of it exists. The two
      // directions have their own batch dimension: a call feeds the other direction's inputs with zero
      // rows, which costs nothing.
      const biasIn = (b: Builder, inputs: string[]) => (hasBias ? [...inputs, b.f32([O], weightValues(layer, /bias/)!.data)] : inputs);
      if (FROM_INPUT.has(act)) {
        // An activation whose gradient reads its input: separate graphs, the backward one recomputing x·W + b.
        return unary(
          ['x'],
          (b) => applyAct(b, b.one('Gemm', biasIn(b, ['x0', b.weight([I, O], () => kernel().data)])), act, rank),
          (b) => {
            const w = b.weight([I, O], () => kernel().data);
            const gp = actBackward(b, 'g', 'y', act, 'gradient', b.one('Gemm', biasIn(b, ['x0', w])));
            return b.one('Gemm', [gp, w], { transB: 1 });
          },
        );
      }
      const saved: Saved[] = act === 'linear' ? [] : ['y'];
      return {
        outDims,
        saved,
        usesRule,
        both: () => {
          const b = new Builder();
          // Read on every run: a view of the backend's memory, never copied.
          const w = b.weight([I, O], () => kernel().data);
          b.output(applyAct(b, b.one('Gemm', biasIn(b, ['x0', w])), act, rank), 'y');
          const gp = actBackward(b, 'g', 'ys', act, ruleIn(b));
          b.output(b.one('Gemm', [gp, w], { transB: 1 }), 'gx0');
          return b.spec(
            [
              { name: 'x0', dims: [B, I] },
              { name: 'g', dims: ['bg', O] },
              ...(saved.length ? [{ name: 'ys', dims: ['bg', O] }] : []),
              ...(usesRule ? [{ name: 'rule', dims: [3] }] : []),
            ],
            [
              { name: 'y', dims: [B, O] },
              { name: 'gx0', dims: ['bg', I] },
            ],
          );
        },
      };
    }
    case 'BatchNormalization': {
      // Keras 2 writes the axis as a list (`axis: [3]`), which TF.js reads as that number too.
      if (channelAxis(cfg.axis, rank) !== rank - 1) throw new Unsupported(`batch normalization over axis ${JSON.stringify(cfg.axis)} in layer '${layer.name}'; the engine normalizes over the channel axis (-1 or ${rank - 1})`);
      if (rank !== 4 && rank !== 2) throw new Unsupported(`batch normalization of rank ${rank} in layer '${layer.name}'`);
      const C = outDims[0];
      const { s, t } = bnAffine(layer);
      const pdims = rank === 4 ? [1, C, 1, 1] : [1, C];
      return unary(
        [],
        (b) => b.one('Add', [b.one('Mul', ['x0', b.f32(pdims, s)]), b.f32(pdims, t)]),
        (b) => b.one('Mul', ['g', b.f32(pdims, s)]),
      );
    }
    case 'Activation':
    case 'ReLU':
    case 'Softmax': {
      let act: Act;
      if (cls === 'ReLU') {
        const mv = cfg.maxValue as number | null | undefined;
        const slope = (cfg.negativeSlope as number | undefined) ?? 0;
        const thr = (cfg.threshold as number | undefined) ?? 0;
        if (thr || (slope && mv !== null && mv !== undefined)) {
          // Keras' general form (models/layerClasses.ts): y = clip(x·[x > t], 0, m) − s·relu(t − x); TF.js'
          // gradient: [x > t]·[0 ≤ x ≤ m] (the clip's, when m is set) + s·[x < t]. Not a ReLU for the rules.
          const cap = mv === null || mv === undefined ? undefined : mv;
          return unary(
            ['x'],
            (b) => {
              let y = thr ? b.one('Mul', ['x0', b.one('Cast', [b.one('Greater', ['x0', b.scalar(thr)])], { to: DT.FLOAT })]) : b.one('Relu', ['x0']);
              if (cap !== undefined) y = b.one('Clip', [y, b.scalar(0), b.scalar(cap)]);
              return slope ? b.one('Sub', [y, b.one('Mul', [b.one('Relu', [b.one('Sub', [b.scalar(thr), 'x0'])]), b.scalar(slope)])]) : y;
            },
            (b) => {
              let open = b.one('Greater', ['x0', b.scalar(thr)]);
              if (cap !== undefined) open = b.one('And', [open, b.one('And', [b.one('Not', [b.one('Less', ['x0', b.scalar(0)])]), b.one('Not', [b.one('Greater', ['x0', b.scalar(cap)])])])]);
              let d = b.one('Cast', [open], { to: DT.FLOAT });
              if (slope) d = b.one('Add', [d, b.one('Mul', [b.one('Cast', [b.one('Less', ['x0', b.scalar(thr)])], { to: DT.FLOAT }), b.scalar(slope)])]);
              return b.one('Mul', ['g', d]);
            },
          );
        }
        if (slope) {
          // Keras' leaky form (models/layerClasses.ts computes it with tf.leakyRelu); not a ReLU for the rules.
          return leaky(slope);
        }
        if (mv === null || mv === undefined) act = 'relu';
        else if (mv === 6) act = 'relu6';
        else {
          // relu, then a clip at mv (TF.js' ReLU layer); its gradient follows the ReLU rules like ReLU6's.
          if (linear) return { outDims, identity: true, saved: [], usesRule: false };
          return unary(
            ['y'],
            (b) => b.one('Clip', ['x0', b.scalar(0), b.scalar(mv)]),
            (b, rule) => reluBackward(b, 'g', 'y', mv, rule),
            true,
          );
        }
      } else if (cls === 'Softmax') {
        act = 'softmax';
      } else {
        act = activationOf(layer);
      }
      if (linear) act = 'linear';
      if (act === 'linear') return { outDims, identity: true, saved: [], usesRule: false };
      return unary(
        savedFor(act),
        (b) => applyAct(b, 'x0', act, rank),
        (b, rule) => actBackward(b, 'g', 'y', act, rule, 'x0'),
        act === 'relu' || act === 'relu6',
      );
    }
    case 'LeakyReLU':
      return leaky((cfg.alpha ?? cfg.negativeSlope ?? cfg.negative_slope ?? 0.3) as number);
    case 'ELU': {
      const alpha = (cfg.alpha ?? 1) as number;
      return unary(
        ['x'],
        (b) => b.one('Elu', ['x0'], { alpha: { float: alpha } }),
        // x ≤ 0: alpha·e^x.
        (b) => b.one('Where', [b.one('Greater', ['x0', b.scalar(0)]), 'g', b.one('Mul', ['g', b.one('Mul', [b.one('Exp', ['x0']), b.scalar(alpha)])])]),
      );
    }
    case 'ThresholdedReLU': {
      const theta = (cfg.theta ?? 1) as number;
      return unary(
        ['x'],
        (b) => b.one('Mul', ['x0', b.one('Cast', [b.one('Greater', ['x0', b.scalar(theta)])], { to: DT.FLOAT })]),
        (b) => b.one('Where', [b.one('Greater', ['x0', b.scalar(theta)]), 'g', b.scalar(0)]),
      );
    }
    case 'PReLU': {
      // alpha has the input's shape (1 along shared axes); internally [C, H, W].
      const a = weightValues(layer, /alpha/)!;
      const ad = a.shape.length === 3 ? internalDims(a.shape) : a.shape;
      let slope = a.data;
      if (a.shape.length === 3) {
        const [h, w, c] = a.shape;
        slope = new Float32Array(a.data.length);
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) slope[(k * h + i) * w + j] = a.data[(i * w + j) * c + k];
      }
      const sl = Float32Array.from(slope);
      return unary(
        ['x'],
        (b) => b.one('PRelu', ['x0', b.f32(ad, sl)]),
        (b) => b.one('Where', [b.one('Greater', ['x0', b.scalar(0)]), 'g', b.one('Mul', ['g', b.f32(ad, sl)])]),
      );
    }
    case 'Rescaling': {
      // TF.js: x·scale + offset (numbers, or one per channel).
      const C = outDims[0];
      const sc = perChannel(cfg.scale, C, `the scale of layer '${layer.name}'`);
      const of = perChannel(cfg.offset ?? 0, C, `the offset of layer '${layer.name}'`);
      const cd = (v: Float32Array) => (v.length === 1 ? [] : chanDims(C));
      return unary(
        [],
        (b) => b.one('Add', [b.one('Mul', ['x0', b.f32(cd(sc), sc)]), b.f32(cd(of), of)]),
        (b) => b.one('Mul', ['g', b.f32(cd(sc), sc)]),
      );
    }
    case 'Normalization': {
      // (x − mean) / √variance per channel, from the layer's weights (or its config).
      const C = outDims[0];
      const ax = channelAxis(cfg.axis ?? -1, rank);
      if (ax !== rank - 1) throw new Unsupported(`normalization over axis ${JSON.stringify(cfg.axis)} in layer '${layer.name}'`);
      if (cfg.invert) throw new Unsupported(`inverted normalization in layer '${layer.name}'`);
      const read = (name: string): Float32Array => {
        const w = weightValues(layer, new RegExp(`(^|/)${name}(:0)?$`), false);
        if (w) return w.data;
        if (cfg[name] !== undefined && cfg[name] !== null) return perChannel(cfg[name], C, `the ${name} of layer '${layer.name}'`);
        throw new Unsupported(`normalization layer '${layer.name}' has no ${name}`);
      };
      const mean = read('mean');
      const variance = read('variance');
      const n = Math.max(mean.length, variance.length);
      if ((mean.length !== 1 && mean.length !== C) || (variance.length !== 1 && variance.length !== C)) throw new Unsupported(`normalization layer '${layer.name}' has ${n} values for ${C} channels`);
      // Keras: (x − mean) / max(√variance, 1e-7), in float32.
      const inv = Float32Array.from({ length: n }, (_, c) => Math.fround(1 / Math.max(Math.fround(Math.sqrt(variance[variance.length === 1 ? 0 : c])), 1e-7)));
      const m = Float32Array.from({ length: n }, (_, c) => mean[mean.length === 1 ? 0 : c]);
      const cd = n === 1 ? [] : chanDims(C);
      return unary(
        [],
        (b) => b.one('Mul', [b.one('Sub', ['x0', b.f32(cd, m)]), b.f32(cd, inv)]),
        (b) => b.one('Mul', ['g', b.f32(cd, inv)]),
      );
    }
    case 'UpSampling2D': {
      // y = Ah · x · Awᵀ per channel, with TF.js' resize weights (nearest: the source ⌊o·in/out⌋;
      // bilinear without corner alignment or half-pixel centres); the gradient is Ahᵀ · g · Aw.
      const [, H, W] = inDims[0];
      const [, Ho, Wo] = outDims;
      const interp = (cfg.interpolation ?? 'nearest') as string;
      if (interp !== 'nearest' && interp !== 'bilinear') throw new Unsupported(`upsampling with '${interp}' interpolation in layer '${layer.name}'`);
      const resize = (n: number, out: number): Float32Array => {
        const a = new Float32Array(out * n);
        const scale = Math.fround(n / out);
        for (let o = 0; o < out; o++) {
          const src = Math.fround(o * scale);
          if (interp === 'nearest') {
            a[o * n + Math.min(n - 1, Math.floor(src))] = 1;
          } else {
            const top = Math.floor(src);
            const bottom = Math.min(top + 1, n - 1);
            const f = Math.fround(src - top);
            a[o * n + top] += 1 - f;
            a[o * n + bottom] += f;
          }
        }
        return a;
      };
      const ah = resize(H, Ho);
      const aw = resize(W, Wo);
      const t = (m: Float32Array, r: number, c: number) => Float32Array.from({ length: r * c }, (_, k) => m[(k % r) * c + Math.floor(k / r)]);
      return unary(
        [],
        (b) => b.one('MatMul', [b.f32([Ho, H], ah), b.one('MatMul', ['x0', b.f32([W, Wo], t(aw, Wo, W))])]),
        (b) => b.one('MatMul', [b.f32([H, Ho], t(ah, Ho, H)), b.one('MatMul', ['g', b.f32([Wo, W], aw)])]),
      );
    }
    case 'Cropping2D': {
      const c = cfg.cropping as number[][] | number[] | number;
      const [[t, bo], [l, r]] = typeof c === 'number' ? [[c, c], [c, c]] : typeof c[0] === 'number' ? [[c[0] as number, c[0] as number], [c[1] as number, c[1] as number]] : (c as number[][]);
      const [, H, W] = inDims[0];
      return unary(
        [],
        (b) => b.one('Slice', ['x0', b.i64([t, l]), b.i64([H - bo, W - r]), b.i64([2, 3])]),
        (b) => b.one('Pad', ['g', b.i64([0, 0, t, l, 0, 0, bo, r])]),
      );
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const [kh, kw] = cfg.poolSize as number[];
      const [sh, sw] = (cfg.strides as number[] | null) ?? [kh, kw];
      const [C, H, W] = inDims[0];
      const ph = tfPad(H, kh, sh, 1, cfg.padding as string);
      const pw = tfPad(W, kw, sw, 1, cfg.padding as string);
      const pads = [ph.before, pw.before, ph.after, pw.after];
      const attrs = { kernel_shape: [kh, kw], strides: [sh, sw], pads };
      const [, Ho, Wo] = outDims;
      if (cls === 'MaxPooling2D') {
        return unary(
          ['x'],
          (b) => b.one('MaxPool', ['x0'], attrs),
          (b) => {
            // Each window's gradient goes to its (first) maximum; overlapping windows add up. The
            // indices are found here, not kept from the forward pass: MaxPool with indices is 5-10x
            // slower than without, and most forward passes are never back-propagated through a pool.
            const [, idx] = b.op('MaxPool', ['x0'], attrs, 2);
            const shape = b.one('Shape', ['x0']);
            const flat = b.i64([-1]);
            const zeros = b.one('Reshape', [b.one('ConstantOfShape', [shape]), flat]);
            const scattered = b.one('ScatterElements', [zeros, b.one('Reshape', [idx, flat]), b.one('Reshape', ['g', flat])], { axis: 0, reduction: 'add' });
            return b.one('Reshape', [scattered, shape]);
          },
        );
      }
      // Average pooling: TF divides by the number of in-image cells of each window.
      const count = new Float32Array(Ho * Wo);
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          const r0 = i * sh - ph.before;
          const c0 = j * sw - pw.before;
          const rows = Math.min(H, r0 + kh) - Math.max(0, r0);
          const cols = Math.min(W, c0 + kw) - Math.max(0, c0);
          count[i * Wo + j] = 1 / (rows * cols);
        }
      return unary(
        [],
        (b) => b.one('AveragePool', ['x0'], { ...attrs, count_include_pad: 0 }),
        (b) => {
          const scaled = b.one('Mul', ['g', b.f32([1, 1, Ho, Wo], count)]);
          const opad = [H - (sh * (Ho - 1) + kh - ph.before - ph.after), W - (sw * (Wo - 1) + kw - pw.before - pw.after)];
          const ones = b.f32([C, 1, kh, kw], new Float32Array(C * kh * kw).fill(1));
          return b.one('ConvTranspose', [scaled, ones], { ...attrs, group: C, output_padding: opad });
        },
      );
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      // Keras' keepdims (models/layerClasses.ts): [C, 1, 1] instead of [C].
      const keep = rank === 4;
      if (keep ? outDims[1] !== 1 || outDims[2] !== 1 : rank !== 2) throw new Unsupported(`global pooling to shape [${outTf.join(', ')}] in layer '${layer.name}'`);
      const [C, H, W] = inDims[0];
      const avg = cls === 'GlobalAveragePooling2D';
      return unary(
        ['x'],
        (b) => {
          const pooled = b.one(avg ? 'GlobalAveragePool' : 'GlobalMaxPool', ['x0']);
          return keep ? pooled : b.one('Flatten', [pooled], { axis: 1 });
        },
        (b) => {
          const g4 = b.one('Reshape', ['g', b.i64([-1, C, 1, 1])]);
          if (avg) return b.one('Mul', [b.one('Expand', [g4, b.one('Shape', ['x0'])]), b.scalar(1 / (H * W))]);
          const m = b.one('Cast', [b.one('Equal', ['x0', b.one('GlobalMaxPool', ['x0'])])], { to: DT.FLOAT });
          return b.one('Mul', [m, g4]);
        },
      );
    }
    case 'Flatten':
    case 'Reshape': {
      const inTf = ins[0];
      if (![1, 3].includes(inTf.length) || ![1, 3].includes(outTf.length)) throw new Unsupported(`${cls} from rank ${inTf.length + 1} to ${rank} in layer '${layer.name}'`);
      const toNhwc = (b: Builder, x: string, r: number) => (r === 3 ? b.one('Transpose', [x], { perm: [0, 2, 3, 1] }) : x);
      const toNchw = (b: Builder, x: string, r: number) => (r === 3 ? b.one('Transpose', [x], { perm: [0, 3, 1, 2] }) : x);
      return unary(
        [],
        (b) => toNchw(b, b.one('Reshape', [toNhwc(b, 'x0', inTf.length), b.i64([-1, ...outTf])]), outTf.length),
        (b) => toNchw(b, b.one('Reshape', [toNhwc(b, 'g', outTf.length), b.i64([-1, ...inTf])]), inTf.length),
      );
    }
    case 'ZeroPadding2D': {
      const p = cfg.padding as number[][];
      const [[t, bo], [l, r]] = p;
      const [, H, W] = inDims[0];
      return unary(
        [],
        (b) => b.one('Pad', ['x0', b.i64([0, 0, t, l, 0, 0, bo, r])]),
        (b) => b.one('Slice', ['g', b.i64([t, l]), b.i64([t + H, l + W]), b.i64([2, 3])]),
      );
    }
    case 'Add':
    case 'Subtract':
    case 'Average':
    case 'Multiply':
    case 'Maximum':
    case 'Minimum':
      return mergeKernel(cls, ins, inDims, outTf, outDims, layer.name);
    case 'Concatenate': {
      if (channelAxis(cfg.axis ?? -1, rank) !== rank - 1) throw new Unsupported(`concatenation over axis ${JSON.stringify(cfg.axis)} in layer '${layer.name}'`);
      const names = ins.map((_, i) => `x${i}`);
      const sizes = inDims.map((d) => d[0]);
      return {
        outDims,
        saved: [],
        usesRule: false,
        forward: () => {
          const b = new Builder();
          b.output(b.one('Concat', names, { axis: 1 }), 'y');
          return b.spec(io(names, inDims), yOut);
        },
        backward: () => {
          const b = new Builder();
          const parts = b.op('Split', ['g', b.i64(sizes)], { axis: 1 }, sizes.length);
          parts.forEach((p, i) => b.output(p, `gx${i}`));
          return b.spec(bwdInputs([]), inDims.map((d, i) => ({ name: `gx${i}`, dims: [B, ...d] })));
        },
      };
    }
    default:
      throw new Unsupported(`layer '${layer.name}' is a ${cls}, which the engine does not compile; it compiles ${SUPPORTED_LAYERS.join(', ')}`);
  }
}

/**
 * Element-wise merges (Add, Subtract, Average, Multiply, Maximum, Minimum) with TF.js' broadcasting: an
 * input of lower rank gets size-1 axes after the batch axis ([C] against [H, W, C] is [1, 1, C]: a
 * squeeze-excitation scale), then sizes of 1 broadcast. TF.js folds the inputs left to right
 * (((x0 ∘ x1) ∘ x2) …); gradients follow its rules for each step: Multiply's go to each factor times the
 * other, Maximum's to the first operand where it is ≥ the second (else the second), Minimum's to the first
 * where it is ≤, and a broadcast operand's gradient is summed over the axes it was broadcast along.
 */
function mergeKernel(cls: string, ins: number[][], inDims: number[][], outTf: number[], outDims: number[], name: string): LayerKernel {
  const R = outTf.length;
  const n = ins.length;
  if (cls === 'Subtract' && n !== 2) throw new Unsupported(`layer '${name}' (Subtract) has ${n} inputs`);
  // Each input's internal dims after TF.js' expansion to the output's rank.
  const exp = ins.map((s, i) => {
    if (s.length === R) return inDims[i];
    if (s.length !== 1 || R !== 3) throw new Unsupported(`layer '${name}' (${cls}) merges inputs of rank ${s.length + 1} and ${R + 1}`);
    return internalDims([1, 1, s[0]]);
  });
  for (const d of exp) {
    if (d.length !== outDims.length || d.some((v, k) => v !== 1 && v !== outDims[k])) throw new Unsupported(`layer '${name}' (${cls}) merges shapes that do not broadcast`);
  }
  const same = exp.every((d) => d.join() === outDims.join());
  if (cls === 'Add' && same) {
    return {
      outDims,
      sumGradient: true,
      saved: [],
      usesRule: false,
      forward: () => {
        const b = new Builder();
        b.output(b.one('Sum', ins.map((_, i) => `x${i}`)), 'y');
        return b.spec(ins.map((_, i) => ({ name: `x${i}`, dims: [B, ...inDims[i]] })), [{ name: 'y', dims: [B, ...outDims] }]);
      },
    };
  }
  const names = ins.map((_, i) => `x${i}`);
  const inputs = names.map((x, i) => ({ name: x, dims: [B, ...inDims[i]] }));
  /** Input i at the output's rank. */
  const expanded = (b: Builder, i: number) => (exp[i].length === inDims[i].length ? names[i] : b.one('Reshape', [names[i], b.i64([-1, ...exp[i]])]));
  /** Sums gradient t of shape `from` down to shape `to` (both internal, without batch); then back to input i's dims. */
  const reduce = (b: Builder, t: string, from: number[], to: number[]): string => {
    const axes = to.flatMap((d, k) => (d === 1 && from[k] !== 1 ? [k + 1] : []));
    return axes.length ? b.one('ReduceSum', [t, b.i64(axes)], { keepdims: 1 }) : t;
  };
  const toInput = (b: Builder, t: string, i: number) => (exp[i].length === inDims[i].length ? t : b.one('Reshape', [t, b.i64([-1, ...inDims[i]])]));
  const bshape = (a: number[], c: number[]) => a.map((d, k) => Math.max(d, c[k]));
  const binary = cls === 'Multiply' ? 'Mul' : cls === 'Maximum' ? 'Max' : cls === 'Minimum' ? 'Min' : null;
  /** The left-to-right fold of a binary op: the partial results and their shapes. */
  const fold = (b: Builder, xs: string[]) => {
    const parts = [xs[0]];
    const shapes = [exp[0]];
    for (let i = 1; i < n; i++) {
      parts.push(b.one(binary!, [parts[i - 1], xs[i]]));
      shapes.push(bshape(shapes[i - 1], exp[i]));
    }
    return { parts, shapes };
  };
  return {
    outDims,
    saved: binary ? ['x'] : [],
    usesRule: false,
    forward: () => {
      const b = new Builder();
      const xs = names.map((_, i) => expanded(b, i));
      let y: string;
      if (binary) y = fold(b, xs).parts[n - 1];
      else if (cls === 'Subtract') y = b.one('Sub', xs);
      else if (cls === 'Average') y = b.one('Mul', [b.one('Sum', xs), b.scalar(1 / n)]);
      else y = b.one('Sum', xs);
      b.output(y, 'y');
      return b.spec(inputs, [{ name: 'y', dims: [B, ...outDims] }]);
    },
    backward: () => {
      const b = new Builder();
      const gx: string[] = new Array(n);
      if (!binary) {
        const g = cls === 'Average' ? b.one('Mul', ['g', b.scalar(1 / n)]) : 'g';
        for (let i = 0; i < n; i++) {
          const gi = cls === 'Subtract' && i === 1 ? b.one('Neg', [g]) : g;
          gx[i] = toInput(b, reduce(b, gi, outDims, exp[i]), i);
        }
      } else {
        const xs = names.map((_, i) => expanded(b, i));
        const { parts, shapes } = fold(b, xs);
        let g = 'g';
        for (let i = n - 1; i >= 1; i--) {
          // parts[i] = parts[i−1] ∘ xs[i]; g has shape shapes[i].
          const a = parts[i - 1];
          const x = xs[i];
          let ga: string;
          let gb: string;
          if (binary === 'Mul') {
            ga = b.one('Mul', [g, x]);
            gb = b.one('Mul', [g, a]);
          } else {
            // Max: b wins where a < b; Min: b wins where a > b (ties go to a, as in TF.js).
            const bWins = b.one(binary === 'Max' ? 'Less' : 'Greater', [a, x]);
            const zero = b.scalar(0);
            gb = b.one('Where', [bWins, g, zero]);
            ga = b.one('Where', [bWins, zero, g]);
          }
          gx[i] = toInput(b, reduce(b, gb, shapes[i], exp[i]), i);
          g = reduce(b, ga, shapes[i], shapes[i - 1]);
        }
        gx[0] = toInput(b, g, 0);
      }
      gx.forEach((v, i) => b.output(v, `gx${i}`));
      return b.spec(
        [{ name: 'g', dims: [B, ...outDims] }, ...(binary ? inputs : [])],
        inDims.map((d, i) => ({ name: `gx${i}`, dims: [B, ...d] })),
      );
    },
  };
}
