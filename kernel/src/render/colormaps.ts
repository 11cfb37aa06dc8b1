/**
 * Colormaps as 256-entry RGB lookup tables, built once from small anchor tables:
 * - viridis, magma (matplotlib, CC0): 33 anchors (every 8th LUT entry plus the last), linear between;
 * - jet: matplotlib's piecewise-linear segment definition;
 * - gray: linear black → white;
 * - coolwarm: Kenneth Moreland's diverging map, computed in his Msh colour space from its two
 *   endpoint colours (blue 59,76,192 and red 180,4,38), so both halves have matching lightness;
 * - RdBu: ColorBrewer's 11-class red–blue diverging scheme (red for low values, as in matplotlib).
 *
 * Lookup follows matplotlib: t in [0, 1] selects entry min(255, floor(t · 256)).
 */
import { CnnvisError, listChoices } from '../errors';
import type { Map2D, RGBAImage } from '../types';
import { RangeOptions, resolveRange, toUnit } from './normalize';

export type ColormapName = 'viridis' | 'magma' | 'jet' | 'gray' | 'coolwarm' | 'RdBu';

export interface Colormap {
  name: ColormapName;
  /** 'diverging' maps have a neutral centre and suit signed data with `symmetric: true`. */
  kind: 'sequential' | 'diverging';
  /** 256 × RGB bytes. */
  lut: Uint8Array;
}

const LUT_SIZE = 256;

function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A LUT from colours placed at the given LUT indices, linear in between. */
function lutFromAnchors(positions: readonly number[], colors: readonly (readonly number[])[]): Uint8Array {
  const lut = new Uint8Array(LUT_SIZE * 3);
  let seg = 0;
  for (let i = 0; i < LUT_SIZE; i++) {
    while (seg < positions.length - 2 && i > positions[seg + 1]) seg++;
    const p0 = positions[seg];
    const p1 = positions[seg + 1];
    const f = (i - p0) / (p1 - p0);
    for (let k = 0; k < 3; k++) lut[i * 3 + k] = Math.round(colors[seg][k] + (colors[seg + 1][k] - colors[seg][k]) * f);
  }
  return lut;
}

/** Anchors at LUT entries 0, 8, 16, …, 248, 255. */
function lutFromHex33(hexes: string): Uint8Array {
  const colors = hexes.trim().split(/\s+/).map(hexToRgb);
  const positions = colors.map((_, k) => Math.min(255, k * 8));
  return lutFromAnchors(positions, colors);
}

const VIRIDIS_33 = `
440154 470d60 48186a 482374 472d7b 453781 424086 3e4989 3b528b 375b8d 33638d
2f6b8e 2c728e 297a8e 26828e 23898e 21918c 1f988b 1fa088 22a785 28ae80 32b67a
3fbc73 4ec36b 5ec962 70cf57 84d44b 98d83e addc30 c2df23 d8e219 ece51b fde725`;

const MAGMA_33 = `
000004 030312 0a0822 130d34 1d1147 29115a 36106b 440f76 51127c 5d177f 6a1c81
762181 832681 902a81 9c2e7f aa337d b73779 c43c75 d0416f dc4869 e75263 ef5d5e
f56b5c f9795d fc8961 fd9869 fea772 feb67c fec488 fed395 fde2a3 fcf0b2 fcfdbf`;

/** ColorBrewer RdBu, 11 classes, red → white → blue. */
const RDBU_11 = '67001f b2182b d6604d f4a582 fddbc7 f7f7f7 d1e5f0 92c5de 4393c3 2166ac 053061';

/** (x, value) break points per channel, values 0..1, evaluated at x = i / 255 (matplotlib's jet). */
const JET_SEGMENTS: readonly (readonly (readonly [number, number])[])[] = [
  [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]],
  [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]],
  [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]],
];

function lutFromSegments(segments: typeof JET_SEGMENTS): Uint8Array {
  const lut = new Uint8Array(LUT_SIZE * 3);
  for (let i = 0; i < LUT_SIZE; i++) {
    const x = i / (LUT_SIZE - 1);
    segments.forEach((pts, k) => {
      let j = 0;
      while (j < pts.length - 2 && x > pts[j + 1][0]) j++;
      const [x0, y0] = pts[j];
      const [x1, y1] = pts[j + 1];
      const v = y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
      lut[i * 3 + k] = Math.round(v * 255);
    });
  }
  return lut;
}

// ---- Moreland's diverging colour maps (sRGB ↔ CIELAB (D65) ↔ Msh) ----
const WHITE_D65 = [0.95047, 1.0, 1.08883];

function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}
function linearToSrgb(c: number): number {
  return c <= 0.0031308 ? 12.92 * c : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
}
function labF(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116;
}
function labFInv(f: number): number {
  return f * f * f > 216 / 24389 ? f * f * f : (116 * f - 16) / (24389 / 27);
}

/** sRGB bytes → Msh (magnitude, saturation, hue). */
function rgbToMsh(rgb: readonly number[]): [number, number, number] {
  const [r, g, b] = rgb.map((v) => srgbToLinear(v / 255));
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / WHITE_D65[0];
  const y = (0.2126729 * r + 0.7151522 * g + 0.072175 * b) / WHITE_D65[1];
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / WHITE_D65[2];
  const L = 116 * labF(y) - 16;
  const A = 500 * (labF(x) - labF(y));
  const B = 200 * (labF(y) - labF(z));
  const M = Math.sqrt(L * L + A * A + B * B);
  return [M, M > 0 ? Math.acos(L / M) : 0, Math.atan2(B, A)];
}

/** Msh → sRGB floats 0..255 (unclamped). */
function mshToRgb([M, s, h]: readonly number[]): [number, number, number] {
  const L = M * Math.cos(s);
  const A = M * Math.sin(s) * Math.cos(h);
  const B = M * Math.sin(s) * Math.sin(h);
  const fy = (L + 16) / 116;
  const x = labFInv(fy + A / 500) * WHITE_D65[0];
  const y = labFInv(fy) * WHITE_D65[1];
  const z = labFInv(fy - B / 200) * WHITE_D65[2];
  const r = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
  const g = -0.969266 * x + 1.8760108 * y + 0.041556 * z;
  const b = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
  return [r, g, b].map((c) => linearToSrgb(Math.max(0, c)) * 255) as [number, number, number];
}

/** Hue for an unsaturated endpoint so the interpolation does not sweep through other hues. */
function adjustHue(M: number, s: number, h: number, mUnsat: number): number {
  if (M >= mUnsat) return h;
  const spin = (s * Math.sqrt(mUnsat * mUnsat - M * M)) / (M * Math.sin(s));
  return h > -Math.PI / 3 ? h + spin : h - spin;
}

/** Moreland's interpolation between two colours at t in [0, 1], through a neutral midpoint. */
function divergingColor(c1: readonly number[], c2: readonly number[], t: number): [number, number, number] {
  let [m1, s1, h1] = rgbToMsh(c1);
  let [m2, s2, h2] = rgbToMsh(c2);
  if (s1 > 0.05 && s2 > 0.05 && Math.abs(h1 - h2) > Math.PI / 3) {
    const mid = Math.max(m1, m2, 88);
    if (t < 0.5) {
      [m2, s2, h2] = [mid, 0, 0];
      t *= 2;
    } else {
      [m1, s1, h1] = [mid, 0, 0];
      t = 2 * t - 1;
    }
  }
  if (s1 < 0.05 && s2 > 0.05) h1 = adjustHue(m2, s2, h2, m1);
  else if (s2 < 0.05 && s1 > 0.05) h2 = adjustHue(m1, s1, h1, m2);
  return mshToRgb([(1 - t) * m1 + t * m2, (1 - t) * s1 + t * s2, (1 - t) * h1 + t * h2]);
}

function lutDiverging(c1: readonly number[], c2: readonly number[]): Uint8Array {
  const lut = new Uint8Array(LUT_SIZE * 3);
  for (let i = 0; i < LUT_SIZE; i++) {
    const rgb = divergingColor(c1, c2, i / (LUT_SIZE - 1));
    for (let k = 0; k < 3; k++) lut[i * 3 + k] = Math.max(0, Math.min(255, Math.round(rgb[k])));
  }
  return lut;
}

function grayLut(): Uint8Array {
  const lut = new Uint8Array(LUT_SIZE * 3);
  for (let i = 0; i < LUT_SIZE; i++) lut[i * 3] = lut[i * 3 + 1] = lut[i * 3 + 2] = i;
  return lut;
}

function rdbuLut(): Uint8Array {
  const colors = RDBU_11.split(' ').map(hexToRgb);
  return lutFromAnchors(colors.map((_, k) => (k * 255) / 10), colors);
}

/** Every built-in colormap, keyed by name. */
export const COLORMAPS: Readonly<Record<ColormapName, Colormap>> = Object.freeze({
  viridis: { name: 'viridis', kind: 'sequential', lut: lutFromHex33(VIRIDIS_33) },
  magma: { name: 'magma', kind: 'sequential', lut: lutFromHex33(MAGMA_33) },
  jet: { name: 'jet', kind: 'sequential', lut: lutFromSegments(JET_SEGMENTS) },
  gray: { name: 'gray', kind: 'sequential', lut: grayLut() },
  coolwarm: { name: 'coolwarm', kind: 'diverging', lut: lutDiverging([59, 76, 192], [180, 4, 38]) },
  RdBu: { name: 'RdBu', kind: 'diverging', lut: rdbuLut() },
});

/** Names accepted by `getColormap` / `applyColormap`. */
export function colormapNames(): ColormapName[] {
  return Object.keys(COLORMAPS) as ColormapName[];
}

/** The colormap with this name (also accepts 'grey'); unknown names list the valid ones. */
export function getColormap(name: string): Colormap {
  const key = name === 'grey' ? 'gray' : name;
  if (Object.prototype.hasOwnProperty.call(COLORMAPS, key)) return COLORMAPS[key as ColormapName];
  const names = colormapNames();
  throw new CnnvisError(`unknown colormap '${name}'; valid: ${listChoices(names)}`, names);
}

/** LUT index for t in [0, 1] (matplotlib's rule). */
export function lutIndex(t: number): number {
  const i = Math.floor(t * LUT_SIZE);
  return i < 0 ? 0 : i > LUT_SIZE - 1 ? LUT_SIZE - 1 : i;
}

/** The colour at t in [0, 1] as [r, g, b] bytes. */
export function colorAt(name: string, t: number): [number, number, number] {
  const lut = getColormap(name).lut;
  const i = lutIndex(t) * 3;
  return [lut[i], lut[i + 1], lut[i + 2]];
}

export interface ColormapOptions extends RangeOptions {
  /** Colour for NaN values; default transparent [0, 0, 0, 0]. */
  nanColor?: readonly [number, number, number, number];
}

/**
 * Colours a map: values are scaled to [0, 1] by `resolveRange` (data min..max unless min/max/
 * percentile/symmetric say otherwise), then looked up. A constant map takes the lowest colour (the
 * centre colour when symmetric). NaN pixels get `nanColor` (transparent by default); ±Infinity clamp
 * to the ends. Returns an opaque RGBA image.
 */
export function applyColormap(map: Map2D, name = 'viridis', options: ColormapOptions = {}): RGBAImage {
  const lut = getColormap(name).lut;
  const n = map.width * map.height;
  if (map.data.length !== n) {
    throw new CnnvisError(`map data has ${map.data.length} values but ${map.width}×${map.height} needs ${n}`);
  }
  const range = resolveRange(map.data, options);
  const degenerate = options.symmetric ? 0.5 : 0;
  const nan = options.nanColor ?? [0, 0, 0, 0];
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const t = toUnit(map.data[i], range, degenerate);
    const o = i * 4;
    if (Number.isNaN(t)) {
      out[o] = nan[0];
      out[o + 1] = nan[1];
      out[o + 2] = nan[2];
      out[o + 3] = nan[3];
    } else {
      const j = lutIndex(t) * 3;
      out[o] = lut[j];
      out[o + 1] = lut[j + 1];
      out[o + 2] = lut[j + 2];
      out[o + 3] = 255;
    }
  }
  return { width: map.width, height: map.height, data: out };
}
