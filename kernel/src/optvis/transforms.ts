/**
 * Random transforms applied to the image before every step: the pattern must survive small shifts,
 * zooms and turns, which keeps it from turning into high-frequency noise that only works at one exact
 * pixel alignment. A transform list is applied in order; all randomness comes from one seeded Rng, and
 * one draw is shared by the whole batch (so batch items stay independent of their batch neighbours).
 *
 * Each transform has two forms. `apply` works on TF.js tensors and defines it: any user-written
 * transform needs only that. The built-ins also have a `geometry`: pad is a constant border, and
 * jitter, scale and rotate are maps from output to input pixel coordinates that draw the same random
 * numbers in the same order as `apply`. The render loop hands lists of such transforms to the sampler
 * (sampler.ts), which does them and the resize to the model's input as one bilinear sampling in plain
 * arrays, on a periodic canvas; only other lists go through `apply`.
 *
 * In `apply`, scale is a pair of matrix products with bilinear interpolation weights and rotation is
 * three shears, each a weighted sum of whole-pixel rolls: exact linear maps whose gradients use only
 * matmul, slice, concat and multiply. (TF.js's RotateWithOffset and Transform kernels have no
 * gradients, and a gather based sampler would need UnsortedSegmentSum, which the wasm backend lacks.)
 * The final resize to the model's input uses TF.js's bilinear resize, whose gradient kernel every
 * backend has.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { Rng } from './rng';

/**
 * Where output pixel centre (y, x) takes its value from in the input, in pixel units (centres at whole
 * numbers). A map that is affine may say so (`affine` [a, b, c, d, e, f]: y' = a·y + b·x + c,
 * x' = d·y + e·x + f): the sampler then composes the matrices instead of calling the maps per pixel.
 */
export type CoordMap = ((y: number, x: number) => [number, number]) & { readonly affine?: readonly number[] };

/** The affine map y' = a·y + b·x + c, x' = d·y + e·x + f, as a CoordMap that says what it is. */
export function affineMap(a: number, b: number, c: number, d: number, e: number, f: number): CoordMap {
  return Object.assign((y: number, x: number): [number, number] => [a * y + b * x + c, d * y + e * x + f], { affine: [a, b, c, d, e, f] as const });
}

/**
 * A transform's geometric form, which the sampler (sampler.ts) composes into one bilinear sampling:
 * a constant border (`pad`), or, for a transform that keeps the size, a function that draws its
 * random parameters from `rng` (exactly the draws `apply` makes, in the same order) for an h × w
 * image and returns the map from output to input coordinates on the periodic canvas.
 */
export type Geometry = { readonly pad: number; readonly value: number } | ((h: number, w: number, rng: Rng) => CoordMap);

export interface Transform {
  readonly name: string;
  /** [B, H, W, C] → transformed images (same shape, except for pad). The definition; any transform has it. */
  apply(x: tf.Tensor4D, rng: Rng): tf.Tensor4D;
  /** The same transform as geometry, for the built-ins; a transform without it makes a run use `apply`. */
  readonly geometry?: Geometry;
}

/**
 * Bilinear interpolation weights [nOut, nIn]: output pixel i samples the input at
 * (i + ½ − nOut/2)/s + nIn/2 − ½ with s = factor·nOut/nIn (pixel centres, edges clamped). factor 1 with
 * nOut ≠ nIn is a plain resize; nOut = nIn with factor ≠ 1 zooms around the centre and keeps the size.
 */
export function resampleMatrix(nOut: number, nIn: number, factor = 1): Float32Array {
  const s = (factor * nOut) / nIn;
  const m = new Float32Array(nOut * nIn);
  for (let i = 0; i < nOut; i++) addTap(m, i * nIn, nIn, (i + 0.5 - nOut / 2) / s + nIn / 2 - 0.5);
  return m;
}

/** Adds linear-interpolation weights for source coordinate `src` into row `m[off .. off+n)`. */
function addTap(m: Float32Array, off: number, n: number, src: number): void {
  const c = Math.min(Math.max(src, 0), n - 1);
  const lo = Math.floor(c);
  const hi = Math.min(lo + 1, n - 1);
  const f = c - lo;
  m[off + lo] += 1 - f;
  m[off + hi] += f;
}

/** Applies [Hout, H] along rows and [Wout, W] along columns: out = Ry · X · Rxᵀ per item and colour. */
export function resample2d(x: tf.Tensor4D, ry: tf.Tensor2D, rx: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const ho = ry.shape[0];
    const wo = rx.shape[0];
    const alongH = tf.matMul(ry, x.transpose([1, 0, 2, 3]).reshape([h, b * w * c])).reshape([ho, b, w, c]).transpose([1, 0, 2, 3]);
    const alongW = tf.matMul(rx, alongH.transpose([2, 0, 1, 3]).reshape([w, b * ho * c])).reshape([wo, b, ho, c]).transpose([1, 2, 0, 3]);
    return alongW as tf.Tensor4D;
  });
}

/**
 * Bilinear resize of a batch to h × w (pixel centres aligned, the same map as resampleMatrix with
 * factor 1). TF.js's resize kernel and its gradient kernel exist on every backend and are much faster
 * than the matrix form here.
 */
export function resizeLinear(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  if (x.shape[1] === h && x.shape[2] === w) return x.clone();
  return tf.image.resizeBilinear(x, [h, w], false, true);
}

/** Rolls the images by up to `n` pixels in each direction (wrapping around). Keeps the shape. */
export function jitter(n: number): Transform {
  if (!Number.isInteger(n) || n < 0) throw new CnnvisError(`jitter needs a whole number of pixels ≥ 0, got ${n}`);
  return {
    name: `jitter(${n})`,
    apply: (x, rng) => {
      const dy = rng.int(-n, n);
      const dx = rng.int(-n, n);
      return tf.tidy(() => roll(roll(x, dy, 1), dx, 2));
    },
    geometry: (_h, _w, rng) => {
      const dy = rng.int(-n, n);
      const dx = rng.int(-n, n);
      return affineMap(1, 0, -dy, 0, 1, -dx);
    },
  };
}

/** Cyclic shift along axis 1 (rows) or 2 (columns). */
export function roll(x: tf.Tensor4D, shift: number, axis: 1 | 2): tf.Tensor4D {
  const n = x.shape[axis];
  const s = ((shift % n) + n) % n;
  if (s === 0) return x.clone();
  return tf.tidy(() => {
    // Fresh arrays for every slice: the slice gradient keeps references to its begin/size.
    const at = (v: number, rest: number) => [0, 1, 2, 3].map((d) => (d === axis ? v : rest));
    const head = x.slice(at(0, 0), x.shape.map((d, i) => (i === axis ? n - s : d)));
    const tail = x.slice(at(n - s, 0), x.shape.map((d, i) => (i === axis ? s : d)));
    return tf.concat([tail, head], axis) as tf.Tensor4D;
  });
}

/** Pads every side with `n` pixels of a constant value (default 0.5, mid gray). Grows the image by 2n. */
export function pad(n: number, value = 0.5): Transform {
  if (!Number.isInteger(n) || n < 0) throw new CnnvisError(`pad needs a whole number of pixels ≥ 0, got ${n}`);
  return {
    name: `pad(${n})`,
    apply: (x) => tf.pad(x, [[0, 0], [n, n], [n, n], [0, 0]], value),
    geometry: { pad: n, value },
  };
}

/** Zooms around the centre by a factor picked from `factors` (e.g. [0.95, 1, 1.05]). Keeps the shape. */
export function scale(factors: readonly number[]): Transform {
  if (factors.length === 0 || factors.some((f) => !(f > 0))) throw new CnnvisError(`scale needs positive factors, got [${factors.join(', ')}]`);
  return {
    name: `scale(${factors.join(',')})`,
    apply: (x, rng) => {
      const f = factors[rng.int(0, factors.length - 1)];
      const [, h, w] = x.shape;
      if (f === 1) return x.clone();
      return tf.tidy(() => resample2d(x, tf.tensor2d(resampleMatrix(h, h, f), [h, h]), tf.tensor2d(resampleMatrix(w, w, f), [w, w])));
    },
    // resampleMatrix's map without its clamp (the canvas is periodic).
    geometry: (h, w, rng) => {
      const f = factors[rng.int(0, factors.length - 1)];
      return affineMap(1 / f, 0, (0.5 - h / 2) / f + h / 2 - 0.5, 0, 1 / f, (0.5 - w / 2) / f + w / 2 - 0.5);
    },
  };
}

/**
 * Shifts row y by a·(y − centre) along x (axis 'x'), or column x by a·(x − centre) along y (axis 'y'),
 * with linear interpolation and wrap-around: a sum of whole-pixel rolls, each weighted per line by its
 * interpolation weight. For small angles only a few rolls are needed.
 */
function shear(x: tf.Tensor4D, a: number, axis: 'x' | 'y'): tf.Tensor4D {
  const [, h, w] = x.shape;
  const lines = axis === 'x' ? h : w;
  const shifts = Array.from({ length: lines }, (_, j) => a * (j - (lines - 1) / 2));
  const lo = Math.floor(Math.min(...shifts));
  const hi = Math.floor(Math.max(...shifts)) + 1;
  const ax = axis === 'x' ? 2 : 1;
  const n = x.shape[ax];
  const margin = Math.max(Math.abs(lo), Math.abs(hi));
  return tf.tidy(() => {
    // Wrap-padded copy: the roll by s is then one slice at offset margin − s.
    const wrapped =
      margin < n
        ? tf.concat([x.slice(at(ax, n - margin, 0), sizeAlong(x, ax, margin)), x, x.slice(at(ax, 0, 0), sizeAlong(x, ax, margin))], ax)
        : null;
    let out: tf.Tensor4D | null = null;
    for (let s = lo; s <= hi; s++) {
      const wts = new Float32Array(lines);
      shifts.forEach((sh, j) => {
        const k = Math.floor(sh);
        if (s === k) wts[j] += 1 - (sh - k);
        if (s === k + 1) wts[j] += sh - k;
      });
      if (wts.every((v) => v === 0)) continue;
      const rolled = wrapped ? (wrapped.slice(at(ax, margin - s, 0), sizeAlong(x, ax, n)) as tf.Tensor4D) : roll(x, s, ax);
      const term = rolled.mul(tf.tensor4d(wts, axis === 'x' ? [1, h, 1, 1] : [1, 1, w, 1])) as tf.Tensor4D;
      out = out ? (out.add(term) as tf.Tensor4D) : term;
    }
    return out ?? x.clone();
  });
}

/** Rotation by `degrees` about the centre as three shears (x, y, x). Keeps the shape; wraps around at the edges. */
export function rotateBy(x: tf.Tensor4D, degrees: number): tf.Tensor4D {
  const t = (degrees * Math.PI) / 180;
  if (t === 0) return x.clone();
  return tf.tidy(() => shear(shear(shear(x, -Math.tan(t / 2), 'x'), Math.sin(t), 'y'), -Math.tan(t / 2), 'x'));
}

/**
 * rotateBy's map: its three shears (output → input: x += tan(t/2)·y, y −= sin t·x, x += tan(t/2)·y,
 * about the centre pixel) multiply out to the turn y' = y cos t − x sin t, x' = y sin t + x cos t.
 */
export function rotationMap(h: number, w: number, degrees: number): CoordMap {
  const t = (degrees * Math.PI) / 180;
  const [c, s] = [Math.cos(t), Math.sin(t)];
  const [cy, cx] = [(h - 1) / 2, (w - 1) / 2];
  return affineMap(c, -s, cy - cy * c + cx * s, s, c, cx - cy * s - cx * c);
}

/** Rotates by a random angle in [−maxDegrees, maxDegrees]. Keeps the shape. */
export function rotate(maxDegrees: number): Transform {
  if (!(maxDegrees >= 0) || maxDegrees > 45) throw new CnnvisError(`rotate needs a maximum angle in [0, 45] degrees, got ${maxDegrees}`);
  return {
    name: `rotate(${maxDegrees})`,
    apply: (x, rng) => rotateBy(x, rng.uniform(-maxDegrees, maxDegrees)),
    geometry: (h, w, rng) => rotationMap(h, w, rng.uniform(-maxDegrees, maxDegrees)),
  };
}

/** A 4-D begin index: `v` on axis `axis`, `rest` elsewhere (a fresh array: slice gradients keep it). */
function at(axis: number, v: number, rest: number): number[] {
  return [0, 1, 2, 3].map((d) => (d === axis ? v : rest));
}

/** x's shape with `len` on axis `axis` (a fresh array). */
function sizeAlong(x: tf.Tensor4D, axis: number, len: number): number[] {
  return x.shape.map((d, i) => (i === axis ? len : d));
}

/** Applies the transforms in order. */
export function applyTransforms(x: tf.Tensor4D, list: readonly Transform[], rng: Rng): tf.Tensor4D {
  return tf.tidy(() => list.reduce((t, tr) => tr.apply(t, rng), x as tf.Tensor4D).clone());
}

/** A robust default (in the spirit of lucid's standard transforms): pad, jitter, scale, rotate, jitter. */
export function standardTransforms(): Transform[] {
  return [pad(8), jitter(8), scale([0.95, 0.975, 1, 1.025, 1.05]), rotate(5), jitter(4)];
}
