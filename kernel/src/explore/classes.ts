/**
 * The class-picking part shared by the explorers that explain a class (CAM, saliency, occlusion):
 * the image's class probabilities from its one forward pass, every label, the top k and the class
 * asked for (by index or label; default the most probable).
 */
import * as tf from '@tensorflow/tfjs';
import { classProbabilities, topK } from '../basics/predict';
import { CnnvisError } from '../errors';
import { resolveClass } from '../explain/targets';
import { CnnModel } from '../models/model';
import { ClassPickState, ClassScore } from '../schema/explorers';

export interface ClassPickOptions {
  classIndex?: number;
  label?: string;
  /** How many classes the top list, the chart and the saved snapshot hold (default 5). */
  topK?: number;
}

/** The top-k count of the options, checked. */
export function topCount(opts: ClassPickOptions): number {
  const k = opts.topK ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new CnnvisError(`topK must be a positive integer, got ${k}`);
  return k;
}

/** Class probabilities of a prepared batch; the batch is disposed when this throws. */
export function probabilitiesOrDispose(model: CnnModel, batch: tf.Tensor4D): Float32Array {
  try {
    return classProbabilities(model, batch);
  } catch (e) {
    batch.dispose();
    throw e;
  }
}

export function classPickState(model: CnnModel, probs: Float32Array, opts: ClassPickOptions): ClassPickState {
  const k = topCount(opts);
  const top: ClassScore[] = topK(probs, Math.min(k, probs.length), (i) => model.label(i)).map((p) => ({
    index: p.index,
    label: p.label,
    probability: p.probability,
  }));
  return {
    classes: Array.from({ length: model.numClasses }, (_, i) => model.label(i)),
    top,
    class_index: resolveClass(model, { classIndex: opts.classIndex, label: opts.label }, probs),
  };
}

/** The classes a snapshot precomputes: the top ones and the one asked for. */
export function snapshotClasses(state: ClassPickState): number[] {
  return [...new Set([...state.top.map((t) => t.index), state.class_index])];
}
