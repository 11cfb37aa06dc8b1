/**
 * Keras HDF5 files, read directly (no Python converter):
 *
 * - `loadKerasH5(file)`: full models saved with `model.save('x.h5')`. The architecture comes from the
 *   root attribute `model_config` (JSON), the weights from `model_weights/<layer>/<weight_names…>`.
 * - `loadKerasWeightsH5(model, file)`: weights-only files (`model.save_weights('w.h5')`: root attribute
 *   `layer_names`, one group per layer with attribute `weight_names`) onto a model built in code; the
 *   `model_weights` group of a full-model file is accepted too.
 *
 * Supported model configs (see `normalizeKerasConfig`): Keras 2.x (`Model`, `Functional`, `Sequential`
 * with `{name, layers}` or a bare layer list, `batch_input_shape`, string dtypes or dtype policies),
 * and Keras 3 legacy-h5 configs (`module` / `registered_name` keys, `batch_shape`, `DTypePolicy`
 * dtypes, `{args, kwargs}` inbound nodes). Keras 1.x configs are refused. Layers must exist in
 * TF.js layers (no Lambda or custom layers).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError, listChoices } from '../errors';
import { H5Dataset, H5File, H5Group, H5Source, openH5 } from './hdf5';
import { checkJsonDepth, checkModelConfig } from './topology';
import { unsupportedClassError } from './tfjs';
import { writeLayerWeights } from './writeWeights';
import './layerClasses';

/** One layer's weights as stored in the file, in the file's order. */
export interface FileLayerWeights {
  /** The layer's name (its group name). */
  layer: string;
  /** Entries of the group's `weight_names` attribute, e.g. 'conv1/kernel:0' or 'block1_conv1_W_1:0'. */
  names: string[];
  datasets: H5Dataset[];
}

/** The weights part of a Keras file: the root of a weights-only file or a full model's `model_weights`. */
export interface KerasWeightsGroup {
  file: H5File;
  group: H5Group;
  /** The `layer_names` attribute, in the saved model's layer order. */
  layerNames: string[];
}

/** What `loadKerasWeightsH5` did. */
export interface WeightsLoadReport {
  /** Pairs (model layer ← file layer) that received weights, in model order. */
  loaded: Array<{ layer: string; from: string; weights: number }>;
  /** File layers with weights that no model layer took (only with `byName`). */
  ignoredInFile: string[];
}

export interface LoadWeightsOptions {
  /**
   * Match layers by name (`true`), or by position among the layers that have weights (`false`,
   * Keras' default for `load_weights`). With `byName`, every model layer with weights must be in
   * the file; file layers the model lacks are ignored and listed in the report.
   */
  byName?: boolean;
}

const NOT_KERAS = (label: string) =>
  `${label} is an HDF5 file but not a Keras model: it has no model_config attribute and no model_weights group / layer_names`;

/** Finds the weights group of a Keras file (root with layer_names, or model_weights), or undefined. */
export function findKerasWeights(file: H5File): KerasWeightsGroup | undefined {
  const mw = file.root.child('model_weights');
  for (const group of [mw instanceof H5Group ? mw : undefined, file.root]) {
    if (!group) continue;
    const layerNames = group.stringListAttr('layer_names');
    if (layerNames) return { file, group, layerNames };
  }
  return undefined;
}

/** Reads one layer group's weight list (names and datasets, in stored order). */
export function readFileLayer(w: KerasWeightsGroup, layer: string): FileLayerWeights {
  const g = w.group.group(layer);
  const names = g.stringListAttr('weight_names') ?? [];
  const datasets = names.map((n) => {
    const d = g.child(n);
    if (d instanceof H5Dataset) return d;
    throw new CnnvisError(
      `${w.file.label}: layer '${layer}' lists weight '${n}' in weight_names but the file has no such dataset`,
    );
  });
  return { layer, names, datasets };
}

/** The short name of a weight, for matching file and model weights: 'conv1/kernel:0' → 'kernel'. */
function weightKey(name: string): string {
  const last = name.split('/').pop() ?? name;
  return last.replace(/:\d+$/, '').replace(/_\d+$/, '');
}

/**
 * For each model weight of `layer`, the index of the file weight it takes. By name ('kernel', 'bias',
 * 'gamma', …) when the file's names and the model's match one to one; otherwise by order (old files
 * name weights like 'block1_conv1_W_1:0').
 */
function matchWithinLayer(modelNames: string[], fileNames: string[]): number[] {
  const mk = modelNames.map(weightKey);
  const fk = fileNames.map(weightKey);
  const unique = (a: string[]) => new Set(a).size === a.length;
  if (unique(mk) && unique(fk) && mk.every((k) => fk.includes(k))) return mk.map((k) => fk.indexOf(k));
  return modelNames.map((_, i) => i);
}

const shapeText = (s: readonly number[]) => `[${s.join(',')}]`;

/** Checks counts and shapes of one layer, then writes the file's values into it. */
function assignLayer(layer: tf.layers.Layer, fl: FileLayerWeights, label: string): number {
  const mw = layer.weights;
  const modelNames = mw.map((v) => v.originalName);
  if (mw.length !== fl.datasets.length) {
    throw new CnnvisError(
      `${label}: layer '${layer.name}' has ${mw.length} weights in the model (${modelNames.join(', ') || 'none'}) ` +
        `but file layer '${fl.layer}' has ${fl.datasets.length} (${fl.names.join(', ') || 'none'})`,
    );
  }
  const order = matchWithinLayer(modelNames, fl.names);
  order.forEach((fi, mi) => {
    const want = mw[mi].shape;
    const have = fl.datasets[fi].shape;
    if (want.length !== have.length || want.some((d, k) => d !== have[k])) {
      throw new CnnvisError(
        `${label}: layer '${layer.name}' weight '${modelNames[mi]}': the file has '${fl.names[fi]}' with shape ` +
          `${shapeText(have)} but the model expects ${shapeText(want as number[])}`,
      );
    }
  });
  const values: Float32Array[] = new Array(mw.length);
  order.forEach((fi, mi) => (values[mi] = fl.datasets[fi].toFloat32()));
  writeLayerWeights(layer, values);
  return values.length;
}

function openWeights(source: H5Source): KerasWeightsGroup {
  const file = openH5(source);
  const w = findKerasWeights(file);
  if (!w) {
    if (file.root.attrNames().includes('model_config')) {
      throw new CnnvisError(`${file.label} has a Keras model_config but no model_weights group: it holds no weights`);
    }
    throw new CnnvisError(NOT_KERAS(file.label));
  }
  return w;
}

/** Loads weights from a Keras weights group onto `model`, checked layer by layer. */
export function assignKerasWeights(
  model: tf.LayersModel,
  w: KerasWeightsGroup,
  options: LoadWeightsOptions = {},
): WeightsLoadReport {
  const label = w.file.label;
  const fileLayers = w.layerNames.map((n) => readFileLayer(w, n)).filter((l) => l.names.length > 0);
  const modelLayers = model.layers.filter((l) => l.weights.length > 0);
  const report: WeightsLoadReport = { loaded: [], ignoredInFile: [] };

  if (options.byName) {
    const byName = new Map(fileLayers.map((l) => [l.layer, l]));
    const missing = modelLayers.filter((l) => !byName.has(l.name)).map((l) => l.name);
    if (missing.length) {
      throw new CnnvisError(
        `${label} has no weights for model layer${missing.length > 1 ? 's' : ''} ${listChoices(missing)}; ` +
          `its layers with weights are: ${listChoices(fileLayers.map((l) => l.layer))}`,
        fileLayers.map((l) => l.layer),
      );
    }
    const used = new Set<string>();
    for (const layer of modelLayers) {
      const fl = byName.get(layer.name) as FileLayerWeights;
      report.loaded.push({ layer: layer.name, from: fl.layer, weights: assignLayer(layer, fl, label) });
      used.add(fl.layer);
    }
    report.ignoredInFile = fileLayers.filter((l) => !used.has(l.layer)).map((l) => l.layer);
    return report;
  }

  if (fileLayers.length !== modelLayers.length) {
    const fileSet = new Set(fileLayers.map((l) => l.layer));
    const modelSet = new Set(modelLayers.map((l) => l.name));
    const notInFile = [...modelSet].filter((n) => !fileSet.has(n));
    const notInModel = [...fileSet].filter((n) => !modelSet.has(n));
    throw new CnnvisError(
      `${label} has ${fileLayers.length} layers with weights but the model has ${modelLayers.length}` +
        (notInFile.length ? `; missing from the file: ${listChoices(notInFile)}` : '') +
        (notInModel.length ? `; not in the model: ${listChoices(notInModel)}` : '') +
        ` (use byName: true to load only layers whose names match)`,
    );
  }
  modelLayers.forEach((layer, i) => {
    const fl = fileLayers[i];
    report.loaded.push({ layer: layer.name, from: fl.layer, weights: assignLayer(layer, fl, label) });
  });
  return report;
}

/**
 * Loads a Keras weights file (`save_weights` layout, or a full-model file's `model_weights`) onto a
 * model whose architecture was built in code. Errors name missing layers and mismatched shapes.
 */
export async function loadKerasWeightsH5(
  model: tf.LayersModel,
  source: H5Source,
  options: LoadWeightsOptions = {},
): Promise<WeightsLoadReport> {
  return assignKerasWeights(model, openWeights(source), options);
}

// ---------------------------------------------------------------------------------------------------
// Model config normalization

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys that Keras 3 adds to serialized objects and TF.js does not know. */
const DROP_KEYS = new Set(['module', 'registered_name', 'build_config', 'compile_config', 'shared_object_id']);

/** A dtype, or a dtype policy ({class_name: 'Policy'|'DTypePolicy', config: {name}}), as a TF.js dtype. */
function plainDtype(d: Json): Json {
  let name: Json = d;
  if (isObject(d) && isObject(d.config) && typeof d.config.name === 'string') name = d.config.name;
  // Mixed-precision policies keep float32 variables; TF.js computes in float32.
  if (typeof name === 'string' && /^mixed_/.test(name)) return 'float32';
  return name;
}

/**
 * Keras 3 inbound node {args, kwargs} → Keras 2 [[layer, nodeIndex, tensorIndex, kwargs], …]. Keras 3
 * numbers a nested model's calls from 0, TF.js (like Keras 2) from 1 (its node 0 is the model's own
 * construction), so references to the models in `nestedModels` move up by one.
 */
function legacyInboundNode(node: Json, layer: string, nestedModels: ReadonlySet<string>): Json {
  if (!isObject(node) || !('args' in node)) return node;
  const out: Json[] = [];
  const visit = (v: Json) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObject(v) && v.class_name === '__keras_tensor__' && isObject(v.config)) {
      const h = v.config.keras_history;
      if (!Array.isArray(h) || h.length < 3 || typeof h[0] !== 'string' || typeof h[1] !== 'number') {
        throw new CnnvisError(`layer '${layer}': a Keras tensor has no valid keras_history`);
      }
      out.push([h[0], nestedModels.has(h[0]) ? h[1] + 1 : h[1], h[2], {}]);
    }
  };
  visit(node.args as Json);
  return out;
}

/**
 * input_layers / output_layers: Keras 3 writes one ['name', 0, 0] instead of [['name', 0, 0]], and
 * numbers a nested Sequential's node from 0 there (a nested functional model from 1, as TF.js does).
 */
function nestedRefs(v: Json | undefined, shift: ReadonlySet<string>): Json | undefined {
  const refs = Array.isArray(v) && v.length > 0 && typeof v[0] === 'string' ? [v] : v;
  if (!Array.isArray(refs)) return refs;
  return refs.map((r) =>
    Array.isArray(r) && typeof r[0] === 'string' && typeof r[1] === 'number' && shift.has(r[0]) ? [r[0], r[1] + 1, ...r.slice(2)] : r,
  );
}

function normalizeObject(v: Json, path: string): Json {
  if (Array.isArray(v)) return v.map((x) => normalizeObject(x, path));
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (DROP_KEYS.has(k)) continue;
    out[k] = k === 'dtype' ? plainDtype(x) : normalizeObject(x, path);
  }
  return out;
}

/**
 * A layer's `activation` as the name TF.js looks up. Keras writes a built-in activation as its name,
 * sometimes as {class_name: 'function', config: name}; Keras 3 defines 'hard_sigmoid' as
 * relu6(x + 3) / 6 where Keras 2 (and TF.js' 'hardSigmoid') use clip(0.2·x + 0.5, 0, 1), so a Keras 3
 * file's becomes 'hardSigmoidKeras3' (models/layerClasses.ts).
 */
function activationName(v: Json, keras3: boolean): Json {
  let name = v;
  if (isObject(v) && (v.class_name === 'function' || v.class_name === 'builtins.function') && typeof v.config === 'string') name = v.config;
  if (keras3 && (name === 'hard_sigmoid' || name === 'hardSigmoid')) return 'hardSigmoidKeras3';
  return name;
}

/** Global pooling layers that keep H and W as 1 with `keepdims` (models/layerClasses.ts). */
const KEEPDIMS_LAYERS = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);

/** Normalizes one layer entry of a model config (after generic normalization). */
function normalizeLayer(layer: JsonObject, nestedModels: ReadonlySet<string>, keras3: boolean): void {
  const name = typeof layer.name === 'string' ? layer.name : isObject(layer.config) ? String(layer.config.name) : '?';
  const cfg = isObject(layer.config) ? layer.config : undefined;
  if (cfg && layer.class_name === 'InputLayer') {
    if ('batch_shape' in cfg && !('batch_input_shape' in cfg)) cfg.batch_input_shape = cfg.batch_shape;
    delete cfg.batch_shape;
    delete cfg.ragged;
    delete cfg.optional;
    if (cfg.sparse === false) delete cfg.sparse;
  }
  if (cfg && 'activation' in cfg) cfg.activation = activationName(cfg.activation, keras3);
  // Keras 3's LeakyReLU writes its slope as negative_slope, Keras 2's (and TF.js') as alpha.
  if (cfg && layer.class_name === 'LeakyReLU' && typeof cfg.negative_slope === 'number') {
    if (cfg.alpha === undefined) cfg.alpha = cfg.negative_slope;
    delete cfg.negative_slope;
  }
  if (cfg && cfg.keepdims === true && !KEEPDIMS_LAYERS.has(String(layer.class_name))) {
    throw new CnnvisError(`layer '${name}' (${String(layer.class_name)}) uses keepdims=True, which TF.js layers does not support`);
  }
  if (cfg && cfg.keepdims === false) delete cfg.keepdims;
  if (cfg && typeof cfg.groups === 'number' && cfg.groups !== 1) {
    throw new CnnvisError(`layer '${name}' (${String(layer.class_name)}) uses groups=${cfg.groups}, which TF.js layers does not support`);
  }
  if (Array.isArray(layer.inbound_nodes)) {
    layer.inbound_nodes = layer.inbound_nodes.map((n) => legacyInboundNode(n, name, nestedModels));
  }
  if (cfg && Array.isArray(cfg.layers)) normalizeModel(layer, keras3);
}

const MODEL_CLASSES = new Set(['Model', 'Functional', 'Sequential']);

/** Normalizes a model entry ({class_name, config}) in place. */
function normalizeModel(model: JsonObject, keras3Activations: boolean): void {
  if (!MODEL_CLASSES.has(String(model.class_name))) return;
  let cfg = model.config;
  if (Array.isArray(cfg)) {
    // Keras ≤ 2.1 Sequential: the config is the bare layer list.
    cfg = { layers: cfg };
    model.config = cfg;
  }
  if (!isObject(cfg) || !Array.isArray(cfg.layers)) return;
  const layers = cfg.layers.filter(isObject);
  const nameOf = (l: JsonObject) => (typeof l.name === 'string' ? l.name : isObject(l.config) ? String(l.config.name) : '');
  const models = layers.filter((l) => MODEL_CLASSES.has(String(l.class_name)));
  // Keras 3 configs ({args, kwargs} inbound nodes) number nested models' nodes differently (see legacyInboundNode).
  const keras3 = layers.some((l) => Array.isArray(l.inbound_nodes) && l.inbound_nodes.some((n) => isObject(n) && 'args' in n));
  const nested = new Set(keras3 ? models.map(nameOf) : []);
  const nestedSequential = new Set(keras3 ? models.filter((l) => l.class_name === 'Sequential').map(nameOf) : []);
  for (const l of layers) normalizeLayer(l, nested, keras3Activations);
  if ('input_layers' in cfg) cfg.input_layers = nestedRefs(cfg.input_layers, nestedSequential) as Json;
  if ('output_layers' in cfg) cfg.output_layers = nestedRefs(cfg.output_layers, nestedSequential) as Json;
}

/** True when a config was written by Keras 3 (its objects carry `module` / `registered_name` keys, or {args, kwargs} inbound nodes). */
function looksKeras3(v: Json, depth = 0): boolean {
  if (depth > 6) return false;
  if (Array.isArray(v)) return v.some((x) => looksKeras3(x, depth + 1));
  if (!isObject(v)) return false;
  if ('module' in v || 'registered_name' in v) return true;
  if (Array.isArray(v.inbound_nodes) && v.inbound_nodes.some((n) => isObject(n) && 'args' in n)) return true;
  return isObject(v.config) && Array.isArray(v.config.layers) && looksKeras3(v.config.layers, depth + 1);
}

/**
 * Turns a Keras `model_config` (Keras 2.x or Keras 3 legacy-h5) into the Keras 2 form that
 * `tf.models.modelFromJSON` accepts. Returns a new object. `kerasVersion` (the file's keras_version)
 * decides which Keras' activation definitions apply; without it, a config that looks written by
 * Keras 3 (module / registered_name keys) is taken as Keras 3. tf.keras 2.13–2.15 also writes those
 * keys in .keras archives, whose metadata gives the version.
 */
export function normalizeKerasConfig(config: unknown, label = 'the model config', kerasVersion?: string): JsonObject {
  if (!isObject(config as Json)) throw new CnnvisError(`${label}: model_config is not a JSON object`);
  const keras3 = typeof kerasVersion === 'string' && /^\d/.test(kerasVersion) ? !/^[012]\./.test(kerasVersion) : looksKeras3(config as Json);
  const out = normalizeObject(config as Json, '') as JsonObject;
  const cls = out.class_name;
  if (cls !== 'Model' && cls !== 'Functional' && cls !== 'Sequential') {
    throw new CnnvisError(
      `${label}: the model class is '${String(cls)}'; cnnvis loads Keras Sequential and functional models ` +
        `(class_name Sequential, Model or Functional), not subclassed models`,
    );
  }
  normalizeModel(out, keras3);
  return out;
}

/**
 * A copy of a config whose weight initializers are all Zeros. loadKerasH5 builds from it because every
 * weight is then overwritten from the file (checked), and random initializers are slow for big layers
 * (about 150 s for VGG16's 138M parameters on wasm). The model's own config then shows Zeros.
 */
function withZeroInitializers(v: Json): Json {
  if (Array.isArray(v)) return v.map(withZeroInitializers);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = /_initializer$/.test(k) && x !== null ? { class_name: 'Zeros', config: {} } : withZeroInitializers(x);
  }
  return out;
}

/**
 * Builds a TF.js model from a Keras model config (Keras 2.x, Keras 3 legacy-h5 or Keras 3 `.keras`
 * config.json): normalized, graph-checked, with zero initializers (every weight is then loaded from the
 * file). `where` prefixes config errors; `label` names the file in other errors; `kerasVersion` is the
 * file's keras_version (see normalizeKerasConfig).
 */
export async function buildKerasModel(config: unknown, where: string, label: string, kerasVersion?: string): Promise<tf.LayersModel> {
  checkJsonDepth(config, where);
  const topology = withZeroInitializers(normalizeKerasConfig(config, label, kerasVersion));
  checkModelConfig(topology, where);
  try {
    return await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] });
  } catch (e) {
    if (e instanceof CnnvisError) throw new CnnvisError(`${label}: ${e.message}`, e.choices);
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    const unsupported = unsupportedClassError(msg, topology, label.replace(/^'|'$/g, ''));
    if (unsupported) throw unsupported;
    throw new CnnvisError(`${label}: the Keras model config could not be built in TF.js: ${msg}`);
  }
}

/** A Keras 3 weights file (`save_weights('x.weights.h5')` or an archive's model.weights.h5): root `vars` / `layers` groups. */
export function isKeras3WeightsFile(file: H5File): boolean {
  const keys = file.root.keys();
  return keys.includes('vars') && (keys.includes('layers') || keys.includes('_layer_checkpoint_dependencies'));
}

/**
 * Loads a full Keras model saved with `model.save('x.h5')` (Keras 2.x, or Keras 3 with the legacy h5
 * format): architecture from `model_config`, weights from `model_weights`, matched by layer name with
 * shape checks. Accepts a path or the file's bytes.
 */
export async function loadKerasH5(source: H5Source): Promise<tf.LayersModel> {
  const file = openH5(source);
  const root = file.root;
  const version = root.stringAttr('keras_version');
  const config = root.jsonAttr('model_config');
  const weights = findKerasWeights(file);
  if (config === undefined) {
    if (isKeras3WeightsFile(file)) {
      throw new CnnvisError(
        `${file.label} holds only weights (a Keras 3 .weights.h5 file from save_weights: layers/…/vars groups, ` +
          `no architecture); cnnvis needs the whole model: save it with model.save('model.keras')`,
      );
    }
    if (weights) {
      throw new CnnvisError(
        `${file.label} holds only weights (saved with save_weights; no model_config attribute): build the ` +
          `architecture in code and use loadKerasWeightsH5(model, file)`,
      );
    }
    throw new CnnvisError(NOT_KERAS(file.label));
  }
  if (version && /^1\./.test(version)) {
    throw new CnnvisError(`${file.label} was saved by Keras ${version}; cnnvis reads files from Keras 2.x and 3.x`);
  }
  const model = await buildKerasModel(config, `${file.label}: model_config`, file.label, version);
  if (!weights) {
    model.dispose();
    throw new CnnvisError(`${file.label} has a Keras model_config but no model_weights group: it holds no weights`);
  }
  try {
    const report = assignKerasWeights(model, weights, { byName: true });
    if (report.ignoredInFile.length) {
      throw new CnnvisError(
        `${file.label}: model_weights has layers that model_config does not define: ${listChoices(report.ignoredInFile)}`,
      );
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
