/**
 * Guided backpropagation (Springenberg et al. 2015) and the deconvnet (Zeiler & Fergus 2014): the
 * input gradient with the ReLU backward rule changed (see reluRules.ts). Guided backprop passes a
 * gradient only where the ReLU's forward input and the incoming gradient are both positive; the
 * deconvnet passes the positive part of the incoming gradient whatever the forward input was. With
 * a channel target ('layer:channel', channelScore 'max') the deconvnet projects one feature map's
 * strongest activation back to pixels, as in the paper.
 */
import * as tf from '@tensorflow/tfjs';
import { AttributionContext, attributionFunction, AttributionMethod } from './base';

export class GuidedBackprop extends AttributionMethod {
  readonly name = 'Guided Backpropagation';
  readonly id = 'guided-backprop';
  override readonly rgbPanel = true;
  attribute(ctx: AttributionContext): tf.Tensor4D {
    return ctx.gradient(ctx.batch, 'guided');
  }
}

export class Deconvnet extends AttributionMethod {
  readonly name = 'Deconvnet';
  readonly id = 'deconvnet';
  override readonly rgbPanel = true;
  attribute(ctx: AttributionContext): tf.Tensor4D {
    return ctx.gradient(ctx.batch, 'deconvnet');
  }
}

export const guidedBackprop = attributionFunction(new GuidedBackprop());
export const deconvnet = attributionFunction(new Deconvnet());
