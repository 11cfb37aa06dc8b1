/**
 * Grad-CAM++ (Chattopadhyay et al. 2018). With the exponential output Y = exp(S) of the paper and a
 * piecewise-linear network (∂²S/∂A² = 0), ∂²Y/∂A² = Y·g² and ∂³Y/∂A³ = Y·g³ with g = ∂S/∂A, so
 *   α_ij^k = g² / (2·g² + Σ_ab A_ab^k · g³)   (0 where the denominator is 0)
 *   w_k    = Σ_ij α_ij^k · ReLU(∂Y/∂A_ij^k)  ∝  Σ_ij α_ij^k · ReLU(g_ij^k)   (the factor Y > 0 is dropped).
 */
import * as tf from '@tensorflow/tfjs';
import { CamContext, camFunction, CamMethod, CamTensors, needGradient } from './base';

/** The α coefficients [h, w, c] of Grad-CAM++. */
export function gradCamPlusPlusAlpha(t: CamTensors): tf.Tensor3D {
  return tf.tidy(() => {
    const g = needGradient(t, 'Grad-CAM++');
    const g2 = tf.square(g);
    const g3 = tf.mul(g2, g);
    const sumA = tf.sum(t.activation, [0, 1], true);
    const denom = tf.add(tf.mul(g2, 2), tf.mul(sumA, g3));
    const safe = tf.where(tf.notEqual(denom, 0), denom, tf.onesLike(denom));
    return tf.where(tf.notEqual(denom, 0), tf.div(g2, safe), tf.zerosLike(denom)) as tf.Tensor3D;
  });
}

/** w_k = Σ_ij α_ij^k · ReLU(g_ij^k). */
export function gradCamPlusPlusWeights(t: CamTensors): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(gradCamPlusPlusAlpha(t), tf.relu(needGradient(t, 'Grad-CAM++'))), [0, 1]) as tf.Tensor1D);
}

export class GradCamPlusPlus extends CamMethod {
  readonly name = 'Grad-CAM++';
  readonly id = 'gradcampp';
  weights(ctx: CamContext): tf.Tensor {
    return gradCamPlusPlusWeights(ctx);
  }
}

export const gradCamPlusPlus = camFunction(new GradCamPlusPlus());
