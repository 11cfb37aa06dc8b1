/**
 * The engine interface: everything methods, taps, predictions and activation maximization ask of a
 * model's computation, without saying which library computes it.
 *
 * - forward with taps: the named layers' outputs and the class scores;
 * - backward from a seed (a class score, a function of the class scores, or one channel of a layer)
 *   down to a layer or the input, with the ReLU rule as an argument;
 * - backward from an objective that reads several layers (activation maximization).
 *
 * Tensors cross the interface as TF.js tensors in TF's layout: NHWC for spatial layers, [B, K] for the
 * class scores. Layer names are the model's own (a flattened nested Keras model's or an imported ONNX
 * file's layers, models/flatten.ts). The class scores are what the model's head defines
 * (models/head.ts): pre-softmax logits; for one sigmoid unit [−z, z]; for a linear head the outputs.
 *
 * `engineFor(net)` picks the engine of a model: ONNX Runtime (engine/ortEngine.ts) where it runs the
 * model, else TF.js (engine/tfjs.ts). Both objects are cached per model. The ONNX Runtime engine falls
 * back to TF.js per call for what it cannot do (a layer off the path to the logits) and for good when
 * it fails on the model.
 */
import * as tf from '@tensorflow/tfjs';

/** The backward rule at ReLUs: the plain gradient, guided backpropagation, or the deconvnet's. */
export type ReluRule = 'gradient' | 'guided' | 'deconvnet';

/**
 * A class index (its score, summed over the batch) or any scalar of the class scores [B, K].
 */
export type ScoreTarget = number | ((scores: tf.Tensor2D) => tf.Scalar);

/**
 * A hidden-layer target: one channel of a layer's output, scored per image as the channel's sum or
 * its strongest (maximum) activation, summed over the batch.
 */
export interface ChannelTarget {
  layer: string;
  channel: number;
  reduce: 'sum' | 'max';
}

export function isChannelTarget(t: unknown): t is ChannelTarget {
  return typeof t === 'object' && t !== null && 'layer' in t && 'channel' in t;
}

/** Where a backward pass ends: the input, or a layer's output. */
export const INPUT = '@input';

/** The pseudo layer name under which objectives read the class scores [B, K]. */
export const LOGITS = '@logits';

/** The outcome of a backward pass. The caller disposes the tensors. */
export interface Gradients {
  /** d score / d (the input or the layer's output), [B, ...shape]. */
  gradient: tf.Tensor;
  /** The layer's output A (backward passes that end at a layer), same shape as the gradient. */
  activation?: tf.Tensor;
  /** The class scores [B, K]. */
  logits: tf.Tensor2D;
  /** The differentiated score (summed over the batch). */
  score: number;
}

/** Per-image scores [B] from the outputs of named layers (LOGITS: the class scores), in TF.js. */
export type ObjectiveScore = (get: (layer: string) => tf.Tensor) => tf.Tensor1D;

export type EngineKind = 'tfjs' | 'onnxruntime';

export interface Engine {
  readonly kind: EngineKind;
  /** What computes, for results: the TF.js backend's name, '+onnxruntime' where that engine runs the model. */
  label(backend: string): string;
  /** One forward pass: each named layer's output [B, ...layer shape] and the class scores [B, K]. The caller disposes them. */
  forward(x: tf.Tensor4D, layers: readonly string[]): { taps: tf.Tensor[]; logits: tf.Tensor2D };
  /** One forward pass: each named layer's output and the model's own output (its softmax / sigmoid applied). The caller disposes them. */
  outputs(x: tf.Tensor4D, layers: readonly string[]): { taps: tf.Tensor[]; output: tf.Tensor };
  /** The class scores [B, K] of a batch, `batchSize` images per pass. The caller disposes them. */
  logits(x: tf.Tensor4D, batchSize?: number): tf.Tensor2D;
  /**
   * d score / d (input or layer `to`'s output) under the ReLU `rule`, one forward and one backward pass
   * (`to` = INPUT for the input). The score is summed over the batch: independent images each get their own gradient.
   */
  backward(x: tf.Tensor4D, target: ScoreTarget | ChannelTarget, to: string, rule?: ReluRule): Gradients;
  /**
   * The class scores [B, K] when layer `layer` outputs `replacement` [B, ...layer shape] instead of its
   * own activation, for B copies of the one-image `x` (or a batch of B): what Ablation-CAM measures.
   */
  scoresWithLayerOutput(x: tf.Tensor4D, layer: string, replacement: tf.Tensor): tf.Tensor2D;
  /**
   * d score / d x and d score / d z at each named layer, in one backward pass under the plain gradient
   * rule: [dx, dz_1, …], each [B, ...shape]. z is the layer's output before its own activation (a
   * convolution with a fused ReLU: before the ReLU; a layer without one: its output), where a bias was
   * just added — what FullGrad weighs by the biases. The caller disposes them.
   */
  preActivationGradients(x: tf.Tensor4D, target: ScoreTarget, layers: readonly string[]): tf.Tensor[];
  /**
   * For activation maximization: the per-image scores `score(get)` computes (in TF.js) from the named
   * layers' outputs (LOGITS for the class scores), and d(sum of scores)/dx. `dx` is a constant (no
   * gradient flows through it), so the call may run under the caller's own tape, as the render loop's
   * chain rule does. The caller disposes `dx`. `linear`: the score is a weighted sum of the layer
   * outputs (no constant term), so d score / d layer does not depend on x and the engine may take it
   * from `score` at zero activations and run forward and backward as one pass.
   */
  objectiveGradient(x: tf.Tensor4D, layers: readonly string[], score: ObjectiveScore, options?: { linear?: boolean }): { scores: Float32Array; dx: tf.Tensor4D };
}
