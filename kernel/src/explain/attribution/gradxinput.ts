/**
 * Gradient × input (Shrikumar et al. 2016): x · dS/dx per pixel and channel, in the preprocessed input
 * space the model sees. Signed; the map sums the channels.
 */
import * as tf from '@tensorflow/tfjs';
import { AttributionContext, attributionFunction, AttributionMethod } from './base';

export class GradientXInput extends AttributionMethod {
  readonly name = 'Gradient × Input';
  readonly id = 'gradxinput';
  attribute(ctx: AttributionContext): tf.Tensor4D {
    const g = ctx.gradient(ctx.batch);
    const out = tf.mul(g, ctx.batch) as tf.Tensor4D;
    g.dispose();
    return out;
  }
}

export const gradientXInput = attributionFunction(new GradientXInput());
