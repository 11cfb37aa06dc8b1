/**
 * The pointing game (Zhang et al. 2016): a map scores a hit when its highest point lies on the object,
 * here given by its bounding box, optionally with a tolerance in pixels around the box (the paper
 * uses 15 px on ImageNet-sized images). A constant map points nowhere and is a miss.
 */
import { CnnvisError } from '../../errors';
import { extent } from '../../render/normalize';
import { Map2D } from '../../types';

/** A box in map pixels: columns x … x + w − 1, rows y … y + h − 1. */
export interface PixelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PointingOptions {
  /** A peak at most this many pixels (Euclidean) outside the box still counts (default 0). */
  tolerance?: number;
}

export interface PointingResult {
  hit: boolean;
  /** The peak (first maximum in reading order), in map pixels. */
  x: number;
  y: number;
  value: number;
  /** True when the map is constant (no peak to point with). */
  constant: boolean;
}

/** Plays the pointing game for one map and one box (both in the same pixel grid). */
export function pointingGame(map: Map2D, box: PixelBox, opts: PointingOptions = {}): PointingResult {
  const tolerance = opts.tolerance ?? 0;
  if (!(tolerance >= 0)) throw new CnnvisError(`tolerance must be ≥ 0 pixels, got ${tolerance}`);
  const { width, height, data } = map;
  if (data.length !== width * height || data.length === 0) throw new CnnvisError(`map data has ${data.length} values but ${width}×${height} needs ${width * height}`);
  if (!(box.w > 0 && box.h > 0) || box.x + box.w <= 0 || box.y + box.h <= 0 || box.x >= width || box.y >= height) {
    throw new CnnvisError(`box ${JSON.stringify(box)} does not overlap the ${width}×${height} map`);
  }
  const { min: lo, argMax } = extent(data);
  const best = Math.max(0, argMax);
  const x = best % width;
  const y = Math.floor(best / width);
  const value = data[best];
  const constant = !(value > lo);
  // Distance from the peak pixel to the nearest pixel of the box.
  const dx = Math.max(box.x - x, 0, x - (box.x + box.w - 1));
  const dy = Math.max(box.y - y, 0, y - (box.y + box.h - 1));
  const hit = !constant && Math.hypot(dx, dy) <= tolerance;
  return { hit, x, y, value, constant };
}

/** Accuracy over many games: hits / games. */
export function pointingAccuracy(results: readonly Pick<PointingResult, 'hit'>[]): { hits: number; total: number; accuracy: number } {
  if (!results.length) throw new CnnvisError('pointing accuracy needs at least one result');
  const hits = results.filter((r) => r.hit).length;
  return { hits, total: results.length, accuracy: hits / results.length };
}
