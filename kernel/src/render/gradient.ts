/**
 * Gradient maps people can read: the clip value of a signed map (a high percentile of |value|, so one
 * outlier does not wash out the rest; Captum's visualization clips in the same spirit, at a cumulative-sum
 * threshold) and the gradient image itself (guided backprop, deconvnet: the per-channel gradient as RGB,
 * zero at mid grey, ± the robust scale at black / full colour, as the papers draw it).
 */
import { CnnvisError } from '../errors';
import { EXPLORER_DISPLAYS, ExplorerDisplay } from '../schema/explorers';
import type { RGBAImage } from '../types';
import { percentile } from './normalize';

/** How an attribution picture is laid out: the map alone, the map over the photo, or photo | map side by side. */
export type DisplayMode = ExplorerDisplay;
export const DISPLAY_MODES: readonly DisplayMode[] = EXPLORER_DISPLAYS;

/** Percentile of |value| at which the colours of a map saturate (values beyond it share the end colour). */
export const CLIP_PERCENTILE = 99.5;

export function checkDisplayMode(mode: string, E: new (m: string) => Error = CnnvisError): DisplayMode {
  if (!(DISPLAY_MODES as readonly string[]).includes(mode)) throw new E(`unknown display '${mode}'; displays: ${DISPLAY_MODES.join(', ')}`);
  return mode as DisplayMode;
}

/**
 * The clip value of a map: the p-th percentile of |value| over the finite values (numpy's linear
 * interpolation); the largest |value| when that percentile is 0 (sparse maps); 0 for an all-zero map.
 */
export function clipValue(data: ArrayLike<number>, p = CLIP_PERCENTILE): number {
  const abs = new Float32Array(data.length);
  let top = 0;
  for (let i = 0; i < data.length; i++) {
    abs[i] = Math.abs(data[i]);
    if (abs[i] > top && abs[i] < Infinity) top = abs[i];
  }
  const v = percentile(abs, p);
  return v > 0 ? v : top;
}

/**
 * The gradient as an RGB picture: per pixel and channel 0.5 + (g − μ) / (2s), clipped to [0, 1], ×255 and
 * rounded, where μ is the mean of every value and s the p-th percentile of |g − μ| (a robust scale: the
 * papers centre the gradient at grey and scale it by its spread). Grey where the gradient is its mean;
 * mid grey everywhere for a constant gradient. `channels` is H × W × C row-major (C = 3).
 */
export function gradientImage(channels: ArrayLike<number>, width: number, height: number, p = CLIP_PERCENTILE): RGBAImage {
  const n = width * height;
  if (channels.length !== n * 3) throw new CnnvisError(`a gradient image needs ${n} × 3 values, got ${channels.length}`);
  let mean = 0;
  for (let i = 0; i < channels.length; i++) mean += channels[i];
  mean /= channels.length || 1;
  const centred = Float64Array.from(channels, (v) => v - mean);
  const s = clipValue(centred, p);
  const data = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      const t = s > 0 ? 0.5 + centred[i * 3 + k] / (2 * s) : 0.5;
      data[i * 4 + k] = Math.round(255 * Math.min(1, Math.max(0, t || 0.5)));
    }
    data[i * 4 + 3] = 255;
  }
  return { width, height, data };
}
