/**
 * Keras 3 `.keras` archives (Keras' default save format since 2023; `model.save('x.keras')`): a zip with
 *
 * - `config.json`: the model, serialized by Keras 3 (`module`, `registered_name`, `build_config`,
 *   DTypePolicy dtypes, `batch_shape`, inbound nodes as {args, kwargs}; nested models inside);
 * - `metadata.json`: `keras_version`, `date_saved`;
 * - `model.weights.h5`: the weights, not keyed by layer names but by where Keras' saver found each
 *   layer: a model's layers are the list `layers`, and each layer in a list is named after its class in
 *   snake_case with a counter per class (`conv2d`, `conv2d_1`, …, `batch_normalization`), so the
 *   second Conv2D of the top model is `layers/conv2d_1/vars/0` (kernel), `…/vars/1` (bias), and a nested
 *   model's layers are under its own path (`layers/sequential/layers/rescaling/vars`). Each `vars` group
 *   holds the layer's variables in creation order (trainable ones first), named '0', '1', …; Keras ≥ 3.10
 *   also writes the layer's name as the group's `name` attribute, which is checked when present.
 *   Files written by tf.keras 2.13–2.15 use `_layer_checkpoint_dependencies` where Keras 3 writes `layers`.
 *
 * The zip is read with fflate, the HDF5 part with the project's HDF5 reader.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { CnnvisError, listChoices } from '../errors';
import { H5Dataset, H5File, H5Group, openH5 } from './hdf5';
import { buildKerasModel } from './keras';
import { writeLayerWeights } from './writeWeights';

export const CONFIG_FILE = 'config.json';
export const METADATA_FILE = 'metadata.json';
export const WEIGHTS_FILE = 'model.weights.h5';
const WEIGHTS_NPZ = 'model.weights.npz';

/** The bytes a zip file starts with ("PK\x03\x04"), and an empty zip ("PK\x05\x06"). */
export const ZIP_SIGNATURE: readonly number[] = [0x50, 0x4b, 0x03, 0x04];
const EMPTY_ZIP_SIGNATURE: readonly number[] = [0x50, 0x4b, 0x05, 0x06];

/** Largest config.json / metadata.json accepted (a real config is a few MB at most). */
const MAX_JSON_BYTES = 256 * 1024 * 1024;

export function startsWith(bytes: Uint8Array, sig: readonly number[]): boolean {
  return bytes.byteLength >= sig.length && sig.every((b, i) => bytes[i] === b);
}

/** True for the bytes of a zip archive (including an empty one). */
export function isZip(bytes: Uint8Array): boolean {
  return startsWith(bytes, ZIP_SIGNATURE) || startsWith(bytes, EMPTY_ZIP_SIGNATURE);
}

/** The parts of a `.keras` archive. */
export interface KerasArchive {
  /** How errors name the file: "'path'". */
  label: string;
  /** Every entry name of the zip. */
  entries: string[];
  /** config.json, parsed. */
  config: unknown;
  /** metadata.json, parsed ({} when absent). */
  metadata: { keras_version?: string; [k: string]: unknown };
  /** model.weights.h5's bytes. */
  weights: Uint8Array;
}

/** What a zip that is not a Keras archive holds, when it is easy to tell. */
function otherZip(names: string[]): string {
  const has = (re: RegExp) => names.some((n) => re.test(n));
  if (has(/(^|\/)data\.pkl$/)) return 'a PyTorch checkpoint (torch.save); cnnvis reads Keras and TF.js models: export it to Keras or TF.js first';
  if (has(/(^|\/)model\.json$/)) return 'a zipped TF.js model: unzip it and pass the folder with model.json';
  if (has(/(^|\/)saved_model\.pbt?x?t?$/)) return 'a zipped TensorFlow SavedModel: load it in Keras and save it with model.save(\'model.keras\')';
  if (has(/\.(keras|h5|hdf5)$/i)) return 'a zip that contains a model file: unzip it and pass that file';
  return `a zip archive but not a Keras model archive (a .keras file has ${CONFIG_FILE}, ${METADATA_FILE} and ${WEIGHTS_FILE})`;
}

function parseJsonEntry(bytes: Uint8Array, label: string, entry: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8').decode(bytes));
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).replace(/[^\x20-\x7e]+/g, ' ').slice(0, 120);
    throw new CnnvisError(`${label}: ${entry} in the Keras archive is not valid JSON (${why})`);
  }
}

/** Reads a `.keras` archive's parts; a CnnvisError says what the file is when it is not one. */
export function readKerasArchive(source: string | Uint8Array, name?: string): KerasArchive {
  let bytes: Uint8Array;
  let label: string;
  if (typeof source === 'string') {
    label = `'${name ?? source}'`;
    if (!fs.existsSync(source)) throw new CnnvisError(`${label} does not exist`);
    bytes = fs.readFileSync(source);
  } else {
    label = name ? `'${name}'` : 'the .keras bytes';
    bytes = source;
  }
  if (!isZip(bytes)) throw new CnnvisError(`${label} is not a Keras 3 .keras archive: it is not a zip file`);
  const entries: string[] = [];
  const wanted = new Set([CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE]);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        entries.push(f.name);
        if (!wanted.has(f.name)) return false;
        if (f.name !== WEIGHTS_FILE && f.originalSize > MAX_JSON_BYTES) {
          throw new CnnvisError(`${label}: ${f.name} in the Keras archive is ${f.originalSize} bytes, far more than a model config`);
        }
        return true;
      },
    });
  } catch (e) {
    if (e instanceof CnnvisError) throw e;
    const why = (e instanceof Error ? e.message : String(e)).replace(/[^\x20-\x7e]+/g, ' ').slice(0, 80);
    throw new CnnvisError(`${label} is a zip archive that cannot be read (${why}): the file is truncated or corrupt`);
  }
  if (!files[CONFIG_FILE]) {
    if (entries.length === 0) throw new CnnvisError(`${label} is an empty zip archive, not a Keras model`);
    throw new CnnvisError(`${label} is ${otherZip(entries)}; it holds: ${listChoices(entries, 8)}`);
  }
  if (!files[WEIGHTS_FILE]) {
    if (entries.includes(WEIGHTS_NPZ)) {
      throw new CnnvisError(`${label} stores its weights as ${WEIGHTS_NPZ}, which cnnvis cannot read: save the model with the default weights format (h5)`);
    }
    throw new CnnvisError(`${label} is a Keras archive without ${WEIGHTS_FILE}: it holds no weights (it has: ${listChoices(entries, 8)})`);
  }
  const config = parseJsonEntry(files[CONFIG_FILE], label, CONFIG_FILE);
  const metadata = files[METADATA_FILE] ? parseJsonEntry(files[METADATA_FILE], label, METADATA_FILE) : {};
  return {
    label,
    entries,
    config,
    metadata: (metadata && typeof metadata === 'object' ? metadata : {}) as KerasArchive['metadata'],
    weights: files[WEIGHTS_FILE],
  };
}

// ---------------------------------------------------------------------------------------------------
// Weights: walking the config the way Keras' saver walked the model

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** Keras' snake_case of a class name: Conv2D → conv2d, BatchNormalization → batch_normalization, ReLU → re_lu. */
export function kerasSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The Python class a config entry was saved from (a functional model is a `Functional`). */
function pythonClass(entry: Obj): string {
  const cls = String(entry.class_name);
  return cls === 'Model' ? 'Functional' : cls;
}

function entryName(entry: Obj): string {
  if (isObj(entry.config) && typeof entry.config.name === 'string') return entry.config.name;
  return typeof entry.name === 'string' ? entry.name : '?';
}

function modelLayers(entry: Obj): Obj[] {
  const cfg = entry.config;
  const layers = Array.isArray(cfg) ? cfg : isObj(cfg) ? cfg.layers : undefined;
  return Array.isArray(layers) ? layers.filter(isObj) : [];
}

/** What loading the weights did. */
export interface Keras3WeightsReport {
  /** Model layer (qualified outer/inner) ← h5 group, for every layer that has weights. */
  loaded: Array<{ layer: string; from: string; weights: number }>;
}

class WeightsReader {
  private readonly used = new Set<string>();
  private readonly prefix: 'layers' | '_layer_checkpoint_dependencies';
  /** vars groups by their `name` attribute (Keras ≥ 3.10), for files whose paths do not match. */
  private byName?: Map<string, string[]>;

  constructor(
    private readonly file: H5File,
    private readonly label: string,
  ) {
    const keys = file.root.keys();
    this.prefix = !keys.includes('layers') && keys.includes('_layer_checkpoint_dependencies') ? '_layer_checkpoint_dependencies' : 'layers';
  }

  private group(p: string): H5Group | undefined {
    const g = this.file.root.child(p);
    return g instanceof H5Group ? g : undefined;
  }

  /** Every `vars` group under `under` with its `name` attribute. */
  private indexNames(): Map<string, string[]> {
    if (this.byName) return this.byName;
    const map = new Map<string, string[]>();
    const visit = (g: H5Group, p: string, depth: number) => {
      if (depth > 64) return;
      for (const k of g.keys()) {
        if (p === '' && k === 'optimizer') continue;
        const child = g.child(k);
        if (!(child instanceof H5Group)) continue;
        const cp = p ? `${p}/${k}` : k;
        if (k === 'vars') {
          const n = child.attr('name');
          if (typeof n === 'string') map.set(n, [...(map.get(n) ?? []), cp]);
        } else visit(child, cp, depth + 1);
      }
    };
    visit(this.file.root, '', 0);
    this.byName = map;
    return map;
  }

  /** The `vars` group of the layer Keras saved at `at` (e.g. 'layers/conv2d_1'), checked against its name. */
  private varsFor(at: string, layerName: string): { path: string; group?: H5Group } {
    const p = `${at}/vars`;
    const g = this.group(p);
    const saved = g?.attr('name');
    if (g && (typeof saved !== 'string' || saved === layerName)) return { path: p, group: g };
    // The path holds another layer, or nothing: Keras ≥ 3.10 files name each group; use that.
    const candidates = (this.indexNames().get(layerName) ?? []).filter((c) => !this.used.has(c));
    if (candidates.length === 1) return { path: candidates[0], group: this.group(candidates[0]) };
    return { path: p, group: g && typeof saved !== 'string' ? g : undefined };
  }

  private datasets(g: H5Group | undefined): H5Dataset[] {
    if (!g) return [];
    const keys = g.keys().filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b));
    return keys.map((k, i) => {
      if (Number(k) !== i) throw new CnnvisError(`${this.label}: ${g.path} has variables ${keys.join(', ')}; expected 0, 1, … without gaps`);
      const d = g.child(k);
      if (!(d instanceof H5Dataset)) throw new CnnvisError(`${this.label}: ${g.path}/${k} is a group, not a variable`);
      const dt = this.file.guard(`read the attributes of ${d.path}`, () => d.raw.attrs.dtype);
      if ((dt instanceof Uint8Array ? new TextDecoder().decode(dt) : String(dt ?? '')).startsWith('bfloat16')) {
        throw new CnnvisError(`${this.label}: ${g.path}/${k} is stored as bfloat16, which cnnvis cannot read: save the model in float32`);
      }
      return d;
    });
  }

  /** Loads one leaf layer's variables. */
  private loadLayer(layer: tf.layers.Layer, cls: string, at: string, qualified: string, report: Keras3WeightsReport): void {
    const { path: p, group } = this.varsFor(at, layer.name);
    const data = this.datasets(group);
    const mw = layer.weights;
    if (mw.length === 0 && data.length === 0) return;
    if (mw.length !== data.length) {
      const where = group ? `${p} holds ${data.length}` : `the file has no ${p} group`;
      throw new CnnvisError(
        `${this.label}: layer '${qualified}' (${cls}) has ${mw.length} weights in TF.js ` +
          `(${mw.map((w) => w.originalName.split('/').pop()).join(', ') || 'none'}) but ${where} in ${WEIGHTS_FILE}`,
      );
    }
    data.forEach((d, i) => {
      const want = mw[i].shape as number[];
      const have = d.shape;
      if (want.length !== have.length || want.some((x, k) => x !== have[k])) {
        throw new CnnvisError(
          `${this.label}: layer '${qualified}' (${cls}) weight ${i} (${mw[i].originalName.split('/').pop()}) has shape ` +
            `[${have.join(',')}] in ${p} but the model expects [${want.join(',')}]`,
        );
      }
    });
    writeLayerWeights(layer, data.map((d) => d.toFloat32()));
    this.used.add(p);
    report.loaded.push({ layer: qualified, from: p, weights: data.length });
  }

  /** Loads a model's layers: `entry` is its config entry, `at` its path in the file ('' for the top model). */
  loadModel(model: tf.LayersModel, entry: Obj, at: string, qualifier: string, report: Keras3WeightsReport): void {
    const counters = new Map<string, number>();
    for (const child of modelLayers(entry)) {
      const cls = pythonClass(child);
      const snake = kerasSnakeCase(cls);
      const n = counters.get(snake);
      counters.set(snake, n === undefined ? 0 : n + 1);
      const key = n === undefined ? snake : `${snake}_${n + 1}`;
      if (cls === 'InputLayer') continue;
      const name = entryName(child);
      let layer: tf.layers.Layer;
      try {
        layer = model.getLayer(name);
      } catch {
        throw new CnnvisError(`${this.label}: config layer '${qualifier}${name}' (${cls}) is not in the model TF.js built`);
      }
      const childAt = at ? `${at}/${this.prefix}/${key}` : `${this.prefix}/${key}`;
      if (MODEL_CLASSES.has(String(child.class_name)) && layer instanceof tf.LayersModel) {
        this.loadModel(layer, child, childAt, `${qualifier}${name}/`, report);
      } else {
        this.loadLayer(layer, cls, childAt, `${qualifier}${name}`, report);
      }
    }
  }

  /** `layers/<x>/vars` groups with variables that no layer took. */
  unused(): string[] {
    const out: string[] = [];
    const visit = (g: H5Group, p: string, depth: number) => {
      if (depth > 64) return;
      for (const k of g.keys()) {
        const child = g.child(k);
        if (!(child instanceof H5Group)) continue;
        const cp = p ? `${p}/${k}` : k;
        if (k === 'vars') {
          if (/(^|\/)(layers|_layer_checkpoint_dependencies)\/[^/]+\/vars$/.test(cp) && !this.used.has(cp) && child.keys().length > 0) out.push(cp);
        } else if (!(p === '' && k === 'optimizer')) visit(child, cp, depth + 1);
      }
    };
    visit(this.file.root, '', 0);
    return out;
  }
}

/**
 * Loads a Keras 3 weights file (an archive's model.weights.h5, or `save_weights('x.weights.h5')`) onto
 * `model`, built from `config` (the Keras config the file belongs to). Checks counts and shapes, and
 * that every layer's weights in the file were used.
 */
export function assignKeras3Weights(model: tf.LayersModel, config: unknown, file: H5File, label = file.label): Keras3WeightsReport {
  if (!isObj(config) || !MODEL_CLASSES.has(String(config.class_name))) {
    throw new CnnvisError(`${label}: ${CONFIG_FILE} does not describe a Sequential or functional model`);
  }
  const reader = new WeightsReader(file, label);
  const report: Keras3WeightsReport = { loaded: [] };
  reader.loadModel(model, config, '', '', report);
  const unused = reader.unused();
  if (unused.length) {
    throw new CnnvisError(`${label}: ${WEIGHTS_FILE} has weights that no layer of ${CONFIG_FILE} takes: ${listChoices(unused, 8)}`);
  }
  return report;
}

/**
 * Loads a Keras 3 `.keras` archive (a path or its bytes) as a TF.js model, with its weights.
 * Nested Sequential / functional models stay nested.
 */
export async function loadKeras3(source: string | Uint8Array, name?: string): Promise<tf.LayersModel> {
  const archive = readKerasArchive(source, name);
  const { label } = archive;
  const version = archive.metadata.keras_version;
  if (typeof version === 'string' && /^[01]\./.test(version)) {
    throw new CnnvisError(`${label} was saved by Keras ${version}; cnnvis reads .keras files from Keras 2.13+ and 3.x`);
  }
  const cfg = archive.config;
  if (!isObj(cfg) || !MODEL_CLASSES.has(String(cfg.class_name))) {
    const cls = isObj(cfg) ? String(cfg.class_name) : typeof cfg;
    throw new CnnvisError(
      `${label}: the archive's model class is '${cls}'; cnnvis loads Keras Sequential and functional models, not subclassed models`,
    );
  }
  const weightsLabel = `${label.replace(/'$/, '')}/${WEIGHTS_FILE}'`;
  const file = openH5(archive.weights, weightsLabel.replace(/^'|'$/g, ''));
  const model = await buildKerasModel(cfg, `${label}: ${CONFIG_FILE}`, label, typeof version === 'string' ? version : undefined);
  try {
    assignKeras3Weights(model, cfg, file, label);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
