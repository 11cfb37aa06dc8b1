/**
 * Colour bars: a gradient strip of a colormap plus tick positions and labels as data (a front end
 * or an SVG/HTML wrapper draws the text; the image itself has no text).
 */
import { CnnvisError } from '../errors';
import type { RGBAImage } from '../types';
import { getColormap, lutIndex } from './colormaps';

export interface ColorbarOptions {
  /** Default 'horizontal': low values on the left. 'vertical': low values at the bottom. */
  orientation?: 'horizontal' | 'vertical';
  /** Strip size in pixels. Defaults: 256 × 12 horizontal, 12 × 256 vertical. */
  width?: number;
  height?: number;
  /** Value range the bar stands for. Default 0..1. */
  min?: number;
  max?: number;
  /** About how many ticks to place (1-2-5 steps). Default 5. */
  ticks?: number;
}

export interface ColorbarTick {
  value: number;
  label: string;
  /** Pixel coordinate along the bar (x for horizontal, y for vertical), 0 at the image's left/top edge. */
  position: number;
}

export interface Colorbar {
  image: RGBAImage;
  ticks: ColorbarTick[];
  min: number;
  max: number;
  orientation: 'horizontal' | 'vertical';
}

/** Round tick values (steps of 1, 2 or 5 × 10^k) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): { values: number[]; decimals: number } {
  if (!(max > min) || count < 1) return { values: [min], decimals: Math.max(0, -Math.floor(Math.log10(Math.abs(min) || 1)) + 1) };
  const raw = (max - min) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    values.push(Number((k * step).toFixed(decimals)));
  }
  return { values, decimals };
}

/** A gradient strip of the named colormap with tick data; unknown names list the valid ones. */
export function colorbar(name: string, options: ColorbarOptions = {}): Colorbar {
  const lut = getColormap(name).lut;
  const orientation = options.orientation ?? 'horizontal';
  if (orientation !== 'horizontal' && orientation !== 'vertical') {
    throw new CnnvisError(`orientation must be 'horizontal' or 'vertical', got '${orientation}'`, ['horizontal', 'vertical']);
  }
  const horizontal = orientation === 'horizontal';
  const width = options.width ?? (horizontal ? 256 : 12);
  const height = options.height ?? (horizontal ? 12 : 256);
  for (const [v, what] of [
    [width, 'width'],
    [height, 'height'],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new CnnvisError(`colorbar ${what} must be a positive integer, got ${v}`);
  }
  const min = options.min ?? 0;
  const max = options.max ?? 1;
  if (!(Number.isFinite(min) && Number.isFinite(max) && max >= min)) {
    throw new CnnvisError(`colorbar range must be finite with min ≤ max, got ${min}..${max}`);
  }
  const length = horizontal ? width : height;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Pixel centres: t runs from 0.5/length to 1 − 0.5/length; vertical bars have max on top.
      const along = horizontal ? x : height - 1 - y;
      const j = lutIndex((along + 0.5) / length) * 3;
      const o = (y * width + x) * 4;
      data[o] = lut[j];
      data[o + 1] = lut[j + 1];
      data[o + 2] = lut[j + 2];
      data[o + 3] = 255;
    }
  }
  const { values, decimals } = niceTicks(min, max, options.ticks ?? 5);
  const ticks = values.map((value) => {
    const t = max > min ? (value - min) / (max - min) : 0.5;
    return { value, label: value.toFixed(decimals), position: horizontal ? t * length : (1 - t) * length };
  });
  return { image: { width, height, data }, ticks, min, max, orientation };
}
