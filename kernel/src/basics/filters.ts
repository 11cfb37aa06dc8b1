/**
 * Filters (卷积核): a conv layer's kernels as pictures — first-layer kernels as RGB tiles, deeper ones
 * per input channel in gray, depthwise kernels one per channel, 1×1 kernels as one tile per filter with
 * a cell per input channel on one diverging scale for the layer; dead filters crossed out — and weight statistics.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { CnnvisError, listChoices } from '../errors';
import { escapeHtml } from '../display/progress';
import { autoShow, Result, ResultMeta, since } from '../display/result';
import { assertFiniteLayerWeights } from '../models/finite';
import { NamedWeight } from '../models/graph';
import { asCnnModel, CnnModel } from '../models/model';
import { applyColormap } from '../render/colormaps';
import { gridScale, makeGrid } from '../render/grid';
import { DEAD_FILTER_RATIO, FILTER_SCALINGS, FilterScaling, FilterView, tileColormap } from '../schema/explorers';
import { Map2D, RGBAImage } from '../types';

export { DEAD_FILTER_RATIO, FILTER_SCALINGS };
export type { FilterScaling, FilterView };

export interface FilterOptions {
  /** Conv layer name (default: the first layer with a conv kernel). */
  layer?: string;
  /** How many output filters to show (default 64). */
  filters?: number;
  /** For deeper layers: how many input channels per filter (default 16). */
  inputChannels?: number;
  /** Integer upscaling of each kernel pixel (default: tiles of about 32 px, the mosaic at least 224 px). */
  scale?: number;
  /**
   * 'layer': one colour scale for the whole layer (symmetric around 0 for signed weights, with a
   * diverging colormap); 'tile': each tile scaled to its own range (a constant tile falls back to the
   * layer scale); 'auto' (default): 'layer' for 1×1 kernels, whose tiles would be single values, else 'tile'.
   */
  scaling?: FilterScaling;
  /** Colormap of single-channel tiles (default 'gray'; on a signed layer scale 'gray' becomes 'coolwarm'). */
  colormap?: string;
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

/**
 * The 4-D convolution kernel (depthwise kernel for depthwise and separable convs) among a layer's named
 * weights (ModelGraph.weights), or null; `kind` is the layer's kind ('Conv2D', …).
 */
export function kernelFromWeights(kind: string, weights: readonly NamedWeight[]): Kernel | null {
  const pick = (pattern: RegExp) => weights.find((w) => pattern.test(w.name));
  let kernel: NamedWeight | undefined;
  let kk: KernelKind = 'conv';
  if (kind === 'DepthwiseConv2D') {
    kernel = pick(/depthwise_kernel/) ?? weights[0];
    kk = 'depthwise';
  } else if (kind === 'SeparableConv2D') {
    kernel = pick(/depthwise_kernel/);
    kk = 'depthwise';
  } else if (/Conv2D$/.test(kind)) {
    kernel = pick(/kernel/) ?? weights[0];
  }
  if (!kernel || kernel.shape.length !== 4) return null;
  const bias = pick(/bias/);
  return { kind: kk, shape: kernel.shape as [number, number, number, number], values: kernel.data, bias: bias ? bias.data : null };
}

/** A TF.js layer's 4-D convolution kernel (see kernelFromWeights), or null. */
export function kernelOf(layer: tf.layers.Layer): Kernel | null {
  const named = layer.weights.map((w) => ({ name: w.originalName ?? w.name, shape: [...(w.shape as number[])], data: w.read().dataSync() as Float32Array, trainable: w.trainable }));
  return kernelFromWeights(layer.getClassName(), named);
}

/** Names of the layers that have a 4-D conv kernel. */
export function convLayerNames(model: CnnModel): string[] {
  return model.nodes.filter((n) => /Conv2D$/.test(n.kind) && n.weightShapes.some((s) => s.length === 4)).map((n) => n.name);
}

/**
 * One filter (all input channels) as an RGB tile normalized over that filter, or over `range` (the
 * layer scale) when given or when the filter is constant.
 */
export function rgbTile(k: Kernel, out: number, range?: { min: number; max: number }): RGBAImage {
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
  if (range || !(hi > lo)) {
    const r = range ?? layerRange(k);
    lo = r.min;
    hi = r.max;
  }
  const span = hi - lo || 1;
  const data = new Uint8Array(kh * kw * 4);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.round(((k.values[(p * cin + c) * cout + out] - lo) / span) * 255);
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

/** How a kernel is drawn: depthwise, 1×1 ('pointwise': a cell per input channel), RGB first layers, or a row of tiles per input channel. */
export function filterView(k: Kernel): FilterView {
  if (k.kind === 'depthwise') return 'depthwise';
  if (k.shape[0] * k.shape[1] === 1) return 'pointwise';
  return k.shape[2] === 3 ? 'rgb' : 'per-input-channel';
}

/** Cells of a pointwise tile for n input channels: a near-square grid [width, height], filled row by row. */
export function cellGrid(n: number): [number, number] {
  const w = Math.max(1, Math.ceil(Math.sqrt(n)));
  return [w, Math.max(1, Math.ceil(n / w))];
}

/** A 1×1 filter's weights as a grid of cells, one per input channel (the first `nIn`); unused cells NaN. */
export function pointwiseMap(k: Kernel, out: number, nIn: number): Map2D {
  const [, , cin, cout] = k.shape;
  const n = Math.min(nIn, cin);
  const [w, h] = cellGrid(n);
  const data = new Float32Array(w * h).fill(NaN);
  for (let c = 0; c < n; c++) data[c] = k.values[c * cout + out];
  return { width: w, height: h, data };
}

/** The layer's colour scale: [−m, m] with m the largest |weight| when weights are signed (diverging), else [min, max]. */
export function layerRange(k: Kernel): { min: number; max: number; signed: boolean } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < k.values.length; i++) {
    const v = k.values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi >= lo)) return { min: 0, max: 1, signed: false };
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    return { min: -m, max: m, signed: true };
  }
  return hi > lo ? { min: lo, max: hi, signed: false } : { min: lo - 1, max: hi + 1, signed: false };
}

/** The scaling used for a kernel: 'auto' is 'layer' for 1×1 kernels (their tiles would be single values), else 'tile'. */
export function appliedScaling(k: Kernel, scaling: FilterScaling = 'auto'): 'layer' | 'tile' {
  if (!FILTER_SCALINGS.includes(scaling)) throw new CnnvisError(`unknown scaling '${scaling}'; valid: ${FILTER_SCALINGS.join(', ')}`, [...FILTER_SCALINGS]);
  if (scaling !== 'auto') return scaling;
  return k.kind === 'conv' && k.shape[0] * k.shape[1] === 1 ? 'layer' : 'tile';
}

/** The range a single-channel tile is coloured with: the layer's, or its own (the layer's when it is constant). */
export function tileRange(map: Map2D, layer: { min: number; max: number }, scaling: 'layer' | 'tile'): { min: number; max: number } {
  if (scaling === 'layer') return layer;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi > lo ? { min: lo, max: hi } : layer;
}

/** Dead filters: L2 norm below DEAD_FILTER_RATIO × the layer's largest norm (all of them when every norm is 0). */
export function deadFilters(norms: readonly number[]): boolean[] {
  const max = norms.reduce((a, b) => Math.max(a, b), 0);
  return norms.map((n) => max === 0 || n < DEAD_FILTER_RATIO * max);
}

/** Draws a red cross over a dead filter's tile. */
export function markDead(img: RGBAImage, rect: { x: number; y: number; width: number; height: number }): void {
  const n = Math.max(rect.width, rect.height);
  const put = (x: number, y: number) => {
    if (x < rect.x || y < rect.y || x >= rect.x + rect.width || y >= rect.y + rect.height) return;
    const o = (y * img.width + x) * 4;
    img.data[o] = 255;
    img.data[o + 1] = 0;
    img.data[o + 2] = 0;
    img.data[o + 3] = 255;
  };
  for (let i = 0; i < n; i++) {
    const x = rect.x + Math.floor((i * rect.width) / n);
    const y = rect.y + Math.floor((i * rect.height) / n);
    put(x, y);
    put(rect.x + rect.width - 1 - (x - rect.x), y);
  }
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
    /** How the picture is laid out ('pointwise': 1×1 kernels, one tile per filter with a cell per input channel). */
    readonly view: FilterView,
    readonly stats: WeightStats,
    /** Per output filter: L2 norm, mean, and whether it is dead (norm < DEAD_FILTER_RATIO × the layer's largest). */
    readonly perFilter: { norm: number; mean: number; dead: boolean }[],
    /** The raw kernel values, in TF layout. */
    readonly kernel: Float32Array,
    private readonly picture: RGBAImage,
    /** How the tiles were scaled, and the layer scale [min, max] (symmetric for signed weights). */
    readonly scaling: 'layer' | 'tile',
    readonly range: [number, number],
    /** Colormap of single-channel tiles. */
    readonly colormap: string,
  ) {
    super(meta);
  }
  /** Indices of the dead filters. */
  get dead(): number[] {
    return this.perFilter.flatMap((f, i) => (f.dead ? [i] : []));
  }
  text(): string {
    const s = this.stats;
    const dead = this.dead;
    return `Filters of ${this.meta.model} layer ${this.layer} (${this.className}, kernel ${this.shape.join('×')}, ${this.view} view, ${this.scaling === 'layer' ? `one ${this.colormap} scale for the layer, ${this.range[0].toPrecision(3)} to ${this.range[1].toPrecision(3)}` : 'each tile scaled to its own range'}): ` +
      `mean ${s.mean.toExponential(3)}, std ${s.std.toExponential(3)}, min ${s.min.toFixed(4)}, max ${s.max.toFixed(4)}` +
      (dead.length ? `; ${dead.length} dead filter${dead.length > 1 ? 's' : ''} (crossed out): ${dead.slice(0, 20).join(', ')}${dead.length > 20 ? ', …' : ''}` : '');
  }
  override image(): RGBAImage {
    return this.picture;
  }
  override html(): string {
    const s = this.stats;
    const norms = this.perFilter
      .map((f, i) => `<tr><td>${i}</td><td>${f.norm.toExponential(3)}</td><td>${f.dead ? 'dead' : ''}</td></tr>`)
      .join('');
    return `<table class="cnnvis-weights"><caption>${escapeHtml(this.layer)} weights</caption><tbody>` +
      `<tr><th>kernel</th><td>${this.shape.join('×')}</td></tr><tr><th>count</th><td>${s.count}</td></tr>` +
      `<tr><th>mean</th><td>${s.mean.toExponential(3)}</td></tr><tr><th>std</th><td>${s.std.toExponential(3)}</td></tr>` +
      `<tr><th>min / max</th><td>${s.min.toFixed(4)} / ${s.max.toFixed(4)}</td></tr>` +
      `<tr><th>scale</th><td>${this.scaling === 'layer' ? `per layer, ${escapeHtml(this.colormap)} ${this.range[0].toPrecision(3)} … ${this.range[1].toPrecision(3)}` : 'per tile'}</td></tr></tbody></table>` +
      `<table class="cnnvis-filter-norms"><caption>per filter</caption><thead><tr><th>filter</th><th>L2 norm</th><th></th></tr></thead><tbody>${norms}</tbody></table>`;
  }
}

export async function filters(m: CnnModel | tf.LayersModel, opts: FilterOptions = {}): Promise<FilterResult> {
  const backend = await initBackend();
  const model = asCnnModel(m);
  const convs = convLayerNames(model);
  if (!convs.length) throw new CnnvisError(`model '${model.name}' has no convolution layer with a 4-D kernel`);
  const layerName = opts.layer !== undefined ? model.canonicalLayer(opts.layer) : convs[0];
  const node = model.node(layerName);
  const t0 = performance.now();
  const k = kernelFromWeights(node.kind, model.weights(layerName));
  if (!k) {
    throw new CnnvisError(`layer '${layerName}' (${node.kind}) has no convolution kernel; conv layers: ${listChoices(convs, 200)}`, convs);
  }
  assertFiniteLayerWeights(model.layer(layerName), model.name);
  const scaling = appliedScaling(k, opts.scaling ?? 'auto');
  const lr = layerRange(k);
  const colormap = tileColormap(opts.colormap ?? 'gray', scaling === 'layer' && lr.signed);
  applyColormap({ width: 1, height: 1, data: new Float32Array(1) }, colormap); // unknown names fail here
  const perFilter = filterStats(k);
  const dead = deadFilters(perFilter.map((f) => f.norm));
  const [, , cin] = k.shape;
  const nOut = Math.min(perFilter.length, opts.filters ?? 64);
  const nIn = Math.min(cin, opts.inputChannels ?? 16);
  const view = filterView(k);
  const colour = (map: Map2D): RGBAImage => {
    const r = tileRange(map, lr, scaling);
    return applyColormap(map, colormap, { min: r.min, max: r.max, nanColor: [0, 0, 0, 255] });
  };
  // Tiles and the filter each belongs to.
  let tiles: RGBAImage[];
  let owner: number[];
  let nrow: number;
  if (view === 'depthwise') {
    tiles = Array.from({ length: nOut }, (_, c) => colour(sliceMap(k, c, 0)));
    owner = tiles.map((_, i) => i);
    nrow = Math.ceil(Math.sqrt(tiles.length));
  } else if (view === 'pointwise') {
    // A cell per input channel (all of them), one tile per filter.
    tiles = Array.from({ length: nOut }, (_, o) => colour(pointwiseMap(k, o, cin)));
    owner = tiles.map((_, i) => i);
    nrow = Math.ceil(Math.sqrt(tiles.length));
  } else if (view === 'rgb') {
    tiles = Array.from({ length: nOut }, (_, o) => rgbTile(k, o, scaling === 'layer' ? lr : undefined));
    owner = tiles.map((_, i) => i);
    nrow = Math.ceil(Math.sqrt(nOut));
  } else {
    tiles = [];
    owner = [];
    for (let o = 0; o < nOut; o++) {
      for (let c = 0; c < nIn; c++) {
        tiles.push(colour(sliceMap(k, c, o)));
        owner.push(o);
      }
    }
    // One row per output filter; with a single input channel (grayscale first layers) a near-square grid instead of one column.
    nrow = nIn === 1 ? Math.ceil(Math.sqrt(nOut)) : nIn;
  }
  const tw = tiles[0].width;
  const th = tiles[0].height;
  // Tiles of about 32 px, and the whole mosaic at least 224 px on its longer side (small first layers).
  const scale = opts.scale ?? gridScale(tiles.length, nrow, tw, th, { padding: 1, minTile: 32, maxTileScale: 32 });
  const picture = makeGrid(tiles, { nrow, padding: 1, normalize: 'none', scale });
  owner.forEach((o, i) => dead[o] && markDead(picture, picture.layout.tiles[i]));
  const { layout: _layout, ...image } = picture;
  void _layout;
  const result = new FilterResult(
    { model: model.name, backend, timeMs: since(t0) },
    layerName,
    node.kind,
    [...k.shape],
    view,
    weightStats(k.values, `the weights of layer '${layerName}'`),
    perFilter.map((f, i) => ({ ...f, dead: dead[i] })),
    k.values,
    image,
    scaling,
    [lr.min, lr.max],
    colormap,
  );
  return autoShow(result, opts.display);
}
