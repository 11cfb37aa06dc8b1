/** Grad-CAM (Selvaraju et al. 2017): channel weight = spatial mean of dScore/dA. */
import * as tf from '@tensorflow/tfjs';
import { camFunction, CamTensors } from './base';
import { GradientCam } from './weights';

/** w_k = (1 / hw) Σ_ij ∂S/∂A_ij^k. */
export class GradCam extends GradientCam {
  constructor() {
    super('Grad-CAM', 'gradcam', (g) => tf.mean(g, [0, 1]));
  }
}

export const gradCamWeights = (t: CamTensors): tf.Tensor1D => new GradCam().weights(t) as tf.Tensor1D;
export const gradCam = camFunction(new GradCam());
