/**
 * Deletion and insertion curves (Petsiuk et al. 2018, "RISE"): how fast the class probability falls
 * when the pixels a map ranks highest are removed first (deletion: a low area under the curve is
 * good), and how fast it rises when they are put back first into an image that lacks them
 * (insertion: a high area is good).
 *
 * Pixels are ordered by the map (highest first; ties by position, row by row). Step k replaces the
 * first min(k·n, H·W) pixels, all channels at once, so a curve has steps + 1 points from 0 to 100 %
 * of the pixels. The perturbed images are built on the preprocessed input and run through the model
 * in batches; the curve is the probability of the class (as the model's head defines it: softmax, or
 * σ(±z) for a one-sigmoid binary head); the AUC is the trapezoid integral over the fraction of pixels
 * changed (x in [0, 1]), so it lies in [0, 1] too.
 *
 * What a removed pixel becomes: `black` (zero pixels, the paper's deletion default), `blur` (the same
 * pixel of a Gaussian-blurred copy, the paper's insertion default), `gray` (mid-gray) or any RGB colour.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource, InputOptions, modelFor, prepareInput } from '../../basics/input';
import { initBackend } from '../../engine/backend';
import { CnnvisError } from '../../errors';
import { CnnModel } from '../../models/model';
import { imageToBatch } from '../../models/preprocess';
import { upsampleBilinear } from '../../render/upsample';
import { Map2D, RGBImage } from '../../types';
import { logitsOf } from '../gradients';
import { resolveClass, TargetOptions } from '../targets';
import { trapezoid } from './stats';

/** What a removed pixel is replaced by. */
export type PerturbationBaseline = 'black' | 'blur' | 'gray' | readonly [number, number, number];

export interface PerturbationOptions extends TargetOptions, InputOptions {
  /** Number of steps (default 64): each step changes ⌈H·W / steps⌉ more pixels. */
  steps?: number;
  /** Images per forward pass (default 16). */
  batchSize?: number;
  /** Replacement of removed pixels (default: 'black' for deletion, 'blur' for insertion). */
  baseline?: PerturbationBaseline;
  /** Standard deviation of the 'blur' baseline in pixels (default: 1/16 of the smaller image side, at least 2). */
  blurSigma?: number;
}

export interface PerturbationCurve {
  kind: 'deletion' | 'insertion';
  classIndex: number;
  /** Fraction of the pixels changed at each point, 0 … 1 (steps + 1 values). */
  fractions: Float32Array;
  /** Probability of the class at each point. */
  probabilities: Float32Array;
  /** Area under the probability curve (trapezoid rule over the fractions). */
  auc: number;
  pixelsPerStep: number;
}

/** A map as one score per input pixel: the map itself, or a bilinear resize when it has another size. */
export function mapAtInputSize(map: Map2D, model: CnnModel): Float32Array {
  if (map.data.length !== map.width * map.height) throw new CnnvisError(`map data has ${map.data.length} values but ${map.width}×${map.height} needs ${map.width * map.height}`);
  if (map.width === model.inputWidth && map.height === model.inputHeight) return Float32Array.from(map.data);
  return upsampleBilinear(map, model.inputWidth, model.inputHeight).data;
}

/** Pixel indices, highest map value first; equal values keep reading order. NaN is an error. */
export function pixelOrder(scores: ArrayLike<number>): Int32Array {
  for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) throw new CnnvisError(`the map has NaN at pixel ${i}; it cannot rank pixels`);
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return Int32Array.from(idx);
}

/** Separable Gaussian blur of an RGB image (edges replicated). */
export function gaussianBlur(img: RGBImage, sigma: number): RGBImage {
  if (!(sigma > 0)) throw new CnnvisError(`blur sigma must be positive, got ${sigma}`);
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const norm = taps.reduce((s, v) => s + v, 0);
  const k = taps.map((v) => v / norm);
  const { width: w, height: h } = img;
  const clampI = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  const tmp = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let t = -radius; t <= radius; t++) s += k[t + radius] * img.data[(y * w + clampI(x + t, w)) * 3 + c];
        tmp[(y * w + x) * 3 + c] = s;
      }
    }
  }
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let t = -radius; t <= radius; t++) s += k[t + radius] * tmp[(clampI(y + t, h) * w + x) * 3 + c];
        out[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(s)));
      }
    }
  }
  return { width: w, height: h, data: out };
}

function baselineImage(img: RGBImage, baseline: PerturbationBaseline, sigma: number): RGBImage {
  if (baseline === 'blur') return gaussianBlur(img, sigma);
  const rgb = baseline === 'black' ? [0, 0, 0] : baseline === 'gray' ? [128, 128, 128] : baseline;
  if (!Array.isArray(rgb) || rgb.length !== 3 || rgb.some((v) => !(v >= 0 && v <= 255))) {
    throw new CnnvisError(`baseline must be 'black', 'blur', 'gray' or an RGB colour [r, g, b] in 0..255, got ${JSON.stringify(baseline)}`);
  }
  const data = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(rgb[i % 3]);
  return { width: img.width, height: img.height, data };
}

function checkInt(v: number, what: string, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new CnnvisError(`${what} must be an integer ≥ ${min}, got ${v}`);
}

async function perturbationCurve(
  kind: 'deletion' | 'insertion',
  m: CnnModel | tf.LayersModel,
  image: ImageSource,
  map: Map2D,
  opts: PerturbationOptions,
): Promise<PerturbationCurve> {
  await initBackend();
  const model = modelFor(m, image);
  const steps = opts.steps ?? 64;
  const batchSize = opts.batchSize ?? 16;
  checkInt(steps, 'steps', 1);
  checkInt(batchSize, 'batchSize', 1);
  const H = model.inputHeight;
  const W = model.inputWidth;
  const order = pixelOrder(mapAtInputSize(map, model));
  const explicit = opts.classIndex !== undefined || opts.label !== undefined ? resolveClass(model, opts, null) : undefined;
  const pixelsPerStep = Math.ceil((H * W) / steps);
  const sigma = opts.blurSigma ?? Math.max(2, Math.min(H, W) / 16);
  const input = prepareInput(model, image, opts);
  const base = baselineImage(input.image, opts.baseline ?? (kind === 'deletion' ? 'black' : 'blur'), sigma);
  let baseBatch = imageToBatch(base, model.preprocess);
  if (model.inputChannels === 1) {
    const gray = tf.tidy(() => baseBatch.mean(-1, true) as tf.Tensor4D);
    baseBatch.dispose();
    baseBatch = gray;
  }
  // Deletion goes from the image to the baseline, insertion from the baseline to the image.
  const [from, to] = kind === 'deletion' ? [input.batch, baseBatch] : [baseBatch, input.batch];
  const probabilities = new Float32Array(steps + 1);
  let classIndex = explicit ?? -1;
  try {
    if (classIndex < 0) {
      const l = logitsOf(model, input.batch);
      classIndex = resolveClass(model, {}, l.dataSync() as Float32Array);
      l.dispose();
    }
    const delta = tf.sub(to, from);
    // changed[p] = the step from which pixel p is replaced.
    const changedAt = new Int32Array(H * W);
    for (let r = 0; r < order.length; r++) changedAt[order[r]] = Math.floor(r / pixelsPerStep) + 1;
    try {
      for (let s0 = 0; s0 <= steps; s0 += batchSize) {
        const n = Math.min(batchSize, steps + 1 - s0);
        const masks = new Float32Array(n * H * W);
        for (let b = 0; b < n; b++) {
          const step = s0 + b;
          const off = b * H * W;
          for (let p = 0; p < H * W; p++) if (changedAt[p] <= step) masks[off + p] = 1;
        }
        const probs = tf.tidy(() => {
          const mask = tf.tensor4d(masks, [n, H, W, 1]);
          const x = tf.add(from, tf.mul(mask, delta)) as tf.Tensor4D;
          const logits = logitsOf(model, x, batchSize);
          return model.head.probabilities(logits).slice([0, classIndex], [n, 1]);
        });
        probabilities.set(probs.dataSync(), s0);
        probs.dispose();
      }
    } finally {
      delta.dispose();
    }
  } finally {
    input.batch.dispose();
    baseBatch.dispose();
  }
  const fractions = new Float32Array(steps + 1);
  for (let s = 0; s <= steps; s++) fractions[s] = Math.min(s * pixelsPerStep, H * W) / (H * W);
  return { kind, classIndex, fractions, probabilities, auc: trapezoid(probabilities, fractions), pixelsPerStep };
}

/** The deletion curve of a map: remove the highest-ranked pixels first (lower AUC = better map). */
export function deletionCurve(model: CnnModel | tf.LayersModel, image: ImageSource, map: Map2D, opts: PerturbationOptions = {}): Promise<PerturbationCurve> {
  return perturbationCurve('deletion', model, image, map, opts);
}

/** The insertion curve of a map: insert the highest-ranked pixels first (higher AUC = better map). */
export function insertionCurve(model: CnnModel | tf.LayersModel, image: ImageSource, map: Map2D, opts: PerturbationOptions = {}): Promise<PerturbationCurve> {
  return perturbationCurve('insertion', model, image, map, opts);
}
