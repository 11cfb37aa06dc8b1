/**
 * LayerCAM (Jiang et al. 2021): every position weighted by its own positive gradient: per-position
 * weights ReLU(g), so the map is ReLU(Σ_k ReLU(g^k)·A^k).
 */
import * as tf from '@tensorflow/tfjs';
import { camFunction } from './base';
import { GradientCam } from './weights';

export class LayerCam extends GradientCam {
  constructor() {
    super('LayerCAM', 'layercam', (g) => tf.relu(g));
  }
}

export const layerCam = camFunction(new LayerCam());
