/**
 * Front-end models of the explorers. They hold the synced state with the schema's defaults
 * (kernel/src/schema/explorers.ts, shared with the kernel) and turn binary state (DataView from the
 * wire or a saved notebook) into typed arrays.
 */
import { DOMWidgetModel, ISerializers } from '@jupyter-widgets/base';
import {
  asBytes,
  asFloat32,
  camDefaults,
  EXPLORERS,
  EXPLORER_MODULE,
  EXPLORER_MODULE_VERSION,
  explorerIdentity,
  featureMapDefaults,
  filterDefaults,
  occlusionDefaults,
  saliencyDefaults,
} from 'cnnvis/dist/schema/explorers';

export { camDefaults, featureMapDefaults, saliencyDefaults, occlusionDefaults, filterDefaults };

type Binary = ArrayBufferView | ArrayBuffer | null;
const bytes = { deserialize: (v: Binary) => asBytes(v) };
const floats = { deserialize: (v: Binary) => asFloat32(v) };

/**
 * The widget model class of an explorer: its identity (model and view names, module), its defaults and
 * which state keys arrive as binary buffers.
 */
function explorerModel(names: { model: string; view: string }, defaults: () => object, binary: ISerializers): typeof DOMWidgetModel {
  return class extends DOMWidgetModel {
    override defaults() {
      return { ...super.defaults(), ...explorerIdentity(names), ...defaults() };
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
