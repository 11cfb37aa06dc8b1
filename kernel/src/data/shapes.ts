/**
 * A seeded generator of small synthetic scenes: one shape of a known class at a known position, drawn
 * over textured clutter (colour gradient, noise, stripes or blobs, and shape *fragments* such as line
 * segments, arcs and corners). The demo model is trained on these scenes, so every visualization can run
 * offline and localization can be scored against the true box.
 *
 * Everything is a pure function of the seed: the same seed gives the same pixels on every machine.
 */
import * as tf from '@tensorflow/tfjs';
import type { RGBImage } from '../types';
import { CnnvisError } from '../errors';
import { mulberry32 } from '../random';

/** The object classes, in label order. */
export const SHAPE_CLASSES = ['circle', 'square', 'triangle', 'plus', 'ring', 'diamond'] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

/** Object side as a fraction of the image side. */
export const SHAPE_MIN_FRACTION = 0.25;
export const SHAPE_MAX_FRACTION = 0.45;

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Scene {
  image: RGBImage;
  label: number;
  className: ShapeClass;
  /** The object's bounding box in pixels; the object lies fully inside the image. */
  box: Box;
  /** 1 where the object covers at least half of the pixel, else 0 (width*height). */
  mask: Uint8Array;
}

export interface SceneOptions {
  /** Image side in pixels (square images); default 64. */
  size?: number;
  /** Force the class (index into SHAPE_CLASSES or its name); default: chosen by the seed. */
  cls?: number | ShapeClass;
  /**
   * How much clutter, 0..1 (default 1): scales the stripe and blob strength and the number of fragments.
   * Training starts on calmer scenes (a curriculum); every evaluation uses the full clutter.
   */
  clutter?: number;
}

export { mulberry32 };

/** Scrambles a seed so that neighbouring seeds start far apart in the PRNG sequence. */
function mixSeed(seed: number): number {
  let h = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

type Rng = () => number;
type RGB = [number, number, number];

const uniform = (r: Rng, lo: number, hi: number): number => lo + (hi - lo) * r();
const randInt = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1)); // inclusive
const randColor = (r: Rng): RGB => [r() * 255, r() * 255, r() * 255];
const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/**
 * Membership tests in box coordinates: u, v in [-1, 1], u to the right, v downwards. Each shape touches
 * all four sides of its box.
 */
const INSIDE: Record<ShapeClass, (u: number, v: number) => boolean> = {
  circle: (u, v) => u * u + v * v <= 1,
  square: (u, v) => Math.abs(u) <= 1 && Math.abs(v) <= 1,
  triangle: (u, v) => v >= -1 && v <= 1 && Math.abs(u) <= (v + 1) / 2,
  plus: (u, v) => (Math.abs(u) <= 0.3 && Math.abs(v) <= 1) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 1),
  ring: (u, v) => {
    const r2 = u * u + v * v;
    return r2 <= 1 && r2 >= 0.5 * 0.5;
  },
  diamond: (u, v) => Math.abs(u) + Math.abs(v) <= 1,
};

/** Float RGB canvas with alpha painting. */
class Canvas {
  readonly px: Float32Array;
  constructor(readonly size: number) {
    this.px = new Float32Array(size * size * 3);
  }
  blend(x: number, y: number, c: RGB, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.size || y >= this.size || alpha <= 0) return;
    const i = (y * this.size + x) * 3;
    for (let k = 0; k < 3; k++) this.px[i + k] += (c[k] - this.px[i + k]) * alpha;
  }
  /** Paints a stroke of thickness `t` along the segment (x0,y0)-(x1,y1). */
  segment(x0: number, y0: number, x1: number, y1: number, t: number, c: RGB): void {
    const minX = Math.floor(Math.min(x0, x1) - t);
    const maxX = Math.ceil(Math.max(x0, x1) + t);
    const minY = Math.floor(Math.min(y0, y1) - t);
    const maxY = Math.ceil(Math.max(y0, y1) + t);
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy || 1;
    for (let y = minY; y <= maxY; y++) {
      for (let x = minX; x <= maxX; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const s = Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2));
        const d = Math.hypot(px - (x0 + s * dx), py - (y0 + s * dy));
        this.blend(x, y, c, Math.max(0, Math.min(1, t / 2 + 0.5 - d)));
      }
    }
  }
}

function paintBackground(cv: Canvas, r: Rng, clutter: number): void {
  const n = cv.size;
  // 1. A gradient between two random colours along a random direction.
  const c0 = randColor(r);
  const c1 = randColor(r);
  const ang = uniform(r, 0, 2 * Math.PI);
  const gx = Math.cos(ang) / n;
  const gy = Math.sin(ang) / n;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const t = Math.max(0, Math.min(1, 0.5 + (x - n / 2) * gx + (y - n / 2) * gy));
      const i = (y * n + x) * 3;
      for (let k = 0; k < 3; k++) cv.px[i + k] = c0[k] + (c1[k] - c0[k]) * t;
    }
  }
  // 2. Stripes or soft blobs (or both) of random colours.
  const kind = r();
  if (kind < 0.45) {
    const sc = randColor(r);
    const period = uniform(r, 4, 14);
    const sang = uniform(r, 0, Math.PI);
    const sx = Math.cos(sang);
    const sy = Math.sin(sang);
    const strength = uniform(r, 0.2, 0.6) * clutter;
    const phase = uniform(r, 0, period);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const w = 0.5 + 0.5 * Math.sin(((x * sx + y * sy + phase) / period) * 2 * Math.PI);
        cv.blend(x, y, sc, strength * w);
      }
    }
  }
  if (kind > 0.3) {
    const blobs = randInt(r, 3, 10);
    for (let b = 0; b < blobs; b++) {
      const bc = randColor(r);
      const bx = uniform(r, 0, n);
      const by = uniform(r, 0, n);
      const rad = uniform(r, 0.05, 0.18) * n;
      const strength = uniform(r, 0.3, 0.8) * clutter;
      const x0 = Math.max(0, Math.floor(bx - 3 * rad));
      const x1 = Math.min(n - 1, Math.ceil(bx + 3 * rad));
      const y0 = Math.max(0, Math.floor(by - 3 * rad));
      const y1 = Math.min(n - 1, Math.ceil(by + 3 * rad));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const d2 = ((x - bx) ** 2 + (y - by) ** 2) / (rad * rad);
          cv.blend(x, y, bc, strength * Math.exp(-d2 / 2));
        }
      }
    }
  }
}

/** Shape fragments that are never a whole shape: segments, open arcs, open corners, short dashes. */
function paintDistractors(cv: Canvas, r: Rng, clutter: number): void {
  const n = cv.size;
  const count = Math.round(randInt(r, 3, 8) * clutter);
  for (let d = 0; d < count; d++) {
    const c = randColor(r);
    const t = uniform(r, 1, 2.6);
    const cx = uniform(r, 0, n);
    const cy = uniform(r, 0, n);
    const kind = randInt(r, 0, 2);
    if (kind === 0) {
      // A straight segment.
      const len = uniform(r, 0.08, 0.3) * n;
      const a = uniform(r, 0, Math.PI);
      const hx = (Math.cos(a) * len) / 2;
      const hy = (Math.sin(a) * len) / 2;
      cv.segment(cx - hx, cy - hy, cx + hx, cy + hy, t, c);
    } else if (kind === 1) {
      // An open arc of at most 150 degrees, drawn as a short polyline.
      const rad = uniform(r, 0.06, 0.2) * n;
      const a0 = uniform(r, 0, 2 * Math.PI);
      const span = uniform(r, 0.5, 2.6);
      const steps = 8;
      for (let s = 0; s < steps; s++) {
        const p = a0 + (span * s) / steps;
        const q = a0 + (span * (s + 1)) / steps;
        cv.segment(cx + rad * Math.cos(p), cy + rad * Math.sin(p), cx + rad * Math.cos(q), cy + rad * Math.sin(q), t, c);
      }
    } else {
      // An open corner: two strokes meeting at an angle.
      const len = uniform(r, 0.06, 0.18) * n;
      const a = uniform(r, 0, 2 * Math.PI);
      const b = a + uniform(r, 0.6, 2.2);
      cv.segment(cx, cy, cx + len * Math.cos(a), cy + len * Math.sin(a), t, c);
      cv.segment(cx, cy, cx + len * Math.cos(b), cy + len * Math.sin(b), t, c);
    }
  }
}

function resolveClass(cls: number | ShapeClass | undefined, r: Rng): number {
  if (cls === undefined) return Math.min(SHAPE_CLASSES.length - 1, Math.floor(r() * SHAPE_CLASSES.length));
  if (typeof cls === 'number') {
    if (!Number.isInteger(cls) || cls < 0 || cls >= SHAPE_CLASSES.length) {
      throw new CnnvisError(`class index ${cls} is out of range 0..${SHAPE_CLASSES.length - 1}`, SHAPE_CLASSES);
    }
    return cls;
  }
  const i = SHAPE_CLASSES.indexOf(cls);
  if (i < 0) throw new CnnvisError(`unknown shape class '${String(cls)}'`, SHAPE_CLASSES);
  return i;
}

/** One scene, fully determined by `seed` (and the options). */
export function generateScene(seed: number, options: SceneOptions = {}): Scene {
  const size = options.size ?? 64;
  if (!Number.isInteger(size) || size < 24 || size > 1024) {
    throw new CnnvisError(`scene size must be an integer in 24..1024, got ${size}`);
  }
  if (!Number.isFinite(seed)) throw new CnnvisError(`seed must be a finite number, got ${seed}`);
  const r = mulberry32(mixSeed(seed));
  const label = resolveClass(options.cls, r);
  const className = SHAPE_CLASSES[label];

  const cv = new Canvas(size);
  const clutter = Math.max(0, Math.min(1, options.clutter ?? 1));
  paintBackground(cv, r, clutter);
  paintDistractors(cv, r, clutter);

  // The object: a side between the min and max fractions, fully inside with a 1-pixel margin.
  const side = randInt(r, Math.round(SHAPE_MIN_FRACTION * size), Math.round(SHAPE_MAX_FRACTION * size));
  const bx = randInt(r, 1, size - side - 1);
  const by = randInt(r, 1, size - side - 1);
  const box: Box = { x: bx, y: by, w: side, h: side };

  // A colour far from the background under the box, so the object is always visible.
  const meanBg: RGB = [0, 0, 0];
  for (let y = by; y < by + side; y++) {
    for (let x = bx; x < bx + side; x++) {
      const i = (y * size + x) * 3;
      for (let k = 0; k < 3; k++) meanBg[k] += cv.px[i + k] / (side * side);
    }
  }
  let color = randColor(r);
  for (let tries = 0; tries < 30; tries++) {
    const dist = Math.hypot(color[0] - meanBg[0], color[1] - meanBg[1], color[2] - meanBg[2]);
    if (dist >= 140) break;
    color = randColor(r);
  }

  // Supersampled 4x4 coverage; the object keeps a faint shading so it is not perfectly flat.
  const inside = INSIDE[className];
  const mask = new Uint8Array(size * size);
  const shade = uniform(r, -0.25, 0.25);
  const SS = 4;
  for (let y = by; y < by + side; y++) {
    for (let x = bx; x < bx + side; x++) {
      let hits = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const u = ((x + (sx + 0.5) / SS - bx) / side) * 2 - 1;
          const v = ((y + (sy + 0.5) / SS - by) / side) * 2 - 1;
          if (inside(u, v)) hits++;
        }
      }
      const cover = hits / (SS * SS);
      if (cover >= 0.5) mask[y * size + x] = 1;
      const f = 1 + shade * (((y - by) / side) * 2 - 1);
      cv.blend(x, y, [color[0] * f, color[1] * f, color[2] * f], cover);
    }
  }

  // Sensor noise over everything.
  const noise = uniform(r, 2, 22);
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = clamp255(cv.px[i] + noise * (r() + r() + r() - 1.5));

  return { image: { width: size, height: size, data }, label, className, box, mask };
}

export interface Batch {
  /** [n, size, size, 3] float32 in [0, 1] (the 'unit' preprocessing). */
  xs: tf.Tensor4D;
  /** [n, classes] one-hot float32. */
  ys: tf.Tensor2D;
  labels: number[];
  boxes: Box[];
}

/**
 * `n` scenes with seeds `startSeed, startSeed+1, …`; classes cycle through SHAPE_CLASSES so every batch is
 * balanced. The caller owns (and must dispose) the tensors.
 */
export function generateBatch(startSeed: number, n: number, options: { size?: number; clutter?: number } = {}): Batch {
  const size = options.size ?? 64;
  const pixels = new Float32Array(n * size * size * 3);
  const labels: number[] = [];
  const boxes: Box[] = [];
  const k = SHAPE_CLASSES.length;
  for (let i = 0; i < n; i++) {
    const seed = startSeed + i;
    const s = generateScene(seed, { size, cls: ((seed % k) + k) % k, clutter: options.clutter });
    const off = i * size * size * 3;
    for (let j = 0; j < s.image.data.length; j++) pixels[off + j] = s.image.data[j] / 255;
    labels.push(s.label);
    boxes.push(s.box);
  }
  const xs = tf.tensor4d(pixels, [n, size, size, 3]);
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), k).toFloat()) as tf.Tensor2D;
  return { xs, ys, labels, boxes };
}
