/**
 * Score-CAM (Wang et al. 2020): no gradients. Each channel's activation, upsampled to the input size
 * and scaled to [0, 1], masks the (preprocessed) input; the class probability of every masked input
 * (as the model's head defines it, models/head.ts: for a one-sigmoid binary head σ(z) for class 1 and
 * 1 − σ(z) for class 0) is measured in batched forward passes, and a softmax over channels of those scores gives the
 * channel weights. `topN` keeps only the N channels with the largest activation variance (as in
 * Faster Score-CAM); the others get weight 0.
 *
 * pytorch-grad-cam differs in two places, both taken with `scoreOn: 'logit'` and convention
 * 'pytorch-grad-cam': the softmax is over the masked inputs' class *scores* (logits), and its masks are
 * upsampled with aligned corners (torch UpsamplingBilinear2d) and scaled by (m − min) / (max − min + 1e-8).
 * On a model whose probabilities are flat, the probability weights are all ≈ 1/N (the map becomes the
 * mean activation); the result then carries a warning.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { extent } from '../../render/normalize';
import { logitsOf } from '../gradients';
import { ScoreBasis } from '../targets';
import { CamContext, camFunction, CamMethod, CamOptions } from './base';

export interface ScoreCamOptions extends CamOptions {
  /** Use only the N channels with the largest activation variance (default: all channels). */
  topN?: number;
  /** Masked inputs per forward pass (default 16). */
  batchSize?: number;
  /** What the softmax over channels weighs: the class 'probability' (default) or its 'logit' (pytorch-grad-cam). */
  scoreOn?: 'probability' | 'logit';
}

/** Channels ranked by activation variance, largest first. */
export function channelsByVariance(activation: tf.Tensor3D): number[] {
  const v = tf.tidy(() => tf.moments(activation, [0, 1]).variance.dataSync() as Float32Array);
  return Array.from(v.keys()).sort((a, b) => v[b] - v[a] || a - b);
}

/** Masks [n, H, W, 1]: the chosen channels upsampled to H×W (bilinear, half-pixel centres), min–max scaled. */
export function channelMasks(activation: tf.Tensor3D, channels: number[], height: number, width: number, pytorchGradCam = false): tf.Tensor4D {
  return tf.tidy(() => {
    const [h, w, c] = activation.shape;
    const picked = tf.gather(activation.reshape([h * w, c]), channels, 1); // [hw, n]
    const maps = picked.transpose().reshape([channels.length, h, w, 1]) as tf.Tensor4D;
    if (pytorchGradCam) {
      // torch.nn.UpsamplingBilinear2d (align_corners=True), then (m − min) / (max − min + 1e-8).
      const up = tf.image.resizeBilinear(maps, [height, width], true, false);
      const lo = tf.min(up, [1, 2, 3], true);
      const hi = tf.max(up, [1, 2, 3], true);
      return tf.div(tf.sub(up, lo), tf.add(tf.sub(hi, lo), 1e-8)) as tf.Tensor4D;
    }
    const up = tf.image.resizeBilinear(maps, [height, width], false, true);
    const lo = tf.min(up, [1, 2, 3], true);
    const hi = tf.max(up, [1, 2, 3], true);
    // A constant map (max = min) is up − lo = 0 everywhere: divided by 1 instead of 0, it is the zero mask.
    const span = tf.sub(hi, lo);
    const safe = tf.where(tf.greater(span, 0), span, tf.onesLike(span));
    return tf.div(tf.sub(up, lo), safe) as tf.Tensor4D;
  });
}

export class ScoreCam extends CamMethod<ScoreCamOptions> {
  readonly name = 'Score-CAM';
  readonly id = 'scorecam';
  override readonly usesGradients = false;
  override readonly basis: ScoreBasis = 'probability';

  override checkOptions(o: ScoreCamOptions): void {
    if (o.scoreOn !== undefined && o.scoreOn !== 'probability' && o.scoreOn !== 'logit') {
      throw new CnnvisError(`scoreOn must be 'probability' or 'logit', got '${String(o.scoreOn)}'`, ['probability', 'logit']);
    }
  }

  /** Softmax over the chosen channels of the class probability (or logit) of each masked input. */
  weights(ctx: CamContext, opts: ScoreCamOptions = {}): tf.Tensor {
    const pt = opts.convention === 'pytorch-grad-cam';
    const onLogits = (opts.scoreOn ?? (pt ? 'logit' : 'probability')) === 'logit';
    const c = ctx.activation.shape[2];
    const topN = opts.topN ?? c;
    if (!Number.isInteger(topN) || topN < 1) throw new CnnvisError(`topN must be a positive whole number, got ${topN}`);
    const batchSize = opts.batchSize ?? 16;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new CnnvisError(`batchSize must be a positive whole number, got ${batchSize}`);
    const channels = channelsByVariance(ctx.activation).slice(0, Math.min(topN, c));
    const [, H, W] = ctx.batch.shape;
    const scores = new Float32Array(channels.length);
    for (let s = 0; s < channels.length; s += batchSize) {
      const chunk = channels.slice(s, s + batchSize);
      const masked = tf.tidy(() => tf.mul(ctx.batch, channelMasks(ctx.activation, chunk, H, W, pt)) as tf.Tensor4D);
      const logits = logitsOf(ctx.model, masked, batchSize);
      const p = tf.tidy(() => (onLogits ? logits : ctx.model.head.probabilities(logits)).slice([0, ctx.classIndex], [-1, 1]).dataSync() as Float32Array);
      scores.set(p, s);
      masked.dispose();
      logits.dispose();
    }
    const w = tf.tidy(() => tf.softmax(tf.tensor1d(scores)).dataSync() as Float32Array);
    const { min: lo, max: hi } = extent(w);
    if (channels.length > 1 && hi - lo < 1e-3 / channels.length) {
      const { min: slo, max: shi } = extent(scores);
      const what = onLogits ? 'class logits' : 'class probabilities';
      ctx.notes?.push(
        `!the ${channels.length} channel weights are all ≈ 1/${channels.length}: the masked inputs' ${what} are flat (${slo.toPrecision(4)} … ${shi.toPrecision(4)}), ` +
          `so the map is the channels' mean activation${onLogits ? '' : "; scoreOn 'logit' (pytorch-grad-cam's convention) weighs by logits instead"}`,
      );
    }
    const full = new Float32Array(c);
    channels.forEach((k, i) => (full[k] = w[i]));
    return tf.tensor1d(full);
  }
}

export const scoreCam = camFunction<ScoreCamOptions>(new ScoreCam());
