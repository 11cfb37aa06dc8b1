/**
 * Layers whose output is their input at inference: InputLayer, dropout, noise, augmentation and
 * regularization layers (models/layerClasses.ts INFERENCE_IDENTITY), and the resizing and cropping
 * layers when they keep the size (RandomHeight/Width are the identity at inference, as in Keras).
 * Their declared output shape is not read: TF.js' Resizing declares a wrong one.
 */
import { INFERENCE_IDENTITY } from '../../../models/layerClasses';
import { Converter, LayerContext, LayerKernel, Unsupported } from '../graph';

/** Layers that are the identity when their output size equals their input size. */
const SAME_SIZE = ['Resizing', 'CenterCrop', 'RandomCrop', 'RandomHeight', 'RandomWidth'];

export const identity: Converter = {
  classes: ['InputLayer', ...[...INFERENCE_IDENTITY].filter((c) => !SAME_SIZE.includes(c))],
  convert: (ctx) => ctx.identity(),
};

export const sameSize: Converter = {
  classes: SAME_SIZE,
  label: ['Resizing and CenterCrop (to the same size)'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cls, cfg, ins } = ctx;
    const [H, W] = ins[0];
    const declared = layer.outputShape as (number | null)[];
    const [h, w] = cfg.height !== undefined && cfg.width !== undefined ? [cfg.height, cfg.width] : [declared[1], declared[2]];
    if (ins[0].length !== 3 || h !== H || w !== W) {
      throw new Unsupported(`layer '${layer.name}' (${cls}) changes the size ${ins[0].slice(0, 2).join('×')} to ${String(h)}×${String(w)}; the engine compiles it only when the size stays the same`);
    }
    return ctx.identity();
  },
};
