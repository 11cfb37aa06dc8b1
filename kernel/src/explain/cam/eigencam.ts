/**
 * Eigen-CAM (Muhammad & Yeasin 2020): the activation projected on its first principal direction.
 * With A reshaped to M [hw, c], the channel weights are the first right singular vector v₁ of M
 * (dominant eigenvector of MᵀM, found by power iteration), signed so that the projection Σ M·v₁ is
 * positive. Class-agnostic: no gradients, one forward pass.
 */
import * as tf from '@tensorflow/tfjs';
import { ScoreBasis } from '../targets';
import { CamContext, camFunction, CamMethod, CamTensors } from './base';

/** First right singular vector of the activation [h, w, c] reshaped to [hw, c]. */
export function eigenCamWeights(t: Pick<CamTensors, 'activation'>, iterations = 200): tf.Tensor1D {
  return tf.tidy(() => {
    const [h, w, c] = t.activation.shape;
    const m = t.activation.reshape([h * w, c]);
    const gram = tf.matMul(m, m, true, false); // [c, c]
    let v: tf.Tensor2D = tf.ones([c, 1]).div(Math.sqrt(c));
    for (let i = 0; i < iterations; i++) {
      const next = tf.tidy(() => {
        const u = tf.matMul(gram, v);
        const n = tf.norm(u);
        return tf.div(u, tf.maximum(n, 1e-30)) as tf.Tensor2D;
      });
      v.dispose();
      v = next;
    }
    const sign = tf.sign(tf.sum(tf.matMul(m, v))).dataSync()[0] || 1;
    return v.reshape([c]).mul(sign) as tf.Tensor1D;
  });
}

export class EigenCam extends CamMethod {
  readonly name = 'Eigen-CAM';
  readonly id = 'eigencam';
  override readonly usesGradients = false;
  override readonly basis: ScoreBasis = 'none';
  weights(ctx: CamContext): tf.Tensor {
    return eigenCamWeights(ctx);
  }
}

export const eigenCam = camFunction(new EigenCam());
