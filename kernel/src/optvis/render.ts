/**
 * Activation maximization: gradient ascent on an image parameterization so that an objective (a
 * channel, a neuron, a class logit, or any combination) becomes large. The loop only composes the
 * pieces — parameterization (param.ts), transforms (transforms.ts, sampler.ts), objective
 * (objectives.ts), regularizers (regularizers.ts) — and knows none of their details.
 *
 * Each step: image = param(); score = objective(model(preprocess(resize(transforms(image))))) − penalties(image).
 * The image side runs in plain typed arrays, outside TF.js: the parameterization makes the images and
 * takes their gradient back to its parameters (param.ts backward), the transforms and the resize to the
 * model's input are one bilinear sampling with its adjoint (sampler.ts), the model's preprocessing is
 * its per-pixel affine map (affinePreprocess; TF.js ops only for a preprocessing that is not affine),
 * and the update is typed-array code. TF.js holds only what the model needs: the views as a tensor for
 * the model's input gradient from its engine (engine/engine.ts objectiveGradient; a linear objective's
 * pass is one runtime call there), and the penalties when a regularizer is on. A transform list the sampler cannot
 * express (a user's transform without a geometric form) runs through TF.js instead: the transforms'
 * `apply` and the resize, differentiated by tf.grad of sum(x · dScore/dx) with dScore/dx held fixed.
 * The gradient with respect to the parameters is normalized per batch item (divided by its RMS) or fed
 * to Adam, and added. Runs are deterministic for a seed.
 */
import * as tf from '@tensorflow/tfjs';
import { Progress, yieldToEventLoop } from '../display/progress';
import { displayBundle, inNotebook, newDisplayId } from '../display/jupyter';
import { autoShow, Result, ResultMeta, since } from '../display/result';
import { encodePng } from '../images/encode';
import { initBackend } from '../engine/backend';
import { CnnvisError } from '../errors';
import { asCnnModel, CnnModel } from '../models/model';
import { preprocessTensor } from '../models/preprocess';
import { enlarge } from '../render/compose';
import { makeGrid } from '../render/grid';
import { layerOutputShape } from '../taps';
import { RGBAImage } from '../types';
import { channels as channelsObjective, Objective, objectiveScores, ObjectiveSpec, toObjective } from './objectives';
import { makeParam, Param, PARAM_NAMES, ParamName } from './param';
import { blur3, checkWeights, penalty, RegularizerWeights } from './regularizers';
import { Rng } from './rng';
import { SampleMap, Sampler } from './sampler';
import { applyTransforms, resizeLinear, standardTransforms, Transform } from './transforms';
import { addedKernels, ensureInputGradients } from '../engine/wasmGradients';

export type OptimizerName = 'normalized' | 'adam';

export interface StepInfo {
  /** 0-based step index. */
  step: number;
  /** Objective value of each batch item at this step (on the transformed image, before the update). */
  values: Float32Array;
}

export interface MaximizeOptions {
  /** Gradient steps (default 128). */
  steps?: number;
  /** Step size (default 0.05; for Adam also 0.05). */
  lr?: number;
  /** 'normalized' (default): gradient divided by its RMS per image; or 'adam'. */
  optimizer?: OptimizerName;
  /** Image parameterization (default 'fourier'). */
  param?: ParamName;
  /** Image size: one number (square) or [height, width]. Default: the model's input size. */
  size?: number | [number, number];
  /** Transforms before every step: a list, 'standard' (default) or 'none'. */
  transforms?: readonly Transform[] | 'standard' | 'none';
  /** Regularizer weights (default none). */
  regularizers?: RegularizerWeights;
  /** Colour decorrelation (default true). */
  decorrelate?: boolean;
  /** Standard deviation of the starting noise (default 0.01). */
  initSd?: number;
  /** Seed for the starting noise and the transforms (default 0). */
  seed?: number;
  /** Show the result in a notebook (default true). */
  display?: boolean;
  /** Show a progress bar (notebook display / stderr bar); default true. */
  progress?: boolean;
  /** Called after every step. */
  onStep?: (info: StepInfo) => void;
  /** In a notebook: show the current image every this many steps (default: about 8 updates per run; 0 = never). */
  preview?: number;
}

/** The resolved settings of a run. */
export interface MaximizeSettings {
  steps: number;
  lr: number;
  optimizer: OptimizerName;
  param: ParamName;
  height: number;
  width: number;
  transforms: string[];
  regularizers: Required<RegularizerWeights>;
  decorrelate: boolean;
  initSd: number;
  seed: number;
}

/** What one optimization of a batch produced. */
export interface BatchRun {
  /** Per item: the image as [H, W, 3] floats in [0, 1], row-major. */
  pixels: Float32Array[];
  /** Per item: the objective at every step. */
  values: Float32Array[];
  /** Per item: objective of the starting image (no transforms). */
  initial: number[];
  /** Per item: objective of the final image (no transforms). */
  final: number[];
  /** Per item: how much stronger than `initSd` its start was made (1 unless it was off on the weak start). */
  startGain: number[];
  /** Per item: still exactly 0 with a zero gradient on the strongest start tried, so it never moved. */
  flat: boolean[];
}

function resolveSettings(model: CnnModel, o: MaximizeOptions): MaximizeSettings {
  const steps = o.steps ?? 128;
  if (!Number.isInteger(steps) || steps < 1) throw new CnnvisError(`steps must be a positive integer, got ${steps}`);
  const lr = o.lr ?? 0.05;
  if (!(lr > 0) || !Number.isFinite(lr)) throw new CnnvisError(`lr must be a positive number, got ${lr}`);
  const optimizer = o.optimizer ?? 'normalized';
  if (optimizer !== 'normalized' && optimizer !== 'adam') throw new CnnvisError(`unknown optimizer '${optimizer}'; valid: normalized, adam`, ['normalized', 'adam']);
  const param = o.param ?? 'fourier';
  if (!PARAM_NAMES.includes(param)) throw new CnnvisError(`unknown parameterization '${param}'; valid: ${PARAM_NAMES.join(', ')}`, PARAM_NAMES);
  const [height, width] = o.size === undefined ? [model.inputHeight, model.inputWidth] : typeof o.size === 'number' ? [o.size, o.size] : o.size;
  for (const v of [height, width]) {
    if (!Number.isInteger(v) || v < 8 || v > 1024) throw new CnnvisError(`size must be whole pixels in 8..1024, got ${v}`);
  }
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed)) throw new CnnvisError(`seed must be an integer, got ${seed}`);
  return {
    steps,
    lr,
    optimizer,
    param,
    height,
    width,
    transforms: transformList(o.transforms).map((t) => t.name),
    regularizers: checkWeights(o.regularizers ?? {}),
    decorrelate: o.decorrelate ?? true,
    initSd: o.initSd ?? 0.01,
    seed,
  };
}

function transformList(t: MaximizeOptions['transforms']): readonly Transform[] {
  if (t === undefined || t === 'standard') return standardTransforms();
  if (t === 'none') return [];
  if (!Array.isArray(t)) throw new CnnvisError(`transforms must be a list of transforms, 'standard' or 'none'`);
  return t;
}

/** Images in [0, 1] → the model's input: resized to a fixed input size, preprocessed, gray if needed. */
export function toModelInput(model: CnnModel, images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [h, w] = model.fixedInputSize;
    let x = images;
    if ((h && h !== x.shape[1]) || (w && w !== x.shape[2])) x = resizeLinear(x, h ?? x.shape[1], w ?? x.shape[2]);
    return preprocessImages(model, x);
  });
}

/** Images in [0, 1] already at the model's input size → the model's input: gray if needed, preprocessed. */
export function preprocessImages(model: CnnModel, images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const x = model.inputChannels === 1 ? images.mean(3, true) : images;
    return preprocessTensor(x.mul(255), model.preprocess) as tf.Tensor4D;
  });
}

/** The objective's value for each image of a batch in [0, 1] ([B, H, W, 3]), without transforms. */
export function evaluateObjective(model: CnnModel | tf.LayersModel, objective: ObjectiveSpec, images: tf.Tensor4D): Float32Array {
  const m = asCnnModel(model);
  const obj = toObjective(objective).check(m);
  return tf.tidy(() => objectiveScores(m, obj, toModelInput(m, images)).dataSync() as Float32Array);
}

/**
 * The preprocessing (gray mean for 1-channel models, then preprocessTensor) as x = A·v + b per pixel,
 * read off preprocessImages on probe pixels: A is [C, 3] (C the model's input channels), b [C]. Every
 * preprocessing mode is such a map; null when a check on other pixels says this one is not (then the
 * loop differentiates preprocessImages with TF.js).
 */
export function affinePreprocess(model: CnnModel): { a: Float64Array; b: Float64Array; channels: number } | null {
  const probe = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0.3, 0.8, 0.1, 0.9, 0.25, 0.6];
  const out = tf.tidy(() => preprocessImages(model, tf.tensor4d(probe, [1, 1, 6, 3])).dataSync() as Float32Array);
  const c = out.length / 6;
  const b = Float64Array.from(out.subarray(0, c));
  const a = new Float64Array(c * 3);
  for (let o = 0; o < c; o++) for (let j = 0; j < 3; j++) a[o * 3 + j] = out[(j + 1) * c + o] - b[o];
  for (const px of [4, 5]) {
    for (let o = 0; o < c; o++) {
      const want = b[o] + a[o * 3] * probe[px * 3] + a[o * 3 + 1] * probe[px * 3 + 1] + a[o * 3 + 2] * probe[px * 3 + 2];
      if (!(Math.abs(out[px * c + o] - want) <= 1e-4 * (1 + Math.abs(want)))) return null;
    }
  }
  return { a, b, channels: c };
}

/** What one view of the images gives: the objective per item, its gradient with respect to the images and (when asked) per item the largest |dScore/dx| at the model's input. */
interface ViewGradient {
  scores: Float32Array;
  dImg: Float32Array;
  peaks?: Float32Array;
}

/** Per item of a batch: max |t|. */
function itemPeaks(t: tf.Tensor): Float32Array {
  return tf.tidy(() => t.abs().reshape([t.shape[0], -1]).max(1).dataSync() as Float32Array);
}

/** Gradient ascent step on the parameters, in place: normalized per item, or Adam. Keeps its own state. */
class Stepper {
  private readonly m: Float64Array[] = [];
  private readonly v: Float64Array[] = [];
  private t = 0;
  constructor(private readonly s: MaximizeSettings, private readonly params: Float32Array[], private readonly batch: number) {}

  step(grads: Float32Array[]): void {
    this.t += 1;
    const lr = this.s.lr;
    const B = this.batch;
    if (this.s.optimizer === 'normalized') {
      // Each item's gradient divided by its RMS over all its parameter values together.
      for (let b = 0; b < B; b++) {
        let sq = 0;
        let count = 0;
        for (const g of grads) {
          const n = g.length / B;
          for (let i = b * n; i < (b + 1) * n; i++) sq += g[i] * g[i];
          count += n;
        }
        const k = lr / (Math.sqrt(sq / count) + 1e-12);
        this.params.forEach((p, j) => {
          const g = grads[j];
          const n = g.length / B;
          for (let i = b * n; i < (b + 1) * n; i++) p[i] += g[i] * k;
        });
      }
      return;
    }
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    this.params.forEach((p, j) => {
      const g = grads[j];
      const m = (this.m[j] ??= new Float64Array(p.length));
      const v = (this.v[j] ??= new Float64Array(p.length));
      for (let i = 0; i < p.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] += (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    });
  }
}

export interface BatchHooks {
  progress?: Progress | null;
  onStep?: (info: StepInfo) => void;
  /** Called every `previewEvery` steps with the current images ([H, W, 3] floats per item). */
  onPreview?: (pixels: Float32Array[], step: number) => void;
  previewEvery?: number;
}

function splitItems(all: Float32Array, batch: number, n: number): Float32Array[] {
  return Array.from({ length: batch }, (_, i) => all.slice(i * n, (i + 1) * n));
}

/** A start that leaves an item flat is made this much stronger, at most START_ROUNDS times (the default sd 0.01 up to 2.56). */
const START_GROWTH = 4;
const START_ROUNDS = 4;

/**
 * Optimizes a batch of `batch` images for an objective that returns one score per item. Low-level:
 * maximize() and filterPatterns() are built on it. Each step runs synchronously (the model's passes on
 * its engine); between steps the event loop runs, so progress and previews reach the notebook while the
 * optimization goes on.
 */
export async function optimizeBatch(
  model: CnnModel,
  objective: Objective,
  batch: number,
  s: MaximizeSettings,
  transforms: readonly Transform[],
  hooks: BatchHooks = {},
): Promise<BatchRun> {
  ensureInputGradients();
  objective.check(model);
  const param: Param = makeParam(s.param, { batch, height: s.height, width: s.width, seed: s.seed, sd: s.initSd, decorrelate: s.decorrelate });
  const rng = new Rng(s.seed * 7919 + 17);
  const stepper = new Stepper(s, param.params, batch);
  const values = Array.from({ length: batch }, () => new Float32Array(s.steps));
  const shape: [number, number, number, number] = [batch, s.height, s.width, 3];
  const n = s.height * s.width * 3;
  const [fixedH, fixedW] = model.fixedInputSize;
  // Transforms and resize as one sampling in plain arrays when the list allows it; else TF.js.
  const sampler = Sampler.from(transforms, s.height, s.width, fixedH, fixedW);
  const engine = model.engine;
  const gradientAt = (x: tf.Tensor4D) => engine.objectiveGradient(x, objective.layers, objective.scoreFunction, { linear: objective.linear });
  const clean = (): number[] => Array.from(tf.tidy(() => objectiveScores(model, objective, toModelInput(model, tf.tensor4d(param.image(), shape))).dataSync()));

  /** The view of one step (fast path): img → sampled view v → model input x; returns the scores and d/dimg. */
  // Buffers of the sampled views and their gradients, reused every step (fresh large arrays are slow to fill).
  const viewBuf = sampler ? new Float32Array(batch * sampler.outHeight * sampler.outWidth * 3) : null;
  const imgGradBuf = sampler ? new Float32Array(batch * n) : null;
  const affine = sampler ? affinePreprocess(model) : null;
  const inputBuf = sampler && affine ? new Float32Array(batch * sampler.outHeight * sampler.outWidth * affine.channels) : null;
  const sampledGradient = (img: Float32Array, map: SampleMap, withPeaks: boolean): ViewGradient => {
    const view = map.forward(img, batch, viewBuf!);
    if (affine) {
      // x = A·v + b per pixel; d/dv = Aᵀ·dScore/dx, in place of the view.
      const { a, b, channels: c } = affine;
      const pixels = view.length / 3;
      const xs = inputBuf!;
      if (c === 3) {
        // RGB models (nearly all): the 3×3 map unrolled, no inner loop or temporaries per pixel.
        const [a0, a1, a2, a3, a4, a5, a6, a7, a8] = a;
        const [b0, b1, b2] = b;
        for (let k = 0; k < view.length; k += 3) {
          const v0 = view[k], v1 = view[k + 1], v2 = view[k + 2];
          xs[k] = b0 + a0 * v0 + a1 * v1 + a2 * v2;
          xs[k + 1] = b1 + a3 * v0 + a4 * v1 + a5 * v2;
          xs[k + 2] = b2 + a6 * v0 + a7 * v1 + a8 * v2;
        }
      } else {
        for (let q = 0; q < pixels; q++) {
          const v0 = view[q * 3], v1 = view[q * 3 + 1], v2 = view[q * 3 + 2];
          for (let o = 0; o < c; o++) xs[q * c + o] = b[o] + a[o * 3] * v0 + a[o * 3 + 1] * v1 + a[o * 3 + 2] * v2;
        }
      }
      const x = tf.tensor4d(xs, [batch, map.outHeight, map.outWidth, c]);
      let r: ReturnType<typeof gradientAt>;
      try {
        r = gradientAt(x);
      } finally {
        x.dispose();
      }
      const dx = r.dx.dataSync() as Float32Array;
      const peaks = withPeaks ? itemPeaks(r.dx) : undefined;
      r.dx.dispose();
      if (c === 3) {
        const [a0, a1, a2, a3, a4, a5, a6, a7, a8] = a;
        for (let k = 0; k < view.length; k += 3) {
          const g0 = dx[k], g1 = dx[k + 1], g2 = dx[k + 2];
          view[k] = a0 * g0 + a3 * g1 + a6 * g2;
          view[k + 1] = a1 * g0 + a4 * g1 + a7 * g2;
          view[k + 2] = a2 * g0 + a5 * g1 + a8 * g2;
        }
      } else {
        for (let q = 0; q < pixels; q++) {
          let d0 = 0, d1 = 0, d2 = 0;
          for (let o = 0; o < c; o++) {
            const g = dx[q * c + o];
            d0 += a[o * 3] * g;
            d1 += a[o * 3 + 1] * g;
            d2 += a[o * 3 + 2] * g;
          }
          view[q * 3] = d0;
          view[q * 3 + 1] = d1;
          view[q * 3 + 2] = d2;
        }
      }
      return { scores: r.scores, dImg: map.adjoint(view, batch, imgGradBuf!), peaks };
    }
    const v = tf.tensor4d(view, [batch, map.outHeight, map.outWidth, 3]);
    try {
      const x = preprocessImages(model, v);
      const r = gradientAt(x);
      x.dispose();
      // The preprocessing's vector-Jacobian product at v with the model's input gradient.
      const dv = tf.grad((t: tf.Tensor) => preprocessImages(model, t as tf.Tensor4D))(v, r.dx);
      const peaks = withPeaks ? itemPeaks(r.dx) : undefined;
      r.dx.dispose();
      const dvData = dv.dataSync() as Float32Array;
      dv.dispose();
      return { scores: r.scores, dImg: map.adjoint(dvData, batch, imgGradBuf!), peaks };
    } finally {
      v.dispose();
    }
  };

  /** The same through TF.js (a list the sampler cannot express): the surrogate sum(x · dScore/dx), dScore/dx held fixed. */
  const tfjsGradient = (img: Float32Array, draws: Rng, withPeaks: boolean): ViewGradient => {
    let scores = new Float32Array(batch);
    const imgT = tf.tensor4d(img, shape);
    try {
      let peaks: Float32Array | undefined;
      const g = tf.grad((t: tf.Tensor) => {
        const x = toModelInput(model, applyTransforms(t as tf.Tensor4D, transforms, draws));
        const r = gradientAt(x);
        scores = r.scores;
        if (withPeaks) peaks = itemPeaks(r.dx);
        const surrogate = tf.sum(tf.mul(x, r.dx));
        r.dx.dispose();
        return surrogate as tf.Scalar;
      })(imgT);
      const dImg = g.dataSync() as Float32Array;
      g.dispose();
      return { scores, dImg, peaks };
    } finally {
      imgT.dispose();
    }
  };

  const viewGradient = (img: Float32Array, draws: Rng, withPeaks = false): ViewGradient =>
    sampler ? sampledGradient(img, sampler.draw(draws), withPeaks) : tfjsGradient(img, draws, withPeaks);

  const regularized = Object.values(s.regularizers).some((v) => v > 0);
  /** dImg −= d(Σ penalties)/dimg (TF.js; only when a regularizer is on). */
  const subtractPenalty = (img: Float32Array, dImg: Float32Array): void => {
    const g = tf.tidy(() => {
      const t = tf.tensor4d(img, shape);
      const blurred = s.regularizers.blur > 0 ? blur3(t) : null;
      return tf.grad((u: tf.Tensor) => penalty(u as tf.Tensor4D, s.regularizers, blurred).sum())(t).dataSync() as Float32Array;
    });
    for (let i = 0; i < dImg.length; i++) dImg[i] -= g[i];
  };

  /** Adds step i's update (the gradient of its view, less the penalties') and records its scores. */
  const update = (i: number, img: Float32Array, g: ViewGradient): Float32Array => {
    if (regularized) subtractPenalty(img, g.dImg);
    stepper.step(param.backward(g.dImg));
    for (let b = 0; b < batch; b++) values[b][i] = g.scores[b];
    return g.scores;
  };
  const step = (i: number): Float32Array => {
    const img = param.image();
    return update(i, img, viewGradient(img, rng));
  };
  // Items whose objective is exactly 0 with a zero input gradient on the first step's view (a unit behind
  // a ReLU, off everywhere on the near-grey start, or on only at noise peaks that the transforms'
  // resampling smooths away) cannot move: their start noise is made START_GROWTH times stronger until
  // they respond, per item (the others keep their start and path), and the first step is taken again on
  // the same view. A run whose items all respond pays for no check of its own.
  const startGain = new Array<number>(batch).fill(1);
  const firstStep = (): { now: Float32Array; initial: number[]; flat: boolean[] } => {
    // The first view's random draws are kept, so a stronger start is tried on the same view.
    const draws = Rng.recording(rng);
    const flatOf = (g: ViewGradient) => Array.from(g.scores, (v, b) => v === 0 && g.peaks![b] === 0);
    let initial = clean();
    let img = param.image();
    let g = viewGradient(img, draws.rng, true);
    let flat = flatOf(g);
    for (let round = 0; round < START_ROUNDS && flat.some(Boolean); round++) {
      param.amplify(flat.map((f) => (f ? START_GROWTH : 1)));
      flat.forEach((f, b) => f && (startGain[b] *= START_GROWTH));
      initial = clean();
      img = param.image();
      g = viewGradient(img, draws.replay(), true);
      flat = flatOf(g);
    }
    return { now: update(0, img, g), initial, flat };
  };
  try {
    let initial: number[] = [];
    let flat: boolean[] = [];
    for (let i = 0; i < s.steps; i++) {
      let now: Float32Array;
      if (i === 0) ({ now, initial, flat } = firstStep());
      else now = step(i);
      hooks.progress?.tick();
      hooks.onStep?.({ step: i, values: now });
      const every = hooks.previewEvery ?? 0;
      if (hooks.onPreview && every > 0 && ((i + 1) % every === 0 || i === s.steps - 1)) {
        hooks.onPreview(splitItems(param.image(), batch, n), i);
      }
      await yieldToEventLoop();
    }
    const final = clean();
    const pixels = splitItems(param.image(), batch, n);
    return { pixels, values, initial, final, startGain, flat };
  } finally {
    param.dispose();
  }
}

interface Preview {
  show: NonNullable<BatchHooks['onPreview']>;
  /** Ends the preview without leaving an empty output (the final result is displayed on its own). */
  finish(): void;
}

/**
 * In a notebook: the current image(s) every few steps, undefined elsewhere. With a progress bar they
 * show under the bar, in its output, and the finished bar drops them; without one, in an output of
 * their own, updated in place, that ends as one line of text.
 */
function notebookPreview(title: string, width: number, height: number, progress: Progress | null, nrow?: number): Preview | undefined {
  if (!inNotebook()) return undefined;
  const png = (pixels: Float32Array[]) => {
    const tiles = pixels.map((p) => toRGBA(p, width, height));
    const img = tiles.length === 1 ? tiles[0] : makeGrid(tiles, { nrow });
    return { bytes: encodePng({ width: img.width, height: img.height, data: img.data }), width: img.width, height: img.height };
  };
  if (progress) {
    return {
      show: (pixels, step) => {
        const p = png(pixels);
        progress.picture(p.bytes, p, `${title}: step ${step + 1}`);
      },
      finish: () => undefined, // progress.done() shows the bar alone
    };
  }
  const displayId = newDisplayId();
  let last = -1;
  return {
    show: (pixels, step) => {
      displayBundle({ 'image/png': png(pixels).bytes, 'text/plain': `${title}: step ${step + 1}` }, { displayId, update: last >= 0 });
      last = step;
    },
    finish: () => {
      if (last >= 0) displayBundle({ 'text/plain': `${title}: done, ${last + 1} steps` }, { displayId, update: true });
    },
  };
}

/** [H, W, 3] floats in [0, 1] → RGBA bytes. */
export function toRGBA(pixels: Float32Array, width: number, height: number): RGBAImage {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.round(Math.min(1, Math.max(0, pixels[p * 3 + c])) * 255);
    data[p * 4 + 3] = 255;
  }
  return { width, height, data };
}

function objectiveChart(series: { name: string; values: Float32Array }[], title: string): object {
  const rows = series.flatMap((s) => Array.from(s.values, (v, step) => ({ step, objective: v, series: s.name })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 360,
    height: 180,
    data: { values: rows },
    mark: { type: 'line' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'objective', type: 'quantitative', title: 'objective' },
      ...(series.length > 1 ? { color: { field: 'series', type: 'nominal', title: null } } : {}),
    },
  };
}

function settingsText(s: MaximizeSettings): string {
  const regs = Object.entries(s.regularizers).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
  return `${s.steps} steps, ${s.param}, ${s.height}×${s.width}, ${s.optimizer} lr ${s.lr}, seed ${s.seed}` +
    (regs.length ? `, regularizers ${regs.join(' ')}` : '') + (s.transforms.length ? `, transforms ${s.transforms.join(' ')}` : ', no transforms');
}

/** The warning for objectives that stayed exactly 0 with a zero gradient on every start tried. */
function flatWarning(what: string): string {
  return `${what} stayed exactly 0 with a zero gradient from every start tried (noise up to ${START_GROWTH ** START_ROUNDS}× the initial sd): ` +
    'off for every input near grey, e.g. a dead filter or a unit behind a ReLU that needs a stronger input';
}

function warningText(warnings: readonly string[]): string {
  return warnings.map((w) => ` — warning: ${w}`).join('');
}

export class ActivationMaxResult extends Result {
  readonly kind = 'activation-max';
  constructor(
    meta: ResultMeta,
    /** The objective, as text. */
    readonly objective: string,
    readonly settings: MaximizeSettings,
    /** The image as [H, W, 3] floats in [0, 1]. */
    readonly pixels: Float32Array,
    /** Objective value at every step (on the transformed image the step used). */
    readonly values: Float32Array,
    /** Objective of the starting noise image. */
    readonly initialValue: number,
    /** Objective of the final image (no transforms). */
    readonly finalValue: number,
    /** Kernels cnnvis added to the backend for input gradients (wasm), if any. */
    readonly addedKernels: readonly string[] = [],
    /** What the numbers alone do not say (an objective that never moved from 0). */
    readonly warnings: readonly string[] = [],
  ) {
    super(meta);
  }
  get width(): number {
    return this.settings.width;
  }
  get height(): number {
    return this.settings.height;
  }
  text(): string {
    return `Activation maximization of ${this.meta.model} for ${this.objective}: objective ${this.initialValue.toFixed(4)} → ${this.finalValue.toFixed(4)} ` +
      `(${settingsText(this.settings)}; ${this.meta.backend}, ${(this.meta.timeMs / 1000).toFixed(1)} s)` + warningText(this.warnings);
  }
  /** The pattern, enlarged by a whole factor (each pixel a block) when the model's input is small; `pixels` keeps it as computed. */
  override image(): RGBAImage {
    return enlarge(toRGBA(this.pixels, this.width, this.height));
  }
  override vegaLite(): object {
    return objectiveChart([{ name: this.objective, values: this.values }], `objective per step: ${this.objective}`);
  }
}

async function prepare(model: CnnModel | tf.LayersModel): Promise<{ m: CnnModel; t0: number }> {
  await initBackend();
  const m = asCnnModel(model);
  m.assertFiniteWeights();
  return { m, t0: performance.now() };
}

/**
 * Makes an image that maximizes an objective: `'layer:channel'`, `{layer, channel}`, `{classIndex}`
 * (the pre-softmax logit) or any Objective (channel, neuron, classLogit, layerMean and their sums,
 * weights and negations).
 */
export async function maximize(model: CnnModel | tf.LayersModel, target: ObjectiveSpec, options: MaximizeOptions = {}): Promise<ActivationMaxResult> {
  const { m, t0 } = await prepare(model);
  const objective = toObjective(target).check(m);
  const s = resolveSettings(m, options);
  const progress = options.progress === false ? null : new Progress(`maximize ${objective.description}`, s.steps);
  const preview = options.preview === 0 ? undefined : notebookPreview(`maximize ${objective.description}`, s.width, s.height, progress);
  let run: BatchRun;
  try {
    run = await optimizeBatch(m, objective, 1, s, transformList(options.transforms), {
      progress,
      onStep: options.onStep,
      onPreview: preview?.show,
      previewEvery: options.preview ?? Math.max(1, Math.ceil(s.steps / 8)),
    });
  } finally {
    preview?.finish();
    progress?.done();
  }
  const meta = { model: m.name, backend: tf.getBackend(), timeMs: since(t0) };
  const warnings = run.flat[0] ? [flatWarning(`the objective ${objective.description}`)] : [];
  const result = new ActivationMaxResult(meta, objective.description, s, run.pixels[0], run.values[0], run.initial[0], run.final[0], addedKernels(), warnings);
  return autoShow(result, options.display);
}

export interface FilterPatternOptions extends MaximizeOptions {
  /** Channels to show: a list, or a count (the first `count` channels). Default 16. */
  channels?: readonly number[] | number;
  /** Images optimized together (default 16); batches restart from the same seed, so results do not depend on it. */
  batchSize?: number;
  /** Tiles per row of the mosaic (default: near-square). */
  nrow?: number;
  /** Pixels between tiles (default 2). */
  padding?: number;
}

export class FilterPatternsResult extends Result {
  readonly kind = 'filter-patterns';
  constructor(
    meta: ResultMeta,
    readonly layer: string,
    readonly channels: readonly number[],
    readonly settings: MaximizeSettings,
    /** Per channel: the image as [H, W, 3] floats in [0, 1]. */
    readonly pixels: readonly Float32Array[],
    /** Per channel: objective per step. */
    readonly values: readonly Float32Array[],
    readonly initialValues: readonly number[],
    readonly finalValues: readonly number[],
    private readonly grid: { nrow?: number; padding?: number },
    readonly addedKernels: readonly string[] = [],
    /** What the numbers alone do not say (channels whose objective never moved from 0). */
    readonly warnings: readonly string[] = [],
    /**
     * Per listed channel: its objective stayed exactly 0 with a zero gradient from every start tried,
     * so its image is the start's noise, not a pattern (a dead filter, or one no input near grey reaches).
     */
    readonly flat: readonly boolean[] = [],
  ) {
    super(meta);
  }
  /** The pattern of the i-th listed channel. */
  tile(i: number): RGBAImage {
    if (!Number.isInteger(i) || i < 0 || i >= this.channels.length) throw new CnnvisError(`tile ${i} does not exist; valid: 0..${this.channels.length - 1}`);
    return toRGBA(this.pixels[i], this.settings.width, this.settings.height);
  }
  text(): string {
    const mean = this.finalValues.reduce((a, b) => a + b, 0) / this.finalValues.length;
    return `Filter patterns of ${this.meta.model} layer ${this.layer}, ${this.channels.length} channels [${this.channels.join(', ')}]: ` +
      `mean objective ${mean.toFixed(4)} (${settingsText(this.settings)}; ${this.meta.backend}, ${(this.meta.timeMs / 1000).toFixed(1)} s)` + warningText(this.warnings);
  }
  override image(): RGBAImage {
    const tiles = this.channels.map((_, i) => this.tile(i));
    const g = makeGrid(tiles, { nrow: this.grid.nrow, padding: this.grid.padding ?? 2 });
    return enlarge({ width: g.width, height: g.height, data: g.data });
  }
  override vegaLite(): object {
    return objectiveChart(this.channels.map((c, i) => ({ name: `${this.layer}:${c}`, values: this.values[i] })), `objective per step, layer ${this.layer}`);
  }
}

/**
 * The "filter patterns" of a layer: one image per channel, each maximizing that channel's mean
 * activation, optimized many at a time, shown as a mosaic.
 */
export async function filterPatterns(model: CnnModel | tf.LayersModel, layer: string, options: FilterPatternOptions = {}): Promise<FilterPatternsResult> {
  const { m, t0 } = await prepare(model);
  const shape = layerOutputShape(m.layer(layer));
  const c = shape[shape.length - 1];
  const spec = options.channels ?? 16;
  const list = typeof spec === 'number' ? Array.from({ length: Math.min(spec, c) }, (_, i) => i) : [...spec];
  if (typeof spec === 'number' && (!Number.isInteger(spec) || spec < 1)) throw new CnnvisError(`channels must be a positive count or a list, got ${spec}`);
  if (list.length === 0) throw new CnnvisError('channels must list at least one channel');
  channelsObjective(layer, list).check(m);
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CnnvisError(`batchSize must be a positive integer, got ${batchSize}`);
  const s = resolveSettings(m, options);
  const transforms = transformList(options.transforms);
  const progress = options.progress === false ? null : new Progress(`filter patterns ${layer}`, s.steps * Math.ceil(list.length / batchSize));
  const preview = options.preview === 0 ? undefined : notebookPreview(`filter patterns ${layer}`, s.width, s.height, progress, options.nrow);
  const pixels: Float32Array[] = [];
  const values: Float32Array[] = [];
  const initial: number[] = [];
  const final: number[] = [];
  const flat: boolean[] = [];
  try {
    for (let start = 0; start < list.length; start += batchSize) {
      const part = list.slice(start, start + batchSize);
      const run = await optimizeBatch(m, channelsObjective(layer, part), part.length, s, transforms, {
        progress,
        onStep: options.onStep,
        onPreview: preview?.show,
        previewEvery: options.preview ?? Math.max(1, Math.ceil(s.steps / 8)),
      });
      pixels.push(...run.pixels);
      values.push(...run.values);
      initial.push(...run.initial);
      final.push(...run.final);
      part.forEach((_, i) => flat.push(run.flat[i] ?? false));
    }
  } finally {
    preview?.finish();
    progress?.done();
  }
  const meta = { model: m.name, backend: tf.getBackend(), timeMs: since(t0) };
  const flatChannels = list.filter((_, i) => flat[i]);
  const warnings = flatChannels.length ? [flatWarning(`the mean of ${layer} channel${flatChannels.length > 1 ? 's' : ''} ${flatChannels.join(', ')}`)] : [];
  const result = new FilterPatternsResult(meta, layer, list, s, pixels, values, initial, final, { nrow: options.nrow, padding: options.padding }, addedKernels(), warnings, flat);
  return autoShow(result, options.display);
}
