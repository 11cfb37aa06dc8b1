/**
 * Filters (卷积核): a conv layer's kernels as pictures — first-layer kernels as RGB tiles, deeper ones
 * per input channel in gray, depthwise kernels one per channel — and weight statistics.
 */
import { canonicalLayer } from '../models/flatten';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { CnnvisError, listChoices } from '../errors';
import { escapeHtml } from '../display/progress';
import { autoShow, Result, ResultMeta, since } from '../display/result';
import { assertFiniteLayerWeights } from '../models/finite';
import { asCnnModel, CnnModel } from '../models/model';
import { gridScale, makeGrid } from '../render/grid';
import { Map2D, RGBAImage } from '../types';

export interface FilterOptions {
  /** Conv layer name (default: the first layer with a conv kernel). */
  layer?: string;
  /** How many output filters to show (default 64). */
  filters?: number;
  /** For deeper layers: how many input channels per filter (default 16). */
  inputChannels?: number;
  /** Integer upscaling of each kernel pixel (default: tiles of about 32 px, the mosaic at least 224 px). */
  scale?: number;
  display?: boolean;
}

export interface WeightStats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Fraction of exact zeros. */
  zeros: number;
}

/**
 * Count, mean, std, min, max and fraction of zeros of `v`. NaN or Inf values are an error naming
 * `what` and how many there are (the statistics would be NaN).
 */
export function weightStats(v: Float32Array, what = 'the values'): WeightStats {
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < v.length; i++) {
    if (Number.isNaN(v[i])) nan++;
    else if (!Number.isFinite(v[i])) inf++;
  }
  if (nan || inf) {
    const parts = [nan ? `${nan} NaN` : '', inf ? `${inf} Inf` : ''].filter(Boolean).join(' and ');
    throw new CnnvisError(`${what} hold ${parts} of ${v.length} values; statistics need finite numbers`);
  }
  let sum = 0;
  let sq = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    sum += x;
    sq += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x === 0) zeros++;
  }
  const n = Math.max(1, v.length);
  const mean = sum / n;
  return { count: v.length, mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), min, max, zeros: zeros / n };
}

export type KernelKind = 'conv' | 'depthwise';

export interface Kernel {
  kind: KernelKind;
  /** [kh, kw, in, out] for conv, [kh, kw, in, multiplier] for depthwise. */
  shape: [number, number, number, number];
  values: Float32Array;
  bias: Float32Array | null;
}

/** A layer's 4-D convolution kernel (depthwise kernel for depthwise and separable convs), or null. */
export function kernelOf(layer: tf.layers.Layer): Kernel | null {
  const cls = layer.getClassName();
  const weights = layer.weights;
  const pick = (pattern: RegExp) => weights.find((w) => pattern.test(w.originalName ?? w.name))?.read();
  let kernel: tf.Tensor | undefined;
  let kind: KernelKind = 'conv';
  if (cls === 'DepthwiseConv2D') {
    kernel = pick(/depthwise_kernel/) ?? weights[0]?.read();
    kind = 'depthwise';
  } else if (cls === 'SeparableConv2D') {
    kernel = pick(/depthwise_kernel/);
    kind = 'depthwise';
  } else if (/Conv2D$/.test(cls)) {
    kernel = pick(/kernel/) ?? weights[0]?.read();
  }
  if (!kernel || kernel.rank !== 4) return null;
  const bias = pick(/bias/);
  return {
    kind,
    shape: kernel.shape as [number, number, number, number],
    values: kernel.dataSync() as Float32Array,
    bias: bias ? (bias.dataSync() as Float32Array) : null,
  };
}

/** Names of the layers that have a 4-D conv kernel. */
export function convLayerNames(model: CnnModel): string[] {
  return model.net.layers.filter((l) => /Conv2D$/.test(l.getClassName()) && l.getWeights().some((w) => w.rank === 4)).map((l) => l.name);
}

/** One filter (all input channels) as an RGB tile normalized over that filter. */
export function rgbTile(k: Kernel, out: number): RGBAImage {
  const [kh, kw, cin, cout] = k.shape;
  let lo = Infinity;
  let hi = -Infinity;
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < 3; c++) {
      const v = k.values[(p * cin + c) * cout + out];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const range = hi - lo || 1;
  const data = new Uint8Array(kh * kw * 4);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.round(((k.values[(p * cin + c) * cout + out] - lo) / range) * 255);
    data[p * 4 + 3] = 255;
  }
  return { width: kw, height: kh, data };
}

/** One (input channel, filter) slice as a map. */
export function sliceMap(k: Kernel, inC: number, out: number): Map2D {
  const [kh, kw, cin, cout] = k.shape;
  const data = new Float32Array(kh * kw);
  for (let p = 0; p < kh * kw; p++) data[p] = k.values[(p * cin + inC) * cout + out];
  return { width: kw, height: kh, data };
}

/** L2 norm and mean of each filter (output channel; depthwise: each channel's kernel). */
export function filterStats(k: Kernel): { norm: number; mean: number }[] {
  const [kh, kw, cin, cout] = k.shape;
  return Array.from({ length: k.kind === 'depthwise' ? cin : cout }, (_, o) => {
    let sq = 0;
    let sum = 0;
    const n = k.kind === 'depthwise' ? kh * kw : kh * kw * cin;
    for (let p = 0; p < kh * kw; p++) {
      if (k.kind === 'depthwise') {
        const v = k.values[(p * cin + o) * cout];
        sq += v * v;
        sum += v;
      } else {
        for (let c = 0; c < cin; c++) {
          const v = k.values[(p * cin + c) * cout + o];
          sq += v * v;
          sum += v;
        }
      }
    }
    return { norm: Math.sqrt(sq), mean: sum / n };
  });
}

export class FilterResult extends Result {
  readonly kind = 'filters';
  constructor(
    meta: ResultMeta,
    readonly layer: string,
    readonly className: string,
    /** Kernel shape [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier]). */
    readonly shape: number[],
    /** How the picture is laid out. */
    readonly view: 'rgb' | 'per-input-channel' | 'depthwise',
    readonly stats: WeightStats,
    /** Per output filter statistics (L2 norm, mean). */
    readonly perFilter: { norm: number; mean: number }[],
    /** The raw kernel values, in TF layout. */
    readonly kernel: Float32Array,
    private readonly picture: RGBAImage,
  ) {
    super(meta);
  }
  text(): string {
    const s = this.stats;
    return `Filters of ${this.meta.model} layer ${this.layer} (${this.className}, kernel ${this.shape.join('×')}, ${this.view} view): ` +
      `mean ${s.mean.toExponential(3)}, std ${s.std.toExponential(3)}, min ${s.min.toFixed(4)}, max ${s.max.toFixed(4)}`;
  }
  override image(): RGBAImage {
    return this.picture;
  }
  override html(): string {
    const s = this.stats;
    return `<table class="cnnvis-weights"><caption>${escapeHtml(this.layer)} weights</caption><tbody>` +
      `<tr><th>kernel</th><td>${this.shape.join('×')}</td></tr><tr><th>count</th><td>${s.count}</td></tr>` +
      `<tr><th>mean</th><td>${s.mean.toExponential(3)}</td></tr><tr><th>std</th><td>${s.std.toExponential(3)}</td></tr>` +
      `<tr><th>min / max</th><td>${s.min.toFixed(4)} / ${s.max.toFixed(4)}</td></tr></tbody></table>`;
  }
}

export async function filters(m: CnnModel | tf.LayersModel, opts: FilterOptions = {}): Promise<FilterResult> {
  const backend = await initBackend();
  const model = asCnnModel(m);
  const convs = convLayerNames(model);
  if (!convs.length) throw new CnnvisError(`model '${model.name}' has no convolution layer with a 4-D kernel`);
  const layerName = opts.layer !== undefined ? canonicalLayer(model.net, opts.layer) : convs[0];
  const layer = model.layer(layerName);
  const t0 = performance.now();
  const k = kernelOf(layer);
  if (!k) {
    throw new CnnvisError(`layer '${layerName}' (${layer.getClassName()}) has no convolution kernel; conv layers: ${listChoices(convs, 200)}`, convs);
  }
  assertFiniteLayerWeights(layer, model.name);
  const [kh, kw, cin, cout] = k.shape;
  const nOut = Math.min(cout, opts.filters ?? 64);
  const nIn = Math.min(cin, opts.inputChannels ?? 16);
  // Tiles of about 32 px, and the whole mosaic at least 224 px on its longer side (small first layers).
  const scaleFor = (n: number, nrow: number) => opts.scale ?? gridScale(n, nrow, kw, kh, { padding: 1, minTile: 32, maxTileScale: 32 });
  let picture: RGBAImage;
  let view: FilterResult['view'];
  if (k.kind === 'depthwise') {
    view = 'depthwise';
    const tiles = Array.from({ length: Math.min(cin, opts.filters ?? 64) }, (_, c) => sliceMap(k, c, 0));
    const nrow = Math.ceil(Math.sqrt(tiles.length));
    picture = makeGrid(tiles, { nrow, padding: 1, normalize: 'per-tile', colormap: 'gray', scale: scaleFor(tiles.length, nrow) });
  } else if (cin === 3) {
    view = 'rgb';
    const tiles = Array.from({ length: nOut }, (_, o) => rgbTile(k, o));
    const nrow = Math.ceil(Math.sqrt(nOut));
    picture = makeGrid(tiles, { nrow, padding: 1, normalize: 'none', scale: scaleFor(nOut, nrow) });
  } else {
    view = 'per-input-channel';
    const tiles: Map2D[] = [];
    for (let o = 0; o < nOut; o++) for (let c = 0; c < nIn; c++) tiles.push(sliceMap(k, c, o));
    // One row per output filter; with a single input channel (grayscale first layers) a near-square grid instead of one column.
    const nrow = nIn === 1 ? Math.ceil(Math.sqrt(nOut)) : nIn;
    picture = makeGrid(tiles, { nrow, padding: 1, normalize: 'per-tile', colormap: 'gray', scale: scaleFor(tiles.length, nrow) });
  }
  const perFilter = filterStats(k);
  const result = new FilterResult({ model: model.name, backend, timeMs: since(t0) }, layerName, layer.getClassName(), [...k.shape], view, weightStats(k.values, `the weights of layer '${layerName}'`), perFilter, k.values, picture);
  return autoShow(result, opts.display);
}
