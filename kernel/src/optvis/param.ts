/**
 * Image parameterizations: what the optimizer changes, and how it becomes an image in [0, 1].
 *
 * - 'pixel': one free value per pixel and colour.
 * - 'fourier': the image's 2-D spectrum, each frequency scaled by 1/f (natural images have roughly
 *   that amplitude fall-off), so a normalized step moves low frequencies as much as high ones in
 *   perceptual terms and the optimizer is not drawn to high-frequency noise.
 *
 * Both go through a fixed colour decorrelation (COLOR_SQRT_COV) and a sigmoid. A batch dimension lets
 * many images be optimized at once; every item starts from the same seeded noise, so item i of a batch
 * follows exactly the path it would follow alone.
 *
 * The start is small noise around grey (sd 0.01: pixels 0.5 ± ~0.002). A unit behind a ReLU that is
 * off on grey is off everywhere on that start and gets no gradient; `amplify` makes chosen items'
 * start stronger along the same seeded noise (render.ts does this for such items before the first
 * step), so the run stays deterministic and an item's path still does not depend on the others.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { Rng } from './rng';

export type ParamName = 'pixel' | 'fourier';
export const PARAM_NAMES: readonly ParamName[] = ['pixel', 'fourier'];

/**
 * Colour decorrelation: a square root of the covariance of RGB values (in [0, 1]) of natural photos.
 * We measured the 3×3 covariance over the 3.4 million pixels of the sample photos in shared/data/images,
 * took its eigen-decomposition C = U Λ Uᵀ and set M = U Λ^½ (columns sorted by eigenvalue, signs chosen
 * so that each column sums to a positive value). The first column is the luminance direction (all three
 * colours together, 93% of the variance); the other two are colour-opponent axes. Then M Mᵀ = C: white
 * noise in the decorrelated space becomes noise with the colour statistics of photos. Rows are R, G, B.
 */
export const COLOR_SQRT_COV: readonly (readonly number[])[] = [
  [0.2261, -0.0629, -0.05],
  [0.1846, -0.0245, 0.0765],
  [0.2037, 0.0921, -0.0138],
];

/** M divided by its largest column norm, so that a unit step along the strongest axis stays a unit step. */
export function colorMatrix(): number[][] {
  const norms = [0, 1, 2].map((j) => Math.hypot(...COLOR_SQRT_COV.map((r) => r[j])));
  const maxNorm = Math.max(...norms);
  return COLOR_SQRT_COV.map((r) => r.map((v) => v / maxNorm));
}

/** [..., 3] decorrelated values → [..., 3] RGB (before the sigmoid): rgb = M · v per pixel. */
export function decorrelatedToRgb(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.tensor2d(colorMatrix()); // rows = output colour
    const flat = t.reshape([-1, 3]);
    return tf.matMul(flat, m, false, true).reshape(t.shape);
  });
}

export interface ParamOptions {
  /** Number of images optimized together. */
  batch: number;
  height: number;
  width: number;
  seed: number;
  /** Standard deviation of the starting noise (in the parameter's own units). Default 0.01. */
  sd?: number;
  /** Use the colour decorrelation (default true). */
  decorrelate?: boolean;
  /** Fourier only: the spectrum is scaled by 1/f^decay (default 1). */
  decay?: number;
}

/** A parameterization: trainable variables and the map from them to images. */
export interface Param {
  readonly name: ParamName;
  readonly variables: tf.Variable[];
  /** The images, [B, H, W, 3] in (0, 1). Differentiable in the variables. */
  image(): tf.Tensor4D;
  /** Multiplies item b's parameters by factors[b] (a stronger or weaker start along the same noise). */
  amplify(factors: readonly number[]): void;
  dispose(): void;
}

function amplifyItems(vars: readonly tf.Variable[], factors: readonly number[]): void {
  tf.tidy(() => {
    for (const v of vars) {
      if (factors.length !== v.shape[0]) throw new CnnvisError(`amplify needs ${v.shape[0]} factors, got ${factors.length}`);
      const f = tf.tensor1d([...factors]).reshape([factors.length, ...new Array(v.rank - 1).fill(1)]);
      v.assign(v.mul(f));
    }
  });
}

let counter = 0;
/** Variable names must be unique in TF.js. */
function nextId(): string {
  counter += 1;
  return String(counter);
}

function checkOptions(o: ParamOptions): void {
  for (const [k, v] of [['batch', o.batch], ['height', o.height], ['width', o.width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new CnnvisError(`${k} must be a positive integer, got ${v}`);
  }
}

/** Seeded Gaussian noise of one batch item, repeated for every item. */
function noise(rng: Rng, shape: number[], batch: number, sd: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const one = new Float32Array(n);
  for (let i = 0; i < n; i++) one[i] = rng.normal() * sd;
  const all = new Float32Array(n * batch);
  for (let b = 0; b < batch; b++) all.set(one, b * n);
  return tf.tensor(all, [batch, ...shape]);
}

/** A trainable variable holding `init` (which is disposed: tf.variable keeps its own reference to the data). */
function variableFrom(init: tf.Tensor, name: string): tf.Variable {
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
}

function toValid(t: tf.Tensor4D, decorrelate: boolean): tf.Tensor4D {
  return tf.sigmoid(decorrelate ? decorrelatedToRgb(t) : t) as tf.Tensor4D;
}

export function pixelParam(o: ParamOptions): Param {
  checkOptions(o);
  const rng = new Rng(o.seed);
  const v = variableFrom(noise(rng, [o.height, o.width, 3], o.batch, o.sd ?? 0.01), `cnnvis_pixels_${nextId()}`);
  const decorrelate = o.decorrelate ?? true;
  return {
    name: 'pixel',
    variables: [v],
    image: () => tf.tidy(() => toValid(v as unknown as tf.Tensor4D, decorrelate)),
    amplify: (factors) => amplifyItems([v], factors),
    dispose: () => v.dispose(),
  };
}

/** Frequency in cycles per pixel of DFT index k of n samples (k and n − k are the same frequency). */
export function dftFrequency(k: number, n: number): number {
  return Math.min(k, n - k) / n;
}

/**
 * The 1/f scale of every (row frequency, column frequency) of an H × (W/2+1) half spectrum:
 * 1 / max(f, 1/max(H, W))^decay with f = √(fy² + fx²); the constant term gets the scale of the lowest
 * non-zero frequency.
 */
export function spectrumScale(h: number, w: number, decay = 1): Float32Array {
  const L = Math.floor(w / 2) + 1;
  const out = new Float32Array(h * L);
  const floor = 1 / Math.max(h, w);
  for (let k = 0; k < h; k++) {
    for (let l = 0; l < L; l++) {
      const f = Math.hypot(dftFrequency(k, h), l / w);
      out[k * L + l] = 1 / Math.pow(Math.max(f, floor), decay);
    }
  }
  return out;
}

/**
 * Matrices of the real inverse DFT of an H × (W/2+1) half spectrum X = Xr + i·Xi:
 *   x[n, m] = Σ_k Σ_l c_l · Re( X[k, l] · e^{2πi(kn/H + lm/W)} ),
 * c_l = 1 for l = 0 (and l = W/2 when W is even), 2 otherwise (the conjugate half of the spectrum).
 * Done as two real matrix products, along rows then columns; the wasm backend has no FFT kernels, and
 * at these sizes the products are cheap.
 */
export function inverseDftMatrices(h: number, w: number): { cosH: Float32Array; sinH: Float32Array; cosW: Float32Array; sinW: Float32Array } {
  const L = Math.floor(w / 2) + 1;
  const cosH = new Float32Array(h * h);
  const sinH = new Float32Array(h * h);
  for (let n = 0; n < h; n++) {
    for (let k = 0; k < h; k++) {
      const a = (2 * Math.PI * ((k * n) % h)) / h;
      cosH[n * h + k] = Math.cos(a);
      sinH[n * h + k] = Math.sin(a);
    }
  }
  const cosW = new Float32Array(L * w);
  const sinW = new Float32Array(L * w);
  for (let l = 0; l < L; l++) {
    const c = l === 0 || (w % 2 === 0 && l === w / 2) ? 1 : 2;
    for (let m = 0; m < w; m++) {
      const a = (2 * Math.PI * ((l * m) % w)) / w;
      cosW[l * w + m] = c * Math.cos(a);
      sinW[l * w + m] = c * Math.sin(a);
    }
  }
  return { cosH, sinH, cosW, sinW };
}

/**
 * Real inverse DFT of half spectra: re, im [N, H, L] → [N, H, W] (unnormalized sum, see
 * inverseDftMatrices). `mats` are the matrices as tensors.
 */
export function inverseRealDft(
  re: tf.Tensor3D,
  im: tf.Tensor3D,
  w: number,
  mats: { cosH: tf.Tensor2D; sinH: tf.Tensor2D; cosW: tf.Tensor2D; sinW: tf.Tensor2D },
): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, h, L] = re.shape;
    // Along rows: Y = E_H · X with E_H = cos + i·sin, for every (item, column) at once.
    const colsRe = re.transpose([0, 2, 1]).reshape([n * L, h]);
    const colsIm = im.transpose([0, 2, 1]).reshape([n * L, h]);
    // cosH and sinH are symmetric (entry (n, k) depends on k·n), so no transposed product is needed.
    const yRe = tf.matMul(colsRe, mats.cosH).sub(tf.matMul(colsIm, mats.sinH));
    const yIm = tf.matMul(colsRe, mats.sinH).add(tf.matMul(colsIm, mats.cosH));
    const rowsRe = yRe.reshape([n, L, h]).transpose([0, 2, 1]).reshape([n * h, L]);
    const rowsIm = yIm.reshape([n, L, h]).transpose([0, 2, 1]).reshape([n * h, L]);
    // Along columns, real part only: Re(Y e^{iθ}) = Yr cos θ − Yi sin θ.
    return tf.matMul(rowsRe, mats.cosW).sub(tf.matMul(rowsIm, mats.sinW)).reshape([n, h, w]) as tf.Tensor3D;
  });
}

export function fourierParam(o: ParamOptions): Param {
  checkOptions(o);
  const { batch, height: h, width: w } = o;
  const L = Math.floor(w / 2) + 1;
  const rng = new Rng(o.seed);
  const sd = o.sd ?? 0.01;
  const tag = nextId();
  const re = variableFrom(noise(rng, [3, h, L], batch, sd), `cnnvis_spectrum_re_${tag}`);
  const im = variableFrom(noise(rng, [3, h, L], batch, sd), `cnnvis_spectrum_im_${tag}`);
  const scaleArr = spectrumScale(h, w, o.decay ?? 1);
  // Normalize so that unit-variance spectrum entries give pixels of about unit variance.
  const m = inverseDftMatrices(h, w);
  let energy = 0;
  for (let k = 0; k < h; k++) {
    for (let l = 0; l < L; l++) {
      const c = l === 0 || (w % 2 === 0 && l === w / 2) ? 1 : 2;
      energy += c * scaleArr[k * L + l] ** 2;
    }
  }
  const norm = 1 / Math.sqrt(energy);
  const scale = tf.tensor3d(scaleArr.map((v) => v * norm), [1, h, L]);
  const mats = {
    cosH: tf.tensor2d(m.cosH, [h, h]),
    sinH: tf.tensor2d(m.sinH, [h, h]),
    cosW: tf.tensor2d(m.cosW, [L, w]),
    sinW: tf.tensor2d(m.sinW, [L, w]),
  };
  const decorrelate = o.decorrelate ?? true;
  return {
    name: 'fourier',
    variables: [re, im],
    image: () =>
      tf.tidy(() => {
        const r = (re as unknown as tf.Tensor).mul(scale).reshape([batch * 3, h, L]) as tf.Tensor3D;
        const i = (im as unknown as tf.Tensor).mul(scale).reshape([batch * 3, h, L]) as tf.Tensor3D;
        const x = inverseRealDft(r, i, w, mats).reshape([batch, 3, h, w]).transpose([0, 2, 3, 1]) as tf.Tensor4D;
        return toValid(x, decorrelate);
      }),
    amplify: (factors) => amplifyItems([re, im], factors),
    dispose: () => {
      re.dispose();
      im.dispose();
      scale.dispose();
      for (const t of Object.values(mats)) t.dispose();
    },
  };
}

export function makeParam(name: ParamName, o: ParamOptions): Param {
  if (name === 'pixel') return pixelParam(o);
  if (name === 'fourier') return fourierParam(o);
  throw new CnnvisError(`unknown parameterization '${name}'; valid: ${PARAM_NAMES.join(', ')}`, PARAM_NAMES);
}
