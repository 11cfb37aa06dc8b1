/**
 * Reference inputs shared by Integrated Gradients (baselines) and occlusion (fills), all in the
 * preprocessed space the model sees.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource, prepareInput } from '../../basics/input';
import { CnnvisError } from '../../errors';
import { CnnModel } from '../../models/model';
import { RGBImage } from '../../types';

/** A constant-colour picture at the model's input size, preprocessed [1, H, W, C]. */
export function solidInput(model: CnnModel, rgb: readonly [number, number, number]): tf.Tensor4D {
  const n = model.inputWidth * model.inputHeight;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) data[i * 3 + k] = Math.round(rgb[k]);
  return prepareInput(model, { width: model.inputWidth, height: model.inputHeight, data }).batch;
}

/** The per-channel mean colour of a picture. */
export function meanColor(img: RGBImage): [number, number, number] {
  const s = [0, 0, 0];
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) s[k] += img.data[i * 3 + k];
  return [s[0] / n, s[1] / n, s[2] / n];
}

/**
 * Gaussian blur of a batch [B, H, W, C] (separable, truncated at 3σ). Borders are renormalized by the
 * kernel mass inside the image, so a constant image stays constant. σ in pixels; σ = 0 copies.
 */
export function gaussianBlur(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new CnnvisError(`blur sigma must be a finite number ≥ 0, got ${sigma}`);
  if (sigma === 0) return x.clone();
  const r = Math.max(1, Math.ceil(3 * sigma));
  const w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = w.reduce((a, b) => a + b, 0);
  const k1 = w.map((v) => v / s);
  return tf.tidy(() => {
    const c = x.shape[3];
    const kx = tf.tensor4d(k1, [1, 2 * r + 1, 1, 1]).tile([1, 1, c, 1]) as tf.Tensor4D;
    const ky = tf.tensor4d(k1, [2 * r + 1, 1, 1, 1]).tile([1, 1, c, 1]) as tf.Tensor4D;
    const blur = (t: tf.Tensor4D) => tf.depthwiseConv2d(tf.depthwiseConv2d(t, kx, 1, 'same'), ky, 1, 'same');
    const ones = tf.onesLike(x.slice([0, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor4D;
    return tf.div(blur(x), blur(ones)) as tf.Tensor4D;
  });
}

/** Integrated Gradients baselines: see `IntegratedGradientsOptions.baseline`. */
export type Baseline = 'black' | 'zeros' | 'blur' | { image: ImageSource } | { tensor: tf.Tensor4D };

/** The baseline [1, H, W, C] for an input batch (a new tensor). */
export function baselineFor(model: CnnModel, batch: tf.Tensor4D, baseline: Baseline, blurSigma: number): tf.Tensor4D {
  if (baseline === 'black') return solidInput(model, [0, 0, 0]);
  if (baseline === 'zeros') return tf.zerosLike(batch);
  if (baseline === 'blur') return gaussianBlur(batch, blurSigma);
  if (typeof baseline === 'object' && baseline !== null && 'tensor' in baseline) {
    const t = baseline.tensor;
    if (t.shape.some((d, i) => d !== batch.shape[i])) {
      throw new CnnvisError(`baseline tensor has shape [${t.shape.join(', ')}]; the preprocessed input is [${batch.shape.join(', ')}]`);
    }
    return t.clone();
  }
  if (typeof baseline === 'object' && baseline !== null && 'image' in baseline) return prepareInput(model, baseline.image).batch;
  throw new CnnvisError(`unknown baseline '${String(baseline)}'; valid: black, zeros, blur, {image}, {tensor}`, ['black', 'zeros', 'blur']);
}
