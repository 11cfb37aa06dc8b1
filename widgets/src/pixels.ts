/**
 * Pixel work for the explorers, without the DOM: colouring maps through the kernel's colormap tables,
 * blending heat maps over pictures, nearest-neighbour enlargement (crisp pixels), grid layout and
 * colour bars. Everything produces RGBA bytes; the views put them on canvases.
 */
import { getColormap, lutIndex } from 'cnnvis/dist/render/colormaps';

export interface Pixels {
  width: number;
  height: number;
  /** RGBA, row after row. */
  data: Uint8ClampedArray;
}

export function blankPixels(width: number, height: number, rgba: [number, number, number, number] = [0, 0, 0, 0]): Pixels {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set(rgba, i * 4);
  return { width, height, data };
}

/** The 256 × 3 lookup table of a colormap. */
export function lut(name: string): Uint8Array {
  return getColormap(name).lut;
}

/** Colours `values` (w × h) with the colormap, scaled by [min, max] (a flat range takes the lowest colour). */
export function colorize(values: ArrayLike<number>, width: number, height: number, colormap: string, min: number, max: number): Pixels {
  const table = lut(colormap);
  const out = new Uint8ClampedArray(width * height * 4);
  const span = max - min;
  for (let i = 0; i < width * height; i++) {
    const v = values[i];
    const t = span > 0 && Number.isFinite(v) ? (v - min) / span : 0;
    const j = lutIndex(t) * 3;
    out[i * 4] = table[j];
    out[i * 4 + 1] = table[j + 1];
    out[i * 4 + 2] = table[j + 2];
    out[i * 4 + 3] = 255;
  }
  return { width, height, data: out };
}

/** Min and max of finite values (0, 0 for none). */
export function rangeOf(values: ArrayLike<number>, from = 0, to = values.length): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/**
 * out = (1 − opacity)·picture + opacity·colour(heat). `heat` is bytes 0..255 (= 0..1) at any size;
 * it is sampled at the picture's pixel centres (nearest). The picture is RGBA bytes.
 */
export function overlay(picture: Uint8Array, width: number, height: number, heat: Uint8Array, heatWidth: number, heatHeight: number, colormap: string, opacity: number): Pixels {
  const table = lut(colormap);
  const out = new Uint8ClampedArray(width * height * 4);
  const hasHeat = heat.length === heatWidth * heatHeight && heat.length > 0;
  for (let y = 0; y < height; y++) {
    const hy = hasHeat ? Math.min(heatHeight - 1, Math.floor(((y + 0.5) * heatHeight) / height)) : 0;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (!hasHeat) {
        out.set(picture.subarray(o, o + 3), o);
        out[o + 3] = 255;
        continue;
      }
      const hx = Math.min(heatWidth - 1, Math.floor(((x + 0.5) * heatWidth) / width));
      const j = lutIndex(heat[hy * heatWidth + hx] / 255) * 3;
      for (let k = 0; k < 3; k++) out[o + k] = Math.round((1 - opacity) * picture[o + k] + opacity * table[j + k]);
      out[o + 3] = 255;
    }
  }
  return { width, height, data: out };
}

/** Each pixel becomes a factor × factor block (no smoothing). */
export function enlarge(src: Pixels, factor: number): Pixels {
  if (factor === 1) return src;
  const width = src.width * factor;
  const height = src.height * factor;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < width; x++) {
      const s = (sy * src.width + Math.floor(x / factor)) * 4;
      out.set(src.data.subarray(s, s + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data: out };
}

/** An integer scale that makes `size` pixels about `target` pixels on screen (1..16). */
export function scaleFor(size: number, target: number): number {
  return Math.max(1, Math.min(16, Math.round(target / Math.max(1, size))));
}

export interface Grid {
  width: number;
  height: number;
  cols: number;
  tileWidth: number;
  tileHeight: number;
  pad: number;
  count: number;
}

export function gridFor(count: number, tileWidth: number, tileHeight: number, pad = 2): Grid {
  const cols = Math.max(1, Math.ceil(Math.sqrt(count)));
  const rows = Math.max(1, Math.ceil(count / cols));
  return { width: pad + cols * (tileWidth + pad), height: pad + rows * (tileHeight + pad), cols, tileWidth, tileHeight, pad, count };
}

/** Top-left corner of tile i. */
export function tileOrigin(grid: Grid, i: number): [number, number] {
  return [grid.pad + (i % grid.cols) * (grid.tileWidth + grid.pad), grid.pad + Math.floor(i / grid.cols) * (grid.tileHeight + grid.pad)];
}

/** The tile under grid pixel (x, y), or -1 on padding or outside. */
export function tileAtPoint(grid: Grid, x: number, y: number): number {
  const col = Math.floor((x - grid.pad) / (grid.tileWidth + grid.pad));
  const row = Math.floor((y - grid.pad) / (grid.tileHeight + grid.pad));
  if (col < 0 || row < 0 || col >= grid.cols) return -1;
  const [x0, y0] = [grid.pad + col * (grid.tileWidth + grid.pad), grid.pad + row * (grid.tileHeight + grid.pad)];
  if (x >= x0 + grid.tileWidth || y >= y0 + grid.tileHeight) return -1;
  const i = row * grid.cols + col;
  return i < grid.count ? i : -1;
}

/** Copies `tile` into `dst` at (x, y). */
export function blit(dst: Pixels, tile: Pixels, x: number, y: number): void {
  for (let r = 0; r < tile.height; r++) {
    const s = r * tile.width * 4;
    dst.data.set(tile.data.subarray(s, s + tile.width * 4), ((y + r) * dst.width + x) * 4);
  }
}

/** A vertical colour bar: top = max colour, bottom = min colour. */
export function colorbar(colormap: string, width: number, height: number): Pixels {
  const table = lut(colormap);
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const j = lutIndex(1 - (y + 0.5) / height) * 3;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      out[o] = table[j];
      out[o + 1] = table[j + 1];
      out[o + 2] = table[j + 2];
      out[o + 3] = 255;
    }
  }
  return { width, height, data: out };
}
