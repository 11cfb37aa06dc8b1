/** Grad-CAM (Selvaraju et al. 2017): channel weight = spatial mean of dScore/dA. */
import * as tf from '@tensorflow/tfjs';
import { CamContext, camFunction, CamMethod, CamTensors, needGradient } from './base';

/** w_k = (1 / hw) Σ_ij ∂S/∂A_ij^k. */
export function gradCamWeights(t: CamTensors): tf.Tensor1D {
  return tf.tidy(() => tf.mean(needGradient(t, 'Grad-CAM'), [0, 1]) as tf.Tensor1D);
}

export class GradCam extends CamMethod {
  readonly name = 'Grad-CAM';
  readonly id = 'gradcam';
  weights(ctx: CamContext): tf.Tensor {
    return gradCamWeights(ctx);
  }
}

export const gradCam = camFunction(new GradCam());
