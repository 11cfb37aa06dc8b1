/** Heatmaps over photos (Grad-CAM and friends) and masked images (occlusion). */
import { CnnvisError } from '../errors';
import { channelsOf, RGB } from '../images/pixels';
import type { Map2D, RGBAImage, RGBImage } from '../types';
import { getColormap, lutIndex } from './colormaps';
import { RangeOptions, resolveRange, toUnit } from './normalize';
import { upsampleBilinear } from './upsample';

export interface OverlayOptions extends RangeOptions {
  /** Heatmap opacity, 0 (image only) .. 1 (heatmap only). Default 0.5. */
  alpha?: number;
  /** Default 'jet' (the usual Grad-CAM look). */
  colormap?: string;
  /**
   * Normalized values (0..1, after the range is applied) below this show the plain image, so only
   * the hot regions are tinted. Default: none.
   */
  threshold?: number;
}

function fitMap(map: Map2D, width: number, height: number): Map2D {
  if (map.data.length !== map.width * map.height) {
    throw new CnnvisError(`map data has ${map.data.length} values but ${map.width}×${map.height} needs ${map.width * map.height}`);
  }
  return map.width === width && map.height === height ? map : upsampleBilinear(map, width, height);
}

/**
 * Blends a coloured heatmap over an image: out = (1 − alpha)·image + alpha·colour. The map is
 * resized to the image (bilinear, half-pixel centres) and scaled to [0, 1] by its min..max unless
 * min/max/percentile say otherwise — pass {min: 0, max: 1} for a map that is already normalized.
 * NaN map values and values below `threshold` leave the image untouched. Output is opaque RGBA.
 */
export function overlayHeatmap(image: RGBImage | RGBAImage, map: Map2D, options: OverlayOptions = {}): RGBAImage {
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new CnnvisError(`alpha must be in [0, 1], got ${alpha}`);
  const threshold = options.threshold ?? -Infinity;
  const lut = getColormap(options.colormap ?? 'jet').lut;
  const c = channelsOf(image);
  const { width, height } = image;
  const range = resolveRange(map.data, options);
  const m = fitMap(map, width, height);
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = i * c;
    const o = i * 4;
    const t = toUnit(m.data[i], range, options.symmetric ? 0.5 : 0);
    const a = Number.isNaN(t) || t < threshold ? 0 : alpha;
    const j = lutIndex(Number.isNaN(t) ? 0 : t) * 3;
    for (let k = 0; k < 3; k++) out[o + k] = Math.round((1 - a) * image.data[s + k] + a * lut[j + k]);
    out[o + 3] = 255;
  }
  return { width, height, data: out };
}

export interface MaskOptions {
  /** Colour shown where the mask is 0. Default mid grey [128, 128, 128]. */
  background?: RGB;
}

/**
 * Keeps the image where the mask is 1 and shows `background` where it is 0, blending in between:
 * out = mask·image + (1 − mask)·background. The mask (values 0..1, clamped; NaN counts as 0) is
 * resized to the image when needed. Returns an RGB image, so it can be fed back to a model
 * (occlusion sensitivity) as well as displayed.
 */
export function maskImage(image: RGBImage | RGBAImage, mask: Map2D, options: MaskOptions = {}): RGBImage {
  const bg = options.background ?? [128, 128, 128];
  const c = channelsOf(image);
  const { width, height } = image;
  const m = fitMap(mask, width, height);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = m.data[i];
    const w = Number.isNaN(v) || v <= 0 ? 0 : v >= 1 ? 1 : v;
    for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.round(w * image.data[i * c + k] + (1 - w) * bg[k]);
  }
  return { width, height, data: out };
}
