/**
 * HiResCAM (Draelos & Carin 2020): the gradient multiplies the activation elementwise, no averaging:
 * per-position weights g itself, so the map is ReLU(Σ_k g^k ⊙ A^k).
 */
import * as tf from '@tensorflow/tfjs';
import { camFunction } from './base';
import { GradientCam } from './weights';

export class HiResCam extends GradientCam {
  constructor() {
    super('HiResCAM', 'hirescam', (g) => tf.clone(g));
  }
}

export const hiResCam = camFunction(new HiResCam());
