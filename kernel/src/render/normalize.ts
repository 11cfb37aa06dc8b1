/**
 * Value ranges for maps: min–max, percentile clipping (robust to a few extreme activations) and
 * symmetric ranges for signed maps. NaN and ±Infinity never take part in a range.
 * The grid, overlay and colormap renderers all resolve their ranges here.
 */
import { CnnvisError } from '../errors';
import type { Map2D } from '../types';

export interface Range {
  min: number;
  max: number;
}

export interface RangeOptions {
  /** Fixed lower end (overrides the computed one). */
  min?: number;
  /** Fixed upper end (overrides the computed one). */
  max?: number;
  /** Make the range [−m, m] around zero, m = max(|min|, |max|): for signed maps and diverging colormaps. */
  symmetric?: boolean;
  /**
   * Clip to percentiles instead of the extremes: e.g. 99 uses the 1st..99th percentile
   * (symmetric: the 99th percentile of |v|). Must lie in (50, 100].
   */
  percentile?: number;
}

/**
 * The smallest and largest value and the first index of the largest, in one pass; NaN is skipped.
 * An empty (or all-NaN) array gives min = Infinity, max = -Infinity, argMax = -1.
 */
export function extent(data: ArrayLike<number>): { min: number; max: number; argMax: number } {
  let min = Infinity;
  let max = -Infinity;
  let argMax = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max || (argMax < 0 && v === max)) {
      max = v;
      argMax = i;
    }
  }
  return { min, max, argMax };
}

/** Smallest and largest finite values, or null when there are none. */
export function finiteRange(data: ArrayLike<number>): Range | null {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min && v > -Infinity) min = v;
    if (v > max && v < Infinity) max = v;
  }
  return min <= max ? { min, max } : null;
}

function finiteSorted(data: ArrayLike<number>, abs = false): Float64Array {
  const out = new Float64Array(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) out[n++] = abs ? Math.abs(v) : v;
  }
  return out.subarray(0, n).sort();
}

function quantileOfSorted(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The p-th percentile (0..100) of the finite values, interpolating linearly between order statistics
 * (numpy's default). NaN when there are no finite values.
 */
export function percentile(data: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new CnnvisError(`percentile must be in 0..100, got ${p}`);
  return quantileOfSorted(finiteSorted(data), p);
}

/**
 * The range used to normalize `data` under `options` (see RangeOptions). With no finite values the
 * range is {0, 0}. A degenerate range (max ≤ min) is returned as is; `toUnit` handles it.
 */
export function resolveRange(data: ArrayLike<number>, options: RangeOptions = {}): Range {
  const p = options.percentile;
  let lo: number;
  let hi: number;
  if (p !== undefined) {
    if (!(p > 50 && p <= 100)) throw new CnnvisError(`percentile must be in (50, 100], e.g. 99; got ${p}`);
    if (options.symmetric) {
      const m = quantileOfSorted(finiteSorted(data, true), p);
      lo = -m;
      hi = m;
    } else {
      const sorted = finiteSorted(data);
      lo = quantileOfSorted(sorted, 100 - p);
      hi = quantileOfSorted(sorted, p);
    }
  } else {
    const r = finiteRange(data);
    lo = r ? r.min : NaN;
    hi = r ? r.max : NaN;
  }
  if (Number.isNaN(lo)) lo = hi = 0;
  if (options.min !== undefined) lo = options.min;
  if (options.max !== undefined) hi = options.max;
  if (options.symmetric && (options.min === undefined || options.max === undefined)) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    lo = options.min ?? -m;
    hi = options.max ?? m;
  }
  return { min: lo, max: hi };
}

/** One range covering several arrays (for 'global' normalization of a set of maps). */
export function resolveRangeAll(arrays: readonly ArrayLike<number>[], options: RangeOptions = {}): Range {
  if (options.percentile === undefined) {
    let min = Infinity;
    let max = -Infinity;
    for (const a of arrays) {
      const r = finiteRange(a);
      if (r) {
        min = Math.min(min, r.min);
        max = Math.max(max, r.max);
      }
    }
    return resolveRange(min <= max ? [min, max] : [], options);
  }
  let total = 0;
  for (const a of arrays) total += a.length;
  const all = new Float64Array(total);
  let o = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) all[o + i] = a[i];
    o += a.length;
  }
  return resolveRange(all, options);
}

/**
 * Maps a value to [0, 1] within a range, clamping outside values. NaN stays NaN. When the range is
 * degenerate (max ≤ min, e.g. a constant map) every value maps to `degenerate` (default 0), so a
 * constant map never divides by zero.
 */
export function toUnit(v: number, range: Range, degenerate = 0): number {
  if (Number.isNaN(v)) return NaN;
  const span = range.max - range.min;
  if (!(span > 0)) return degenerate;
  const t = (v - range.min) / span;
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}

/** A copy of the map scaled to [0, 1] by `resolveRange(map.data, options)` (NaN preserved). */
export function normalizeMap(map: Map2D, options: RangeOptions = {}): Map2D {
  const range = resolveRange(map.data, options);
  const degenerate = options.symmetric ? 0.5 : 0;
  const out = new Float32Array(map.data.length);
  for (let i = 0; i < out.length; i++) out[i] = toUnit(map.data[i], range, degenerate);
  return { width: map.width, height: map.height, data: out };
}
