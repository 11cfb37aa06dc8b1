/**
 * RISE (Petsiuk, Das & Saenko 2018): a black-box map from random masks. N masks are drawn on a coarse
 * s × s grid (each cell kept with probability p), upsampled bilinearly to ⌊H·(1 + 1/s)⌋ × ⌊W·(1 + 1/s)⌋
 * and cropped at a random offset to H × W, so their edges fall anywhere. Each masked input
 * M ⊙ x + (1 − M) · v (v = `maskValue` in the preprocessed space, default 0) is scored by the class
 * probability (models/head.ts), batched through the engine's logits path, and
 *   map = Σ_i P_i · M_i / (Σ_i M_i + 1e-4)      ('masks', xplique's normalization, default), or
 *   map = Σ_i P_i · M_i / (N · p)               ('expectation', the paper's).
 * Seeded (`seed`, default 0): the same call gives the same map. Unsigned; values are probabilities.
 */
import * as tf from '@tensorflow/tfjs';
import { Progress } from '../../display/progress';
import { CnnvisError } from '../../errors';
import { CnnModel } from '../../models/model';
import { mulberry32 } from '../../random';
import { extent } from '../../render/normalize';
import { ChannelTarget, logitsOf } from '../gradients';
import { ScoreBasis } from '../targets';
import { AttributionContext, attributionFunction, AttributionMethod, AttributionOptions } from './base';

export interface RiseOptions extends AttributionOptions {
  /** Number of masks (default 4000, as xplique). */
  samples?: number;
  /** Cells per side of the coarse grid (default 7). */
  gridSize?: number;
  /** Probability that a cell is kept (default 0.5). */
  keepProbability?: number;
  /** Value of masked-out pixels in the preprocessed space (default 0). */
  maskValue?: number;
  /** 'masks' (Σ P·M / Σ M, xplique; default) or 'expectation' (Σ P·M / (N·p), the paper). */
  normalize?: 'masks' | 'expectation';
  /** Seed of the masks (default 0). */
  seed?: number;
}

/**
 * Masks [n, H, W, 1] in [0, 1] for masks i0 … i0 + n − 1 of a seeded sequence: each mask's grid cells
 * and crop offset come from its own generator, so any batching gives the same masks.
 */
export function riseMasks(i0: number, n: number, height: number, width: number, grid: number, keep: number, seed = 0): tf.Tensor4D {
  const uh = Math.floor(height * (1 + 1 / grid));
  const uw = Math.floor(width * (1 + 1 / grid));
  const cells = new Float32Array(n * grid * grid);
  const offsets: Array<[number, number]> = [];
  for (let b = 0; b < n; b++) {
    const rng = mulberry32((seed * 1000003 + i0 + b) >>> 0);
    for (let k = 0; k < grid * grid; k++) cells[b * grid * grid + k] = rng() < keep ? 1 : 0;
    offsets.push([Math.floor(rng() * (uh - height + 1)), Math.floor(rng() * (uw - width + 1))]);
  }
  return tf.tidy(() => {
    const up = tf.image.resizeBilinear(tf.tensor4d(cells, [n, grid, grid, 1]), [uh, uw], false, true);
    const crops = offsets.map(([dy, dx], b) => up.slice([b, dy, dx, 0], [1, height, width, 1]));
    return (crops.length === 1 ? crops[0] : tf.concat(crops, 0)) as tf.Tensor4D;
  });
}

export class Rise extends AttributionMethod<RiseOptions> {
  readonly name = 'RISE';
  readonly id = 'rise';
  override readonly signedMap = false;
  override readonly basis: ScoreBasis = 'probability';

  override checkOptions(o: RiseOptions, model: CnnModel): void {
    const whole = (v: number | undefined, what: string, min: number) => {
      if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new CnnvisError(`${what} must be a whole number ≥ ${min}, got ${v}`);
    };
    whole(o.samples, 'samples', 1);
    whole(o.gridSize, 'gridSize', 1);
    whole(o.seed, 'seed', 0);
    const p = o.keepProbability;
    if (p !== undefined && !(p > 0 && p <= 1)) throw new CnnvisError(`keepProbability must be in (0, 1], got ${p}`);
    if (o.maskValue !== undefined && !Number.isFinite(o.maskValue)) throw new CnnvisError(`maskValue must be a number, got ${o.maskValue}`);
    if (o.normalize !== undefined && o.normalize !== 'masks' && o.normalize !== 'expectation') {
      throw new CnnvisError(`normalize must be 'masks' or 'expectation', got '${String(o.normalize)}'`, ['masks', 'expectation']);
    }
    if ((o.gridSize ?? 7) > Math.min(model.inputHeight, model.inputWidth)) throw new CnnvisError(`gridSize ${o.gridSize} is larger than the input (${model.inputWidth}×${model.inputHeight})`);
  }

  override checkTarget(target: number | ChannelTarget): void {
    if (typeof target !== 'number') throw new CnnvisError('RISE explains a class probability, not a channel target; leave target out');
  }

  attribute(ctx: AttributionContext, o: RiseOptions): tf.Tensor4D {
    const n = o.samples ?? 4000;
    const grid = o.gridSize ?? 7;
    const keep = o.keepProbability ?? 0.5;
    const value = o.maskValue ?? 0;
    const seed = o.seed ?? 0;
    const [, H, W] = ctx.batch.shape;
    const cls = ctx.classIndex as number;
    const head = ctx.model.head;
    let num: tf.Tensor = tf.zeros([H, W, 1]);
    let den: tf.Tensor = tf.zeros([H, W, 1]);
    let lo = Infinity;
    let hi = -Infinity;
    const progress = ctx.progress && n > ctx.batchSize ? new Progress('RISE', n) : null;
    try {
      for (let i0 = 0; i0 < n; i0 += ctx.batchSize) {
        const b = Math.min(ctx.batchSize, n - i0);
        const masks = riseMasks(i0, b, H, W, grid, keep, seed);
        const masked = tf.tidy(() => tf.add(tf.mul(masks, ctx.batch), tf.mul(tf.sub(1, masks), value)) as tf.Tensor4D);
        const logits = logitsOf(ctx.model, masked, ctx.batchSize);
        const p = tf.tidy(() => head.probabilities(logits).slice([0, cls], [b, 1]).reshape([b]));
        const r = extent(p.dataSync());
        lo = Math.min(lo, r.min);
        hi = Math.max(hi, r.max);
        const [nextNum, nextDen] = tf.tidy(() => [tf.add(num, tf.sum(tf.mul(masks, p.reshape([b, 1, 1, 1])), 0)), tf.add(den, tf.sum(masks, 0))]);
        tf.dispose([num, den, masks, masked, logits, p]);
        num = nextNum;
        den = nextDen;
        progress?.tick(b);
      }
      progress?.done();
      const out = tf.tidy(() => (o.normalize === 'expectation' ? tf.div(num, n * keep) : tf.div(num, tf.add(den, 1e-4))).reshape([1, H, W, 1]) as tf.Tensor4D);
      Object.assign(ctx.details, { samples: n, gridSize: grid, keepProbability: keep, seed, 'P min': lo, 'P max': hi });
      if (!(hi - lo > 1e-6)) {
        (ctx.warnings ??= []).push(`RISE: the class probability does not change under masking (${lo.toPrecision(4)} … ${hi.toPrecision(4)}); the map only shows how often each pixel was kept`);
      }
      return out;
    } finally {
      tf.dispose([num, den]);
    }
  }
}

export const rise = attributionFunction<RiseOptions>(new Rise());
