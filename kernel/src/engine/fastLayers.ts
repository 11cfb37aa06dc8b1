/**
 * Faster input gradients for inference-mode layers, used while the TF.js engine computes an objective's
 * gradient (activation maximization).
 *
 * Two layer kinds make TF.js do much more work than an input gradient needs:
 * - BatchNormalization: the gradient of the batch-norm op tiles 1/√(var+ε) over the whole feature map
 *   (a slow Tile on wasm, about a third of a MobileNet step). In inference mode the layer is the affine
 *   map x·s + t with s = γ/√(var+ε), t = β − mean·s, whose gradient is one broadcast multiply.
 * - Conv2D with a linear activation: it runs the fused conv op, whose custom gradient always computes
 *   the filter gradient too. A plain conv2d (+ bias) has lazy gradients: only dx is computed.
 *
 * `withFastLayers(net, fn)` runs `fn` with those layers' `call` replaced by these equivalent forms and
 * restores them afterwards (also on errors). `fn` must be synchronous, so no other code sees the swap.
 */
import * as tf from '@tensorflow/tfjs';

type CallFn = tf.layers.Layer['call'];

function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

function weight(layer: tf.layers.Layer, pattern: RegExp): tf.Tensor | null {
  const w = layer.weights.find((v) => pattern.test(v.originalName ?? v.name));
  return w ? w.read() : null;
}

/** A replacement `call` for a layer, or null when the layer is left as it is. */
function fastCall(layer: tf.layers.Layer): CallFn | null {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  if (cls === 'BatchNormalization') {
    const axis = cfg.axis as number;
    if (axis !== -1 && axis !== 3) return null;
    const eps = cfg.epsilon as number;
    return (inputs) =>
      tf.tidy(() => {
        const mean = weight(layer, /moving_mean/)!;
        const variance = weight(layer, /moving_variance/)!;
        const gamma = weight(layer, /gamma/);
        const beta = weight(layer, /beta/);
        let s = tf.rsqrt(variance.add(eps));
        if (gamma) s = s.mul(gamma);
        let t = mean.mul(s).neg();
        if (beta) t = t.add(beta);
        return one(inputs).mul(s).add(t);
      });
  }
  if (cls === 'Conv2D' && cfg.activation === 'linear' && (cfg.dataFormat ?? 'channelsLast') === 'channelsLast') {
    const strides = cfg.strides as [number, number];
    const pad = cfg.padding === 'same' ? 'same' : 'valid';
    const dilations = (cfg.dilationRate as [number, number] | undefined) ?? [1, 1];
    return (inputs) =>
      tf.tidy(() => {
        const y = tf.conv2d(one(inputs) as tf.Tensor4D, weight(layer, /kernel/) as tf.Tensor4D, strides, pad, 'NHWC', dilations);
        const b = cfg.useBias ? weight(layer, /bias/) : null;
        return b ? y.add(b) : y;
      });
  }
  return null;
}

/** Runs `fn` with the model's batch-norm and linear Conv2D layers in their gradient-friendly form. */
export function withFastLayers<T>(net: tf.LayersModel, fn: () => T): T {
  const swapped: { layer: tf.layers.Layer; hadOwn: boolean; original: CallFn }[] = [];
  try {
    for (const layer of net.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      const call = fastCall(layer);
      if (!call) continue;
      swapped.push({ layer, hadOwn: Object.prototype.hasOwnProperty.call(layer, 'call'), original: layer.call });
      layer.call = call;
    }
    return fn();
  } finally {
    for (const { layer, hadOwn, original } of swapped.reverse()) {
      if (hadOwn) layer.call = original;
      else delete (layer as unknown as { call?: CallFn }).call;
    }
  }
}
