/**
 * Vanilla saliency (Simonyan, Vedaldi & Zisserman 2014): the gradient of the class score with respect
 * to the input pixels. The map is max over colour channels of |gradient|, as in the paper; the signed
 * per-channel gradient is kept in `channels`.
 */
import * as tf from '@tensorflow/tfjs';
import { AttributionContext, attributionFunction, AttributionMethod } from './base';

export class Saliency extends AttributionMethod {
  readonly name = 'Saliency';
  readonly id = 'saliency';
  override readonly reduction = 'absmax' as const;
  attribute(ctx: AttributionContext): tf.Tensor4D {
    return ctx.gradient(ctx.batch);
  }
}

export const saliency = attributionFunction(new Saliency());
