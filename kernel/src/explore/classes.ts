/**
 * The class-picking part shared by the explorers that explain a class (CAM, saliency, occlusion):
 * the image's class probabilities from its one forward pass, every label, the top k and the class
 * asked for (by index or label; default the most probable).
 */
import * as tf from '@tensorflow/tfjs';
import { classProbabilities, topK } from '../basics/predict';
import { ImageSource, InputOptions, modelFor, prepareInput } from '../basics/input';
import { CnnvisError } from '../errors';
import { resolveClass } from '../explain/targets';
import { asCnnModel, CnnModel } from '../models/model';
import { parsePreprocess } from '../models/preprocess';
import type { PreprocessName } from '../types';
import { ClassPickState, ClassScore } from '../schema/explorers';
import { rgbaBytes } from './explorer';

export interface ClassPickOptions {
  classIndex?: number;
  label?: string;
  /** How many classes the top list, the chart and the saved snapshot hold (default 5). */
  topK?: number;
}

/** How an explorer's image is read, as the functions take it: resize mode and, for a model cnnvis cannot infer, its preprocessing. */
export interface ExplorerInputOptions extends InputOptions {
  /** The model's preprocessing (mobilenet | vgg16 | torch | unit | none), as `loadModel(…, {preprocess})` takes it; default: the model's own. */
  preprocess?: PreprocessName | string;
}

/** The model an explorer runs: `m` with the asked preprocessing (when given), at the image's size for a model of any size. */
export function explorerModel(m: CnnModel | tf.LayersModel, image: ImageSource | null, opts: ExplorerInputOptions): CnnModel {
  let model = asCnnModel(m);
  if (opts.preprocess !== undefined) {
    const p = parsePreprocess(String(opts.preprocess));
    if (p !== model.preprocess) {
      model = new CnnModel(model.original, { name: model.name, source: model.source, labels: model.labels, labelsNote: model.labelsNote, preprocess: p });
    }
  }
  return image === null ? model : modelFor(model, image);
}

/** The top-k count of the options, checked. */
export function topCount(opts: ClassPickOptions): number {
  const k = opts.topK ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new CnnvisError(`topK must be a positive integer, got ${k}`);
  return k;
}

/**
 * The image a class-explaining explorer opens on: preprocessed, the class probabilities of its one
 * forward pass, and the state fields every such explorer starts with (status, image, classes). The
 * batch is disposed when this throws.
 */
export function openImage(model: CnnModel, image: ImageSource, opts: InputOptions & ClassPickOptions) {
  const prepared = prepareInput(model, image, opts);
  const probs = probabilitiesOrDispose(model, prepared.batch);
  let picked: ClassPickState;
  try {
    picked = classPickState(model, probs, opts);
  } catch (e) {
    prepared.batch.dispose();
    throw e;
  }
  const img = prepared.image;
  const state = { status: 'idle' as const, progress: 0, message: '', image: rgbaBytes(img), image_width: img.width, image_height: img.height, ...picked };
  return { prepared, probs, state };
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
