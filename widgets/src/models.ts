/**
 * Front-end models of the explorers. They hold the synced state with the defaults in one place and
 * turn binary state (DataView from the wire or a saved notebook) into typed arrays.
 */
import { DOMWidgetModel, ISerializers } from '@jupyter-widgets/base';
import {
  asBytes,
  asFloat32,
  CamExplorerState,
  EXPLORERS,
  EXPLORER_MODULE,
  EXPLORER_MODULE_VERSION,
  emptyFeatureMapPage,
  ExplorerBaseState,
  emptyFilterPage,
  FeatureMapExplorerState,
  FilterExplorerState,
  OcclusionExplorerState,
  SaliencyExplorerState,
} from 'cnnvis/dist/schema/explorers';

type Binary = ArrayBufferView | ArrayBuffer | null;
const bytes = { deserialize: (v: Binary) => asBytes(v) };
const floats = { deserialize: (v: Binary) => asFloat32(v) };

function base(): ExplorerBaseState {
  return {
    title: '',
    status: 'idle',
    progress: 0,
    message: '',
    image: new Uint8Array(0),
    image_width: 0,
    image_height: 0,
    colormap: 'viridis',
  };
}

function identity(names: { model: string; view: string }) {
  return {
    _model_name: names.model,
    _model_module: EXPLORER_MODULE,
    _model_module_version: EXPLORER_MODULE_VERSION,
    _view_name: names.view,
    _view_module: EXPLORER_MODULE,
    _view_module_version: EXPLORER_MODULE_VERSION,
  };
}

export function camDefaults(): CamExplorerState {
  return {
    ...base(),
    colormap: 'jet',
    classes: [],
    top: [],
    class_index: 0,
    layers: [],
    layer: '',
    methods: [],
    method: '',
    opacity: 0.5,
    heatmap: new Uint8Array(0),
    heatmap_width: 0,
    heatmap_height: 0,
    shown: null,
  };
}

export function featureMapDefaults(): FeatureMapExplorerState {
  return {
    ...base(),
    layers: [],
    layer_index: 0,
    page: 0,
    page_size: 16,
    normalization: 'per-tile',
    ...emptyFeatureMapPage(),
  };
}

export function saliencyDefaults(): SaliencyExplorerState {
  return {
    ...base(),
    colormap: 'coolwarm',
    classes: [],
    top: [],
    class_index: 0,
    methods: [],
    method: '',
    opacity: 0.6,
    heatmap: new Uint8Array(0),
    heatmap_width: 0,
    heatmap_height: 0,
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
    ...base(),
    colormap: 'jet',
    classes: [],
    top: [],
    class_index: 0,
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
    ...base(),
    colormap: 'gray',
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

/**
 * The widget model class of an explorer: its identity (model and view names, module), its defaults and
 * which state keys arrive as binary buffers.
 */
function explorerModel(names: { model: string; view: string }, defaults: () => object, binary: ISerializers): typeof DOMWidgetModel {
  return class extends DOMWidgetModel {
    override defaults() {
      return { ...super.defaults(), ...identity(names), ...defaults() };
    }
    static override serializers: ISerializers = { ...DOMWidgetModel.serializers, ...binary };
    static model_name = names.model;
    static model_module = EXPLORER_MODULE;
    static model_module_version = EXPLORER_MODULE_VERSION;
    static view_name = names.view;
    static view_module = EXPLORER_MODULE;
    static view_module_version = EXPLORER_MODULE_VERSION;
  };
}

export const CamExplorerModel = explorerModel(EXPLORERS.cam, camDefaults, { image: bytes, heatmap: bytes });
export const FeatureMapExplorerModel = explorerModel(EXPLORERS.featureMaps, featureMapDefaults, { image: bytes, page_data: floats, channel_means: floats, top_data: floats });
export const SaliencyExplorerModel = explorerModel(EXPLORERS.saliency, saliencyDefaults, { image: bytes, heatmap: bytes, gradient_rgba: bytes });
export const OcclusionExplorerModel = explorerModel(EXPLORERS.occlusion, occlusionDefaults, { image: bytes, map: floats });
export const FilterExplorerModel = explorerModel(EXPLORERS.filters, filterDefaults, { image: bytes, weights: bytes, patterns: bytes });
