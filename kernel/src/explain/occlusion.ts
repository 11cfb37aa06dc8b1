/**
 * Occlusion sensitivity (Zeiler & Fergus 2014): slide a patch over the picture, fill it (grey, the
 * picture's mean colour, or the blurred picture) and record how much the class probability drops
 * (as the model's head defines it, models/head.ts: softmax, or σ(±z) for a one-sigmoid binary head;
 * for a channel target: the channel's score). The drop at each patch position is the low-resolution
 * map; each pixel gets the mean drop over the patches that covered it. Forward passes are batched.
 * Same calling convention as the gradient methods: `await occlusion(model, image, {classIndex, ...})`.
 */
import * as tf from '@tensorflow/tfjs';
import { Progress } from '../display/progress';
import { CnnvisError } from '../errors';
import { CnnModel } from '../models/model';
import { Map2D, RGBImage } from '../types';
import { AttributionContext, attributionFunction, AttributionMethod, AttributionOptions, scoresOf } from './attribution/base';
import { gaussianBlur, meanColor, solidInput } from './attribution/baselines';
import { logitsOf } from './gradients';
import { ScoreBasis } from './targets';

export type OcclusionFill = 'gray' | 'mean' | 'blur';

export interface OcclusionOptions extends AttributionOptions {
  /** Patch side in input pixels, or [height, width] (default: input size / 8, rounded). */
  patchSize?: number | [number, number];
  /** Step between patches, or [dy, dx] (default: half the patch). */
  stride?: number | [number, number];
  /** What covers the patch (default 'gray'). */
  fill?: OcclusionFill;
  /** Blur σ in pixels for fill 'blur' (default: patch size / 2). */
  blurSigma?: number;
}

/** Patch origins along one axis: 0, s, 2s, … ≤ n − p, plus n − p so the last patch reaches the edge. */
export function patchOrigins(n: number, p: number, s: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + p <= n; o += s) out.push(o);
  if (out[out.length - 1] !== n - p) out.push(n - p);
  return out;
}

function pair(v: number | [number, number] | undefined, fallback: [number, number], what: string): [number, number] {
  const p: [number, number] = v === undefined ? fallback : typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new CnnvisError(`${what} must be a positive integer or [height, width], got ${JSON.stringify(v)}`);
  }
  return p;
}

export class Occlusion extends AttributionMethod<OcclusionOptions> {
  readonly name = 'Occlusion';
  readonly id = 'occlusion';
  override readonly basis: ScoreBasis = 'probability';

  private geometry(model: CnnModel, o: OcclusionOptions): { ph: number; pw: number; sh: number; sw: number } {
    const d = Math.max(1, Math.round(Math.min(model.inputHeight, model.inputWidth) / 8));
    const [ph, pw] = pair(o.patchSize, [d, d], 'patchSize');
    if (ph > model.inputHeight || pw > model.inputWidth) {
      throw new CnnvisError(`patchSize ${ph}×${pw} is larger than the input ${model.inputHeight}×${model.inputWidth}`);
    }
    const [sh, sw] = pair(o.stride, [Math.max(1, Math.floor(ph / 2)), Math.max(1, Math.floor(pw / 2))], 'stride');
    return { ph, pw, sh, sw };
  }

  override checkOptions(o: OcclusionOptions, model: CnnModel): void {
    this.geometry(model, o);
    const fill = o.fill ?? 'gray';
    if (!['gray', 'mean', 'blur'].includes(fill)) throw new CnnvisError(`unknown fill '${fill}'; valid: gray, mean, blur`, ['gray', 'mean', 'blur']);
  }

  /** Where the patches go and what covers them, for one prepared input `x` of `image`. */
  plan(model: CnnModel, x: tf.Tensor4D, image: RGBImage, o: OcclusionOptions): OcclusionPlan {
    const { ph, pw, sh, sw } = this.geometry(model, o);
    const fillName = o.fill ?? 'gray';
    const fill =
      fillName === 'gray' ? solidInput(model, [128, 128, 128]) : fillName === 'mean' ? solidInput(model, meanColor(image)) : gaussianBlur(x, o.blurSigma ?? Math.max(ph, pw) / 2);
    const ys = patchOrigins(model.inputHeight, ph, sh);
    const xs = patchOrigins(model.inputWidth, pw, sw);
    return { ph, pw, sh, sw, ys, xs, count: ys.length * xs.length, fillName, fill };
  }

  attribute(ctx: AttributionContext, o: OcclusionOptions): tf.Tensor4D {
    const { model, batch: x } = ctx;
    const H = model.inputHeight;
    const W = model.inputWidth;
    const plan = this.plan(model, x, ctx.image, o);
    const { ph, pw, sh, sw, ys, xs, count: n } = plan;
    // The score: probability of the class (the head's probabilities of the class scores), or the channel's score.
    const score = (b: tf.Tensor4D): Float32Array => {
      if (typeof ctx.target !== 'number') return scoresOf(model, b, ctx.target);
      const k = ctx.target;
      const l = logitsOf(model, b);
      const p = tf.tidy(() => model.head.probabilities(l).slice([0, k], [-1, 1]).reshape([-1]));
      const out = p.dataSync().slice() as Float32Array;
      tf.dispose([l, p]);
      return out;
    };
    const drops = new Float32Array(n);
    const progress = ctx.progress && n > ctx.batchSize ? new Progress('Occlusion', n) : null;
    try {
      const base = score(x)[0];
      for (let i0 = 0; i0 < n; i0 += ctx.batchSize) {
        const i1 = Math.min(n, i0 + ctx.batchSize);
        const occluded = occludedBatch(x, plan, i0, i1);
        const s = score(occluded);
        occluded.dispose();
        for (let i = i0; i < i1; i++) drops[i] = base - s[i - i0];
        progress?.tick(i1 - i0);
      }
      ctx.details.score = base;
      ctx.details.patches = n;
      ctx.details.patch = `${ph}×${pw} stride ${sh}×${sw}, fill ${plan.fillName}`;
    } finally {
      progress?.done();
      plan.fill.dispose();
    }
    ctx.lowRes = { width: xs.length, height: ys.length, data: drops };
    return tf.tensor4d(spreadPatches(drops, ys, xs, ph, pw, H, W).data, [1, H, W, 1]);
  }
}

/** Where an occlusion run puts its patches (row after row of origins) and what covers them. */
export interface OcclusionPlan {
  ph: number;
  pw: number;
  sh: number;
  sw: number;
  ys: number[];
  xs: number[];
  /** Number of patch positions. */
  count: number;
  fillName: OcclusionFill;
  /** The covering input [1, H, W, C]; the plan's user disposes it. */
  fill: tf.Tensor4D;
}

/** The input `x` [1, H, W, C] with patch i covered, for i in [i0, i1): [i1 − i0, H, W, C]. */
export function occludedBatch(x: tf.Tensor4D, plan: OcclusionPlan, i0: number, i1: number): tf.Tensor4D {
  const [, H, W] = x.shape;
  const { ys, xs, ph, pw } = plan;
  const masks = new Float32Array((i1 - i0) * H * W);
  for (let i = i0; i < i1; i++) {
    const y0 = ys[Math.floor(i / xs.length)];
    const x0 = xs[i % xs.length];
    const off = (i - i0) * H * W;
    for (let y = y0; y < y0 + ph; y++) masks.fill(1, off + y * W + x0, off + y * W + x0 + pw);
  }
  return tf.tidy(() => {
    const m = tf.tensor4d(masks, [i1 - i0, H, W, 1]);
    return tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(plan.fill, m)) as tf.Tensor4D;
  });
}

/** Pixel map: the mean of the values of the patches covering each pixel (0 where none does). */
export function spreadPatches(values: Float32Array, ys: number[], xs: number[], ph: number, pw: number, H: number, W: number): Map2D {
  const sum = new Float64Array(H * W);
  const count = new Uint32Array(H * W);
  for (let a = 0; a < ys.length; a++) {
    for (let b = 0; b < xs.length; b++) {
      const v = values[a * xs.length + b];
      for (let y = ys[a]; y < ys[a] + ph; y++) {
        for (let x = xs[b]; x < xs[b] + pw; x++) {
          sum[y * W + x] += v;
          count[y * W + x]++;
        }
      }
    }
  }
  const data = new Float32Array(H * W);
  for (let i = 0; i < data.length; i++) data[i] = count[i] ? sum[i] / count[i] : 0;
  return { width: W, height: H, data };
}

export const occlusion = attributionFunction<OcclusionOptions>(new Occlusion());
