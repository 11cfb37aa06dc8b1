/**
 * Per-channel affine layers: BatchNormalization (inference mode), Rescaling and Normalization, each
 * x·s + t per channel in float32, rounded like TF.js' kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { channelAxis, Converter, LayerContext, LayerKernel, perChannel, Unsupported, weightValues } from '../graph';

/** A batch normalization (inference mode) as x·s + t per channel, in float32 like TF.js' kernels. */
export function bnAffine(layer: tf.layers.Layer): { s: Float32Array; t: Float32Array } {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const eps = cfg.epsilon as number;
  const mean = weightValues(layer, /moving_mean/)!.data;
  const variance = weightValues(layer, /moving_variance/)!.data;
  const gamma = weightValues(layer, /gamma/, false)?.data;
  const beta = weightValues(layer, /beta/, false)?.data;
  const C = mean.length;
  const s = new Float32Array(C);
  const t = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    // TF.js: (x − mean) · γ / √(var + ε) + β.
    s[c] = Math.fround((gamma ? gamma[c] : 1) / Math.fround(Math.sqrt(Math.fround(variance[c] + eps))));
    t[c] = Math.fround((beta ? beta[c] : 0) - Math.fround(mean[c] * s[c]));
  }
  return { s, t };
}

/** y = x·s + t, gradient g·s; s and t one value or one per channel. */
function affine(ctx: LayerContext, s: Float32Array, t: Float32Array): LayerKernel {
  const dims = (v: Float32Array) => (v.length === 1 ? [] : ctx.chanDims(v.length));
  return ctx.unary(
    [],
    (b) => b.one('Add', [b.one('Mul', ['x0', b.f32(dims(s), s)]), b.f32(dims(t), t)]),
    (b) => b.one('Mul', ['g', b.f32(dims(s), s)]),
  );
}

export const batchNormalization: Converter = {
  classes: ['BatchNormalization'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cfg, outDims, rank } = ctx;
    // Keras 2 writes the axis as a list (`axis: [3]`), which TF.js reads as that number too.
    if (channelAxis(cfg.axis, rank) !== rank - 1) throw new Unsupported(`batch normalization over axis ${JSON.stringify(cfg.axis)} in layer '${layer.name}'; the engine normalizes over the channel axis (-1 or ${rank - 1})`);
    if (rank !== 4 && rank !== 2) throw new Unsupported(`batch normalization of rank ${rank} in layer '${layer.name}'`);
    const C = outDims[0];
    const { s, t } = bnAffine(layer);
    if (s.length !== C) throw new Unsupported(`batch normalization layer '${layer.name}' has ${s.length} values for ${C} channels`);
    return affine(ctx, s, t);
  },
};

export const rescaling: Converter = {
  classes: ['Rescaling'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cfg, outDims } = ctx;
    // TF.js: x·scale + offset (numbers, or one per channel).
    const C = outDims[0];
    const sc = perChannel(cfg.scale, C, `the scale of layer '${layer.name}'`);
    const of = perChannel(cfg.offset ?? 0, C, `the offset of layer '${layer.name}'`);
    return affine(ctx, sc, of);
  },
};

export const normalization: Converter = {
  classes: ['Normalization'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cfg, outDims, rank } = ctx;
    // (x − mean) / √variance per channel, from the layer's weights (or its config).
    const C = outDims[0];
    const ax = channelAxis(cfg.axis ?? -1, rank);
    if (ax !== rank - 1) throw new Unsupported(`normalization over axis ${JSON.stringify(cfg.axis)} in layer '${layer.name}'`);
    if (cfg.invert) throw new Unsupported(`inverted normalization in layer '${layer.name}'`);
    const read = (name: string): Float32Array => {
      const w = weightValues(layer, new RegExp(`(^|/)${name}(:0)?$`), false);
      if (w) return w.data;
      if (cfg[name] !== undefined && cfg[name] !== null) return perChannel(cfg[name], C, `the ${name} of layer '${layer.name}'`);
      throw new Unsupported(`normalization layer '${layer.name}' has no ${name}`);
    };
    const mean = read('mean');
    const variance = read('variance');
    const n = Math.max(mean.length, variance.length);
    if ((mean.length !== 1 && mean.length !== C) || (variance.length !== 1 && variance.length !== C)) throw new Unsupported(`normalization layer '${layer.name}' has ${n} values for ${C} channels`);
    // Keras: (x − mean) / max(√variance, 1e-7), in float32.
    const inv = Float32Array.from({ length: n }, (_, c) => Math.fround(1 / Math.max(Math.fround(Math.sqrt(variance[variance.length === 1 ? 0 : c])), 1e-7)));
    const m = Float32Array.from({ length: n }, (_, c) => mean[mean.length === 1 ? 0 : c]);
    const cd = n === 1 ? [] : ctx.chanDims(C);
    return ctx.unary(
      [],
      (b) => b.one('Mul', [b.one('Sub', ['x0', b.f32(cd, m)]), b.f32(cd, inv)]),
      (b) => b.one('Mul', ['g', b.f32(cd, inv)]),
    );
  },
};
