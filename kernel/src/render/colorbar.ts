/**
 * Colour bars: a gradient strip of a colormap plus tick positions and labels as data (colorbar), and a
 * legend picture with the labels drawn as pixels, placed so they never overlap (colorbarLegend).
 */
import { CnnvisError } from '../errors';
import type { RGBAImage } from '../types';
import type { RGBA } from '../images/pixels';
import { getColormap, lutIndex } from './colormaps';
import { blank, blit } from './compose';
import { drawText, LINE_HEIGHT, measureText } from './text';

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

/**
 * A short label for a tick value: '0' for zero, fixed decimals from the tick step for ordinary values,
 * and a compact exponent ('5e-4', '1.5e6') for very small or very large ones.
 */
export function compactNumber(value: number, step = Math.abs(value) || 1): string {
  const a = Math.abs(value);
  if (a === 0 || a < Math.abs(step) * 1e-6) return '0';
  if (a < 1e-3 || a >= 1e5) {
    const e = Math.floor(Math.log10(a) + 1e-12);
    const digits = Math.min(3, Math.max(0, e - Math.floor(Math.log10(Math.abs(step)) + 1e-12)));
    const [mantissa, exp] = value.toExponential(digits).split('e');
    return `${mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa}e${Number(exp)}`;
  }
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(Math.abs(step)) + 1e-9)));
  const s = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? '0' : s;
}

/** A value to two significant digits, as short as it goes ('1.7', '-0.085', '5e-4', '1.2e5'). */
export function shortNumber(value: number): string {
  const a = Math.abs(value);
  if (a === 0) return '0';
  if (a < 1e-3 || a >= 1e5) return compactNumber(value, Math.pow(10, Math.floor(Math.log10(a) + 1e-12) - 1));
  return String(Number(value.toPrecision(2)));
}

export interface TickLabel {
  value: number;
  label: string;
  /** The tick's pixel along the bar (0 .. length − 1). */
  center: number;
  /** Left edge and width of the drawn label, inside 0 .. length. */
  x: number;
  width: number;
}

function placeLabels(values: number[], labels: string[], min: number, max: number, length: number, scale: number): TickLabel[] {
  return values.map((value, i) => {
    const t = max > min ? (value - min) / (max - min) : 0.5;
    const center = Math.min(length - 1, Math.max(0, Math.round(t * length - 0.5)));
    const width = measureText(labels[i], scale);
    const x = Math.min(length - width, Math.max(0, Math.round(center - width / 2)));
    return { value, label: labels[i], center, x, width };
  });
}

function separated(labels: TickLabel[], length: number, gap: number): boolean {
  if (labels.some((l) => l.x < 0 || l.x + l.width > length)) return false;
  const sorted = [...labels].sort((a, b) => a.x - b.x);
  return sorted.every((l, i) => i === 0 || l.x >= sorted[i - 1].x + sorted[i - 1].width + gap);
}

/**
 * Tick labels for a bar `length` pixels long that do not overlap (at least `gap` pixels apart): round
 * 1-2-5 ticks, as many as fit up to `ticks`; when not even two round ticks fit, the range's two ends;
 * then one end; an empty list when no label fits at all.
 */
export function tickLabels(min: number, max: number, length: number, opts: { ticks?: number; scale?: number; gap?: number } = {}): TickLabel[] {
  const scale = opts.scale ?? 1;
  const gap = (opts.gap ?? 4) * scale;
  for (let count = Math.max(1, opts.ticks ?? 5); count >= 1; count--) {
    const { values } = niceTicks(min, max, count);
    const step = values.length > 1 ? values[1] - values[0] : Math.abs(max - min) || Math.abs(min) || 1;
    const labels = placeLabels(values, values.map((v) => compactNumber(v, step)), min, max, length, scale);
    if (labels.length >= (max > min ? 2 : 1) && separated(labels, length, gap)) return labels;
  }
  const ends = max > min ? [min, max] : [min];
  for (const values of [ends, [max]]) {
    const labels = placeLabels(values, values.map(shortNumber), min, max, length, scale);
    if (new Set(labels.map((l) => l.label)).size === labels.length && separated(labels, length, gap)) return labels;
  }
  return [];
}

export interface ColorbarLegendOptions {
  width: number;
  /** Strip height in pixels. Default 10. */
  barHeight?: number;
  min?: number;
  max?: number;
  /** At most this many ticks (fewer when their labels would touch). Default 5. */
  ticks?: number;
  /** Text scale. Default 1. */
  scale?: number;
  background?: RGBA;
  /** Label the bar's ends (and 0 between them when it is inside) with their exact values (3 significant digits) instead of round ticks: a clipped map's clip value. */
  ends?: boolean;
}

/** Labels at min, (0,) max with their values to 3 significant digits; falls back to round ticks when they do not fit. */
function endLabels(min: number, max: number, length: number, scale: number): TickLabel[] | null {
  const values = min < 0 && max > 0 ? [min, 0, max] : [min, max];
  const labels = placeLabels(values, values.map((v) => (v === 0 ? '0' : String(Number(v.toPrecision(3))))), min, max, length, scale);
  return separated(labels, length, 4 * scale) ? labels : null;
}

/**
 * A horizontal colour bar with tick marks and value labels drawn under it, as one picture. Labels never
 * overlap and stay inside the picture (see tickLabels); `labels` holds where each was drawn (x along the
 * bar, from the row `labelTop` down).
 */
export function colorbarLegend(name: string, options: ColorbarLegendOptions): RGBAImage & { labels: TickLabel[]; labelTop: number } {
  const scale = options.scale ?? 1;
  const barHeight = options.barHeight ?? 10;
  const min = options.min ?? 0;
  const max = options.max ?? 1;
  const bar = colorbar(name, { width: options.width, height: barHeight, min, max });
  const labels = (options.ends && max > min ? endLabels(min, max, options.width, scale) : null) ?? tickLabels(min, max, options.width, { ticks: options.ticks, scale });
  const mark = 2;
  const labelTop = barHeight + mark + 1;
  const out = blank(options.width, labelTop + LINE_HEIGHT * scale + 1, options.background ?? [255, 255, 255, 255]);
  blit(out, bar.image, 0, 0);
  for (const l of labels) {
    for (let y = barHeight; y < barHeight + mark; y++) out.data.set([0, 0, 0, 255], (y * out.width + l.center) * 4);
    drawText(out, l.label, l.x, labelTop, [0, 0, 0, 255], scale);
  }
  return { ...out, labels, labelTop };
}
