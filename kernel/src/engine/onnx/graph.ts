/**
 * The shared tools of the layer converters (converters/*): a graph builder, the compiled form of a
 * layer (LayerKernel), what a converter is given about its layer (LayerContext), and the conversions
 * between TF.js' layouts and ONNX'. Inside the engine, 4-d tensors are NCHW (ONNX' layout) and 2-d
 * tensors [batch, features].
 */
import * as tf from '@tensorflow/tfjs';
import type { Act } from './activation';
import { AttrValue, DT, GraphSpec, InitSpec, NodeSpec } from './proto';

/** Why a model cannot run on the engine (a layer kind or setting it does not compile). */
export class Unsupported extends Error {}

/** How gradients pass ReLUs: the plain gradient, guided backpropagation or the deconvnet rule. */
export type Rule = 'gradient' | 'guided' | 'deconvnet';

/**
 * How a graph holds its weights: small ones inline and large ones fed, a convolution's batch norm as
 * fed inputs the runtime cannot fold (false); everything inline (true), which lets the runtime fold
 * batch norms into kernels and so move values by an ulp: for graphs whose values feed no gradient
 * mask; or everything inline with each batch norm a 1×1 depthwise convolution of its own, which the
 * runtime runs in its blocked layout but does not fold, so values round as with false ('weights').
 */
export type Embed = boolean | 'weights';

/** Weights of at least this many bytes are fed on every run unless the graph embeds its weights. */
const FED_BYTES = 1 << 20;

/** Builds one graph: nodes with generated value names, constants, fed weights. */
export class Builder {
  readonly nodes: NodeSpec[] = [];
  readonly inits: InitSpec[] = [];
  private n = 0;

  /**
   * `embed`: large weights become constants of the graph too (see `weight`), so the runtime can fuse
   * and pre-pack them, at the price of its own copy (see Embed).
   */
  constructor(readonly embed: Embed = false) {}

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
   * every run, so the runtime keeps no copy of them (it copies every initializer, even external ones) —
   * unless the graph embeds its weights and the weight may be embedded (`embeddable`).
   */
  weight(dims: number[], get: () => Float32Array, embeddable = true): string {
    const count = dims.reduce((a, d) => a * d, 1);
    if (count * 4 < FED_BYTES || (this.embed && embeddable)) return this.f32(dims, get());
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
    // Pooling gains from a second thread even on small maps.
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

/** The three coefficients of a graph's `rule` input (see activation.ts reluBackward), sliced once per graph. */
export function ruleInput(b: Builder): () => string[] {
  let parts: string[] | null = null;
  return () => (parts ??= [0, 1, 2].map((i) => b.one('Slice', ['rule', b.i64([i]), b.i64([i + 1]), b.i64([0])])));
}

/** Internal dims (without batch) of a TF output shape: NHWC → [C, H, W]; others as they are. */
export function internalDims(tfShape: number[]): number[] {
  return tfShape.length === 3 ? [tfShape[2], tfShape[0], tfShape[1]] : tfShape;
}

export function weightValues(layer: tf.layers.Layer, pattern: RegExp, required = true): { data: Float32Array; shape: number[] } | null {
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
export function tfPad(size: number, k: number, s: number, d: number, padding: string): { before: number; after: number; out: number } {
  const eff = (k - 1) * d + 1;
  if (padding === 'valid') return { before: 0, after: 0, out: Math.ceil((size - eff + 1) / s) };
  if (padding !== 'same') throw new Unsupported(`padding '${padding}'`);
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + eff - size, 0);
  return { before: Math.floor(total / 2), after: total - Math.floor(total / 2), out };
}

/** [kh, kw, I, O] (TF conv kernel) → [O, I, kh, kw]. */
export function ohwiFromTf(w: Float32Array, kh: number, kw: number, I: number, O: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < kh; a++)
    for (let c = 0; c < kw; c++)
      for (let i = 0; i < I; i++)
        for (let o = 0; o < O; o++) out[((o * I + i) * kh + a) * kw + c] = w[((a * kw + c) * I + i) * O + o];
  return out;
}

/** [O, I, kh, kw] → flipped and transposed [I, O, kh, kw] (the input-gradient kernel). */
export function flipTranspose(w: Float32Array, O: number, I: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let a = 0; a < kh; a++)
        for (let c = 0; c < kw; c++) out[((i * O + o) * kh + (kh - 1 - a)) * kw + (kw - 1 - c)] = w[((o * I + i) * kh + a) * kw + c];
  return out;
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
  /** Forward graph: inputs x0..x{n-1}, output y; `embed` makes its large weights constants (Builder). */
  forward?: (embed?: Embed) => GraphSpec;
  /**
   * Backward graph for a ReLU rule (layers without `usesRule` ignore it): inputs g + saved, outputs
   * gx0..gx{n-1}; `embed`: its large weights are constants too (a graph composed once for many runs).
   */
  backward?: (rule: Rule, embed?: boolean) => GraphSpec;
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

/** What a convolution applies after itself when a batch normalization and/or a ReLU layer are folded in. */
export interface Fold {
  /** A following batch normalization's affine map (per output channel), folded into the kernel. */
  bn?: { s: Float32Array; t: Float32Array };
  /** A following activation layer's function, applied by this graph. */
  act?: Act;
}

/** The symbolic batch dimension of graph inputs and outputs. */
export const B = 'b';

export function shapeOf(layer: tf.layers.Layer): number[] {
  const s = layer.outputShape as (number | null)[];
  if (!Array.isArray(s)) throw new Unsupported(`layer '${layer.name}' has no known output shape`);
  if (Array.isArray(s[0])) throw new Unsupported(`layer '${layer.name}' has several outputs`);
  return (s as (number | null)[]).slice(1).map((d) => {
    if (d === null) throw new Unsupported(`layer '${layer.name}' has an unknown output size`);
    return d;
  });
}

export function inShapes(layer: tf.layers.Layer): number[][] {
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
export function pair(v: unknown, dflt: number): [number, number] {
  if (v === undefined || v === null) return [dflt, dflt];
  if (Array.isArray(v)) return [v[0] as number, (v.length > 1 ? v[1] : v[0]) as number];
  return [v as number, v as number];
}

/** A channel axis given as a number or a one-element list (Keras 2 writes `axis: [3]`), as a non-negative index. */
export function channelAxis(v: unknown, rank: number): number | null {
  const a = Array.isArray(v) ? (v.length === 1 ? v[0] : null) : v;
  if (typeof a !== 'number' || !Number.isInteger(a)) return null;
  return a < 0 ? a + rank : a;
}

/** A layer setting that is a number or one number per channel, as a float array for [C] (or one value). */
export function perChannel(v: unknown, C: number, what: string): Float32Array {
  const arr = Array.isArray(v) ? (v as unknown[]).flat(4) : [v];
  if (!arr.every((x) => typeof x === 'number')) throw new Unsupported(`${what} is not a number or a list of numbers`);
  if (arr.length !== 1 && arr.length !== C) throw new Unsupported(`${what} has ${arr.length} values for ${C} channels`);
  return Float32Array.from(arr as number[]);
}

/** A graph input or output: a name and its dims (a string dim is symbolic). */
export type Port = { name: string; dims: (number | string)[] };

/**
 * What a converter knows about its layer: its class and config, its input and output shapes (TF's and
 * the engine's internal ones, read on first use: identity layers never read their declared output
 * shape, which TF.js' Resizing gets wrong), what the compiler asks of it (a linear activation, a folded
 * batch norm and ReLU, a subset of output channels) and the usual graph inputs and outputs.
 */
export class LayerContext {
  readonly cls: string;
  readonly cfg: Record<string, unknown>;
  /** TF input shapes without the batch (one per input). */
  readonly ins: number[][];
  readonly inDims: number[][];
  private shapes?: { outTf: number[]; fullDims: number[]; outDims: number[] };

  /**
   * `linear` forces a linear activation (the logits layer of a model whose softmax is fused into it);
   * `fold` is what a convolution applies after itself; `outChannels` (Conv2D only) keeps just those
   * output channels, in that order (a backward pass whose incoming gradient is zero in every other one).
   */
  constructor(
    readonly layer: tf.layers.Layer,
    readonly linear = false,
    readonly fold?: Fold,
    readonly outChannels?: readonly number[],
  ) {
    this.cls = layer.getClassName();
    this.cfg = layer.getConfig() as Record<string, unknown>;
    this.ins = this.cls === 'InputLayer' ? [shapeOf(layer)] : inShapes(layer);
    this.inDims = this.ins.map(internalDims);
  }

  private get shape(): { outTf: number[]; fullDims: number[]; outDims: number[] } {
    if (!this.shapes) {
      const outTf = shapeOf(this.layer);
      const fullDims = internalDims(outTf);
      this.shapes = { outTf, fullDims, outDims: this.outChannels ? [this.outChannels.length, ...fullDims.slice(1)] : fullDims };
    }
    return this.shapes;
  }

  /** TF output shape without the batch. */
  get outTf(): number[] {
    return this.shape.outTf;
  }

  /** Internal output dims of the whole layer. */
  get fullDims(): number[] {
    return this.shape.fullDims;
  }

  /** Internal output dims of the compiled kernel (only `outChannels` when given). */
  get outDims(): number[] {
    return this.shape.outDims;
  }

  /** Rank of the output with the batch. */
  get rank(): number {
    return this.outTf.length + 1;
  }

  /** Per-channel constant dims that broadcast over the internal layout. */
  chanDims(C: number): number[] {
    return this.rank === 4 ? [1, C, 1, 1] : [1, C];
  }

  /** Batched graph ports named `names` with the internal dims `dims`. */
  io(names: string[], dims: number[][]): Port[] {
    return names.map((n, i) => ({ name: n, dims: [B, ...dims[i]] }));
  }

  /** The usual forward output: the layer's output y. */
  get yOut(): Port[] {
    return [{ name: 'y', dims: [B, ...this.outDims] }];
  }

  /** The usual backward output: the gradient of the (first) input, gx0. */
  get gxOut(): Port[] {
    return [{ name: 'gx0', dims: [B, ...this.inDims[0]] }];
  }

  /** The inputs of a backward graph: the output's gradient g, then the `saved` values (x0 or y). */
  bwdInputs(saved: Saved[]): Port[] {
    return [
      { name: 'g', dims: [B, ...this.outDims] },
      ...saved.map((s) => (s === 'x' ? { name: 'x0', dims: [B, ...this.inDims[0]] } : { name: 'y', dims: [B, ...this.outDims] })),
    ];
  }

  /** The output is the (first) input, unchanged. */
  identity(): LayerKernel {
    return { outDims: internalDims(this.ins[0]), identity: true, saved: [], usesRule: false };
  }

  /** The forward graph of a one-input layer: y = fwd(x0), with `extra` inputs besides x0. */
  forwardSpec(embed: Embed | undefined, fwd: (b: Builder) => string, extra: Port[] = []): GraphSpec {
    const b = new Builder(embed);
    b.output(fwd(b), 'y');
    return b.spec([...this.io(['x0'], this.inDims), ...extra], this.yOut);
  }

  /**
   * A one-input layer whose graphs are one expression each: `fwd` computes y from x0, `bwd` the input's
   * gradient from g and the `saved` values (x0, y).
   */
  unary(saved: Saved[], fwd: (b: Builder) => string, bwd: (b: Builder, rule: Rule) => string, usesRule = false): LayerKernel {
    return {
      outDims: this.outDims,
      saved,
      usesRule,
      forward: (embed) => this.forwardSpec(embed, fwd),
      backward: (rule) => {
        const b = new Builder();
        b.output(bwd(b, rule), 'gx0');
        return b.spec(this.bwdInputs(saved), this.gxOut);
      },
    };
  }
}

/** Compiles the layers of some TF.js classes (see layers.ts, the registry). */
export interface Converter {
  /** The TF.js class names it compiles. */
  classes: readonly string[];
  /** How the list of compiled layers names them (default: `classes`). */
  label?: readonly string[];
  convert(ctx: LayerContext): LayerKernel;
}
