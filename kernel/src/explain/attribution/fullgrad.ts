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
 * One backward pass gives the input gradient and the gradients at every bias layer's pre-activation
 * output (Engine.preActivationGradients); the biases are read from the model's weights (ModelGraph).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { CnnModel } from '../../models/model';
import { ChannelTarget } from '../gradients';
import { AttributionContext, attributionFunction, AttributionMethod, AttributionOptions } from './base';

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

/** A layer that adds a bias: its name, kind and the bias [c] it adds. The caller disposes `bias`. */
export interface BiasLayer {
  layer: string;
  kind: 'conv' | 'batchnorm';
  bias: tf.Tensor1D;
}

/** The layers whose bias FullGrad uses, in graph order. */
export function biasLayers(model: CnnModel): BiasLayer[] {
  const out: BiasLayer[] = [];
  for (const node of model.nodes) {
    const cls = node.kind;
    const cfg = node.settings as { useBias?: boolean; center?: boolean; scale?: boolean; epsilon?: number };
    const weights = (): tf.Tensor[] => model.weights(node.name).map((w) => tf.tensor(w.data, w.shape, 'float32'));
    if (CONVS.has(cls) && cfg.useBias !== false) {
      const ws = weights();
      out.push({ layer: node.name, kind: 'conv', bias: ws[ws.length - 1] as tf.Tensor1D });
      ws.slice(0, -1).forEach((w) => w.dispose());
    } else if (cls === 'BatchNormalization') {
      const ws = weights();
      let i = 0;
      const gamma = cfg.scale !== false ? ws[i++] : null;
      const beta = cfg.center !== false ? ws[i++] : null;
      const mean = ws[i++];
      const variance = ws[i++];
      const bias = mean.rank !== 1 ? null : tf.tidy(() => {
        const g = gamma ?? tf.onesLike(mean);
        const b = beta ?? tf.zerosLike(mean);
        return tf.sub(b, tf.div(tf.mul(mean, g), tf.sqrt(tf.add(variance, cfg.epsilon ?? 1e-3)))) as tf.Tensor1D;
      });
      ws.forEach((w) => w.dispose());
      if (bias) out.push({ layer: node.name, kind: 'batchnorm', bias });
    }
  }
  return out;
}

/**
 * Gradients of the class score with respect to the input and to each bias layer's (pre-activation)
 * output, for one preprocessed image: [∂S/∂x, ∂S/∂z_1, …]. The caller disposes them.
 */
export function biasGradients(model: CnnModel, batch: tf.Tensor4D, classIndex: number, layers: readonly BiasLayer[]): tf.Tensor[] {
  return model.engine.preActivationGradients(batch, classIndex, layers.map((l) => l.layer));
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
