/**
 * Model taps: run a TF.js layers model once and read any layers' outputs. Works on sequential and
 * functional graphs (branches, skips) because it builds a multi-output model over the same graph
 * instead of re-applying layers one by one. Where the ONNX Runtime engine compiles the model and every
 * tapped layer, the pass runs there (TF.js' own pass would also grow the wasm heap, which never
 * shrinks, by the model's activations).
 */
import * as tf from '@tensorflow/tfjs';
import { onEngine, toTensor } from './engine/onnx/net';
import { CnnvisError, listChoices } from './errors';
import { aliasNames, resolveAlias } from './models/flatten';
import { modelHead } from './models/head';

/** The layer with this name, or a CnnvisError that lists the valid names. */
export function getLayer(model: tf.LayersModel, name: string, modelName: string = model.name): tf.layers.Layer {
  const alias = resolveAlias(model, name);
  const layer = model.layers.find((l) => l.name === name) ?? (alias !== undefined ? model.layers.find((l) => l.name === alias) : undefined);
  if (!layer) {
    const names = [...model.layers.map((l) => l.name), ...aliasNames(model)];
    throw new CnnvisError(`unknown layer '${name}' in model '${modelName}'; layers: ${listChoices(names, 200)}`, names);
  }
  return layer;
}

/** Output shape of a layer without the batch dimension (first output for multi-output layers). */
export function layerOutputShape(layer: tf.layers.Layer): number[] {
  const s = layer.outputShape as (number | null)[] | (number | null)[][];
  const first = Array.isArray(s[0]) ? (s[0] as (number | null)[]) : (s as (number | null)[]);
  return first.slice(1).map((d) => (d === null ? -1 : d));
}

/** True when a layer outputs a spatial map [H, W, C] with H, W > 1 (conv-like). */
export function isSpatial(layer: tf.layers.Layer): boolean {
  const s = layerOutputShape(layer);
  return s.length === 3 && (s[0] > 1 || s[1] > 1);
}

/** Names of the layers whose output is a spatial map, in graph order. */
export function spatialLayerNames(model: tf.LayersModel): string[] {
  return model.layers.filter((l) => l.getClassName() !== 'InputLayer' && isSpatial(l)).map((l) => l.name);
}

const tapCache = new WeakMap<tf.LayersModel, Map<string, tf.LayersModel>>();

/**
 * A model over the same graph whose outputs are the named layers' outputs followed by the model's own
 * output(s). Cached per model and layer list; it shares weights with the original.
 */
export function tapModel(model: tf.LayersModel, layerNames: readonly string[]): tf.LayersModel {
  const key = layerNames.join('\u0000');
  let perModel = tapCache.get(model);
  if (!perModel) {
    perModel = new Map();
    tapCache.set(model, perModel);
  }
  const hit = perModel.get(key);
  if (hit) return hit;
  const tapped = layerNames.map((n) => getLayer(model, n).output as tf.SymbolicTensor);
  const finals = model.outputs;
  const m = tf.model({ inputs: model.inputs, outputs: [...tapped, ...finals] });
  perModel.set(key, m);
  return m;
}

/**
 * Runs the model once on a batch and returns each named layer's output plus the final output.
 * The caller owns (and must dispose) the returned tensors.
 */
export function runTaps(
  model: tf.LayersModel,
  input: tf.Tensor,
  layerNames: readonly string[],
): { taps: tf.Tensor[]; output: tf.Tensor } {
  const onOrt = onEngine(model, (ort) => {
    if (input.rank !== 4 || !layerNames.every((n) => ort.has(n))) return undefined;
    const fw = ort.forward(input as tf.Tensor4D, layerNames);
    const taps = layerNames.map((n) => toTensor(fw.get(n)));
    // The engine stops at the raw logits; the head's softmax / sigmoid gives the model's output.
    const output = tf.tidy(() => modelHead(model).activate(toTensor(fw.get(ort.logitsName))));
    return { taps, output };
  });
  if (onOrt) return onOrt;
  const m = tapModel(model, layerNames);
  const out = m.predict(input);
  const list = Array.isArray(out) ? out : [out];
  return { taps: list.slice(0, layerNames.length), output: list[layerNames.length] };
}
