/**
 * Grad-CAM element-wise (pytorch-grad-cam's GradCAMElementWise): the gradient multiplies the
 * activation position by position and each product is rectified before the channels are summed,
 * map = Σ_k ReLU(g^k ⊙ A^k). Unlike HiResCAM (ReLU after the sum) a channel cannot cancel another.
 */
import * as tf from '@tensorflow/tfjs';
import { CamContext, camFunction, CamMethod, needGradient } from './base';

export class GradCamElementWise extends CamMethod {
  readonly name = 'Grad-CAM element-wise';
  readonly id = 'gradcamelementwise';
  weights(ctx: CamContext): tf.Tensor {
    return tf.clone(needGradient(ctx, this.name));
  }
  override camImage(ctx: CamContext): tf.Tensor2D {
    return tf.sum(tf.relu(tf.mul(needGradient(ctx, this.name), ctx.activation)), -1) as tf.Tensor2D;
  }
}

export const gradCamElementWise = camFunction(new GradCamElementWise());
