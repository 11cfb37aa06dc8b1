/**
 * SmoothGrad (Smilkov et al. 2017): the input gradient averaged over noisy copies of the input,
 * x + N(0, σ²) with σ = sigma · (max x − min x) in the preprocessed space. Seeded: the same seed gives
 * the same noise whatever the batch size. Shown like saliency (max |·| over channels).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { fillNormals } from '../../random';
import { Progress } from '../../display/progress';
import { AttributionContext, attributionFunction, AttributionMethod, AttributionOptions, sumOverBatches } from './base';

export interface SmoothGradOptions extends AttributionOptions {
  /** Noisy samples (default 25). */
  samples?: number;
  /** Noise standard deviation as a fraction of the input's value range (default 0.15). */
  sigma?: number;
  /** Noise seed (default 0). */
  seed?: number;
}

export class SmoothGrad extends AttributionMethod<SmoothGradOptions> {
  readonly name = 'SmoothGrad';
  readonly id = 'smoothgrad';
  override readonly reduction = 'absmax' as const;

  override checkOptions(o: SmoothGradOptions): void {
    const n = o.samples ?? 25;
    if (!Number.isInteger(n) || n < 1) throw new CnnvisError(`samples must be a positive integer, got ${n}`);
    const s = o.sigma ?? 0.15;
    if (!(s >= 0) || !Number.isFinite(s)) throw new CnnvisError(`sigma must be a finite number ≥ 0 (a fraction of the input range), got ${s}`);
  }

  attribute(ctx: AttributionContext, o: SmoothGradOptions): tf.Tensor4D {
    const n = o.samples ?? 25;
    const seed = o.seed ?? 0;
    const x = ctx.batch;
    const span = tf.tidy(() => tf.sub(tf.max(x), tf.min(x)).dataSync()[0]);
    const std = (o.sigma ?? 0.15) * span;
    ctx.details.samples = n;
    ctx.details.sigma = std;
    const progress = ctx.progress && n > ctx.batchSize ? new Progress('SmoothGrad', n) : null;
    let last = 0;
    const sum = sumOverBatches(
      n,
      ctx.batchSize,
      (i0, i1) => {
        const shape: [number, number, number, number] = [i1 - i0, x.shape[1], x.shape[2], x.shape[3]];
        if (std === 0) return tf.tile(x, [i1 - i0, 1, 1, 1]);
        // One seeded noise image per sample (seed and sample index), whatever the batch size; the
        // batch's noise in one buffer, added to the image in one broadcast.
        const noise = new Float32Array(shape[0] * x.size);
        for (let j = 0; j < shape[0]; j++) fillNormals(noise.subarray(j * x.size, (j + 1) * x.size), seed * 100003 + i0 + j + 1, std);
        return tf.tidy(() => tf.add(x, tf.tensor4d(noise, shape)));
      },
      (xb) => tf.sum(ctx.gradient(xb), 0, true),
      (done) => {
        progress?.tick(done - last);
        last = done;
      },
    );
    progress?.done();
    const out = tf.div(sum, n) as tf.Tensor4D;
    sum.dispose();
    return out;
  }
}

export const smoothGrad = attributionFunction<SmoothGradOptions>(new SmoothGrad());
