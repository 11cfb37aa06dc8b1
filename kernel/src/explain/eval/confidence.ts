/**
 * Average Drop and Increase in Confidence (Chattopadhyay et al. 2018, the Grad-CAM++ paper): how much
 * of the class probability Y survives when the image is shown only through its map. The explanation
 * image is E = map ⊙ x (the map at input size, scaled to [0, 1] by min–max unless it already lies in
 * [0, 1], multiplied with the preprocessed input, as pytorch-grad-cam's cam_mult_image does), O is
 * the class probability of E, and per image
 *   drop     = max(0, Y − O) / Y        (the paper; Average Drop = 100 · mean drop, lower is better)
 *   increase = [O > Y]                  (Increase in Confidence = 100 · mean increase, higher is better)
 * pytorch-grad-cam's DropInConfidence reports max(0, Y − O) without dividing by Y: `absoluteDrop`.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource, InputOptions, modelFor, prepareInput } from '../../basics/input';
import { initBackend } from '../../engine/backend';
import { CnnvisError } from '../../errors';
import { CnnModel } from '../../models/model';
import { extent } from '../../render/normalize';
import { Map2D } from '../../types';
import { logitsOf } from '../gradients';
import { resolveClass, TargetOptions } from '../targets';
import { mapAtInputSize } from './perturbation';

export interface ConfidenceChange {
  classIndex: number;
  /** Y: the class probability of the image. */
  original: number;
  /** O: the class probability of the image seen through the map. */
  explanation: number;
  /** max(0, Y − O) / Y. */
  drop: number;
  /** max(0, Y − O) (pytorch-grad-cam's DropInConfidence). */
  absoluteDrop: number;
  /** O > Y. */
  increase: boolean;
}

/** The map as weights in [0, 1] at input size (min–max scaled when it leaves [0, 1]). */
function unitMap(map: Map2D, model: CnnModel): Float32Array {
  const d = mapAtInputSize(map, model);
  if (d.some(Number.isNaN)) throw new CnnvisError('the map has NaN values');
  const { min: lo, max: hi } = extent(d);
  if (lo >= 0 && hi <= 1) return d;
  const span = hi - lo;
  return d.map((v) => (span > 0 ? (v - lo) / span : 0));
}

/** Drop and increase in confidence of one map for one image: see the module comment. */
export async function confidenceChange(m: CnnModel | tf.LayersModel, image: ImageSource, map: Map2D, opts: TargetOptions & InputOptions = {}): Promise<ConfidenceChange> {
  await initBackend();
  const model = modelFor(m, image);
  const weights = unitMap(map, model);
  const explicit = opts.classIndex !== undefined || opts.label !== undefined ? resolveClass(model, opts, null) : undefined;
  const input = prepareInput(model, image, opts);
  try {
    const scores = tf.tidy(() => {
      const w = tf.tensor4d(weights, [1, model.inputHeight, model.inputWidth, 1]);
      return logitsOf(model, tf.concat([input.batch, tf.mul(input.batch, w)]) as tf.Tensor4D).dataSync().slice() as Float32Array;
    });
    const head = model.head;
    const K = scores.length / 2;
    const classIndex = explicit ?? resolveClass(model, {}, scores.slice(0, K));
    const y = head.probabilitiesData(scores.slice(0, K))[classIndex];
    const o = head.probabilitiesData(scores.slice(K))[classIndex];
    const absoluteDrop = Math.max(0, y - o);
    return { classIndex, original: y, explanation: o, drop: y > 0 ? absoluteDrop / y : 0, absoluteDrop, increase: o > y };
  } finally {
    input.batch.dispose();
  }
}

/** Average Drop (%) and Increase in Confidence (%) over images. */
export function averageDropIncrease(results: readonly Pick<ConfidenceChange, 'drop' | 'increase'>[]): { averageDrop: number; increaseInConfidence: number; images: number } {
  if (!results.length) throw new CnnvisError('Average Drop needs at least one result');
  const n = results.length;
  return {
    averageDrop: (100 * results.reduce((s, r) => s + r.drop, 0)) / n,
    increaseInConfidence: (100 * results.filter((r) => r.increase).length) / n,
    images: n,
  };
}
