/**
 * Model taps: run a model once and read any layers' outputs, on the model's engine (engine/engine.ts;
 * any topology: branches and skips included). Layer lookup and shapes by name.
 */
import * as tf from '@tensorflow/tfjs';
import { engineFor } from './engine';
import { CnnvisError, listChoices } from './errors';
import { aliasNames, resolveAlias } from './models/flatten';

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

/**
 * Runs the model once on a batch and returns each named layer's output plus the final output.
 * The caller owns (and must dispose) the returned tensors.
 */
export function runTaps(model: tf.LayersModel, input: tf.Tensor, layerNames: readonly string[]): { taps: tf.Tensor[]; output: tf.Tensor } {
  return engineFor(model).outputs(input as tf.Tensor4D, layerNames);
}

export { tapModel } from './engine/tfjs';
