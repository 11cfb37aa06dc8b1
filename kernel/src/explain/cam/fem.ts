/**
 * FEM, the Feature Explanation Method (Fuad et al. 2020): no gradients. A channel counts where it is
 * unusually strong: with μ_k and σ_k its mean and (population) standard deviation over the positions,
 * its weight is the fraction of positions above the threshold, w_k = mean_ij [A_ij^k > μ_k + k·σ_k],
 * and the map is Σ_k w_k·A^k. `k` (default 2, as in pytorch-grad-cam) sets the threshold.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { CamContext, camFunction, CamOptions } from './base';
import { ActivationCam } from './weights';

export interface FemOptions extends CamOptions {
  /** Threshold in standard deviations above each channel's mean (default 2). */
  k?: number;
}

export function femWeights(activation: tf.Tensor3D, k = 2): tf.Tensor1D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(activation, [0, 1], true);
    const th = tf.add(mean, tf.mul(tf.sqrt(variance), k));
    return tf.mean(tf.cast(tf.greater(activation, th), 'float32'), [0, 1]) as tf.Tensor1D;
  });
}

export class Fem extends ActivationCam<FemOptions> {
  readonly name = 'FEM';
  readonly id = 'fem';
  override checkOptions(o: FemOptions): void {
    if (o.k !== undefined && !Number.isFinite(o.k)) throw new CnnvisError(`k must be a number (standard deviations), got ${o.k}`);
  }
  weights(ctx: CamContext, o: FemOptions = {}): tf.Tensor {
    return femWeights(ctx.activation, o.k ?? 2);
  }
}

export const fem = camFunction<FemOptions>(new Fem());
