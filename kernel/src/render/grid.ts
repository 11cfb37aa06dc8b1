/**
 * Tiles in a grid (like torchvision's make_grid): feature maps of a layer, filters, or any images.
 * The layout is plain data so a front end can map a mouse position back to a channel index.
 */
import { CnnvisError } from '../errors';
import type { RGBA } from '../images/pixels';
import type { Map2D, RGBAImage, RGBImage } from '../types';
import { applyColormap } from './colormaps';
import { blank, blit, MIN_DISPLAY_SIZE, scaleNearest } from './compose';
import { Range, RangeOptions, resolveRange, resolveRangeAll } from './normalize';

export interface TileRect {
  index: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GridLayout {
  /** Whole grid size in pixels. */
  width: number;
  height: number;
  cols: number;
  rows: number;
  /** One rectangle per tile, in tile order (row by row). */
  tiles: TileRect[];
}

/**
 * Where n tiles of tileWidth × tileHeight go with `nrow` tiles per row (torchvision's meaning) and
 * `padding` pixels between tiles and around the border: grid width = cols·(tileWidth + padding) + padding.
 */
export function gridLayout(n: number, nrow: number, tileWidth = 1, tileHeight = 1, padding = 2): GridLayout {
  for (const [v, what, min] of [
    [n, 'number of tiles', 1],
    [nrow, 'nrow (tiles per row)', 1],
    [tileWidth, 'tile width', 1],
    [tileHeight, 'tile height', 1],
    [padding, 'padding', 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new CnnvisError(`${what} must be an integer ≥ ${min}, got ${v}`);
  }
  const cols = Math.min(nrow, n);
  const rows = Math.ceil(n / cols);
  const tiles: TileRect[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % cols;
    const r = Math.floor(i / cols);
    tiles.push({
      index: i,
      x: padding + c * (tileWidth + padding),
      y: padding + r * (tileHeight + padding),
      width: tileWidth,
      height: tileHeight,
    });
  }
  return {
    width: cols * (tileWidth + padding) + padding,
    height: rows * (tileHeight + padding) + padding,
    cols,
    rows,
    tiles,
  };
}

/** The index of the tile under pixel (x, y), or −1 over padding or outside the grid. */
export function tileAt(layout: GridLayout, x: number, y: number): number {
  const t = layout.tiles[0];
  const padding = t.x;
  const stepX = t.width + padding;
  const stepY = t.height + padding;
  const c = Math.floor((x - padding) / stepX);
  const r = Math.floor((y - padding) / stepY);
  if (x < padding || y < padding || c >= layout.cols || r >= layout.rows) return -1;
  if (x - padding - c * stepX >= t.width || y - padding - r * stepY >= t.height) return -1;
  const i = r * layout.cols + c;
  return i < layout.tiles.length ? i : -1;
}

/**
 * The integer tile enlargement for a grid of n tiles of tileWidth × tileHeight, `nrow` per row: each tile
 * at least about `minTile` pixels (a 13×13 map → ×4), capped at `maxTileScale`, and then as much more as
 * it takes for the whole grid's longer side to reach `minSize` (one 26×26 map alone → ×9, 234 px).
 * Grids of large maps stay at scale 1.
 */
export function gridScale(
  n: number,
  nrow: number,
  tileWidth: number,
  tileHeight: number,
  opts: { padding?: number; minTile?: number; maxTileScale?: number; minSize?: number } = {},
): number {
  const padding = opts.padding ?? 2;
  const minSize = opts.minSize ?? MIN_DISPLAY_SIZE;
  const side = Math.max(tileWidth, tileHeight, 1);
  let scale = Math.max(1, Math.min(opts.maxTileScale ?? 8, Math.round((opts.minTile ?? 48) / side)));
  const cols = Math.max(1, Math.min(nrow, n));
  const rows = Math.ceil(n / cols);
  const size = (s: number) => Math.max(cols * (tileWidth * s + padding), rows * (tileHeight * s + padding)) + padding;
  if (size(scale) < minSize) {
    const need = (count: number, t: number) => Math.ceil((minSize - (count + 1) * padding) / (count * Math.max(1, t)));
    scale = Math.max(scale, Math.min(need(cols, tileWidth), need(rows, tileHeight)));
  }
  return scale;
}

export type GridNormalize = 'global' | 'per-tile' | 'none';
export const GRID_NORMALIZE: readonly GridNormalize[] = ['global', 'per-tile', 'none'];

export interface GridOptions {
  /** Tiles per row (torchvision's nrow). Default: ceil(sqrt(n)), a near-square grid. */
  nrow?: number;
  /** Pixels between tiles and around the border. Default 2. */
  padding?: number;
  /** Colour of the padding. Default opaque black (torchvision's pad_value 0). */
  padColor?: RGBA;
  /**
   * For maps: 'per-tile' (default) scales each map by its own range, 'global' uses one range for
   * all maps (compares magnitudes across channels), 'none' expects values already in [0, 1].
   */
  normalize?: GridNormalize;
  /** Clip ranges at this percentile (e.g. 99) so a few hot pixels do not wash out the rest. */
  percentile?: number;
  /** Signed maps: symmetric ranges around 0 (pair with a diverging colormap). */
  symmetric?: boolean;
  /** Colormap for maps. Default 'viridis'. */
  colormap?: string;
  /** Integer enlargement of each tile (nearest neighbour, crisp pixels). Default 1. */
  scale?: number;
}

function isMap(t: Map2D | RGBImage | RGBAImage): t is Map2D {
  return t.data instanceof Float32Array;
}

/** The range each map is coloured with under the grid's normalize mode. */
export function gridRanges(maps: readonly Map2D[], options: GridOptions = {}): Range[] {
  const mode = options.normalize ?? 'per-tile';
  if (!GRID_NORMALIZE.includes(mode)) {
    throw new CnnvisError(`unknown normalize mode '${mode}'; valid: ${GRID_NORMALIZE.join(', ')}`, GRID_NORMALIZE);
  }
  const ro: RangeOptions = { percentile: options.percentile, symmetric: options.symmetric };
  if (mode === 'none') return maps.map(() => (options.symmetric ? { min: -1, max: 1 } : { min: 0, max: 1 }));
  if (mode === 'global') {
    const r = resolveRangeAll(
      maps.map((m) => m.data),
      ro,
    );
    return maps.map(() => r);
  }
  return maps.map((m) => resolveRange(m.data, ro));
}

/**
 * Draws tiles (Map2D feature maps, or RGB/RGBA images) into one RGBA grid. Maps are coloured with
 * `colormap` after normalization (see GridOptions); images are used as they are. All tiles must have
 * the same size. The returned image carries its `layout` (in output pixels, after `scale`).
 */
export function makeGrid(
  tiles: readonly Map2D[] | readonly (RGBImage | RGBAImage)[],
  options: GridOptions = {},
): RGBAImage & { layout: GridLayout } {
  if (tiles.length === 0) throw new CnnvisError('makeGrid needs at least one tile');
  const w = tiles[0].width;
  const h = tiles[0].height;
  tiles.forEach((t, i) => {
    if (t.width !== w || t.height !== h) {
      throw new CnnvisError(`all grid tiles must have the same size; tile 0 is ${w}×${h} but tile ${i} is ${t.width}×${t.height}`);
    }
  });
  const maps = (tiles as readonly (Map2D | RGBImage | RGBAImage)[]).filter(isMap);
  if (maps.length !== 0 && maps.length !== tiles.length) {
    throw new CnnvisError('grid tiles must be all maps (Float32Array data) or all images (Uint8Array data), not a mix');
  }
  const scale = options.scale ?? 1;
  let images: (RGBImage | RGBAImage)[];
  if (maps.length) {
    const ranges = gridRanges(maps, options);
    const cmap = options.colormap ?? 'viridis';
    images = maps.map((m, i) => applyColormap(m, cmap, { min: ranges[i].min, max: ranges[i].max, symmetric: options.symmetric }));
  } else {
    images = tiles as (RGBImage | RGBAImage)[];
  }
  const layout = gridLayout(
    tiles.length,
    options.nrow ?? Math.ceil(Math.sqrt(tiles.length)),
    w * scale,
    h * scale,
    options.padding ?? 2,
  );
  const out = blank(layout.width, layout.height, options.padColor ?? [0, 0, 0, 255]);
  images.forEach((im, i) => blit(out, scale === 1 ? im : scaleNearest(im, scale), layout.tiles[i].x, layout.tiles[i].y));
  return { ...out, layout };
}

/**
 * Splits an [H, W, C] activation (channels last, as TF.js returns it) into one Map2D per channel,
 * optionally only the listed channel indices (in that order).
 */
export function mapsFromHWC(data: Float32Array, h: number, w: number, c: number, channels?: readonly number[]): Map2D[] {
  if (data.length !== h * w * c) {
    throw new CnnvisError(`activation has ${data.length} values but [${h}, ${w}, ${c}] needs ${h * w * c}`);
  }
  const picks = channels ?? Array.from({ length: c }, (_, i) => i);
  for (const k of picks) {
    if (!Number.isInteger(k) || k < 0 || k >= c) {
      throw new CnnvisError(`channel ${k} does not exist; valid channels are 0..${c - 1}`);
    }
  }
  return picks.map((k) => {
    const out = new Float32Array(h * w);
    for (let i = 0; i < h * w; i++) out[i] = data[i * c + k];
    return { width: w, height: h, data: out };
  });
}
