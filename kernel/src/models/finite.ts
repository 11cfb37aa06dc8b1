/**
 * NaN and Inf in a model's weights, found before they turn every result into NaN.
 *
 * `assertFiniteWeights` runs once per pipeline call (from prepareInput, the stage every image method
 * goes through). It is cheap: each weight variable is checked once — one sum per weight, read back in
 * one transfer — and remembered until its value changes (setWeights gives a variable new data), so a
 * repeated call on an unchanged model only compares object identities. Only when a sum is not finite
 * are that weight's NaN and Inf values counted, for the error message.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError, listChoices } from '../errors';

/** A weight holding NaN or Inf values. */
export interface NonFiniteWeight {
  layer: string;
  weight: string;
  nan: number;
  inf: number;
  size: number;
}

/** Per variable: the data it had when it was last found finite. */
const verified = new WeakMap<tf.LayerVariable, object>();

function dataOf(v: tf.LayerVariable): object {
  return v.read().dataId;
}

/** Forgets that `v` was found finite (its values were changed in place, keeping their data). */
export function forgetFiniteCheck(v: tf.LayerVariable): void {
  verified.delete(v);
}

/** The weights of `net` that hold NaN or Inf values, with the layer each belongs to. */
export function nonFiniteWeights(net: tf.LayersModel): NonFiniteWeight[] {
  return nonFiniteIn(net.layers);
}

/** The weights of `layers` (not yet verified for their current data) that hold NaN or Inf values. */
function nonFiniteIn(layers: readonly tf.layers.Layer[]): NonFiniteWeight[] {
  const todo: { layer: string; v: tf.LayerVariable }[] = [];
  const seen = new Set<tf.LayerVariable>();
  for (const layer of layers) {
    for (const v of layer.weights) {
      if (seen.has(v)) continue; // shared weights are checked once
      seen.add(v);
      if (verified.get(v) !== dataOf(v)) todo.push({ layer: layer.name, v });
    }
  }
  if (!todo.length) return [];
  // Float weights only: integer and bool variables cannot hold NaN or Inf.
  const floats = todo.filter((t) => t.v.dtype === 'float32');
  const sums = floats.length
    ? tf.tidy(() => tf.stack(floats.map((t) => tf.sum(t.v.read()))).dataSync())
    : new Float32Array(0);
  const bad: NonFiniteWeight[] = [];
  const badVars = new Set<tf.LayerVariable>();
  floats.forEach((t, i) => {
    if (Number.isFinite(sums[i])) return;
    const [nan, inf] = tf.tidy(() => {
      const x = t.v.read();
      return [tf.sum(tf.cast(tf.isNaN(x), 'int32')), tf.sum(tf.cast(tf.isInf(x), 'int32'))].map((s) => s.dataSync()[0]);
    });
    // A finite tensor whose sum overflowed is fine.
    if (nan + inf === 0) return;
    bad.push({ layer: t.layer, weight: t.v.originalName, nan, inf, size: t.v.read().size });
    badVars.add(t.v);
  });
  for (const t of todo) if (!badVars.has(t.v)) verified.set(t.v, dataOf(t.v));
  return bad;
}

function describe(b: NonFiniteWeight): string {
  const parts = [b.nan ? `${b.nan} NaN` : '', b.inf ? `${b.inf} Inf` : ''].filter(Boolean).join(' and ');
  return `layer '${b.layer}' (weight '${b.weight}': ${parts} of ${b.size} values)`;
}

function nonFiniteError(bad: NonFiniteWeight[], modelName: string, consequence: string): CnnvisError {
  return new CnnvisError(
    `model '${modelName}' has NaN or Inf weights in ${listChoices(bad.map(describe), 10)}; ` +
      `${consequence} — reload or retrain the model, or fix those weights`,
    bad.map((b) => b.layer),
  );
}

/**
 * Throws a CnnvisError naming the layers whose weights hold NaN or Inf; every output of such a model
 * would be NaN. `modelName` names the model in the message.
 */
export function assertFiniteWeights(net: tf.LayersModel, modelName: string = net.name): void {
  const bad = nonFiniteWeights(net);
  if (bad.length) throw nonFiniteError(bad, modelName, 'its outputs would be NaN');
}

/**
 * Throws a CnnvisError naming the weight when one of `layer`'s weights holds NaN or Inf (the same
 * message as assertFiniteWeights): for what reads one layer's weights (filters, their statistics).
 */
export function assertFiniteLayerWeights(layer: tf.layers.Layer, modelName: string): void {
  const bad = nonFiniteIn([layer]);
  if (bad.length) throw nonFiniteError(bad, modelName, `its statistics and pictures would be NaN`);
}
