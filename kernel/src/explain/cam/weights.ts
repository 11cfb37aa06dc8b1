/**
 * The CAM methods whose weights are a formula of the layer's gradient g = ∂S/∂A and activation A
 * (both [h, w, c]): Grad-CAM, XGrad-CAM, LayerCAM, HiResCAM. Such a method is its name, its id and
 * the formula; the formula gives one weight per channel [c] or one per position [h, w, c], and the
 * CAM base (base.ts) does the rest (weighted sum over channels, ReLU, upsampling, scaling).
 */
import * as tf from '@tensorflow/tfjs';
import { ScoreBasis } from '../targets';
import { CamMethod, CamOptions, CamTensors, needGradient } from './base';

/** The weights from the gradient g and the activation a, both [h, w, c]. */
export type GradientFormula = (g: tf.Tensor3D, a: tf.Tensor3D) => tf.Tensor;

export class GradientCam extends CamMethod {
  constructor(
    readonly name: string,
    readonly id: string,
    private readonly formula: GradientFormula,
  ) {
    super();
  }

  /** The formula on the pipeline's gradient and activation (tensors freed but the result). */
  weights(t: CamTensors): tf.Tensor {
    return tf.tidy(() => this.formula(needGradient(t, this.name), t.activation));
  }
}

/**
 * The CAM methods whose weights come from the activation alone (Eigen-CAM, KPCA-CAM, FEM): no
 * gradients, and class-agnostic (the class is shown, not used).
 */
export abstract class ActivationCam<O extends CamOptions = CamOptions> extends CamMethod<O> {
  override readonly usesGradients = false;
  override readonly basis: ScoreBasis = 'none';
}
