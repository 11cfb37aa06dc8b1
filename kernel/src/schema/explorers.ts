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

/** CamExplorer: one image, any class / layer / method; the overlay opacity is applied client-side. */
export interface CamExplorerState extends ExplorerBaseState {
  /** Every class label, index = class index. */
  classes: string[];
  /** Highest-probability classes first. */
  top: ClassScore[];
  /** The class asked for (the slider); the map shown may still be for `shown_class`. */
  class_index: number;
  /** Layers with a spatial output. */
  layers: string[];
  layer: string;
  methods: MethodInfo[];
  method: string;
  /** Heat map opacity over the picture, in [0, 1]. */
  opacity: number;
  /** The heat map now shown: bytes 0..255 for [0, 1], heatmap_width × heatmap_height (the input size). */
  heatmap: Uint8Array;
  heatmap_width: number;
  heatmap_height: number;
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

/** Custom messages from the front end to an explorer. */
export type ExplorerRequest = { event: 'cancel' };

/** Custom messages from an explorer to the front end. */
export type ExplorerNotice = { event: 'computed'; what: string; ms: number };

/** Static snapshots, rendered client-side without a kernel. Arrays are base64 in JSON. */
export interface CamResultData {
  kind: 'cam';
  version: typeof RESULT_SCHEMA_VERSION;
  title: string;
  model: string;
  method: string;
  layer: string;
  image: { width: number; height: number; rgba: string };
  colormap: ExplorerColormap;
  opacity: number;
  /** One precomputed map per class, highest probability first. */
  maps: Array<ClassScore & { heatmap: string; width: number; height: number }>;
}

export interface FeatureMapResultData {
  kind: 'feature-maps';
  version: typeof RESULT_SCHEMA_VERSION;
  title: string;
  model: string;
  image: { width: number; height: number; rgba: string };
  colormap: ExplorerColormap;
  normalization: Normalization;
  /** One precomputed page per layer. */
  layers: Array<{
    name: string;
    shape: [number, number, number];
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

export type ResultData = CamResultData | FeatureMapResultData;

/** Model and view names of each explorer in the front-end module. */
export const EXPLORERS = {
  cam: { model: 'CamExplorerModel', view: 'CamExplorerView' },
  featureMaps: { model: 'FeatureMapExplorerModel', view: 'FeatureMapExplorerView' },
} as const;

/** Encodes bytes as base64 without Node's Buffer (usable in both places). */
export function bytesToBase64(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + '=';
  }
  return out;
}

/** Decodes base64 (standard alphabet, with or without padding); throws on other characters. */
export function base64ToBytes(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v =
      c >= 65 && c <= 90 ? c - 65 : c >= 97 && c <= 122 ? c - 71 : c >= 48 && c <= 57 ? c + 4 : c === 43 ? 62 : c === 47 ? 63 : -1;
    if (v < 0) throw new TypeError(`not base64: character ${JSON.stringify(clean[i])} at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 255;
    }
  }
  return out.subarray(0, j);
}

/** float32 values as little-endian bytes and back (how Float32Array travels in results). */
export function floatsToBase64(values: Float32Array): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytesToBase64(bytes);
}
export function base64ToFloats(text: string): Float32Array {
  const bytes = base64ToBytes(text);
  if (bytes.length % 4 !== 0) throw new TypeError(`float32 data has ${bytes.length} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

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
