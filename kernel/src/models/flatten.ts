/**
 * One graph of named layers, whatever the model: a Sequential model, or a model with models inside it
 * (transfer learning: a base model used as a layer; Teachable Machine: Sequential ▸ Sequential ▸
 * functional base + Sequential head), becomes one functional tf.LayersModel whose layers are the leaf
 * layers of every level. Everything after loading (taps, the CAM family, the engine, the summary) then
 * sees every inner layer by name.
 *
 * Each leaf layer is re-created from its config and applied once in the new graph; its weight
 * variables are the original layer's own (shared, not copied), so training or setWeights on the
 * original model shows in the flat one. Names stay as they are unless two leaves share one; those
 * nested inside a model are then qualified with the path of model names (`base_model/conv1`).
 *
 * A model whose input has unknown height or width is rebuilt at a concrete size here too, so that
 * every layer has a known output shape (spatial layers, the engine's graphs).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';

type Sym = tf.SymbolicTensor;

/** Where a flat layer came from. */
export interface FlatLayerInfo {
  /** Names of the models that enclosed it, outermost first (empty for a top-level layer). */
  path: string[];
  /** The layer's own name in its model. */
  original: string;
}

export interface Flattened {
  net: tf.LayersModel;
  /** True when the model was rebuilt (Sequential, nested or resized); false when `net` is the input. */
  rebuilt: boolean;
  /** Per flat layer name: its enclosing models and original name. */
  layers: Map<string, FlatLayerInfo>;
  /** Other names a layer answers to (qualified paths, a nested model's name → its output layer). */
  aliases: Map<string, string>;
  /** Names of nested models in order of appearance, with their depth (for an indented summary). */
  models: Array<{ name: string; path: string[]; className: string }>;
}

export interface FlattenOptions {
  /** Input [height, width] for a model whose input size is unknown. */
  size?: [number, number];
}

const isModel = (l: tf.layers.Layer): l is tf.LayersModel => Array.isArray((l as unknown as { layers?: unknown }).layers);

/** True when a model needs rebuilding: Sequential, a model inside, or an input of unknown size. */
export function needsFlattening(net: tf.LayersModel, opts: FlattenOptions = {}): boolean {
  if (net.getClassName() === 'Sequential') return true;
  if (net.layers.some(isModel)) return true;
  const shape = net.inputs[0]?.shape ?? [];
  return opts.size !== undefined && shape.length === 4 && (shape[1] === null || shape[2] === null);
}

/** Leaf layers with their model paths, in graph order of each model. */
function collectLeaves(net: tf.LayersModel, path: string[], out: Array<{ layer: tf.layers.Layer; path: string[] }>, models: Flattened['models']): void {
  for (const l of net.layers) {
    if (isModel(l)) {
      models.push({ name: l.name, path, className: l.getClassName() });
      collectLeaves(l, [...path, l.name], out, models);
    } else if (l.getClassName() !== 'InputLayer') {
      out.push({ layer: l, path });
    }
  }
}

/** Config keys that would build another weight or input (the clone's weights are replaced anyway). */
function cloneConfig(layer: tf.layers.Layer, name: string): tf.serialization.ConfigDict {
  const cfg = { ...layer.getConfig(), name } as Record<string, unknown>;
  delete cfg.batchInputShape;
  delete cfg.inputShape;
  delete cfg.batchSize;
  for (const k of Object.keys(cfg)) {
    // Zeros: random initializers are slow for large layers, and the values are replaced below.
    if (/Initializer$/.test(k) && cfg[k] !== null && cfg[k] !== undefined) cfg[k] = { className: 'Zeros', config: {} };
  }
  return cfg as tf.serialization.ConfigDict;
}

type Weights = { _trainableWeights: unknown[]; _nonTrainableWeights: unknown[] };

/**
 * Makes `clone` use `original`'s weight variables: every field of the clone that holds one of its own
 * variables, and its weight lists, point to the original's variable at the same position. Falls back
 * to copying the values when the layouts differ.
 */
function shareWeights(clone: tf.layers.Layer, original: tf.layers.Layer): void {
  const mine = clone.weights;
  const theirs = original.weights;
  if (mine.length === 0 && theirs.length === 0) return;
  const sameShapes = mine.length === theirs.length && mine.every((v, i) => v.shape.length === theirs[i].shape.length && v.shape.every((d, k) => d === theirs[i].shape[k]));
  if (!sameShapes) {
    throw new CnnvisError(`layer '${original.name}' (${original.getClassName()}) rebuilds with different weights (${mine.map((v) => `[${v.shape}]`).join(' ')} vs ${theirs.map((v) => `[${v.shape}]`).join(' ')})`);
  }
  const obj = clone as unknown as Record<string, unknown> & Weights;
  const fields = mine.map((v) => Object.keys(obj).filter((k) => obj[k] === v));
  if (fields.some((f) => f.length === 0)) {
    // A layer that keeps a weight where we cannot see it: copy the values (a snapshot, not shared).
    clone.setWeights(original.getWeights());
    return;
  }
  const swap = new Map<unknown, unknown>(mine.map((v, i) => [v, theirs[i]]));
  fields.forEach((keys, i) => keys.forEach((k) => (obj[k] = theirs[i])));
  obj._trainableWeights = obj._trainableWeights.map((v) => swap.get(v) ?? v);
  obj._nonTrainableWeights = obj._nonTrainableWeights.map((v) => swap.get(v) ?? v);
  for (const v of mine) (v as unknown as { dispose(): void }).dispose();
}

/**
 * The flat functional model of `net`. Returns `net` itself (rebuilt: false) when it is already a flat
 * functional model of known input size.
 */
export function flattenModel(net: tf.LayersModel, opts: FlattenOptions = {}): Flattened {
  const leaves: Array<{ layer: tf.layers.Layer; path: string[] }> = [];
  const models: Flattened['models'] = [];
  collectLeaves(net, [], leaves, models);
  const layers = new Map<string, FlatLayerInfo>();
  const aliases = new Map<string, string>();
  if (!needsFlattening(net, opts)) {
    for (const { layer } of leaves) layers.set(layer.name, { path: [], original: layer.name });
    return { net, rebuilt: false, layers, aliases, models };
  }
  if (net.inputs.length !== 1) {
    throw new CnnvisError(`model '${net.name}' has ${net.inputs.length} inputs; cnnvis explains models with one image input`);
  }

  // Flat names: a leaf keeps its name unless another leaf has it too; nested ones are then qualified.
  const count = new Map<string, number>();
  for (const { layer } of leaves) count.set(layer.name, (count.get(layer.name) ?? 0) + 1);
  const taken = new Set<string>();
  const flatName = new Map<tf.layers.Layer, string>();
  for (const { layer, path } of leaves) {
    if (flatName.has(layer)) continue;
    let name = count.get(layer.name) === 1 || path.length === 0 ? layer.name : [...path, layer.name].join('/');
    for (let k = 2; taken.has(name); k++) name = `${layer.name}_${k}`;
    taken.add(name);
    flatName.set(layer, name);
    layers.set(name, { path, original: layer.name });
    // Every qualified form names it: the full path and each shorter tail of it (`model1/out_relu`).
    const full = [...path, layer.name];
    for (let k = 0; k < full.length - 1; k++) {
      const alias = full.slice(k).join('/');
      if (alias !== name && !count.has(alias)) aliases.set(alias, aliases.has(alias) && aliases.get(alias) !== name ? '' : name);
    }
  }
  for (const [k, v] of [...aliases]) if (v === '') aliases.delete(k); // a tail shared by two layers names neither

  const clones = new Map<tf.layers.Layer, tf.layers.Layer>();
  const cloneOf = (layer: tf.layers.Layer): tf.layers.Layer => {
    let c = clones.get(layer);
    if (!c) {
      const Ctor = layer.constructor as new (cfg: tf.serialization.ConfigDict) => tf.layers.Layer;
      c = new Ctor(cloneConfig(layer, flatName.get(layer) ?? layer.name));
      clones.set(layer, c);
    }
    return c;
  };
  const built = new Set<tf.layers.Layer>();

  const inShape = net.inputs[0].shape;
  const size = opts.size;
  const batchShape = [null, inShape[1] ?? size?.[0] ?? null, inShape[2] ?? size?.[1] ?? null, ...inShape.slice(3)];
  const input = tf.input({ batchShape, name: net.inputLayers?.[0]?.name ?? 'input', dtype: net.inputs[0].dtype });

  /** Applies model `m` to flat inputs: every node of its graph, leaf layers as clones. */
  const expand = (m: tf.LayersModel, inputs: Sym[], path: string[]): Sym[] => {
    const env = new Map<number, Sym>();
    m.inputs.forEach((x, i) => env.set(x.id, inputs[i]));
    const flatOf = (t: Sym): Sym => {
      const hit = env.get(t.id);
      if (hit) return hit;
      const layer = t.sourceLayer as tf.layers.Layer;
      const node = layer.inboundNodes.find((n) => n.outputTensors.includes(t));
      if (!node || layer.getClassName() === 'InputLayer') {
        throw new CnnvisError(`model '${m.name}': tensor '${t.name}' of layer '${layer.name}' is not reached from the model's input`);
      }
      const ins = node.inputTensors.map(flatOf);
      let outs: Sym[];
      if (isModel(layer)) {
        outs = expand(layer, ins, [...path, layer.name]);
      } else {
        const clone = cloneOf(layer);
        const y = clone.apply(ins.length === 1 ? ins[0] : ins);
        outs = Array.isArray(y) ? (y as Sym[]) : [y as Sym];
        if (!built.has(layer)) {
          built.add(layer);
          shareWeights(clone, layer);
        }
      }
      node.outputTensors.forEach((o, k) => env.set(o.id, outs[k]));
      const out = env.get(t.id);
      if (!out) throw new CnnvisError(`model '${m.name}': layer '${layer.name}' gave fewer outputs than it declares`);
      return out;
    };
    return m.outputs.map(flatOf);
  };

  const outputs = expand(net, [input], []);
  // A nested model's name (and its path) stands for the leaf layer that computes its output.
  const producer = (m: tf.LayersModel): tf.layers.Layer | undefined => {
    let t: Sym | undefined = m.outputs[0];
    for (let hops = 0; t && hops < 64; hops++) {
      const src = t.sourceLayer as tf.layers.Layer;
      if (!isModel(src)) return src;
      const node = src.inboundNodes.find((n) => n.outputTensors.includes(t as Sym));
      t = node ? src.outputs[node.outputTensors.indexOf(t)] : src.outputs[0];
    }
    return undefined;
  };
  const walkModels = (m: tf.LayersModel, path: string[]): void => {
    for (const l of m.layers) {
      if (!isModel(l)) continue;
      const leaf = producer(l);
      const target = leaf ? flatName.get(leaf) : undefined;
      if (target) {
        for (const alias of [l.name, [...path, l.name].join('/')]) if (!layers.has(alias) && !aliases.has(alias)) aliases.set(alias, target);
      }
      walkModels(l, [...path, l.name]);
    }
  };
  walkModels(net, []);
  const flat = tf.model({ inputs: input, outputs: outputs.length === 1 ? outputs[0] : outputs, name: net.name });
  return { net: flat, rebuilt: true, layers, aliases, models };
}

/** Other names each flat model's layers answer to (see getLayer in taps.ts). */
const aliasRegistry = new WeakMap<tf.LayersModel, Map<string, string>>();

export function registerAliases(f: Flattened): void {
  if (f.aliases.size) aliasRegistry.set(f.net, f.aliases);
}

/** The flat layer name an alias (a qualified path `base/conv1`, a nested model's name) stands for. */
export function resolveAlias(net: tf.LayersModel, name: string): string | undefined {
  return aliasRegistry.get(net)?.get(name);
}

/** Every alias of a flat model (for error messages listing valid names). */
export function aliasNames(net: tf.LayersModel): string[] {
  return [...(aliasRegistry.get(net)?.keys() ?? [])];
}

/** A layer name as the flat model knows it: an alias resolved, any other name unchanged. */
export function canonicalLayer(net: tf.LayersModel, name: string): string {
  return resolveAlias(net, name) ?? name;
}
