/**
 * The explorers' schema: one typed description of what the kernel side and the browser side
 * (widgets/, labextension/) exchange. This module imports nothing, so the front end bundles it as is.
 *
 * Three channels carry explorer data:
 * - synced widget state (saved with the notebook): controls, labels, status and the pixels now on
 *   screen (binary values travel as buffers);
 * - custom messages: requests the front end makes that are not state (cancel, enlarge a channel);
 * - the result bundle (RESULT_MIME): a static, versioned snapshot with precomputed layers or classes,
 *   rendered client-side when no kernel is there.
 *
 * Names in state are snake_case like every ipywidgets state key. Model-supplied text (layer names,
 * labels) is data: the front end shows it with textContent only.
 */

/** The front-end module that holds the explorer models and views, and its version (semver). */
export const EXPLORER_MODULE = '@cnnvis/widgets';
export const EXPLORER_MODULE_VERSION = '0.1.0';

/** MIME type of a cnnvis result bundle; the version is part of the type. */
export const RESULT_MIME = 'application/vnd.cnnvis.result.v1+json';
export const RESULT_SCHEMA_VERSION = 1;

export const EXPLORER_COLORMAPS = ['viridis', 'magma', 'jet', 'gray', 'coolwarm'] as const;
export type ExplorerColormap = (typeof EXPLORER_COLORMAPS)[number];

/** How an attribution map is shown: alone, over the photo, or photo | map side by side (then the gradient image, when there is one). */
export const EXPLORER_DISPLAYS = ['map', 'overlay', 'side-by-side'] as const;
export type ExplorerDisplay = (typeof EXPLORER_DISPLAYS)[number];

export type Normalization = 'global' | 'per-tile';
export const NORMALIZATIONS: readonly Normalization[] = ['global', 'per-tile'];

export type ExplorerStatus = 'idle' | 'busy' | 'cancelled' | 'error';

/** State every explorer has: what it is doing and how far it got. */
export interface ExplorerBaseState {
  /** Title line, e.g. 'Grad-CAM · mobilenet_v1_0.25_224 · cat_dog.png'. */
  title: string;
  status: ExplorerStatus;
  /** Progress of the running computation in [0, 1]; -1 when unknown. */
  progress: number;
  /** What is being computed, or why it failed. */
  message: string;
  /** The picture as the model sees it: RGBA bytes, image_width × image_height × 4. */
  image: Uint8Array;
  image_width: number;
  image_height: number;
  colormap: ExplorerColormap;
  /** The snapshot's size against its budget and what the budget dropped (null before anything is saved). */
  snapshot_info: SnapshotInfo | null;
}

/** One class with its probability, for top-k lists and charts. */
export interface ClassScore {
  index: number;
  label: string;
  probability: number;
}

/** A method the CAM explorer can compute. */
export interface MethodInfo {
  id: string;
  name: string;
}

/** The method menu, opacity and heat map the CAM and saliency explorers share. */
export interface HeatmapState {
  methods: MethodInfo[];
  method: string;
  /** Heat map opacity over the picture, in [0, 1]. */
  opacity: number;
  /** The heat map now shown: bytes, heatmap_width × heatmap_height (the input size). */
  heatmap: Uint8Array;
  heatmap_width: number;
  heatmap_height: number;
}

/** CamExplorer: one image, any class / layer / method; the overlay opacity is applied client-side. Heat map bytes 0..255 are [0, 1]. */
export interface CamExplorerState extends ExplorerBaseState, ClassPickState, HeatmapState {
  /** Layers with a spatial output. */
  layers: string[];
  layer: string;
  /** What the heat map shows (it lags the controls while a computation runs). */
  shown: { class_index: number; label: string; probability: number; layer: string; method: string } | null;
}

/** One layer the feature-map explorer can show. */
export interface LayerInfo {
  name: string;
  /** Output [height, width, channels]. */
  shape: [number, number, number];
}

/** FeatureMapExplorer: one image, every layer with a spatial output, one page of channels at a time. */
export interface FeatureMapExplorerState extends ExplorerBaseState {
  layers: LayerInfo[];
  /** Index into `layers` (the slider). */
  layer_index: number;
  page: number;
  page_size: number;
  normalization: Normalization;
  /** The layer the data below belongs to (lags `layer_index` while computing). */
  shown_layer: number;
  /** Channels on the page, in order. */
  page_channels: number[];
  /** Activations of the page, channel after channel, each tile_height × tile_width floats. */
  page_data: Float32Array;
  tile_width: number;
  tile_height: number;
  /** Mean activation of every channel of the shown layer. */
  channel_means: Float32Array;
  /** Range over the whole shown layer, for global normalization. */
  layer_min: number;
  layer_max: number;
  /** The channel with the largest mean, its activation (tile size) for the overlay. */
  top_channel: number;
  top_data: Float32Array;
  /** Show the top channel over the picture. */
  show_top: boolean;
}

/** The computed part of a FeatureMapExplorer's state before anything is shown (kernel and front end start here). */
export function emptyFeatureMapPage(): Pick<
  FeatureMapExplorerState,
  'shown_layer' | 'page_channels' | 'page_data' | 'tile_width' | 'tile_height' | 'channel_means' | 'layer_min' | 'layer_max' | 'top_channel' | 'top_data' | 'show_top'
> {
  return {
    shown_layer: -1,
    page_channels: [],
    page_data: new Float32Array(0),
    tile_width: 0,
    tile_height: 0,
    channel_means: new Float32Array(0),
    layer_min: 0,
    layer_max: 0,
    top_channel: 0,
    top_data: new Float32Array(0),
    show_top: false,
  };
}

/** The class-picking part of an explorer's state (CAM, saliency, occlusion). */
export interface ClassPickState {
  /** Every class label, index = class index. */
  classes: string[];
  /** Highest-probability classes first. */
  top: ClassScore[];
  /** The class asked for (the slider); the map shown may still be for the previous one. */
  class_index: number;
}

/**
 * SaliencyExplorer: one image, the gradient family (and guided Grad-CAM) for any class. The map is
 * sent as bytes: 0..255 for [0, max] when unsigned, for [−max, max] (127.5 = 0) when signed.
 */
export interface SaliencyExplorerState extends ExplorerBaseState, ClassPickState, HeatmapState {
  /** Whether the shown map is signed (diverging colours centred on 0). */
  signed: boolean;
  /** The colour range's end: |value| that maps to 0 or 255 (the clip_percentile-th percentile of |map|; larger values saturate). */
  range_max: number;
  /** The percentile of |map| range_max is (the colour bar names it). */
  clip_percentile: number;
  /** Map only, map over the photo, or photo | map (| gradient image). */
  display_mode: ExplorerDisplay;
  /**
   * The gradient image of the shown map (guided backprop, deconvnet): RGBA, heatmap_width × heatmap_height,
   * each channel 0.5 + (g − mean) / (2s) of the per-channel gradient (render/gradient); empty for other methods.
   */
  gradient_rgba: Uint8Array;
  shown: { class_index: number; label: string; probability: number; method: string } | null;
}

/**
 * OcclusionExplorer: one image, occlusion maps for any class, patch size and stride; the threshold
 * (relative to the largest drop) makes the mask and the masked picture in the browser.
 */
export interface OcclusionExplorerState extends ExplorerBaseState, ClassPickState {
  /** Patch side and step in input pixels. */
  patch_size: number;
  stride: number;
  /** Mask: pixels whose drop ≥ threshold × the largest drop. In [0, 1]. */
  threshold: number;
  opacity: number;
  /** Probability drop per pixel (mean over the patches covering it), map_width × map_height (the input size). */
  map: Float32Array;
  map_width: number;
  map_height: number;
  shown: { class_index: number; label: string; probability: number; patch_size: number; stride: number; patches: number } | null;
}

/** The thresholded occlusion mask: 1 where value ≥ threshold × max (none when max ≤ 0). Kernel and browser use this one rule. */
export function relativeMask(values: ArrayLike<number>, threshold: number): Uint8Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const out = new Uint8Array(values.length);
  if (!(max > 0)) return out;
  const cut = threshold * max;
  for (let i = 0; i < values.length; i++) out[i] = values[i] >= cut ? 1 : 0;
  return out;
}

/**
 * How filter weights are drawn. 'rgb': one colour tile per filter (3 input channels);
 * 'per-input-channel': a row of single-channel tiles per filter; 'depthwise': one tile per channel;
 * 'pointwise': 1×1 kernels, one tile per filter with a cell per input channel (a near-square grid).
 */
export type FilterView = 'rgb' | 'per-input-channel' | 'depthwise' | 'pointwise';

/** Filter weight scaling: 'layer' (one scale for the layer), 'tile' (each tile its own range), 'auto' ('layer' for 1×1 kernels, else 'tile'). */
export type FilterScaling = 'auto' | 'layer' | 'tile';
export const FILTER_SCALINGS: readonly FilterScaling[] = ['auto', 'layer', 'tile'];

/** A filter is dead when its L2 norm is below this fraction of the layer's largest filter norm. */
export const DEAD_FILTER_RATIO = 1e-6;

/**
 * The colormap single-channel weight tiles are drawn with: on a signed layer scale (`diverging`) the
 * sequential default 'gray' becomes the diverging 'coolwarm' (blue < 0 < red); any other choice stays.
 * Kernel and browser use this one rule.
 */
export function tileColormap<T extends string>(colormap: T, diverging: boolean): T | 'coolwarm' {
  return diverging && colormap === 'gray' ? 'coolwarm' : colormap;
}

/** One layer the filter explorer can show. */
export interface FilterLayerInfo {
  name: string;
  /** Kernel [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier]). */
  shape: [number, number, number, number];
  view: FilterView;
  /** Filters (output channels; depthwise: channels) to page through. */
  filters: number;
}

export type FilterMode = 'weights' | 'patterns';

/**
 * FilterExplorer: a model's conv layers, a page of filters at a time, as weights or as
 * activation-maximization patterns (computed on demand). It has no image (`image` stays empty);
 * `colormap` colours single-channel weight tiles, in the browser.
 */
export interface FilterExplorerState extends ExplorerBaseState {
  layers: FilterLayerInfo[];
  layer_index: number;
  page: number;
  page_size: number;
  /** Input channels shown per filter in the per-input-channel view. */
  input_channels: number;
  mode: FilterMode;
  /** Gradient steps of the activation maximization. */
  steps: number;
  /** Weight scaling asked for (a control); `weight_scaling` is what the page below uses. */
  scaling: FilterScaling;
  /** What the data below belongs to (lags the controls while computing). */
  shown_layer: number;
  page_filters: number[];
  /**
   * Weight tiles, tile after tile (filter after filter; per input channel within a filter), each
   * normalized over itself: RGBA bytes in the rgb view, otherwise one byte per weight (0..255 = the
   * tile's min..max) that the browser colours with `colormap`.
   */
  weights: Uint8Array;
  /** Bytes per weight pixel: 4 (rgb view) or 1. */
  weight_channels: number;
  weight_width: number;
  weight_height: number;
  /** Tiles per filter (1, or the input channels shown). */
  tiles_per_filter: number;
  /** Per filter on the page: L2 norm of its weights. */
  filter_norms: number[];
  /** Per filter on the page: dead (norm < DEAD_FILTER_RATIO × the layer's largest norm). */
  filter_dead: boolean[];
  /**
   * 'layer': single-channel bytes 0..255 are `weight_range` [min, max] of the whole layer
   * (symmetric around 0 when `weight_diverging`); 'tile': each tile's own min..max (a constant tile: the layer range).
   */
  weight_scaling: 'layer' | 'tile';
  weight_range: [number, number];
  /** The layer scale is signed and symmetric: tiles take `tileColormap(colormap, true)`. */
  weight_diverging: boolean;
  /** Cells in use per tile (row by row); the rest of a pointwise tile is empty. */
  weight_cells: number;
  /** Activation-maximization images of the page's filters (RGBA, one after the other); empty in weights mode. */
  patterns: Uint8Array;
  pattern_width: number;
  pattern_height: number;
  /** Filters the patterns belong to. */
  pattern_filters: number[];
  /** Objective value of each pattern at the end. */
  pattern_values: number[];
  /**
   * Per pattern: flat — its objective stayed exactly 0 with a zero gradient from every start tried, so
   * the image is the start's noise (a dead filter, or one no input near grey reaches).
   */
  pattern_flat: boolean[];
}

/** The computed part of a FilterExplorer's state before anything is shown. */
export function emptyFilterPage(): Pick<
  FilterExplorerState,
  'shown_layer' | 'page_filters' | 'weights' | 'weight_channels' | 'weight_width' | 'weight_height' | 'tiles_per_filter' | 'filter_norms' | 'filter_dead' | 'weight_scaling' | 'weight_range' | 'weight_diverging' | 'weight_cells' | 'patterns' | 'pattern_width' | 'pattern_height' | 'pattern_filters' | 'pattern_values' | 'pattern_flat'
> {
  return {
    shown_layer: -1,
    page_filters: [],
    weights: new Uint8Array(0),
    weight_channels: 1,
    weight_width: 0,
    weight_height: 0,
    tiles_per_filter: 1,
    filter_norms: [],
    filter_dead: [],
    weight_scaling: 'tile',
    weight_range: [0, 1],
    weight_diverging: false,
    weight_cells: 0,
    patterns: new Uint8Array(0),
    pattern_width: 0,
    pattern_height: 0,
    pattern_filters: [],
    pattern_values: [],
    pattern_flat: [],
  };
}

/**
 * Every explorer's state with its defaults, written once: the front end's widget models start from
 * these, and the kernel's explorers take their option defaults (colormap, opacity, page size…) from them.
 */
export function explorerIdentity(names: { model: string; view: string }) {
  return {
    _model_name: names.model,
    _model_module: EXPLORER_MODULE,
    _model_module_version: EXPLORER_MODULE_VERSION,
    _view_name: names.view,
    _view_module: EXPLORER_MODULE,
    _view_module_version: EXPLORER_MODULE_VERSION,
  };
}

function baseDefaults(colormap: ExplorerColormap): ExplorerBaseState {
  return { title: '', status: 'idle', progress: 0, message: '', image: new Uint8Array(0), image_width: 0, image_height: 0, colormap, snapshot_info: null };
}

function classPickDefaults(): ClassPickState {
  return { classes: [], top: [], class_index: 0 };
}

function heatmapDefaults(method: string, opacity: number): HeatmapState {
  return { methods: [], method, opacity, heatmap: new Uint8Array(0), heatmap_width: 0, heatmap_height: 0 };
}

export function camDefaults(): CamExplorerState {
  return {
    ...baseDefaults('jet'),
    ...classPickDefaults(),
    ...heatmapDefaults('gradcam', 0.5),
    layers: [],
    layer: '',
    shown: null,
  };
}

export function featureMapDefaults(): FeatureMapExplorerState {
  return { ...baseDefaults('viridis'), layers: [], layer_index: 0, page: 0, page_size: 16, normalization: 'per-tile', ...emptyFeatureMapPage() };
}

export function saliencyDefaults(): SaliencyExplorerState {
  return {
    ...baseDefaults('coolwarm'),
    ...classPickDefaults(),
    ...heatmapDefaults('saliency', 0.6),
    signed: false,
    range_max: 1,
    clip_percentile: 99.5,
    display_mode: 'side-by-side',
    gradient_rgba: new Uint8Array(0),
    shown: null,
  };
}

export function occlusionDefaults(): OcclusionExplorerState {
  return {
    ...baseDefaults('jet'),
    ...classPickDefaults(),
    patch_size: 8,
    stride: 4,
    threshold: 0.5,
    opacity: 0.5,
    map: new Float32Array(0),
    map_width: 0,
    map_height: 0,
    shown: null,
  };
}

export function filterDefaults(): FilterExplorerState {
  return {
    ...baseDefaults('gray'),
    layers: [],
    layer_index: 0,
    page: 0,
    page_size: 16,
    input_channels: 8,
    mode: 'weights',
    steps: 64,
    scaling: 'auto',
    ...emptyFilterPage(),
  };
}

/** Custom messages from the front end to an explorer. */
export type ExplorerRequest = { event: 'cancel' };

/**
 * The custom message an explorer sends after each change the user made: the output bundle
 * (RESULT_MIME snapshot, image/png as base64, text/plain) of what has been explored so far. The front
 * end writes it into the notebook output, so a saved notebook keeps what its author saw.
 */
export type ExplorerSnapshotMessage = { event: 'snapshot'; data: Record<string, unknown> };

/** The DOM event (bubbling, `detail` = the bundle) a live view dispatches with each snapshot it receives; the notebook renderer writes it into the output. */
export const SNAPSHOT_EVENT = 'cnnvis-snapshot';

/** The default size budget of a snapshot's saved maps/pages (bytes of their JSON; the `snapshot` option). */
export const DEFAULT_SNAPSHOT_BYTES = 4_000_000;

/** What a snapshot holds of what was explored and what its size budget dropped. */
export interface SnapshotInfo {
  /** The budget: bytes of JSON the saved maps/pages may take (the `snapshot` option). */
  budget: number;
  /** Bytes of JSON the saved maps/pages take. */
  bytes: number;
  /** Maps (or pages) saved. */
  count: number;
  /** What the budget dropped, oldest first (the latest computed are kept). */
  dropped: string[];
}

/** One line on a saved snapshot: how much it holds of its budget and what was dropped. */
export function snapshotNote(info: SnapshotInfo | undefined, noun: string): string {
  if (!info) return '';
  const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e5 ? 2 : 1)} MB`;
  const head = `Saved ${info.count} ${noun}${info.count === 1 ? '' : 's'} (${mb(info.bytes)} of the ${mb(info.budget)} snapshot budget).`;
  if (!info.dropped.length) return head;
  const list = info.dropped.length > 3 ? `${info.dropped.slice(-3).join('; ')} and ${info.dropped.length - 3} more` : info.dropped.join('; ');
  return `${head} Dropped the ${info.dropped.length} oldest to stay within it: ${list}.`;
}

/** The live view's one line about its snapshot: its size against the budget and what the budget dropped. */
export function liveSnapshotNote(info: SnapshotInfo | null | undefined, noun: string): string {
  if (!info) return '';
  const mb = (n: number) => (n / 1e6).toFixed(n < 1e5 ? 2 : 1);
  const head = `Snapshot: ${info.count} ${noun}${info.count === 1 ? '' : 's'}, ${mb(info.bytes)} of ${mb(info.budget)} MB (ex.snapshotBudget)`;
  if (!info.dropped.length) return `${head}.`;
  const last = info.dropped[info.dropped.length - 1];
  return `${head}; dropped the ${info.dropped.length} oldest, last ${last}.`;
}

/** Fields every snapshot has besides its data: the map (page) shown when it was saved and the budget note. */
export interface SavedPart {
  /** Index in `maps` (`layers`) of what the live view showed when saved; absent in older snapshots (0). */
  shown?: number;
  /** Budget and drops; absent in older snapshots. */
  saved?: SnapshotInfo;
}

/** Static snapshots, rendered client-side without a kernel. Arrays are base64 in JSON. */

/** What every snapshot starts with: its kind and schema version, title, model name and colormap. */
export interface ResultHeader<K extends string> extends SavedPart {
  kind: K;
  version: typeof RESULT_SCHEMA_VERSION;
  title: string;
  model: string;
  colormap: ExplorerColormap;
}
export interface CamResultData extends ResultHeader<'cam'> {
  method: string;
  layer: string;
  image: { width: number; height: number; rgba: string };
  opacity: number;
  /**
   * The maps computed in the live view (the top classes first, then each method / layer / class shown),
   * oldest first; `method` (an id) and `layer` absent in older snapshots mean the top-level ones.
   */
  maps: Array<ClassScore & { heatmap: string; width: number; height: number; method?: string; layer?: string }>;
  /** Names of the methods in `maps`; absent in older snapshots. */
  methods?: MethodInfo[];
}

export interface FeatureMapResultData extends ResultHeader<'feature-maps'> {
  image: { width: number; height: number; rgba: string };
  normalization: Normalization;
  /** Channels per page; absent in older snapshots. */
  page_size?: number;
  /** Pages: one of each conv block at open, then every page shown in the live view (a layer may have several). */
  layers: Array<{
    name: string;
    shape: [number, number, number];
    /** Page number (channels page × page_size on); absent in older snapshots (0). */
    page?: number;
    channels: number[];
    /** Tile size (may be smaller than the layer's: snapshots are subsampled to stay small). */
    width: number;
    height: number;
    /** Bytes 0..255 for min..max, channel after channel, each height × width. */
    data: string;
    means: number[];
    min: number;
    max: number;
  }>;
}

export interface SaliencyResultData extends ResultHeader<'saliency'> {
  image: { width: number; height: number; rgba: string };
  opacity: number;
  /** Names of the methods in `maps`; absent in older snapshots. */
  methods?: MethodInfo[];
  /** Maps: the one-gradient methods for the top classes at open, then every method / class shown; bytes as in SaliencyExplorerState. */
  maps: Array<
    ClassScore & {
      method: string;
      signed: boolean;
      range_max: number;
      heatmap: string;
      width: number;
      height: number;
      /** The gradient image (RGBA, width × height, base64) for guided backprop and the deconvnet; absent otherwise. */
      gradient_rgba?: string;
    }
  >;
  /** The percentile of |map| each range_max is; absent in older snapshots (99.5). */
  clip_percentile?: number;
  /** How the snapshot first shows the maps; absent in older snapshots ('overlay'). */
  display_mode?: ExplorerDisplay;
}

export interface OcclusionResultData extends ResultHeader<'occlusion'> {
  image: { width: number; height: number; rgba: string };
  opacity: number;
  threshold: number;
  patch_size: number;
  stride: number;
  /**
   * Maps (float32 drops; any threshold applies client-side): the top classes at open, then every class /
   * patch size / stride shown; `patch_size` and `stride` absent in older snapshots mean the top-level ones.
   */
  maps: Array<ClassScore & { map: string; width: number; height: number; patch_size?: number; stride?: number }>;
}

export interface FilterResultData extends ResultHeader<'filters'> {
  /** Filters per page; absent in older snapshots. */
  page_size?: number;
  /** Pages: the first of every conv layer at open, then every page shown (weights; patterns where made). */
  layers: Array<
    FilterLayerInfo & {
      /** Page number; absent in older snapshots (0). */
      page?: number;
      page_filters: number[];
      tiles_per_filter: number;
      width: number;
      height: number;
      /** As FilterExplorerState.weights, base64. */
      weights: string;
      channels: number;
      norms: number[];
      /** As the FilterExplorerState fields of the same names. */
      dead: boolean[];
      scaling: 'layer' | 'tile';
      range: [number, number];
      diverging: boolean;
      cells: number;
      /** `steps`: the optimization steps the patterns ran; `flat`: as pattern_flat (both absent in older snapshots). */
      patterns: { filters: number[]; width: number; height: number; rgba: string; values: number[]; steps?: number; flat?: boolean[] } | null;
    }
  >;
}

export type ResultData = CamResultData | FeatureMapResultData | SaliencyResultData | OcclusionResultData | FilterResultData;

/** Model and view names of each explorer in the front-end module. */
export const EXPLORERS = {
  cam: { model: 'CamExplorerModel', view: 'CamExplorerView' },
  featureMaps: { model: 'FeatureMapExplorerModel', view: 'FeatureMapExplorerView' },
  saliency: { model: 'SaliencyExplorerModel', view: 'SaliencyExplorerView' },
  occlusion: { model: 'OcclusionExplorerModel', view: 'OcclusionExplorerView' },
  filters: { model: 'FilterExplorerModel', view: 'FilterExplorerView' },
} as const;

/** A view of received binary state (DataView, typed array or ArrayBuffer) as float32, copied when misaligned. */
export function asFloat32(value: ArrayBufferView | ArrayBuffer | null | undefined): Float32Array {
  if (!value) return new Float32Array(0);
  if (value instanceof Float32Array) return value;
  const buf = value instanceof ArrayBuffer ? value : value.buffer;
  const offset = value instanceof ArrayBuffer ? 0 : value.byteOffset;
  const length = value instanceof ArrayBuffer ? value.byteLength : value.byteLength;
  if (offset % 4 === 0) return new Float32Array(buf, offset, Math.floor(length / 4));
  return new Float32Array(buf.slice(offset, offset + length - (length % 4)));
}

/** A view of received binary state as bytes. */
export function asBytes(value: ArrayBufferView | ArrayBuffer | null | undefined): Uint8Array {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/*
 * Titles that read as sentences, written once for the live views (the kernel sets `title`) and the
 * saved ones (which title the entry they show). What follows them (' · model · image') is the context.
 */

/** "'tiger cat' (p = 0.31)": a class and its probability. */
function classPhrase(label: string, probability: number): string {
  return `'${label}' (p = ${probability.toFixed(2)})`;
}

/** "Grad-CAM of 'tiger cat' (p = 0.31) at conv_pw_13" (no layer for methods that have none). */
export function classMapTitle(method: string, label: string, probability: number, layer?: string): string {
  return `${method} of ${classPhrase(label, probability)}${layer ? ` at ${layer}` : ''}`;
}

/** "Occlusion of 'tiger cat' (p = 0.31), 16 px patches every 8 px". */
export function occlusionTitle(label: string, probability: number, patchSize: number, stride: number): string {
  return `Occlusion of ${classPhrase(label, probability)}, ${patchSize} px patches every ${stride} px`;
}

/** "Feature maps 0–15 of 16 of conv_pw_1 (32×32)": the page's channels (first–last) of the layer's. */
export function featureMapTitle(layer: string, channels: readonly number[], total: number, width: number, height: number): string {
  const range = channels.length ? `${channels[0]}–${channels[channels.length - 1]} of ${total} ` : '';
  return `Feature maps ${range}of ${layer} (${height}×${width})`;
}

/** What a conv layer's kernels are: "1×1, 8 input channels" or "3×3 depthwise, 8 channels". */
export function kernelPhrase(info: Pick<FilterLayerInfo, 'shape' | 'view'>): string {
  const [kh, kw, inputs] = info.shape;
  if (info.view === 'depthwise') return `${kh}×${kw} depthwise, ${inputs} channel${inputs === 1 ? '' : 's'}`;
  return `${kh}×${kw}, ${inputs} input channel${inputs === 1 ? '' : 's'}`;
}

/**
 * "Filters 0–7 of 16 of conv_pw_1 (1×1, 8 input channels)"; with patterns, "Patterns of filters 0–7 of 16
 * from activation maximization of conv_pw_1 (…)" (the layer the patterns were made for).
 */
export function filterTitle(info: Pick<FilterLayerInfo, 'name' | 'shape' | 'view' | 'filters'>, filters: readonly number[], patterns: boolean): string {
  const range = filters.length ? `${filters[0]}–${filters[filters.length - 1]} of ${info.filters}` : `of ${info.filters}`;
  const kernel = `(${kernelPhrase(info)})`;
  return patterns ? `Patterns of filters ${range} from activation maximization of ${info.name} ${kernel}` : `Filters ${range} of ${info.name} ${kernel}`;
}

/** A saved view's title: the sentence for what it shows, then the snapshot's context, marked saved. */
export function savedTitle(sentence: string, context: string): string {
  return `${sentence}${context ? ` · ${context}` : ''} (saved)`;
}

/** Explorer pictures of small models are drawn at least this wide (live panels, saved views, PNG). */
export const MIN_EXPLORER_WIDTH = 320;

/**
 * The whole factor (nearest neighbour) explorer pictures of a width-px-wide model input are enlarged by:
 * inputs narrower than 224 px (MNIST's 28, the demo's 64) reach at least MIN_EXPLORER_WIDTH (28 → ×12 =
 * 336, 64 → ×5 = 320); 224 px and wider inputs are drawn as they are. Maps and overlays use the same factor.
 */
export function explorerScale(width: number): number {
  return width >= 224 || width <= 0 ? 1 : Math.ceil(MIN_EXPLORER_WIDTH / width);
}
