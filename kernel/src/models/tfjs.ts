/**
 * Loads TF.js layers models (model.json + weight shards) from a folder, a model.json path or an
 * http(s) URL. Accepts shards with or without `.bin`, and old tfjs 0.x model.json files that have only
 * `modelTopology` and `weightsManifest` (no `format` key).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { checkJsonDepth, checkModelConfig } from './topology';
import './layerClasses';

interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

interface ModelJson {
  format?: string;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: ManifestGroup[];
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes a manifest entry occupies in the concatenated weight data. */
function entryBytes(e: tf.io.WeightsManifestEntry): number {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const q = e.quantization;
  const dt = q ? q.dtype : e.dtype;
  const size = DTYPE_BYTES[dt];
  if (size === undefined) throw new CnnvisError(`weight '${e.name}' has unsupported dtype '${dt}'`);
  return n * size;
}

export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** Resolves a folder or model.json path to the model.json path. */
export function resolveModelJson(source: string): string {
  if (!fs.existsSync(source)) throw new CnnvisError(`model not found: '${source}' does not exist`);
  const st = fs.statSync(source);
  const file = st.isDirectory() ? path.join(source, 'model.json') : source;
  if (!fs.existsSync(file)) {
    throw new CnnvisError(`no model.json in folder '${source}' (a TF.js layers model needs model.json and its weight shards)`);
  }
  return file;
}

function parseModelJson(text: string, where: string): ModelJson {
  let json: ModelJson;
  try {
    json = JSON.parse(text) as ModelJson;
  } catch (e) {
    // V8 quotes the text around the error: keep only printable characters, shortened.
    const why = (e as Error).message.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 120);
    throw new CnnvisError(`'${where}' is not valid JSON: ${why}`);
  }
  if (json === null || typeof json !== 'object' || typeof json.modelTopology !== 'object' || json.modelTopology === null) {
    const o = (json ?? {}) as Record<string, unknown>;
    if (typeof o.class_name === 'string' && 'config' in o) {
      throw new CnnvisError(`'${where}' is a Keras model config without weights (a .keras archive's config.json?): pass the whole .keras file`);
    }
    if ('tmVersion' in o || 'labels' in o) {
      throw new CnnvisError(`'${where}' is model metadata (labels), not the model: pass the model.json beside it, or its folder`);
    }
    throw new CnnvisError(`'${where}' is not a TF.js layers model: it has no 'modelTopology' object`);
  }
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new CnnvisError(
      `'${where}' has format '${String(json.format)}'; cnnvis loads layers models (format 'layers-model' or none)`,
    );
  }
  if (json.weightsManifest !== undefined && !Array.isArray(json.weightsManifest)) {
    throw new CnnvisError(`'${where}': 'weightsManifest' must be a list of {paths, weights}`);
  }
  checkJsonDepth(json, `'${where}'`);
  for (const g of json.weightsManifest ?? []) {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new CnnvisError(`'${where}': every weightsManifest group needs 'paths' and 'weights' lists`);
    }
    for (const p of g.paths) {
      if (typeof p !== 'string' || !p) throw new CnnvisError(`'${where}': weight shard path ${JSON.stringify(p)} is not a file name`);
    }
    for (const e of g.weights) checkManifestEntry(e, where);
  }
  const topology = json.modelTopology as Record<string, unknown>;
  checkModelConfig(topology.model_config ?? topology, `'${where}'`);
  return json;
}

/** One weightsManifest entry: a name, a shape of whole numbers ≥ 0 and a known dtype. */
function checkManifestEntry(e: unknown, where: string): void {
  const entry = e as Partial<tf.io.WeightsManifestEntry> | null;
  if (!entry || typeof entry !== 'object' || typeof entry.name !== 'string') {
    throw new CnnvisError(`'${where}': a weightsManifest entry has no name: ${JSON.stringify(e)?.slice(0, 80)}`);
  }
  const shape = entry.shape as unknown;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CnnvisError(`'${where}': weight '${entry.name}' has shape ${JSON.stringify(shape)?.slice(0, 80)}; a shape is a list of whole numbers ≥ 0`);
  }
  const dt = entry.quantization ? entry.quantization.dtype : entry.dtype;
  if (typeof dt !== 'string' || DTYPE_BYTES[dt] === undefined) {
    throw new CnnvisError(`'${where}': weight '${entry.name}' has unsupported dtype ${JSON.stringify(dt)}; valid: ${Object.keys(DTYPE_BYTES).join(', ')}`, Object.keys(DTYPE_BYTES));
  }
}

/** Builds the artifacts tfjs-layers needs, checking that the shards hold exactly the declared weights. */
function toArtifacts(json: ModelJson, shards: Uint8Array[], where: string): tf.io.ModelArtifacts {
  const weightSpecs = (json.weightsManifest ?? []).flatMap((g) => g.weights);
  const total = shards.reduce((a, s) => a + s.byteLength, 0);
  const expected = weightSpecs.reduce((a, e) => a + entryBytes(e), 0);
  if (total !== expected) {
    throw new CnnvisError(
      `'${where}': the weight shards hold ${total} bytes but the manifest declares ${expected} bytes ` +
        `(${weightSpecs.length} weights); a shard is truncated or belongs to another model`,
    );
  }
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const s of shards) {
    weightData.set(s, off);
    off += s.byteLength;
  }
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData: weightData.buffer,
    format: 'layers-model',
  };
}

/**
 * The error for a topology TF.js cannot build because of an unknown class: names the class and the
 * layers using it (found in `topology`). Null when `msg` is not about an unknown class.
 */
export function unsupportedClassError(msg: string, topology: unknown, where: string): CnnvisError | null {
  const unknown = /Unknown (layer|constraint|initializer|regularizer|activation)[^.:]*[:.]?\s*([^.\n]*)/i.exec(msg);
  if (!unknown) return null;
  const cls = unknown[2].trim().split(/\s+/)[0] ?? '';
  const users: string[] = [];
  const walk = (v: unknown, depth: number, layer: string | null): void => {
    if (depth > 200 || users.length >= 10 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1, layer));
    const o = v as Record<string, unknown>;
    const cfg = o.config as Record<string, unknown> | undefined;
    const name = typeof o.name === 'string' ? o.name : typeof cfg?.name === 'string' ? cfg.name : null;
    const here = Array.isArray(o.inbound_nodes) && name ? name : layer;
    if (o.class_name === cls && here && !users.includes(here)) users.push(here);
    for (const x of Object.values(o)) walk(x, depth + 1, here);
  };
  if (cls) walk(topology, 0, null);
  const used = users.length ? ` (in layer ${users.map((u) => `'${u}'`).join(', ')})` : '';
  return new CnnvisError(`'${where}' uses ${unknown[0].trim()}${used}, which TF.js layers does not support`);
}

async function fromArtifacts(artifacts: tf.io.ModelArtifacts, where: string): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel({ load: async () => artifacts });
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    const unsupported = unsupportedClassError(msg, artifacts.modelTopology, where);
    if (unsupported) throw unsupported;
    if (/shape mismatch/i.test(msg)) {
      const which = await wrongShape(artifacts);
      if (which) throw new CnnvisError(`'${where}': ${which}; the manifest does not fit the model topology`);
    }
    throw new CnnvisError(`'${where}' could not be built as a TF.js layers model: ${msg.split('\n')[0]}`);
  }
}

/** Which manifest weight has a shape the topology does not expect (builds the model without weights). */
async function wrongShape(artifacts: tf.io.ModelArtifacts): Promise<string | undefined> {
  let net: tf.LayersModel;
  try {
    net = await tf.models.modelFromJSON({ modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'] });
  } catch {
    return undefined;
  }
  try {
    const expected = new Map(net.weights.map((w) => [w.originalName, w.shape]));
    for (const spec of artifacts.weightSpecs ?? []) {
      const want = expected.get(spec.name);
      if (want && (want.length !== spec.shape.length || want.some((d, i) => d !== spec.shape[i]))) {
        return `weight '${spec.name}' has shape [${spec.shape.join(', ')}] in the weightsManifest but its layer expects [${want.join(', ')}]`;
      }
    }
    return undefined;
  } finally {
    net.dispose();
  }
}

/** Reads the model.json + shards from disk. */
export async function readArtifactsFromFile(modelJsonPath: string): Promise<tf.io.ModelArtifacts> {
  const json = parseModelJson(fs.readFileSync(modelJsonPath, 'utf8'), modelJsonPath);
  const dir = path.dirname(modelJsonPath);
  const shards: Uint8Array[] = [];
  for (const g of json.weightsManifest ?? []) {
    for (const p of g.paths) {
      const file = path.resolve(dir, p);
      const rel = path.relative(dir, file);
      if (path.isAbsolute(p) || rel.startsWith('..') || path.isAbsolute(rel)) {
        throw new CnnvisError(`'${modelJsonPath}' lists weight shard '${p}' outside its folder; shard paths must stay inside ${dir}`);
      }
      if (!fs.existsSync(file)) {
        throw new CnnvisError(`'${modelJsonPath}' lists weight shard '${p}', which is missing (expected at ${file})`);
      }
      if (!fs.statSync(file).isFile()) {
        throw new CnnvisError(`'${modelJsonPath}' lists weight shard '${p}', but ${file} is not a file`);
      }
      shards.push(new Uint8Array(fs.readFileSync(file)));
    }
  }
  return toArtifacts(json, shards, modelJsonPath);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new CnnvisError(`could not download ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new CnnvisError(`could not download ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Reads the model.json + shards over http(s); shard paths are relative to the model.json URL. */
export async function readArtifactsFromUrl(url: string): Promise<tf.io.ModelArtifacts> {
  const text = new TextDecoder().decode(await fetchBytes(url));
  const json = parseModelJson(text, url);
  const shards: Uint8Array[] = [];
  for (const g of json.weightsManifest ?? []) {
    for (const p of g.paths) shards.push(await fetchBytes(new URL(p, url).toString()));
  }
  return toArtifacts(json, shards, url);
}

/** Loads a TF.js layers model from a folder, a model.json path or an http(s) URL. */
export async function loadTfjsLayersModel(source: string): Promise<tf.LayersModel> {
  if (isUrl(source)) return fromArtifacts(await readArtifactsFromUrl(source), source);
  const file = resolveModelJson(source);
  return fromArtifacts(await readArtifactsFromFile(file), file);
}
