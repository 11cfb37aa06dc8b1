/**
 * FullGrad (Srinivas & Fleuret 2019): the input-gradient and every bias-gradient of the network, each
 * made positive, normalized and brought to the input size, summed:
 *   map = ψ( Σ_c ψ_c(|x ⊙ ∂S/∂x|) + Σ_layers Σ_c ψ_c(|b_c · ∂S/∂z_c|) )
 * with z the output of a layer that adds a bias b (Conv2D, DepthwiseConv2D, SeparableConv2D with a bias —
 * before their activation — and BatchNormalization, whose bias is β − μ·γ / √(σ² + ε)), ψ_c the
 * per-channel scaling (v − min) / (max(v − min) + 1e-7) followed by bilinear resizing to the input, and
 * ψ the same scaling of the sum. This is pytorch-grad-cam's FullGrad (its Conv2d and BatchNorm2d bias
 * layers; the paper's post-processing). The values are in [0, 1].
 *
 * Computed on TF.js (one backward pass for the input and all bias layers): the gradient with respect to
 * a convolution's pre-activation output is taken by wrapping the layer's activation, which the engine
 * cannot do.
 */
import * as tf from '@tensorflow/tfjs';
import { ensureInputGradients } from '../../engine/wasmGradients';
import { CnnvisError } from '../../errors';
import { CnnModel } from '../../models/model';
import { ChannelTarget, logitsModel, syncHead, withForwardHook } from '../gradients';
import { layerOutputShape } from '../../taps';
import { AttributionContext, attributionFunction, AttributionMethod, AttributionOptions } from './base';

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

/** A layer that adds a bias: its name, kind and the bias [c] it adds. The caller disposes `bias`. */
export interface BiasLayer {
  layer: tf.layers.Layer;
  kind: 'conv' | 'batchnorm';
  bias: tf.Tensor1D;
}

/** The layers whose bias FullGrad uses, in graph order. */
export function biasLayers(model: CnnModel): BiasLayer[] {
  const out: BiasLayer[] = [];
  for (const layer of model.net.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as { useBias?: boolean; center?: boolean; scale?: boolean; epsilon?: number };
    if (CONVS.has(cls) && cfg.useBias !== false) {
      const ws = layer.getWeights();
      out.push({ layer, kind: 'conv', bias: ws[ws.length - 1].clone() as tf.Tensor1D });
    } else if (cls === 'BatchNormalization') {
      const ws = layer.getWeights();
      let i = 0;
      const gamma = cfg.scale !== false ? ws[i++] : null;
      const beta = cfg.center !== false ? ws[i++] : null;
      const mean = ws[i++];
      const variance = ws[i++];
      if (mean.rank !== 1) continue;
      const bias = tf.tidy(() => {
        const g = gamma ?? tf.onesLike(mean);
        const b = beta ?? tf.zerosLike(mean);
        return tf.sub(b, tf.div(tf.mul(mean, g), tf.sqrt(tf.add(variance, cfg.epsilon ?? 1e-3)))) as tf.Tensor1D;
      });
      out.push({ layer, kind: 'batchnorm', bias });
    }
  }
  return out;
}

type ActivationLike = { apply: (x: tf.Tensor) => tf.Tensor; getClassName: () => string };

/**
 * Gradients of the class score with respect to the input and to each bias layer's (pre-activation)
 * output, for one preprocessed image: [∂S/∂x, ∂S/∂z_1, …]. The caller disposes them.
 */
export function biasGradients(model: CnnModel, batch: tf.Tensor4D, classIndex: number, layers: readonly BiasLayer[]): tf.Tensor[] {
  ensureInputGradients();
  syncHead(model.net);
  const net = logitsModel(model.net);
  const zeros = layers.map((l) => tf.zeros([batch.shape[0], ...layerOutputShape(l.layer)]));
  const restore: Array<() => void> = [];
  let live: tf.Tensor[] = [];
  try {
    // Convolutions: their activation is wrapped so that z (before the activation) gets + Z.
    const hooked: BiasLayer[] = [];
    layers.forEach((l, i) => {
      if (l.kind !== 'conv') {
        hooked.push(l);
        return;
      }
      const holder = l.layer as unknown as { activation: ActivationLike };
      const original = holder.activation;
      const hadOwn = Object.prototype.hasOwnProperty.call(holder, 'activation');
      holder.activation = { apply: (x) => original.apply(tf.add(x, live[i])), getClassName: () => 'CnnvisBiasTap' };
      restore.push(() => {
        if (hadOwn) holder.activation = original;
        else delete (holder as { activation?: ActivationLike }).activation;
      });
    });
    const run = (): tf.Tensor => tf.sum(model.head.scores(net.predict(batch) as tf.Tensor).slice([0, classIndex], [-1, 1]));
    // Batch normalizations: an output hook adds + Z (nested, one per layer).
    const withHooks = (k: number, fn: () => tf.Tensor): tf.Tensor => {
      if (k === hooked.length) return fn();
      const i = layers.indexOf(hooked[k]);
      return withForwardHook(hooked[k].layer, (out) => tf.add(out, live[i]), () => withHooks(k + 1, fn));
    };
    const grads = tf.grads((...args: tf.Tensor[]) => {
      live = args.slice(1);
      return withHooks(0, run);
    });
    return grads([batch, ...zeros]);
  } catch (e) {
    const m = e instanceof Error ? /Kernel '(\w+)' not registered/.exec(e.message) : null;
    if (m) throw new CnnvisError(`FullGrad needs the TensorFlow.js gradient kernel '${m[1]}', which this backend lacks; run with CNNVIS_BACKEND=cpu`);
    throw e;
  } finally {
    restore.forEach((r) => r());
    zeros.forEach((z) => z.dispose());
  }
}

/** Σ_c of the per-channel scaled |v| [h, w, c] → [h, w] (pytorch-grad-cam's scale_accross_batch_and_channels, summed). */
function scaledChannelSum(v: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const a = tf.abs(v);
    const shifted = tf.sub(a, tf.min(a, [0, 1], true));
    return tf.sum(tf.div(shifted, tf.add(tf.max(shifted, [0, 1], true), 1e-7)), -1) as tf.Tensor2D;
  });
}

export class FullGrad extends AttributionMethod {
  readonly name = 'FullGrad';
  readonly id = 'fullgrad';
  override readonly signedMap = false;
  override readonly conventions = ['cnnvis', 'pytorch-grad-cam'] as const;

  override checkTarget(target: number | ChannelTarget): void {
    if (typeof target !== 'number') throw new CnnvisError('FullGrad explains a class, not a channel target; leave target out');
  }

  attribute(ctx: AttributionContext): tf.Tensor4D {
    const layers = biasLayers(ctx.model);
    try {
      const grads = biasGradients(ctx.model, ctx.batch, ctx.classIndex as number, layers);
      try {
        const [, H, W] = ctx.batch.shape;
        const total = tf.tidy(() => {
          let sum = scaledChannelSum(tf.mul(ctx.batch, grads[0]).squeeze([0]) as tf.Tensor3D);
          layers.forEach((l, i) => {
            const g = grads[i + 1].squeeze([0]) as tf.Tensor3D;
            const low = scaledChannelSum(tf.mul(g, l.bias) as tf.Tensor3D);
            const up = tf.image.resizeBilinear(low.expandDims(-1) as tf.Tensor3D, [H, W], false, true).squeeze([-1]);
            sum = tf.add(sum, up);
          });
          const shifted = tf.sub(sum, tf.min(sum));
          return tf.div(shifted, tf.add(tf.max(shifted), 1e-7)).reshape([1, H, W, 1]) as tf.Tensor4D;
        });
        ctx.details.biasLayers = layers.length;
        return total;
      } finally {
        grads.forEach((g) => g.dispose());
      }
    } finally {
      layers.forEach((l) => l.bias.dispose());
    }
  }
}

export const fullGrad = attributionFunction(new FullGrad());

/** Options of FullGrad (the common ones). */
export type FullGradOptions = AttributionOptions;
