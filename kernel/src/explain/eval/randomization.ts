/**
 * Model-randomization sanity check (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"). An
 * explanation that depends on what the model learned must change when the learned weights are
 * destroyed. Cascading: randomize the top layer, then the top two, … down to the first; after each
 * step, explain again and compare with the map of the trained model by Spearman rank correlation.
 * Independent: randomize one layer at a time (the others keep their trained weights).
 *
 * Randomizing a layer replaces each weight tensor of rank ≥ 2 (kernels) by seeded normal values with
 * the trained tensor's standard deviation (so activations keep their scale), and shuffles each rank-1
 * tensor (biases, normalization parameters), which keeps their range (a variance stays positive) but
 * breaks what they were fitted to. The trained weights are always restored, also on errors.
 *
 * A map that comes out constant after randomization (e.g. Grad-CAM's ReLU leaves nothing) ranks no pixel
 * above another: its step is flagged `constant` and its correlations are reported as 0.
 *
 * The explanation is any function of the model: keep its class fixed (Adebayo et al. explain the
 * class the trained model predicts), e.g. `(m) => gradCam(m, img, {classIndex, display: false})`.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../data/shapes';
import { CnnvisError } from '../../errors';
import { asCnnModel, CnnModel } from '../../models/model';
import { Map2D } from '../../types';
import { pearson, spearman } from './stats';

export type ExplainFn = (model: CnnModel) => Promise<{ map: Map2D } | Map2D>;

export interface RandomizationOptions {
  /** Layers to randomize, in the order they are randomized (default: every layer with weights, from the output down). */
  layers?: readonly string[];
  /** 'cascading' (default) or 'independent'. */
  mode?: 'cascading' | 'independent';
  /** Seed of the random weights (default 0). */
  seed?: number;
  /** Compare |map| instead of the map (Adebayo et al. report both for signed maps). Default false. */
  absolute?: boolean;
}

export interface RandomizationStep {
  /** The layer randomized at this step (with all layers before it in cascading mode). */
  layer: string;
  /** Spearman rank correlation with the trained model's map (0 when this map is constant). */
  spearman: number;
  /** Pearson correlation with the trained model's map (0 when this map is constant). */
  pearson: number;
  /** The map came out constant (it ranks nothing). */
  constant: boolean;
  map: Map2D;
}

export interface RandomizationResult {
  mode: 'cascading' | 'independent';
  /** The trained model's map. */
  original: Map2D;
  steps: RandomizationStep[];
}

/** Layers with weights, from the output down to the input: the cascading order. */
export function layersFromTop(model: CnnModel | tf.LayersModel): string[] {
  return asCnnModel(model).nodes.filter((n) => n.params > 0).map((n) => n.name).reverse();
}

function mapOf(r: { map: Map2D } | Map2D): Map2D {
  return 'map' in r ? r.map : r;
}

function normal(rng: () => number): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Seeded random weights for one layer, as described in the module comment. The caller disposes them. */
export function randomizedWeights(weights: readonly tf.Tensor[], seed: number): tf.Tensor[] {
  const rng = mulberry32(seed);
  return weights.map((w) => {
    const v = w.dataSync();
    const out = new Float32Array(v.length);
    if (w.rank >= 2) {
      let mean = 0;
      for (const x of v) mean += x / v.length;
      let varSum = 0;
      for (const x of v) varSum += (x - mean) ** 2;
      const std = Math.sqrt(varSum / v.length);
      for (let i = 0; i < out.length; i++) out[i] = std * normal(rng);
    } else {
      out.set(v);
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        const t = out[i];
        out[i] = out[j];
        out[j] = t;
      }
    }
    return tf.tensor(out, w.shape, 'float32');
  });
}

function isConstant(v: ArrayLike<number>): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

function absMap(m: Map2D): Map2D {
  return { width: m.width, height: m.height, data: m.data.map(Math.abs) };
}

/** Runs the model-randomization test; see the module comment. */
export async function modelRandomization(m: CnnModel | tf.LayersModel, explain: ExplainFn, opts: RandomizationOptions = {}): Promise<RandomizationResult> {
  const model = asCnnModel(m);
  const mode = opts.mode ?? 'cascading';
  if (mode !== 'cascading' && mode !== 'independent') throw new CnnvisError(`mode must be 'cascading' or 'independent', got '${String(mode)}'`, ['cascading', 'independent']);
  const layers = opts.layers ?? layersFromTop(model);
  if (!layers.length) throw new CnnvisError(`model '${model.name}' has no layer with weights to randomize`);
  for (const name of layers) {
    if (model.node(name).params === 0) throw new CnnvisError(`layer '${name}' has no weights to randomize; layers with weights: ${layersFromTop(model).join(', ')}`);
  }
  const seed = opts.seed ?? 0;
  const view = (r: { map: Map2D } | Map2D) => (opts.absolute ? absMap(mapOf(r)) : mapOf(r));
  const original = view(await explain(model));
  if (isConstant(original.data)) throw new CnnvisError(`the trained model's map is constant; there is nothing for the randomized maps to be compared with`);
  // The trained weights, kept as copies so they can be put back.
  const trained = new Map<string, tf.Tensor[]>();
  const steps: RandomizationStep[] = [];
  try {
    for (const name of layers) {
      if (!trained.has(name)) trained.set(name, model.weights(name).map((w) => tf.tensor(w.data, w.shape, 'float32')));
    }
    for (let s = 0; s < layers.length; s++) {
      const name = layers[s];
      if (mode === 'independent' && s > 0) model.setWeights(layers[s - 1], trained.get(layers[s - 1]) as tf.Tensor[]);
      const fresh = randomizedWeights(trained.get(name) as tf.Tensor[], seed * 7919 + s + 1);
      model.setWeights(name, fresh);
      fresh.forEach((t) => t.dispose());
      const map = view(await explain(model));
      if (map.data.length !== original.data.length) throw new CnnvisError(`the explanation changed size after randomizing '${name}' (${map.data.length} vs ${original.data.length} values)`);
      const constant = isConstant(map.data);
      steps.push({ layer: name, spearman: constant ? 0 : spearman(original.data, map.data), pearson: constant ? 0 : pearson(original.data, map.data), constant, map });
    }
  } finally {
    for (const [name, ws] of trained) {
      model.setWeights(name, ws);
      ws.forEach((t) => t.dispose());
    }
  }
  return { mode, original, steps };
}

/** Cascading model randomization: per-step rank correlations, top layer first. */
export function cascadingRandomization(model: CnnModel | tf.LayersModel, explain: ExplainFn, opts: Omit<RandomizationOptions, 'mode'> = {}): Promise<RandomizationResult> {
  return modelRandomization(model, explain, { ...opts, mode: 'cascading' });
}
