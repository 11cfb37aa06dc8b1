/** XGrad-CAM (Fu et al. 2020): gradients averaged with the activation as weights. */
import * as tf from '@tensorflow/tfjs';
import { CamContext, camFunction, CamMethod, CamTensors, needGradient } from './base';

/** w_k = Σ_ij A_ij^k · g_ij^k / (Σ_ij A_ij^k + ε). */
export function xGradCamWeights(t: CamTensors, eps = 1e-7): tf.Tensor1D {
  return tf.tidy(() => {
    const num = tf.sum(tf.mul(t.activation, needGradient(t, 'XGrad-CAM')), [0, 1]);
    return tf.div(num, tf.add(tf.sum(t.activation, [0, 1]), eps)) as tf.Tensor1D;
  });
}

export class XGradCam extends CamMethod {
  readonly name = 'XGrad-CAM';
  readonly id = 'xgradcam';
  weights(ctx: CamContext): tf.Tensor {
    return xGradCamWeights(ctx);
  }
}

export const xGradCam = camFunction(new XGradCam());
