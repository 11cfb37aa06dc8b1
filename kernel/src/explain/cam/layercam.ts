/** LayerCAM (Jiang et al. 2021): every position weighted by its own positive gradient. */
import * as tf from '@tensorflow/tfjs';
import { CamContext, camFunction, CamMethod, CamTensors, needGradient } from './base';

/** Per-position weights [h, w, c]: ReLU(g); the map is ReLU(Σ_k ReLU(g^k)·A^k). */
export function layerCamWeights(t: CamTensors): tf.Tensor3D {
  return tf.tidy(() => tf.relu(needGradient(t, 'LayerCAM')) as tf.Tensor3D);
}

export class LayerCam extends CamMethod {
  readonly name = 'LayerCAM';
  readonly id = 'layercam';
  weights(ctx: CamContext): tf.Tensor {
    return layerCamWeights(ctx);
  }
}

export const layerCam = camFunction(new LayerCam());
