/**
 * Feature maps (特征图): every channel of a layer as a grid, several layers side by side, channels
 * ranked by mean activation, and the strongest channel overlaid on the image.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { CnnvisError } from '../errors';
import { autoShow, Result, ResultMeta, since } from '../display/result';
import { toRGBA } from '../images/encode';
import { resizeImage } from '../images/resize';
import { asCnnModel, CnnModel } from '../models/model';
import { gridScale, makeGrid, mapsFromHWC, GridNormalize } from '../render/grid';
import { overlayHeatmap } from '../render/overlay';
import { hconcat, pad, scaleNearest, vconcat } from '../render/compose';
import { textBlock } from '../render/text';
import { Map2D, RGBAImage, RGBImage } from '../types';
import { ImageSource, InputOptions, modelFor, prepareInput } from './input';

export interface FeatureMapOptions extends InputOptions {
  /** Layer name (default: the first convolutional layer). */
  layer?: string;
  /** Channels to show: a count (the first N, or the N strongest with sort 'mean') or a list; default all (max 256). */
  channels?: number | number[];
  /** Order of the tiles: channel index (default) or mean activation, strongest first. */
  sort?: 'index' | 'mean';
  /** Tiles per row (default: about square). */
  nrow?: number;
  normalize?: GridNormalize;
  colormap?: string;
  /** Integer upscaling of every tile (default: tiles of about 48 px or more, and the grid at least 224 px; see gridScale). */
  scale?: number;
  display?: boolean;
}

/** Per-channel mean of an [H, W, C] activation. */
export function channelMeans(act: Float32Array, h: number, w: number, c: number): Float32Array {
  const means = new Float32Array(c);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) means[k] += act[p * c + k];
  for (let k = 0; k < c; k++) means[k] /= h * w;
  return means;
}

/** Channel indices ordered by mean activation, strongest first (ties by index). */
export function rankChannels(means: Float32Array): number[] {
  return Array.from(means.keys()).sort((a, b) => means[b] - means[a] || a - b);
}

const BLOCK_TAIL = new Set(['BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'PReLU', 'ThresholdedReLU']);

/**
 * The output of a conv layer's block: the conv followed by its batch norm and activation when each is the
 * only consumer of the one before (conv → bn → relu gives the relu), as the articles show feature maps.
 */
export function blockOutput(model: CnnModel, name: string): string {
  let at = model.layerName(name);
  for (let hops = 0; hops < 4; hops++) {
    const next = model.nodes.filter((n) => n.inputs.includes(at));
    if (next.length !== 1 || !BLOCK_TAIL.has(next[0].kind)) break;
    at = next[0].name;
  }
  return at;
}

/** Block outputs of the conv layers, in graph order (see blockOutput). */
export function convBlockOutputs(model: CnnModel): string[] {
  const spatial = new Set(model.spatialLayers());
  const convs = model.nodes.filter((n) => spatial.has(n.name) && /Conv/.test(n.kind));
  return [...new Set(convs.map((n) => blockOutput(model, n.name)))];
}

/** The default layer for feature maps: the block output of the first convolution (e.g. its ReLU). */
export function defaultFeatureLayer(model: CnnModel): string {
  const spatial = model.spatialLayers();
  if (!spatial.length) throw new CnnvisError(`model '${model.name}' has no layer with a spatial output to show as feature maps`);
  return convBlockOutputs(model)[0] ?? spatial[0];
}

function selectChannels(c: number, ranking: number[], channels: number | number[] | undefined, sort: 'index' | 'mean'): number[] {
  if (Array.isArray(channels)) {
    for (const k of channels) {
      if (!Number.isInteger(k) || k < 0 || k >= c) throw new CnnvisError(`channel ${k} is out of range; the layer has channels 0..${c - 1}`);
    }
    return sort === 'mean' ? ranking.filter((k) => channels.includes(k)) : [...channels];
  }
  const n = Math.min(c, channels ?? 256);
  if (!Number.isInteger(n) || n < 1) throw new CnnvisError(`channels must be a positive count or a list of channel indices, got ${channels}`);
  return sort === 'mean' ? ranking.slice(0, n) : Array.from({ length: n }, (_, i) => i);
}

/** Reads one layer's activation for one image as [H, W, C] floats. */
export function layerActivation(model: CnnModel, batch: tf.Tensor4D, layer: string): { data: Float32Array; h: number; w: number; c: number } {
  model.spatialLayer(layer);
  const { taps, output } = model.engine.outputs(batch, [layer]);
  try {
    const [, h, w, c] = taps[0].shape as number[];
    return { data: taps[0].dataSync() as Float32Array, h, w, c };
  } finally {
    taps.forEach((t) => t.dispose());
    output.dispose();
  }
}

export class FeatureMapResult extends Result {
  readonly kind = 'feature-maps';
  constructor(
    meta: ResultMeta,
    readonly layer: string,
    readonly height: number,
    readonly width: number,
    readonly channels: number,
    /** Raw activation [H, W, C], row-major, channels last. */
    readonly activation: Float32Array,
    /** Mean activation per channel. */
    readonly means: Float32Array,
    /** Channels ordered by mean activation, strongest first. */
    readonly ranking: number[],
    /** Channels in the grid, in tile order. */
    readonly shown: number[],
    readonly input: RGBImage,
    private readonly grid: RGBAImage,
    readonly nrow: number,
  ) {
    super(meta);
  }

  /** The strongest channel (highest mean activation). */
  get topChannel(): number {
    return this.ranking[0];
  }

  /** One channel as a map. */
  channel(k: number): Map2D {
    if (!Number.isInteger(k) || k < 0 || k >= this.channels) throw new CnnvisError(`channel ${k} is out of range; the layer has channels 0..${this.channels - 1}`);
    return mapsFromHWC(this.activation, this.height, this.width, this.channels, [k])[0];
  }

  /** A channel (default: the strongest) upsampled and overlaid on the input image. */
  overlay(k = this.topChannel, opts: { alpha?: number; colormap?: string } = {}): RGBAImage {
    return overlayHeatmap(this.input, this.channel(k), { alpha: opts.alpha ?? 0.5, colormap: opts.colormap ?? 'jet' });
  }

  text(): string {
    const top = this.ranking.slice(0, 5).map((k) => `${k} (${this.means[k].toFixed(3)})`).join(', ');
    return `Feature maps of ${this.meta.model} layer ${this.layer}: ${this.height}×${this.width}×${this.channels}, ` +
      `showing ${this.shown.length} channels; strongest by mean: ${top} [${this.meta.backend}, ${this.meta.timeMs} ms]`;
  }

  override image(): RGBAImage {
    return this.grid;
  }
}

export async function featureMaps(m: CnnModel | tf.LayersModel, image: ImageSource, opts: FeatureMapOptions = {}): Promise<FeatureMapResult> {
  const backend = await initBackend();
  const model = modelFor(m, image);
  const layer = opts.layer !== undefined ? model.canonicalLayer(opts.layer) : defaultFeatureLayer(model);
  model.spatialLayer(layer);
  const t0 = performance.now();
  const input = prepareInput(model, image, opts);
  let act: ReturnType<typeof layerActivation>;
  try {
    act = layerActivation(model, input.batch, layer);
  } finally {
    input.batch.dispose();
  }
  const { data, h, w, c } = act;
  const means = channelMeans(data, h, w, c);
  const ranking = rankChannels(means);
  const shown = selectChannels(c, ranking, opts.channels, opts.sort ?? 'index');
  const nrow = opts.nrow ?? Math.ceil(Math.sqrt(shown.length));
  const grid = makeGrid(mapsFromHWC(data, h, w, c, shown), {
    nrow,
    padding: 2,
    normalize: opts.normalize ?? 'per-tile',
    colormap: opts.colormap ?? 'viridis',
    scale: opts.scale ?? gridScale(shown.length, nrow, w, h, { padding: 2 }),
  });
  const result = new FeatureMapResult({ model: model.name, backend: model.engine.label(backend), timeMs: since(t0), preprocess: model.preprocessNote }, layer, h, w, c, data, means, ranking, shown, input.image, grid, nrow);
  return autoShow(result, opts.display);
}

export interface LayerOutputsOptions extends InputOptions {
  /** Layers to show, low to high (default: up to 8 conv layers spread over the depth). */
  layers?: string[];
  /** First N channels of each layer (default 8). */
  channels?: number;
  /** Tile size in pixels (default 64). */
  tile?: number;
  colormap?: string;
  display?: boolean;
}

export class LayerOutputsResult extends Result {
  readonly kind = 'layer-outputs';
  constructor(
    meta: ResultMeta,
    readonly layers: { name: string; height: number; width: number; channels: number; means: Float32Array }[],
    readonly channelsPerLayer: number,
    private readonly picture: RGBAImage,
  ) {
    super(meta);
  }
  text(): string {
    const rows = this.layers.map((l) => `  ${l.name}: ${l.height}×${l.width}×${l.channels}`);
    return [`Layer outputs of ${this.meta.model}, first ${this.channelsPerLayer} channels per row, low to high [${this.meta.backend}, ${this.meta.timeMs} ms]:`, ...rows].join('\n');
  }
  override image(): RGBAImage {
    return this.picture;
  }
}

const LABEL_WIDTH = 112;

/** A row picture with a label column on its left (dark text on a light strip; a long name wraps to two lines). */
function labelled(row: RGBAImage, lines: string[]): RGBAImage {
  const column = vconcat(lines.map((l) => textBlock(l, LABEL_WIDTH, { background: [255, 255, 255, 255], padding: 3, maxLines: 2 })), 0);
  return hconcat([column, row], 4, { align: 'center' });
}

/** Up to `n` names spread evenly over a list, keeping the first and the last. */
export function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]);
}

export async function layerOutputs(m: CnnModel | tf.LayersModel, image: ImageSource, opts: LayerOutputsOptions = {}): Promise<LayerOutputsResult> {
  const backend = await initBackend();
  const model = modelFor(m, image);
  const blocks = convBlockOutputs(model);
  const layers = opts.layers ?? spread(blocks.length ? blocks : model.spatialLayers(), 8);
  layers.forEach((l) => model.spatialLayer(l));
  const n = opts.channels ?? 8;
  const tile = opts.tile ?? 64;
  const t0 = performance.now();
  const input = prepareInput(model, image, opts);
  const { taps, output } = model.engine.outputs(input.batch, layers);
  input.batch.dispose();
  output.dispose();
  const rows: RGBAImage[] = [];
  const info: LayerOutputsResult['layers'] = [];
  try {
    layers.forEach((name, i) => {
      const [, h, w, c] = taps[i].shape as number[];
      const data = taps[i].dataSync() as Float32Array;
      const k = Math.min(n, c);
      const maps = mapsFromHWC(data, h, w, c, Array.from({ length: k }, (_, j) => j));
      const tiles = maps.map((mp) => resizeImage(makeGrid([mp], { nrow: 1, padding: 0, normalize: 'per-tile', colormap: opts.colormap ?? 'viridis' }), tile, tile, { interpolation: 'nearest' }));
      rows.push(labelled(makeGrid(tiles, { nrow: n, padding: 2, normalize: 'none' }), [name, `${h}x${w}x${c}`]));
      info.push({ name, height: h, width: w, channels: c, means: channelMeans(data, h, w, c) });
    });
  } finally {
    taps.forEach((t) => t.dispose());
  }
  // A small input is enlarged by a whole factor (crisp model pixels), a large one shrunk smoothly.
  const side = Math.max(input.image.width, input.image.height);
  const shownInput = side <= tile ? scaleNearest(input.image, Math.floor(tile / side)) : toRGBA(resizeImage(input.image, tile, tile, { interpolation: 'bilinear' }));
  const inputRow = labelled(pad(shownInput, 2, [0, 0, 0, 0]), ['input', `${model.inputHeight}x${model.inputWidth}`]);
  const picture = vconcat([inputRow, ...rows], 4);
  return autoShow(new LayerOutputsResult({ model: model.name, backend: model.engine.label(backend), timeMs: since(t0), preprocess: model.preprocessNote }, info, n, picture), opts.display);
}
