/**
 * Image parameterizations: what the optimizer changes, and how it becomes an image in [0, 1].
 *
 * - 'pixel': one free value per pixel and colour.
 * - 'fourier': the image's 2-D spectrum, each frequency scaled by 1/f (natural images have roughly
 *   that amplitude fall-off), so a normalized step moves low frequencies as much as high ones in
 *   perceptual terms and the optimizer is not drawn to high-frequency noise. The spectrum becomes the
 *   image by the real inverse 2-D DFT, computed with FFTs of any length (fft.ts).
 *
 * Both go through a fixed colour decorrelation (COLOR_SQRT_COV) and a sigmoid. Everything is plain
 * typed arrays (no TF.js): `params` are Float32Arrays the render loop updates in place, `image()` gives
 * the images, and `backward` takes a gradient with respect to the images back through the sigmoid, the
 * colour matrix and (Fourier) the scaled inverse DFT — its adjoint, the forward DFT — to the parameters.
 * A batch dimension lets many images be optimized at once; every item starts from the same seeded
 * noise, so item i of a batch follows exactly the path it would follow alone.
 *
 * The start is small noise around grey (sd 0.01: pixels 0.5 ± ~0.002). A unit behind a ReLU that is
 * off on grey is off everywhere on that start and gets no gradient; `amplify` makes chosen items'
 * start stronger along the same seeded noise (render.ts does this for such items before the first
 * step), so the run stays deterministic and an item's path still does not depend on the others.
 */
import { CnnvisError } from '../errors';
import { RealDft2d } from './fft';
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

/**
 * A parameterization: trainable values and the map from them to images, in plain typed arrays.
 * The render loop changes `params` in place (a gradient step), then asks for the image again.
 */
export interface Param {
  readonly name: ParamName;
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  /** The trainable values, each batch-major (item b's values are one contiguous block). */
  readonly params: Float32Array[];
  /** The images, [B, H, W, 3] row-major in (0, 1), from the current `params`. */
  image(): Float32Array;
  /**
   * d/dparams (one array per entry of `params`) of a function of the images whose gradient is
   * dImage ([B, H, W, 3]), at the images of the latest image() call.
   */
  backward(dImage: Float32Array): Float32Array[];
  /** Multiplies item b's parameters by factors[b] (a stronger or weaker start along the same noise). */
  amplify(factors: readonly number[]): void;
  dispose(): void;
}

function amplifyItems(params: readonly Float32Array[], factors: readonly number[], batch: number): void {
  if (factors.length !== batch) throw new CnnvisError(`amplify needs ${batch} factors, got ${factors.length}`);
  for (const v of params) {
    const n = v.length / batch;
    for (let b = 0; b < batch; b++) {
      const f = factors[b];
      for (let i = b * n; i < (b + 1) * n; i++) v[i] *= f;
    }
  }
}

function checkOptions(o: ParamOptions): void {
  for (const [k, v] of [['batch', o.batch], ['height', o.height], ['width', o.width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new CnnvisError(`${k} must be a positive integer, got ${v}`);
  }
}

/** Seeded Gaussian noise of one batch item (n values), repeated for every item. */
function noise(rng: Rng, n: number, batch: number, sd: number): Float32Array {
  const all = new Float32Array(n * batch);
  for (let i = 0; i < n; i++) all[i] = rng.normal() * sd;
  for (let b = 1; b < batch; b++) all.copyWithin(b * n, 0, n);
  return all;
}

/**
 * The last steps shared by both parameterizations: pre [B, H, W, 3] (decorrelated values) → colour
 * matrix (when `decorrelate`) → sigmoid, and back. Keeps the sigmoid's output for the gradient.
 */
class ColorSigmoid {
  private readonly m: Float64Array;
  private out: Float32Array = new Float32Array(0);
  private d: Float64Array = new Float64Array(0);
  private preBuf: Float64Array = new Float64Array(0);
  constructor(private readonly decorrelate: boolean) {
    this.m = Float64Array.from(colorMatrix().flat()); // row-major, rows = output colour
  }

  /** A scratch array of `len` values for `pre` (kept and reused: fresh large arrays are slow to fill). */
  scratch(len: number): Float64Array {
    if (this.preBuf.length !== len) this.preBuf = new Float64Array(len);
    return this.preBuf;
  }

  /** pre → images in (0, 1). */
  forward(pre: Float64Array): Float32Array {
    const out = new Float32Array(pre.length);
    const m = this.m;
    for (let i = 0; i < pre.length; i += 3) {
      let r = pre[i], g = pre[i + 1], b = pre[i + 2];
      if (this.decorrelate) {
        const [v0, v1, v2] = [r, g, b];
        r = m[0] * v0 + m[1] * v1 + m[2] * v2;
        g = m[3] * v0 + m[4] * v1 + m[5] * v2;
        b = m[6] * v0 + m[7] * v1 + m[8] * v2;
      }
      out[i] = 1 / (1 + Math.exp(-r));
      out[i + 1] = 1 / (1 + Math.exp(-g));
      out[i + 2] = 1 / (1 + Math.exp(-b));
    }
    this.out = out;
    return out;
  }

  /** dImage → d pre (through the sigmoid at the latest forward, then Mᵀ). */
  backward(dImage: Float32Array): Float64Array {
    const s = this.out;
    if (s.length !== dImage.length) throw new CnnvisError(`backward needs ${s.length} gradient values (image() first), got ${dImage.length}`);
    if (this.d.length !== dImage.length) this.d = new Float64Array(dImage.length);
    const d = this.d;
    const m = this.m;
    for (let i = 0; i < d.length; i += 3) {
      const r = dImage[i] * s[i] * (1 - s[i]);
      const g = dImage[i + 1] * s[i + 1] * (1 - s[i + 1]);
      const b = dImage[i + 2] * s[i + 2] * (1 - s[i + 2]);
      if (this.decorrelate) {
        d[i] = m[0] * r + m[3] * g + m[6] * b;
        d[i + 1] = m[1] * r + m[4] * g + m[7] * b;
        d[i + 2] = m[2] * r + m[5] * g + m[8] * b;
      } else {
        d[i] = r;
        d[i + 1] = g;
        d[i + 2] = b;
      }
    }
    return d;
  }
}

export function pixelParam(o: ParamOptions): Param {
  checkOptions(o);
  const { batch, height, width } = o;
  const rng = new Rng(o.seed);
  const v = noise(rng, height * width * 3, batch, o.sd ?? 0.01);
  const cs = new ColorSigmoid(o.decorrelate ?? true);
  return {
    name: 'pixel',
    batch,
    height,
    width,
    params: [v],
    image: () => {
      const pre = cs.scratch(v.length);
      pre.set(v);
      return cs.forward(pre);
    },
    backward: (dImage) => [Float32Array.from(cs.backward(dImage))],
    amplify: (factors) => amplifyItems([v], factors, batch),
    dispose: () => undefined,
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
 * The dense form, O(n³): the parameterization uses the FFT (fft.ts RealDft2d); tests check one
 * against the other.
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
 * The spectra as images: item b, colour c of `re`/`im` ([B, 3, H, L]) times `scale` ([H, L]) through
 * the real inverse 2-D DFT into colour c of `pre` ([B, H, W, 3]).
 */
function spectraToImages(dft: RealDft2d, re: Float32Array, im: Float32Array, scale: Float64Array, batch: number, pre: Float64Array): void {
  const { h, w, L } = dft;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < 3; c++) dft.inverse(re, im, (b * 3 + c) * h * L, scale, pre, b * h * w * 3 + c, 3);
  }
}

export function fourierParam(o: ParamOptions): Param {
  checkOptions(o);
  const { batch, height: h, width: w } = o;
  const L = Math.floor(w / 2) + 1;
  const rng = new Rng(o.seed);
  const sd = o.sd ?? 0.01;
  const re = noise(rng, 3 * h * L, batch, sd);
  const im = noise(rng, 3 * h * L, batch, sd);
  const scaleArr = spectrumScale(h, w, o.decay ?? 1);
  // Normalize so that unit-variance spectrum entries give pixels of about unit variance.
  let energy = 0;
  for (let k = 0; k < h; k++) {
    for (let l = 0; l < L; l++) {
      const c = l === 0 || (w % 2 === 0 && l === w / 2) ? 1 : 2;
      energy += c * scaleArr[k * L + l] ** 2;
    }
  }
  const norm = 1 / Math.sqrt(energy);
  // The scale as float32 values (as the spectrum's multiplier always was), applied in float64.
  const scale = Float64Array.from(scaleArr.map((v) => v * norm));
  const dft = new RealDft2d(h, w);
  const cs = new ColorSigmoid(o.decorrelate ?? true);
  return {
    name: 'fourier',
    batch,
    height: h,
    width: w,
    params: [re, im],
    image: () => {
      const pre = cs.scratch(batch * h * w * 3);
      spectraToImages(dft, re, im, scale, batch, pre);
      return cs.forward(pre);
    },
    backward: (dImage) => {
      const d = cs.backward(dImage);
      const gRe = new Float32Array(re.length);
      const gIm = new Float32Array(im.length);
      for (let b = 0; b < batch; b++) {
        for (let c = 0; c < 3; c++) dft.adjoint(d, b * h * w * 3 + c, 3, scale, gRe, gIm, (b * 3 + c) * h * L);
      }
      return [gRe, gIm];
    },
    amplify: (factors) => amplifyItems([re, im], factors, batch),
    dispose: () => undefined,
  };
}

export function makeParam(name: ParamName, o: ParamOptions): Param {
  if (name === 'pixel') return pixelParam(o);
  if (name === 'fourier') return fourierParam(o);
  throw new CnnvisError(`unknown parameterization '${name}'; valid: ${PARAM_NAMES.join(', ')}`, PARAM_NAMES);
}
