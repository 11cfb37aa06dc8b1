/** XGrad-CAM (Fu et al. 2020): gradients averaged with the activation as weights. */
import * as tf from '@tensorflow/tfjs';
import { camFunction, CamTensors } from './base';
import { GradientCam } from './weights';

/** w_k = Σ_ij A_ij^k · g_ij^k / (Σ_ij A_ij^k + ε), ε = 1e-7. */
export class XGradCam extends GradientCam {
  constructor() {
    super('XGrad-CAM', 'xgradcam', (g, a) => tf.div(tf.sum(tf.mul(a, g), [0, 1]), tf.add(tf.sum(a, [0, 1]), 1e-7)));
  }
}

export const xGradCamWeights = (t: CamTensors): tf.Tensor1D => new XGradCam().weights(t) as tf.Tensor1D;
export const xGradCam = camFunction(new XGradCam());
