/**
 * Regularizers: penalties subtracted from the objective, one value per batch item, on images in [0, 1].
 *
 * - l2: mean squared distance from mid gray (keeps colours from saturating);
 * - tv: total variation, the mean absolute difference between neighbouring pixels (smooths);
 * - blur: mean squared distance to a blurred copy of the current image, the copy held fixed — its
 *   gradient pulls every pixel toward its neighbourhood average (lucid's "blur each step" as a penalty).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';

export interface RegularizerWeights {
  l2?: number;
  tv?: number;
  blur?: number;
}

/** Mean of (x − ½)² per item: [B, H, W, C] → [B]. */
export function l2Penalty(x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => x.sub(0.5).square().mean([1, 2, 3]) as tf.Tensor1D);
}

/** Total variation per item: mean |x[y+1,x] − x[y,x]| + mean |x[y,x+1] − x[y,x]| → [B]. */
export function tvPenalty(x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const dy = x.slice([0, 1, 0, 0], [b, h - 1, w, c]).sub(x.slice([0, 0, 0, 0], [b, h - 1, w, c])).abs().mean([1, 2, 3]);
    const dx = x.slice([0, 0, 1, 0], [b, h, w - 1, c]).sub(x.slice([0, 0, 0, 0], [b, h, w - 1, c])).abs().mean([1, 2, 3]);
    return dy.add(dx) as tf.Tensor1D;
  });
}

/** 3×3 box blur of each colour (edges replicated). */
export function blur3(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[3];
    const k = tf.fill([3, 3, c, 1], 1 / 9) as tf.Tensor4D;
    const padded = tf.concat([x.slice([0, 0, 0, 0], [-1, 1, -1, -1]), x, x.slice([0, x.shape[1] - 1, 0, 0], [-1, 1, -1, -1])], 1);
    const w = padded.shape[2];
    const p2 = tf.concat([padded.slice([0, 0, 0, 0], [-1, -1, 1, -1]), padded, padded.slice([0, 0, w - 1, 0], [-1, -1, 1, -1])], 2) as tf.Tensor4D;
    return tf.depthwiseConv2d(p2, k, 1, 'valid');
  });
}

/** Mean of (x − target)² per item, where target is a fixed (blurred) image. */
export function blurPenalty(x: tf.Tensor4D, blurred: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => x.sub(blurred).square().mean([1, 2, 3]) as tf.Tensor1D);
}

export function checkWeights(w: RegularizerWeights): Required<RegularizerWeights> {
  const out = { l2: w.l2 ?? 0, tv: w.tv ?? 0, blur: w.blur ?? 0 };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v < 0) throw new CnnvisError(`regularizer weight ${k} must be a finite number ≥ 0, got ${v}`);
  }
  for (const k of Object.keys(w)) {
    if (!['l2', 'tv', 'blur'].includes(k)) throw new CnnvisError(`unknown regularizer '${k}'; valid: l2, tv, blur`, ['l2', 'tv', 'blur']);
  }
  return out;
}

/**
 * Total penalty per item [B]. `blurred` is the fixed blurred copy (needed when weights.blur > 0).
 */
export function penalty(x: tf.Tensor4D, w: Required<RegularizerWeights>, blurred: tf.Tensor4D | null): tf.Tensor1D {
  return tf.tidy(() => {
    let p = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    if (w.l2 > 0) p = p.add(l2Penalty(x).mul(w.l2));
    if (w.tv > 0) p = p.add(tvPenalty(x).mul(w.tv));
    if (w.blur > 0 && blurred) p = p.add(blurPenalty(x, blurred).mul(w.blur));
    return p;
  });
}
