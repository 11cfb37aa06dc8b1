/**
 * Grad-CAM++ (Chattopadhyay et al. 2018). With the exponential output Y = exp(S) of the paper and a
 * piecewise-linear network (∂²S/∂A² = 0), ∂²Y/∂A² = Y·g² and ∂³Y/∂A³ = Y·g³ with g = ∂S/∂A, so
 *   α_ij^k = g² / (2·g² + Σ_ab A_ab^k · g³)   (0 where the denominator is 0)
 *   w_k    = Σ_ij α_ij^k · ReLU(∂Y/∂A_ij^k)  ∝  Σ_ij α_ij^k · ReLU(g_ij^k)   (the factor Y > 0 is dropped).
 *
 * pytorch-grad-cam adds ε = 1e-6 to the denominator (and sets α = 0 where g = 0): with small gradients
 * (g² ≈ 1e-7 … 1e-10) that constant dominates and changes the map. `epsilon` (or convention
 * 'pytorch-grad-cam', which sets it to 1e-6) reproduces it; the default is the exact formula (ε = 0).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { CamContext, camFunction, CamMethod, CamOptions, CamTensors, needGradient } from './base';

export interface GradCamPlusPlusOptions extends CamOptions {
  /** Added to α's denominator (default 0; 1e-6 under convention 'pytorch-grad-cam'). */
  epsilon?: number;
}

/** The α coefficients [h, w, c] of Grad-CAM++; `eps` > 0 follows pytorch-grad-cam (α = g² / (… + ε), 0 where g = 0). */
export function gradCamPlusPlusAlpha(t: CamTensors, eps = 0): tf.Tensor3D {
  return tf.tidy(() => {
    const g = needGradient(t, 'Grad-CAM++');
    const g2 = tf.square(g);
    const g3 = tf.mul(g2, g);
    const sumA = tf.sum(t.activation, [0, 1], true);
    const denom = tf.add(tf.add(tf.mul(g2, 2), tf.mul(sumA, g3)), eps);
    const keep = eps > 0 ? tf.notEqual(g, 0) : tf.notEqual(denom, 0);
    const safe = tf.where(tf.notEqual(denom, 0), denom, tf.onesLike(denom));
    return tf.where(keep, tf.div(g2, safe), tf.zerosLike(denom)) as tf.Tensor3D;
  });
}

/** w_k = Σ_ij α_ij^k · ReLU(g_ij^k). */
export function gradCamPlusPlusWeights(t: CamTensors, eps = 0): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(gradCamPlusPlusAlpha(t, eps), tf.relu(needGradient(t, 'Grad-CAM++'))), [0, 1]) as tf.Tensor1D);
}

export class GradCamPlusPlus extends CamMethod<GradCamPlusPlusOptions> {
  readonly name = 'Grad-CAM++';
  readonly id = 'gradcampp';
  override checkOptions(o: GradCamPlusPlusOptions): void {
    if (o.epsilon !== undefined && !(o.epsilon >= 0 && Number.isFinite(o.epsilon))) throw new CnnvisError(`epsilon must be a number ≥ 0, got ${o.epsilon}`);
  }
  weights(ctx: CamContext, o: GradCamPlusPlusOptions = {}): tf.Tensor {
    return gradCamPlusPlusWeights(ctx, o.epsilon ?? (o.convention === 'pytorch-grad-cam' ? 1e-6 : 0));
  }
}

export const gradCamPlusPlus = camFunction<GradCamPlusPlusOptions>(new GradCamPlusPlus());
