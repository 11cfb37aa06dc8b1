/** HiResCAM (Draelos & Carin 2020): the gradient multiplies the activation elementwise, no averaging. */
import * as tf from '@tensorflow/tfjs';
import { CamContext, camFunction, CamMethod, CamTensors, needGradient } from './base';

/** Per-position weights [h, w, c]: g itself; the map is ReLU(Σ_k g^k ⊙ A^k). */
export function hiResCamWeights(t: CamTensors): tf.Tensor3D {
  return tf.tidy(() => tf.clone(needGradient(t, 'HiResCAM')) as tf.Tensor3D);
}

export class HiResCam extends CamMethod {
  readonly name = 'HiResCAM';
  readonly id = 'hirescam';
  weights(ctx: CamContext): tf.Tensor {
    return hiResCamWeights(ctx);
  }
}

export const hiResCam = camFunction(new HiResCam());
