/**
 * Putting images together: side by side, stacked, padded, enlarged. Inputs may be RGB or RGBA;
 * outputs are RGBA. Gaps and padding are transparent unless a colour is given.
 */
import { CnnvisError } from '../errors';
import { toRGBA } from '../images/encode';
import { resizeImage } from '../images/resize';
import type { RGBA } from '../images/pixels';
import type { RGBAImage, RGBImage } from '../types';

export const TRANSPARENT: RGBA = [0, 0, 0, 0];

export type Align = 'start' | 'center' | 'end';

export interface ConcatOptions {
  /** Colour of gaps and of the space next to smaller images. Default transparent. */
  background?: RGBA;
  /** Where smaller images sit across the concatenation axis. Default 'start' (top / left). */
  align?: Align;
}

/** A width × height RGBA image filled with one colour. */
export function blank(width: number, height: number, color: RGBA = TRANSPARENT): RGBAImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = color[0];
    data[i + 1] = color[1];
    data[i + 2] = color[2];
    data[i + 3] = color[3];
  }
  return { width, height, data };
}

/** Copies `src` into `dst` with its top-left corner at (x, y); parts outside dst are skipped. */
export function blit(dst: RGBAImage, src: RGBImage | RGBAImage, x: number, y: number): void {
  const s = toRGBA(src);
  for (let r = 0; r < s.height; r++) {
    const dy = y + r;
    if (dy < 0 || dy >= dst.height) continue;
    const x0 = Math.max(0, x);
    const x1 = Math.min(dst.width, x + s.width);
    if (x1 <= x0) continue;
    const from = (r * s.width + (x0 - x)) * 4;
    dst.data.set(s.data.subarray(from, from + (x1 - x0) * 4), (dy * dst.width + x0) * 4);
  }
}

function offset(space: number, size: number, align: Align): number {
  return align === 'start' ? 0 : align === 'end' ? space - size : Math.floor((space - size) / 2);
}

function checkGap(gap: number): void {
  if (!Number.isInteger(gap) || gap < 0) throw new CnnvisError(`gap must be a non-negative integer, got ${gap}`);
}

/** Images side by side, left to right, `gap` pixels apart. */
export function hconcat(images: readonly (RGBImage | RGBAImage)[], gap = 0, options: ConcatOptions = {}): RGBAImage {
  checkGap(gap);
  if (images.length === 0) throw new CnnvisError('hconcat needs at least one image');
  const width = images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const out = blank(width, height, options.background);
  let x = 0;
  for (const im of images) {
    blit(out, im, x, offset(height, im.height, options.align ?? 'start'));
    x += im.width + gap;
  }
  return out;
}

/** Images stacked top to bottom, `gap` pixels apart. */
export function vconcat(images: readonly (RGBImage | RGBAImage)[], gap = 0, options: ConcatOptions = {}): RGBAImage {
  checkGap(gap);
  if (images.length === 0) throw new CnnvisError('vconcat needs at least one image');
  const width = Math.max(...images.map((im) => im.width));
  const height = images.reduce((s, im) => s + im.height, 0) + gap * (images.length - 1);
  const out = blank(width, height, options.background);
  let y = 0;
  for (const im of images) {
    blit(out, im, offset(width, im.width, options.align ?? 'start'), y);
    y += im.height + gap;
  }
  return out;
}

export interface Padding {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** Adds a border: one number for all sides or per side. Default colour transparent. */
export function pad(img: RGBImage | RGBAImage, amount: number | Partial<Padding>, color: RGBA = TRANSPARENT): RGBAImage {
  const p: Padding =
    typeof amount === 'number'
      ? { top: amount, right: amount, bottom: amount, left: amount }
      : { top: amount.top ?? 0, right: amount.right ?? 0, bottom: amount.bottom ?? 0, left: amount.left ?? 0 };
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isInteger(v) || v < 0) throw new CnnvisError(`padding ${k} must be a non-negative integer, got ${v}`);
  }
  const out = blank(img.width + p.left + p.right, img.height + p.top + p.bottom, color);
  blit(out, img, p.left, p.top);
  return out;
}

/** Enlarges by an integer factor, each pixel becoming a factor × factor block (crisp small maps). */
export function scaleNearest(img: RGBImage | RGBAImage, factor: number): RGBAImage {
  if (!Number.isInteger(factor) || factor < 1) throw new CnnvisError(`scale must be an integer ≥ 1, got ${factor}`);
  const src = toRGBA(img);
  if (factor === 1) return src;
  const w = src.width * factor;
  const out = new Uint8Array(w * src.height * factor * 4);
  for (let y = 0; y < src.height; y++) {
    const row = new Uint8Array(w * 4);
    for (let x = 0; x < src.width; x++) {
      const px = src.data.subarray((y * src.width + x) * 4, (y * src.width + x) * 4 + 4);
      for (let k = 0; k < factor; k++) row.set(px, (x * factor + k) * 4);
    }
    for (let k = 0; k < factor; k++) out.set(row, (y * factor + k) * w * 4);
  }
  return { width: w, height: src.height * factor, data: out };
}

/**
 * Pictures of small models are enlarged until their longer side reaches this many pixels (224, the
 * classic ImageNet input size), so a 28×28 MNIST map is drawn 224×224 and a 24×24 one 240×240.
 */
export const MIN_DISPLAY_SIZE = 224;

/**
 * The integer factor that brings a width × height picture to at least `minSize` pixels on its longer
 * side: 1 for pictures already that large (a 224×224 model's pictures keep their size).
 */
export function displayScale(width: number, height: number, minSize = MIN_DISPLAY_SIZE): number {
  const side = Math.max(width, height);
  return side >= minSize || side <= 0 ? 1 : Math.ceil(minSize / side);
}

/** A small picture enlarged by displayScale with nearest neighbour (each pixel a crisp block); large ones as they are. */
export function enlarge(img: RGBImage | RGBAImage, minSize = MIN_DISPLAY_SIZE): RGBAImage {
  return scaleNearest(img, displayScale(img.width, img.height, minSize));
}

/**
 * A thumbnail about `size` pixels wide: images no wider than that are enlarged by a whole factor with
 * nearest neighbour (each model pixel a crisp block: 28 → 112 for size 112), wider ones shrunk smoothly
 * (bilinear) to `size` wide, keeping the aspect ratio.
 */
export function thumbnail(img: RGBImage | RGBAImage, size: number): RGBAImage {
  if (img.width <= size) return scaleNearest(img, Math.max(1, Math.round(size / Math.max(img.width, img.height))));
  const h = Math.max(1, Math.round((size * img.height) / img.width));
  return toRGBA(resizeImage(img, size, h, { interpolation: 'bilinear' }));
}
