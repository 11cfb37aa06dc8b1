/**
 * FilterExplorer: a model's convolution layers, a page of filters at a time, as weights or as
 * activation-maximization patterns.
 *
 *   const ex = await cnnvis.explore.filters(model);
 *
 * Weights: first-layer (3 input channels) filters as RGB tiles, deeper filters as a row of grey
 * tiles per input channel, depthwise kernels one tile per channel, 1×1 kernels one tile per filter
 * with a cell per input channel — like `cnnvis.filters` (same scaling rule, dead filters flagged). Each
 * layer's kernel is read once. Patterns: switching to 'patterns' optimizes one image per filter on
 * the page (`filterPatterns`), with progress and cancel between steps; while the layer or page
 * slider moves only the latest page is optimized, and every pattern made is kept. Moving to another
 * layer stops it (back to weights) until patterns are asked for there.
 */
import { canonicalLayer } from '../models/flatten';
import * as tf from '@tensorflow/tfjs';
import { markDead, appliedScaling, convLayerNames, deadFilters, filterStats, filterView, Kernel, kernelOf, layerRange, pointwiseMap, rgbTile, sliceMap, tileRange } from '../basics/filters';
import { initBackend } from '../engine/backend';
import { CnnvisError } from '../errors';
import { assertFiniteLayerWeights } from '../models/finite';
import { CnnModel } from '../models/model';
import { filterPatterns, toRGBA } from '../optvis/render';
import { applyColormap } from '../render/colormaps';
import { makeGrid } from '../render/grid';
import {
  filterTitle,
  emptyFilterPage,
  EXPLORERS,
  ExplorerColormap,
  filterDefaults,
  FilterExplorerState,
  FilterLayerInfo,
  FilterMode,
  FilterResultData,
  FILTER_SCALINGS,
  FilterScaling,
  tileColormap,
} from '../schema/explorers';
import { Map2D, RGBAImage } from '../types';
import { bytesToBase64, checkColormap, checkSnapshotBudget, Explorer, explorerSpec, Step } from './explorer';
import { ExplorerInputOptions, explorerModel } from './classes';

/** One saved page of a filter snapshot. */
type FilterEntry = FilterResultData['layers'][number];

export interface FilterExplorerOptions {
  /** The model's preprocessing (how activation-maximization patterns are fed to it; see loadModel); default: the model's own. */
  preprocess?: ExplorerInputOptions['preprocess'];
  /** Byte budget of the saved snapshot's pages (default DEFAULT_SNAPSHOT_BYTES); beyond it the latest are kept. */
  snapshot?: number;
  /** First layer shown (default: the first conv layer). */
  layer?: string;
  /** Filters per page (default 16). */
  pageSize?: number;
  /** Input channels shown per filter in deeper layers (default 8). */
  inputChannels?: number;
  /** 'weights' (default) or 'patterns' (activation maximization, computed at once). */
  mode?: FilterMode;
  /** Gradient steps per pattern (default 64). */
  steps?: number;
  /** Pattern side in pixels (default: the model input, at most 128). */
  patternSize?: number;
  /**
   * 'layer': one colour scale per layer (symmetric around 0 with a diverging colormap for signed
   * weights); 'tile': each tile its own range; 'auto' (default): 'layer' for 1×1 kernels, else 'tile'.
   */
  scaling?: FilterScaling;
  /** Colormap of single-channel weight tiles (default 'gray'; on a signed layer scale 'gray' shows as 'coolwarm'). */
  colormap?: ExplorerColormap;
  display?: boolean;
}

const MODES: readonly FilterMode[] = ['weights', 'patterns'];

interface Pattern {
  rgba: Uint8Array;
  value: number;
  /** The objective never moved from 0 (see FilterExplorerState.pattern_flat). */
  flat: boolean;
}

/** One tile's weights as bytes, 0..255 for min..max of `range` (unused cells 0). */
function tileBytes(map: Map2D, range: { min: number; max: number }): Uint8Array {
  const span = range.max - range.min;
  return Uint8Array.from(map.data, (v) => (span > 0 && Number.isFinite(v) ? Math.round(Math.min(1, Math.max(0, (v - range.min) / span)) * 255) : 0));
}

export class FilterExplorer extends Explorer<FilterExplorerState, FilterEntry> {
  readonly model: CnnModel;
  private readonly kernelCache = new Map<string, Kernel>();
  // (Not named like a state key: state keys are properties of the widget.)
  private readonly patternCache = new Map<string, Pattern>();
  private readonly patternSize: number;
  /** The layers as the kernel listed them: the synced `layers` state is for display only (a front end can send anything). */
  private readonly layerList: readonly FilterLayerInfo[];
  /** Patterns optimized so far (not taken from the cache). */
  computed = 0;

  private constructor(model: CnnModel, state: FilterExplorerState, patternSize: number) {
    super(explorerSpec(EXPLORERS.filters), state, ['layer_index', 'page', 'page_size', 'input_channels', 'mode', 'steps', 'scaling']);
    this.layerList = state.layers.map((l) => ({ ...l, shape: [...l.shape] }));
    this.model = model;
    this.patternSize = patternSize;
  }

  static async open(m: CnnModel | tf.LayersModel, opts: FilterExplorerOptions = {}): Promise<FilterExplorer> {
    await initBackend();
    const model = explorerModel(m, null, opts);
    const names = convLayerNames(model);
    if (!names.length) throw new CnnvisError(`model '${model.name}' has no convolution layer with a 4-D kernel`);
    const first = opts.layer !== undefined ? canonicalLayer(model.net, opts.layer) : names[0];
    if (!names.includes(first)) throw new CnnvisError(`layer '${first}' has no convolution kernel; conv layers: ${names.join(', ')}`, names);
    const d = filterDefaults();
    const pageSize = opts.pageSize ?? d.page_size;
    const inputChannels = opts.inputChannels ?? d.input_channels;
    const steps = opts.steps ?? d.steps;
    for (const [name, v] of [['pageSize', pageSize], ['inputChannels', inputChannels], ['steps', steps]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new CnnvisError(`${name} must be a positive integer, got ${v}`);
    }
    const budget = checkSnapshotBudget(opts.snapshot);
    const scaling = opts.scaling ?? d.scaling;
    if (!FILTER_SCALINGS.includes(scaling)) throw new CnnvisError(`unknown scaling '${scaling}'; valid: ${FILTER_SCALINGS.join(', ')}`, [...FILTER_SCALINGS]);
    const mode = opts.mode ?? d.mode;
    if (!MODES.includes(mode)) throw new CnnvisError(`unknown mode '${mode}'; valid: ${MODES.join(', ')}`, [...MODES]);
    const patternSize = opts.patternSize ?? Math.min(128, model.inputHeight, model.inputWidth);
    if (!Number.isInteger(patternSize) || patternSize < 8 || patternSize > 1024) throw new CnnvisError(`patternSize must be whole pixels in 8..1024, got ${patternSize}`);
    const layers: FilterLayerInfo[] = names.map((name) => {
      const k = kernelOf(model.layer(name)) as Kernel;
      const [, , cin, cout] = k.shape;
      return { name, shape: [...k.shape], view: filterView(k), filters: k.kind === 'depthwise' ? cin : cout };
    });
    const state: FilterExplorerState = {
      ...d,
      title: `filters · ${model.name}`,
      colormap: checkColormap(opts.colormap ?? d.colormap),
      layers,
      layer_index: names.indexOf(first),
      page: 0,
      page_size: pageSize,
      input_channels: inputChannels,
      mode,
      steps,
      scaling,
    };
    const ex = new FilterExplorer(model, state, patternSize);
    ex.saved.budget = budget;
    // Every conv layer's first page of weights, so a saved notebook shows each layer (the explored pages come later).
    layers.forEach((_, i) => ex.save(i, ex.pageFilters(i, 0, pageSize), 0));
    await ex.start();
    if (opts.display ?? true) ex.show();
    return ex;
  }

  /** A layer's kernel, read once (NaN/Inf weights are refused, naming the layer). */
  kernel(index: number): Kernel {
    const name = this.layerList[index].name;
    const hit = this.kernelCache.get(name);
    if (hit) return hit;
    const layer = this.model.layer(name);
    assertFiniteLayerWeights(layer, this.model.name);
    const k = kernelOf(layer) as Kernel;
    this.kernelCache.set(name, k);
    return k;
  }

  /** The filters on a page of a layer. */
  pageFilters(index: number, page: number, size: number): number[] {
    const n = this.layerList[index].filters;
    const out: number[] = [];
    for (let f = page * size; f < Math.min(n, (page + 1) * size); f++) out.push(f);
    return out;
  }

  /** Weight tiles of some filters of a layer, as the views get them. */
  weightTiles(
    index: number,
    filters: readonly number[],
    inputChannels: number,
    scaling: FilterScaling = 'auto',
  ): Pick<
    FilterExplorerState,
    'weights' | 'weight_channels' | 'weight_width' | 'weight_height' | 'tiles_per_filter' | 'filter_norms' | 'filter_dead' | 'weight_scaling' | 'weight_range' | 'weight_diverging' | 'weight_cells'
  > {
    const info = this.layerList[index];
    const k = this.kernel(index);
    const [kh, kw, cin] = k.shape;
    const stats = filterStats(k);
    const dead = deadFilters(stats.map((f) => f.norm));
    const applied = appliedScaling(k, scaling);
    const lr = layerRange(k);
    const bytes = (map: Map2D) => tileBytes(map, tileRange(map, lr, applied));
    let tiles: Uint8Array[];
    let channels = 1;
    let perFilter = 1;
    let width = kw;
    let height = kh;
    let cells = kw * kh;
    if (info.view === 'rgb') {
      channels = 4;
      tiles = filters.map((f) => rgbTile(k, f, applied === 'layer' ? lr : undefined).data);
    } else if (info.view === 'depthwise') {
      tiles = filters.map((c) => bytes(sliceMap(k, c, 0)));
    } else if (info.view === 'pointwise') {
      // A cell per input channel (all of them, up to 1024), one tile per filter.
      cells = Math.min(cin, 1024);
      const maps = filters.map((f) => pointwiseMap(k, f, cells));
      width = maps.length ? maps[0].width : 1;
      height = maps.length ? maps[0].height : 1;
      tiles = maps.map(bytes);
    } else {
      perFilter = Math.min(cin, inputChannels);
      tiles = filters.flatMap((f) => Array.from({ length: perFilter }, (_, c) => bytes(sliceMap(k, c, f))));
    }
    const weights = new Uint8Array(tiles.reduce((a, t) => a + t.length, 0));
    let o = 0;
    for (const t of tiles) {
      weights.set(t, o);
      o += t.length;
    }
    return {
      weights,
      weight_channels: channels,
      weight_width: width,
      weight_height: height,
      tiles_per_filter: perFilter,
      filter_norms: filters.map((f) => stats[f].norm),
      filter_dead: filters.map((f) => dead[f]),
      weight_scaling: applied,
      weight_range: [lr.min, lr.max],
      weight_diverging: applied === 'layer' && lr.signed && channels === 1,
      weight_cells: cells,
    };
  }

  private patternKey(layer: string, filter: number, steps: number): string {
    return `${layer}\u0000${filter}\u0000${steps}`;
  }

  /** Optimizes the patterns of `filters` not made yet (one batch), reporting each step. */
  private async makePatterns(index: number, filters: readonly number[], steps: number, step: Step): Promise<void> {
    const layer = this.layerList[index].name;
    const missing = filters.filter((f) => !this.patternCache.has(this.patternKey(layer, f, steps)));
    if (!missing.length) return;
    const label = `patterns of ${layer}, filters ${missing[0]}–${missing[missing.length - 1]}`;
    await step(0, label);
    const r = await filterPatterns(this.model, layer, {
      channels: missing,
      batchSize: missing.length,
      steps,
      size: this.patternSize,
      display: false,
      progress: false,
      preview: 0,
      onStep: (info) => step.now((info.step + 1) / steps, `${label}: step ${info.step + 1} of ${steps}`),
    });
    missing.forEach((f, i) => {
      this.patternCache.set(this.patternKey(layer, f, steps), { rgba: toRGBA(r.pixels[i], r.settings.width, r.settings.height).data, value: r.finalValues[i], flat: r.flat[i] ?? false });
    });
    this.computed += missing.length;
  }

  protected override normalize(changes: Partial<FilterExplorerState>): Partial<FilterExplorerState> {
    const out = { ...changes };
    const n = this.layerList.length;
    if (out.layer_index !== undefined && (!Number.isInteger(out.layer_index) || out.layer_index < 0 || out.layer_index >= n)) {
      throw new RangeError(`layer_index must be an integer in 0..${n - 1}, got ${out.layer_index}`);
    }
    for (const key of ['page_size', 'input_channels', 'steps'] as const) {
      const v = out[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${key} must be a positive integer, got ${v}`);
    }
    if (out.mode !== undefined && !MODES.includes(out.mode)) throw new RangeError(`unknown mode '${out.mode}'; valid: ${MODES.join(', ')}`);
    if (out.colormap !== undefined) checkColormap(out.colormap);
    if (out.scaling !== undefined && !FILTER_SCALINGS.includes(out.scaling)) throw new RangeError(`unknown scaling '${out.scaling}'; valid: ${FILTER_SCALINGS.join(', ')}`);
    // Moving to another layer stops activation maximization (it is slow, and was asked for that layer):
    // the new layer shows its weights until patterns are asked for again.
    if (out.layer_index !== undefined && out.layer_index !== this.get('layer_index') && out.mode === undefined && this.get('mode') === 'patterns') out.mode = 'weights';
    if (out.page !== undefined || out.layer_index !== undefined || out.page_size !== undefined) {
      const index = out.layer_index ?? this.get('layer_index');
      const size = out.page_size ?? this.get('page_size');
      const pages = Math.max(1, Math.ceil(this.layerList[index].filters / size));
      const page = out.page ?? this.get('page');
      if (!Number.isInteger(page)) throw new RangeError(`page must be an integer, got ${page}`);
      out.page = Math.min(Math.max(0, page), pages - 1);
    }
    return out;
  }

  protected async update(step: Step): Promise<void> {
    const { layer_index: index, page, page_size: size, input_channels: inputs, mode, steps, scaling } = this.state;
    const info = this.layerList[index];
    await step(0, `filters of ${info.name}`);
    const filters = this.pageFilters(index, page, size);
    const weights = this.weightTiles(index, filters, inputs, scaling);
    const title = `${filterTitle(info, filters, mode === 'patterns')} · ${this.model.name}`;
    const showWeights = () => this.set({ ...weights, shown_layer: index, page_filters: filters, title });
    if (mode === 'weights') {
      showWeights();
      this.save(index, filters, page, true);
      return;
    }
    // The weights of the new page at once (with the old patterns hidden), then the patterns.
    if (this.get('shown_layer') !== index || this.get('page_filters').join() !== filters.join()) {
      this.set({ ...emptyFilterPage(), ...weights, shown_layer: index, page_filters: filters, title });
    }
    await this.makePatterns(index, filters, steps, step);
    const made = filters.map((f) => this.patternCache.get(this.patternKey(info.name, f, steps)) as Pattern);
    const rgba = new Uint8Array(made.reduce((a, p) => a + p.rgba.length, 0));
    let o = 0;
    for (const p of made) {
      rgba.set(p.rgba, o);
      o += p.rgba.length;
    }
    this.set({
      patterns: rgba,
      pattern_width: this.patternSize,
      pattern_height: this.patternSize,
      pattern_filters: filters,
      pattern_values: made.map((p) => p.value),
      pattern_flat: made.map((p) => p.flat),
    });
    showWeights();
    this.save(index, filters, page, true);
  }

  /**
   * Saves a page into the snapshot, as the latest: its weights as now scaled and, when shown (or saved
   * before for the same filters), its patterns with their objective values and steps.
   */
  private save(index: number, filters: number[], page: number, shown = false): void {
    const s = this.state;
    const info = this.layerList[index];
    const key = `${index}\u0000${filters.join(',')}`;
    const w = this.weightTiles(index, filters, s.input_channels, s.scaling);
    const shownPatterns = s.mode === 'patterns' && s.shown_layer === index && s.pattern_filters.join() === filters.join() && s.pattern_filters.length > 0;
    const patterns = shownPatterns
      ? { filters: s.pattern_filters, width: s.pattern_width, height: s.pattern_height, rgba: bytesToBase64(s.patterns), values: s.pattern_values, steps: s.steps, flat: s.pattern_flat }
      : (this.saved.get(key)?.patterns ?? null);
    const what = `${info.name} filters ${filters[0] ?? 0}–${filters[filters.length - 1] ?? 0}${patterns ? ' with patterns' : ''}`;
    this.keep(key, what, {
      ...info,
      page,
      page_filters: filters,
      tiles_per_filter: w.tiles_per_filter,
      width: w.weight_width,
      height: w.weight_height,
      weights: bytesToBase64(w.weights),
      channels: w.weight_channels,
      norms: w.filter_norms,
      dead: w.filter_dead,
      scaling: w.weight_scaling,
      range: w.weight_range,
      diverging: w.weight_diverging,
      cells: w.weight_cells,
      patterns,
    }, shown);
  }

  snapshot(): FilterResultData {
    // In model order (layer, then page); the budget dropped the oldest.
    const order = new Map(this.layerList.map((l, i) => [l.name, i]));
    const { entries: layers, ...head } = this.savedPart('filters', this.model.name, (a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0) || (a.page_filters[0] ?? 0) - (b.page_filters[0] ?? 0));
    return { ...head, page_size: this.get('page_size'), layers };
  }

  /** Weight tiles (a row per filter in the per-input-channel view) and, when made, the patterns beside them. */
  picture(): RGBAImage {
    const s = this.state;
    const n = s.weight_width * s.weight_height;
    const count = n ? s.weights.length / (n * s.weight_channels) : 0;
    if (!count) return { width: 1, height: 1, data: new Uint8Array([255, 255, 255, 255]) };
    const tiles: RGBAImage[] = Array.from({ length: count }, (_, i) => {
      const part = s.weights.subarray(i * n * s.weight_channels, (i + 1) * n * s.weight_channels);
      if (s.weight_channels === 4) return { width: s.weight_width, height: s.weight_height, data: part };
      const values = Float32Array.from(part, (v, j) => (j < s.weight_cells ? v : NaN));
      return applyColormap({ width: s.weight_width, height: s.weight_height, data: values }, tileColormap(s.colormap, s.weight_diverging), { min: 0, max: 255, nanColor: [0, 0, 0, 255] });
    });
    const scale = Math.max(1, Math.round(24 / Math.max(s.weight_width, s.weight_height)));
    const nrow = s.tiles_per_filter > 1 ? s.tiles_per_filter : Math.ceil(Math.sqrt(count)); // tiles per row
    const grid = makeGrid(tiles, { nrow, padding: 1, scale });
    tiles.forEach((_, i) => s.filter_dead[Math.floor(i / s.tiles_per_filter)] && markDead(grid, grid.layout.tiles[i]));
    const { layout: _layout, ...weights } = grid;
    void _layout;
    if (s.mode !== 'patterns' || !s.pattern_filters.length) return weights;
    const area = s.pattern_width * s.pattern_height * 4;
    const pats = s.pattern_filters.map((_, i) => ({ width: s.pattern_width, height: s.pattern_height, data: s.patterns.subarray(i * area, (i + 1) * area) }));
    return makeGrid(pats, { nrow: Math.ceil(Math.sqrt(pats.length)), padding: 2 });
  }

  summary(): string {
    const s = this.state;
    const l = s.layers[s.layer_index];
    const f = s.page_filters;
    const what = f.length ? `filters ${f[0]}–${f[f.length - 1]} of ${l.filters}` : 'nothing yet';
    const flat = s.pattern_filters.filter((_, i) => s.pattern_flat[i]);
    const flatText = flat.length ? `; flat (objective 0 from every start, the image is noise): filter${flat.length > 1 ? 's' : ''} ${flat.join(', ')}` : '';
    const pats = s.mode === 'patterns' && s.pattern_filters.length ? `, patterns (${s.steps} steps) mean objective ${(s.pattern_values.reduce((a, b) => a + b, 0) / s.pattern_values.length).toFixed(3)}${flatText}` : '';
    return `FilterExplorer(${this.model.name}: ${l.name} kernel ${l.shape.join('×')}, ${l.view} view, ${what}${pats})`;
  }

}

/** `cnnvis.explore.filters(model, options)`: see FilterExplorer. */
export function filters(model: CnnModel | tf.LayersModel, opts?: FilterExplorerOptions): Promise<FilterExplorer> {
  return FilterExplorer.open(model, opts);
}
