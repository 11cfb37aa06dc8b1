/**
 * Eigen-Grad-CAM (pytorch-grad-cam): Eigen-CAM on the class-specific product g ⊙ A. With M [hw, c] the
 * product reshaped and centred over the positions, the map is M·v₁ (v₁ its first principal direction),
 * signed so that Σ (g ⊙ A)·v₁ > 0 (the direction of HiResCAM's map); pytorch-grad-cam leaves the sign
 * to LAPACK's SVD (METHODS.md). `center: false` skips the centring.
 */
import * as tf from '@tensorflow/tfjs';
import { CamContext, camFunction, CamMethod, needGradient } from './base';
import { EigenCamOptions, firstComponent } from './eigencam';

export class EigenGradCam extends CamMethod<EigenCamOptions> {
  readonly name = 'Eigen-Grad-CAM';
  readonly id = 'eigengradcam';
  weights(ctx: CamContext): tf.Tensor {
    return tf.clone(needGradient(ctx, this.name));
  }
  override camImage(ctx: CamContext, o: EigenCamOptions = {}): tf.Tensor2D {
    const [h, w, c] = ctx.activation.shape;
    const m = tf.mul(needGradient(ctx, this.name), ctx.activation).reshape([h * w, c]) as tf.Tensor2D;
    return firstComponent(m, o.center ?? true).projection.reshape([h, w]);
  }
}

export const eigenGradCam = camFunction<EigenCamOptions>(new EigenGradCam());
