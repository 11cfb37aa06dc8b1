/**
 * Masks from attribution maps: keep the top percent of pixels, or the pixels above a threshold (the
 * thresholded occlusion mask), and the picture with everything else covered.
 */
import { CnnvisError } from '../errors';
import { extent } from '../render/normalize';
import { maskImage } from '../render/overlay';
import { Map2D, RGBImage } from '../types';
import { AttributionResult } from './attribution/result';

/**
 * 1 on the `percent` % of pixels with the highest values (by |value| when `abs`), 0 elsewhere:
 * exactly round(percent/100 · n) pixels; ties go to the earlier pixel (row-major).
 */
export function topPercentMask(map: Map2D, percent: number, opts: { abs?: boolean } = {}): Map2D {
  if (!(percent >= 0 && percent <= 100)) throw new CnnvisError(`percent must be in 0..100, got ${percent}`);
  const n = map.data.length;
  const key = (i: number) => {
    const v = opts.abs ? Math.abs(map.data[i]) : map.data[i];
    return Number.isNaN(v) ? -Infinity : v;
  };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => key(b) - key(a) || a - b);
  const k = Math.round((percent / 100) * n);
  const data = new Float32Array(n);
  for (let j = 0; j < k; j++) data[order[j]] = 1;
  return { width: map.width, height: map.height, data };
}

/** 1 where value ≥ threshold (relative: threshold × the map's maximum), 0 elsewhere. */
export function thresholdMask(map: Map2D, threshold: number, opts: { relative?: boolean } = {}): Map2D {
  if (!Number.isFinite(threshold)) throw new CnnvisError(`threshold must be a finite number, got ${threshold}`);
  let cut = threshold;
  if (opts.relative) {
    const hi = extent(map.data).max;
    if (!(hi > 0)) throw new CnnvisError(`a relative threshold needs a map with positive values; its maximum is ${hi}`);
    cut = threshold * hi;
  }
  const data = new Float32Array(map.data.length);
  for (let i = 0; i < data.length; i++) data[i] = map.data[i] >= cut ? 1 : 0;
  return { width: map.width, height: map.height, data };
}

export interface MaskedPicture {
  /** 0/1 mask at input size. */
  mask: Map2D;
  /** The picture where the mask is 1, `background` elsewhere. */
  image: RGBImage;
  /** Fraction of pixels kept. */
  kept: number;
}

function picture(result: AttributionResult, mask: Map2D, background: [number, number, number]): MaskedPicture {
  let s = 0;
  for (const v of mask.data) s += v;
  return { mask, image: maskImage(result.input, mask, { background }), kept: s / mask.data.length };
}

/**
 * The thresholded occlusion mask: the pixels whose occlusion drops the score by at least
 * `threshold` × the largest drop (default 0.5), and the picture showing only them.
 */
export function occlusionMask(result: AttributionResult, opts: { threshold?: number; background?: [number, number, number] } = {}): MaskedPicture {
  return picture(result, thresholdMask(result.map, opts.threshold ?? 0.5, { relative: true }), opts.background ?? [0, 0, 0]);
}

/** The top `percent` % of any attribution map (by |value| for signed maps) and the picture showing only them. */
export function topPercentPicture(result: AttributionResult, percent: number, opts: { background?: [number, number, number] } = {}): MaskedPicture {
  return picture(result, topPercentMask(result.map, percent, { abs: result.signed }), opts.background ?? [0, 0, 0]);
}
