/**
 * Values between the engine's graphs (OrtValue: JS typed arrays in the internal layout, NCHW for 4-d)
 * and what a forward pass keeps; conversions to and from TF tensors (NHWC).
 */
import * as tf from '@tensorflow/tfjs';
import { Rule } from './layers';
import { OrtValue } from './runtime';

/** One layer's forward value: its output. */
export interface Saved {
  y: OrtValue;
}

/** The outcome of a forward pass: every kept layer value, by layer name. */
export class Forward {
  constructor(
    readonly batch: number,
    readonly values: Map<string, Saved>,
    /** All values needed for backward passes are present. */
    readonly complete: boolean,
    /** Index of the last layer computed (the pass may stop early). */
    readonly reached: number,
    /**
     * A complete pass whose values serve only backward passes from the logits down to this node index
     * (0: any backward pass); the values below it stayed inside the runtime.
     */
    readonly floor = 0,
  ) {}

  get(name: string): OrtValue {
    const v = this.values.get(name);
    if (!v) throw new Error(`cnnvis: forward value of layer '${name}' was not kept`);
    return v.y;
  }
}

/** a + b (same dims), a new value. */
export function sumValues(a: OrtValue, b: OrtValue): OrtValue {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  const sum = new Float32Array(x.length);
  for (let k = 0; k < sum.length; k++) sum[k] = x[k] + y[k];
  return { data: sum, dims: a.dims };
}

/** Rows i … i + n − 1 of a [B, ...] value (a view of the same memory). */
export function rows(v: OrtValue, i: number, n: number): OrtValue {
  const per = v.data.length / v.dims[0];
  return { data: v.data.subarray(i * per, (i + n) * per) as OrtValue['data'], dims: [n, ...v.dims.slice(1)] };
}

/** Float values [b_k, ...] (same dims after the batch) joined along the batch. */
export function joinRows(parts: readonly OrtValue[]): OrtValue {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p.data as Float32Array, o);
    o += p.data.length;
  }
  return { data: out, dims: [parts.reduce((a, p) => a + p.dims[0], 0), ...parts[0].dims.slice(1)] };
}

/** A zero value of these dims. */
export function zeros(dims: number[]): OrtValue {
  return { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims };
}

/** A zero-row value for a graph input of dims [batch, ...] (the unused direction of a Dense graph). */
export function zeroRows(dims: (number | string)[]): OrtValue {
  return { data: new Float32Array(0), dims: [0, ...(dims.slice(1) as number[])] };
}

/** The `rule` input of Dense graphs (see activation.ts). */
export const RULE_COEFFS: Record<Rule, Float32Array> = {
  gradient: Float32Array.of(1, 0, 0),
  guided: Float32Array.of(0, 1, 0),
  deconvnet: Float32Array.of(0, 0, 1),
};

/** The `rule` input value for a rule. */
export function ruleValue(rule: Rule): OrtValue {
  return { data: RULE_COEFFS[rule], dims: [3] };
}

/** The channels of a [B, C, H, W] value holding a nonzero anywhere in the batch, or null when more than `max` do. */
export function activeChannels(v: OrtValue, max: number): number[] | null {
  const [B, C] = v.dims;
  const plane = v.dims[2] * v.dims[3];
  const d = v.data as Float32Array;
  const keep: number[] = [];
  for (let c = 0; c < C; c++) {
    search: for (let b = 0; b < B; b++) {
      const o = (b * C + c) * plane;
      for (let j = o; j < o + plane; j++) {
        if (d[j] !== 0) {
          keep.push(c);
          if (keep.length > max) return null;
          break search;
        }
      }
    }
  }
  return keep;
}

/** Channels `keep` of a [B, C, H, W] value, in that order. */
export function pickChannels(v: OrtValue, keep: readonly number[]): OrtValue {
  const [B, C, H, W] = v.dims;
  const plane = H * W;
  const src = v.data as Float32Array;
  const out = new Float32Array(B * keep.length * plane);
  for (let b = 0; b < B; b++) keep.forEach((c, k) => out.set(src.subarray((b * C + c) * plane, (b * C + c + 1) * plane), (b * keep.length + k) * plane));
  return { data: out, dims: [B, keep.length, H, W] };
}

/** An internal-layout value as a TF tensor in TF's layout (NHWC for 4-d). */
export function toTensor(v: OrtValue): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(v.data as Float32Array, v.dims);
    return v.dims.length === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t;
  });
}

/** A TF tensor (NHWC for 4-d) in the internal layout. */
export function fromTensor(t: tf.Tensor): OrtValue {
  const u = t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
  const v = { data: u.dataSync() as Float32Array, dims: u.shape };
  if (u !== t) u.dispose();
  return v;
}
