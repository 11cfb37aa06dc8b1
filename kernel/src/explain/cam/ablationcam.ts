/**
 * Ablation-CAM (Desai & Ramaswamy 2020): no gradients. Each channel k of the layer is ablated (set to
 * 0) in turn and the model is run on from the layer; the channel's weight is the relative drop of the
 * class score, w_k = (y − y_k) / y, with y the class score (models/head.ts) of the image and y_k the
 * score with channel k ablated. Channels are ablated in batches (`batchSize` per forward pass): on
 * ONNX Runtime the layers after the ablated one run as one graph fed the ablated copies (and what a
 * skip connection reads from before it); on TF.js a forward hook swaps the layer's output.
 *
 * pytorch-grad-cam ablates to 0 when the layer's minimum is 0 and to (minimum − 1e7) otherwise (e.g.
 * after ELU or without an activation); convention 'pytorch-grad-cam' (or `ablationValue: 'min-1e7'`)
 * does the same, without its in-place compounding of that value across one batch.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { logitsOf, scoresWithLayerOutput } from '../gradients';
import { CamContext, camFunction, CamMethod, CamOptions } from './base';

export interface AblationCamOptions extends CamOptions {
  /** Ablated channels per forward pass (default 32). */
  batchSize?: number;
  /** What an ablated channel becomes: 'zero' (default, the paper) or 'min-1e7' (pytorch-grad-cam when the minimum is not 0). */
  ablationValue?: 'zero' | 'min-1e7';
}

/** The class score of the image with each channel ablated in turn: [c]. */
export function ablatedScores(ctx: CamContext, value: number, batchSize: number): Float32Array {
  const [h, w, c] = ctx.activation.shape;
  const out = new Float32Array(c);
  for (let k0 = 0; k0 < c; k0 += batchSize) {
    const n = Math.min(batchSize, c - k0);
    const s = tf.tidy(() => {
      const ids = Array.from({ length: n }, (_, i) => k0 + i);
      const mask = tf.oneHot(tf.tensor1d(ids, 'int32'), c).reshape([n, 1, 1, c]);
      const a = ctx.activation.reshape([1, h, w, c]);
      const replaced = tf.add(tf.mul(a, tf.sub(1, mask)), tf.mul(mask, value));
      const scores = scoresWithLayerOutput(ctx.model, ctx.batch, ctx.layer, replaced);
      return scores.slice([0, ctx.classIndex], [n, 1]).reshape([n]);
    });
    out.set(s.dataSync(), k0);
    s.dispose();
  }
  return out;
}

export class AblationCam extends CamMethod<AblationCamOptions> {
  readonly name = 'Ablation-CAM';
  readonly id = 'ablationcam';
  override readonly usesGradients = false;

  override checkOptions(o: AblationCamOptions): void {
    const b = o.batchSize ?? 32;
    if (!Number.isInteger(b) || b < 1) throw new CnnvisError(`batchSize must be a positive whole number, got ${b}`);
    if (o.ablationValue !== undefined && o.ablationValue !== 'zero' && o.ablationValue !== 'min-1e7') {
      throw new CnnvisError(`ablationValue must be 'zero' or 'min-1e7', got '${String(o.ablationValue)}'`, ['zero', 'min-1e7']);
    }
  }

  override basisText(classIndex: number): string {
    return `measures the relative drop of class ${classIndex}'s score when each channel is ablated`;
  }

  /** w_k = (y − y_k) / y. */
  weights(ctx: CamContext, o: AblationCamOptions = {}): tf.Tensor {
    let y: number;
    if (ctx.scores) y = ctx.scores[ctx.classIndex];
    else {
      const l = logitsOf(ctx.model, ctx.batch);
      y = l.dataSync()[ctx.classIndex];
      l.dispose();
    }
    const rule = o.ablationValue ?? (o.convention === 'pytorch-grad-cam' ? 'min-1e7' : 'zero');
    const lo = tf.tidy(() => ctx.activation.min().dataSync()[0]);
    const value = rule === 'min-1e7' && lo !== 0 ? lo - 1e7 : 0;
    const ablated = ablatedScores(ctx, value, o.batchSize ?? 32);
    if (!(y > 0)) ctx.notes?.push(`!the class score y = ${y.toPrecision(4)} is not positive, so (y − y_k) / y turns drops into negative weights`);
    return tf.tensor1d(ablated.map((yk) => (y - yk) / y));
  }
}

export const ablationCam = camFunction<AblationCamOptions>(new AblationCam());
