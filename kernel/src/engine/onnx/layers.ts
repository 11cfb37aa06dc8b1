/**
 * TF.js layers as small ONNX graphs: the registry of layer converters. Each converter (one file per
 * layer family in converters/) compiles the layers of some TF.js classes into a LayerKernel: a forward
 * graph and (built on demand) a backward graph that maps the gradient of the layer's output to the
 * gradients of its inputs, given the values saved by the forward pass (graph.ts; activations and their
 * gradients under the ReLU rules in activation.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { activations, prelu, reluVariants } from './converters/activations';
import { convolutions } from './converters/conv';
import { dense } from './converters/dense';
import { identity, sameSize } from './converters/identity';
import { concatenate, merge } from './converters/merge';
import { batchNormalization, normalization, rescaling } from './converters/normalization';
import { globalPooling, pooling } from './converters/pooling';
import { cropping, reshape, upSampling, zeroPadding } from './converters/reshape';
import { Converter, Fold, LayerContext, LayerKernel, Unsupported } from './graph';

export { ACTIVATIONS } from './activation';
export type { Act } from './activation';
export { reluLayerAct } from './converters/activations';
export { bnAffine } from './converters/normalization';
export { internalDims, Unsupported } from './graph';
export type { Embed, Fold, LayerKernel, Rule, Saved } from './graph';

const registry = new Map<string, Converter>();
/** Converters in the order the list of compiled layers names them. */
const converters: Converter[] = [];

/** Adds a converter for its classes (a later one replaces an earlier one for the same class). */
export function registerConverter(c: Converter): void {
  converters.push(c);
  for (const cls of c.classes) registry.set(cls, c);
}

for (const c of [
  convolutions, dense, batchNormalization, activations, reluVariants, prelu, pooling, globalPooling,
  upSampling, zeroPadding, cropping, reshape, merge, concatenate, rescaling, normalization, identity, sameSize,
]) {
  registerConverter(c);
}

/** Every layer kind the engine compiles (for messages). */
export function supportedLayers(): string[] {
  return [...new Set(converters.flatMap((c) => c.label ?? c.classes))];
}

/**
 * The kernel of one layer, from its class' converter. `linear` forces a linear activation (the logits
 * layer of a model whose softmax is fused into it); `fold` is what a convolution applies after itself;
 * `outChannels` (Conv2D only) keeps just those output channels, in that order: the kernel of a backward
 * pass whose incoming gradient is zero in every other channel (engine/onnx/backward.ts).
 */
export function layerKernel(layer: tf.layers.Layer, linear = false, fold?: Fold, outChannels?: readonly number[]): LayerKernel {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') throw new Unsupported(`data format '${String(cfg.dataFormat)}' of layer '${layer.name}'`);
  const converter = registry.get(cls);
  if (!converter) throw new Unsupported(`layer '${layer.name}' is a ${cls}, which the engine does not compile; it compiles ${supportedLayers().join(', ')}`);
  return converter.convert(new LayerContext(layer, linear, fold, outChannels));
}
