/**
 * FeatureMapExplorer: every layer with a spatial output for one image, a page of channels at a time.
 *
 *   const ex = await cnnvis.explore.featureMaps(model, 'cat_dog.png');
 *
 * One forward pass at open taps every spatial layer; layer and page changes only slice what it gave.
 * Colormap, normalization (global or per tile), hovering (channel and mean), enlarging a tile and
 * the top-channel overlay are done in the browser from the page data, the channel means and the
 * layer's range, which the kernel sends with the page.
 */
import { canonicalLayer } from '../models/flatten';
import * as tf from '@tensorflow/tfjs';
import { convBlockOutputs, defaultFeatureLayer, spread } from '../basics/featureMaps';
import { ImageSource, prepareInput } from '../basics/input';
import { initBackend } from '../engine/backend';
import { CnnvisError } from '../errors';
import { CnnModel } from '../models/model';
import { applyColormap } from '../render/colormaps';
import { makeGrid } from '../render/grid';
import {
  featureMapTitle,
  EXPLORERS,
  featureMapDefaults,
  ExplorerColormap,
  FeatureMapExplorerState,
  FeatureMapResultData,
  LayerInfo,
  Normalization,
  NORMALIZATIONS,
} from '../schema/explorers';
import { runTaps } from '../taps';
import { RGBAImage } from '../types';
import { bytesToBase64, checkColormap, checkSnapshotBudget, Explorer, explorerSpec, rgbaBytes, Step } from './explorer';
import { ExplorerInputOptions, explorerModel } from './classes';

/** One saved page of a feature-map snapshot. */
type FeatureMapEntry = FeatureMapResultData['layers'][number];

export interface FeatureMapExplorerOptions extends ExplorerInputOptions {
  /** Byte budget of the saved snapshot's pages (default DEFAULT_SNAPSHOT_BYTES); beyond it the latest are kept. */
  snapshot?: number;
  /** First layer shown (default: the first conv block output). */
  layer?: string;
  /** Channels per page (default 16). */
  pageSize?: number;
  colormap?: ExplorerColormap;
  normalization?: Normalization;
  display?: boolean;
}

/** The snapshot starts with this many layers' first pages; saved tiles are at most this big. */
const SNAPSHOT_LAYERS = 12;
const SNAPSHOT_TILE = 32;

interface LayerData {
  data: Float32Array;
  h: number;
  w: number;
  c: number;
  means: Float32Array;
  min: number;
  max: number;
}

/** Per-channel statistics of an [H, W, C] activation. */
function stats(data: Float32Array, h: number, w: number, c: number): LayerData {
  const means = new Float32Array(c);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < c; k++) {
      const v = data[i * c + k];
      means[k] += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  for (let k = 0; k < c; k++) means[k] /= h * w;
  return { data, h, w, c, means, min, max };
}

/** Channels `channels` of an [H, W, C] activation, one after the other ([n, H, W]). */
export function channelPlanes(layer: LayerData, channels: readonly number[], stride = 1): { data: Float32Array; w: number; h: number } {
  const h = Math.ceil(layer.h / stride);
  const w = Math.ceil(layer.w / stride);
  const out = new Float32Array(channels.length * h * w);
  channels.forEach((ch, n) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) out[n * h * w + y * w + x] = layer.data[(y * stride * layer.w + x * stride) * layer.c + ch];
    }
  });
  return { data: out, w, h };
}

export class FeatureMapExplorer extends Explorer<FeatureMapExplorerState, FeatureMapEntry> {
  readonly model: CnnModel;
  readonly imageName: string;
  private readonly layerData: LayerData[];

  private constructor(model: CnnModel, imageName: string, layerData: LayerData[], state: FeatureMapExplorerState) {
    super(explorerSpec(EXPLORERS.featureMaps), state, ['layer_index', 'page', 'page_size']);
    this.model = model;
    this.imageName = imageName;
    this.layerData = layerData;
  }

  static async open(m: CnnModel | tf.LayersModel, image: ImageSource, opts: FeatureMapExplorerOptions = {}): Promise<FeatureMapExplorer> {
    await initBackend();
    const model = explorerModel(m, image, opts);
    const names = model.spatialLayers();
    if (!names.length) throw new CnnvisError(`model '${model.name}' has no layer with a spatial output to show as feature maps`);
    const first = opts.layer !== undefined ? canonicalLayer(model.net, opts.layer) : defaultFeatureLayer(model);
    model.spatialLayer(first);
    const d = featureMapDefaults();
    const pageSize = opts.pageSize ?? d.page_size;
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new CnnvisError(`pageSize must be a positive integer, got ${pageSize}`);
    const colormap = checkColormap(opts.colormap ?? d.colormap);
    const normalization = opts.normalization ?? d.normalization;
    if (!NORMALIZATIONS.includes(normalization)) throw new CnnvisError(`unknown normalization '${normalization}'; valid: ${NORMALIZATIONS.join(', ')}`, [...NORMALIZATIONS]);
    const budget = checkSnapshotBudget(opts.snapshot);
    const input = prepareInput(model, image, opts);
    let layerData: LayerData[];
    try {
      const { taps, output } = runTaps(model.net, input.batch, names);
      try {
        layerData = taps.map((t) => {
          const [, h, w, c] = t.shape as number[];
          return stats(t.dataSync().slice() as Float32Array, h, w, c);
        });
      } finally {
        taps.forEach((t) => t.dispose());
        output.dispose();
      }
    } finally {
      input.batch.dispose();
    }
    const layers: LayerInfo[] = names.map((name, i) => ({ name, shape: [layerData[i].h, layerData[i].w, layerData[i].c] }));
    const state: FeatureMapExplorerState = {
      ...d,
      title: `${model.name} · ${input.name}`,
      image: rgbaBytes(input.image),
      image_width: input.image.width,
      image_height: input.image.height,
      colormap,
      layers,
      layer_index: names.indexOf(first),
      page: 0,
      page_size: pageSize,
      normalization,
    };
    const ex = new FeatureMapExplorer(model, input.name, layerData, state);
    ex.saved.budget = budget;
    ex.prepareSnapshot();
    await ex.start();
    if (opts.display ?? true) ex.show();
    return ex;
  }

  /** Number of pages of the layer at `index` for the current page size. */
  pageCount(index = this.get('layer_index')): number {
    return Math.max(1, Math.ceil(this.layerData[index].c / this.get('page_size')));
  }

  protected override normalize(changes: Partial<FeatureMapExplorerState>): Partial<FeatureMapExplorerState> {
    const out = { ...changes };
    if (out.layer_index !== undefined) {
      const n = this.layerData.length;
      if (!Number.isInteger(out.layer_index) || out.layer_index < 0 || out.layer_index >= n) {
        throw new RangeError(`layer_index must be an integer in 0..${n - 1}, got ${out.layer_index}`);
      }
    }
    if (out.page_size !== undefined && (!Number.isInteger(out.page_size) || out.page_size < 1)) {
      throw new RangeError(`page_size must be a positive integer, got ${out.page_size}`);
    }
    if (out.page !== undefined || out.layer_index !== undefined || out.page_size !== undefined) {
      // Clamp the page to the (new) layer's page count.
      const index = out.layer_index ?? this.get('layer_index');
      const size = out.page_size ?? this.get('page_size');
      const pages = Math.max(1, Math.ceil(this.layerData[index].c / size));
      const page = out.page ?? this.get('page');
      if (!Number.isInteger(page)) throw new RangeError(`page must be an integer, got ${page}`);
      out.page = Math.min(Math.max(0, page), pages - 1);
    }
    if (out.colormap !== undefined) checkColormap(out.colormap, RangeError);
    if (out.normalization !== undefined && !NORMALIZATIONS.includes(out.normalization)) {
      throw new RangeError(`unknown normalization '${out.normalization}'; valid: ${NORMALIZATIONS.join(', ')}`);
    }
    return out;
  }

  protected async update(step: Step): Promise<void> {
    const { layer_index: index, page, page_size: size } = this.state;
    const layer = this.layerData[index];
    await step(0, `page ${page + 1} of ${this.get('layers')[index].name}`);
    const channels: number[] = [];
    for (let k = page * size; k < Math.min(layer.c, (page + 1) * size); k++) channels.push(k);
    const planes = channelPlanes(layer, channels);
    let top = 0;
    for (let k = 1; k < layer.c; k++) if (layer.means[k] > layer.means[top]) top = k;
    this.set({
      shown_layer: index,
      page_channels: channels,
      page_data: planes.data,
      tile_width: planes.w,
      tile_height: planes.h,
      channel_means: layer.means,
      layer_min: layer.min,
      layer_max: layer.max,
      top_channel: top,
      top_data: channelPlanes(layer, [top]).data,
      title: `${featureMapTitle(this.get('layers')[index].name, channels, layer.c, planes.w, planes.h)} · ${this.model.name} · ${this.imageName}`,
    });
    this.save(index, page, true);
  }

  /**
   * Saves the first page of the conv blocks' outputs (after BN and activation), spread over the depth
   * (all spatial layers when the model has no conv blocks), so a saved notebook shows the depth even
   * when little was explored.
   */
  private prepareSnapshot(): void {
    const names = this.get('layers').map((l) => l.name);
    const blocks = convBlockOutputs(this.model).map((n) => names.indexOf(n)).filter((i) => i >= 0);
    for (const i of spread(blocks.length ? blocks : this.layerData.map((_, k) => k), SNAPSHOT_LAYERS)) this.save(i, 0);
  }

  /** Saves a page of a layer into the snapshot (as the latest): tiles subsampled to SNAPSHOT_TILE, bytes over the layer's range. */
  private save(index: number, page: number, shown = false): void {
    const l = this.layerData[index];
    const info = this.get('layers')[index];
    const size = this.get('page_size');
    const channels: number[] = [];
    for (let k = page * size; k < Math.min(l.c, (page + 1) * size); k++) channels.push(k);
    const stride = Math.max(1, Math.ceil(Math.max(l.h, l.w) / SNAPSHOT_TILE));
    const planes = channelPlanes(l, channels, stride);
    const span = l.max - l.min;
    const bytes = Uint8Array.from(planes.data, (v) => (span > 0 ? Math.round(((v - l.min) / span) * 255) : 0));
    const what = `${info.name} channels ${channels[0] ?? 0}–${channels[channels.length - 1] ?? 0}`;
    this.keep(`${index}\u0000${page}\u0000${size}`, what, {
      name: info.name,
      shape: info.shape,
      page,
      channels,
      width: planes.w,
      height: planes.h,
      data: bytesToBase64(bytes),
      means: Array.from(l.means),
      min: l.min,
      max: l.max,
    }, shown);
  }

  snapshot(): FeatureMapResultData {
    const s = this.state;
    // In model order (layer, then page); the budget dropped the oldest.
    const order = new Map(s.layers.map((l, i) => [l.name, i]));
    const { entries: layers, ...head } = this.savedPart('feature-maps', `${this.model.name} · ${this.imageName}`, (a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0) || (a.page ?? 0) - (b.page ?? 0));
    return { ...head, image: this.savedImage(), normalization: s.normalization, page_size: s.page_size, layers };
  }

  picture(): RGBAImage {
    const s = this.state;
    const n = s.page_channels.length;
    if (n === 0) return { width: s.image_width, height: s.image_height, data: s.image };
    const area = s.tile_width * s.tile_height;
    const tiles = s.page_channels.map((_, i) => {
      const map = { width: s.tile_width, height: s.tile_height, data: s.page_data.subarray(i * area, (i + 1) * area) };
      return applyColormap(map, s.colormap, s.normalization === 'global' ? { min: s.layer_min, max: s.layer_max } : {});
    });
    const scale = Math.max(1, Math.min(8, Math.round(48 / Math.max(s.tile_width, s.tile_height))));
    return makeGrid(tiles, { scale, nrow: Math.ceil(Math.sqrt(n)) });
  }

  summary(): string {
    const s = this.state;
    const l = s.layers[s.layer_index];
    const last = s.page_channels.length ? s.page_channels[s.page_channels.length - 1] : -1;
    return `FeatureMapExplorer(${this.model.name}, ${this.imageName}: ${l.name} [${l.shape.join('×')}], channels ${s.page_channels[0] ?? 0}–${last} of ${l.shape[2]})`;
  }

}

/** `cnnvis.explore.featureMaps(model, image, options)`: see FeatureMapExplorer. */
export function featureMaps(model: CnnModel | tf.LayersModel, image: ImageSource, opts?: FeatureMapExplorerOptions): Promise<FeatureMapExplorer> {
  return FeatureMapExplorer.open(model, image, opts);
}
