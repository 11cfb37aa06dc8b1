/**
 * Guided backpropagation (Springenberg et al. 2015) and the deconvnet (Zeiler & Fergus 2014): the
 * input gradient with the ReLU backward rule changed (see reluRules.ts). Guided backprop passes a
 * gradient only where the ReLU's forward input and the incoming gradient are both positive; the
 * deconvnet passes the positive part of the incoming gradient whatever the forward input was. With
 * a channel target ('layer:channel', channelScore 'max') the deconvnet projects one feature map's
 * strongest activation back to pixels, as in the paper.
 */
import * as tf from '@tensorflow/tfjs';
import { ReluRule } from '../gradients';
import { AttributionContext, attributionFunction, AttributionMethod } from './base';

/** The input gradient under one ReLU backward rule, shown as an RGB panel. */
class RuleGradient extends AttributionMethod {
  override readonly rgbPanel = true;
  constructor(
    readonly name: string,
    readonly id: string,
    private readonly rule: ReluRule,
  ) {
    super();
  }
  attribute(ctx: AttributionContext): tf.Tensor4D {
    return ctx.gradient(ctx.batch, this.rule);
  }
}

export class GuidedBackprop extends RuleGradient {
  constructor() {
    super('Guided Backpropagation', 'guided-backprop', 'guided');
  }
}

export class Deconvnet extends RuleGradient {
  constructor() {
    super('Deconvnet', 'deconvnet', 'deconvnet');
  }
}

export const guidedBackprop = attributionFunction(new GuidedBackprop());
export const deconvnet = attributionFunction(new Deconvnet());
