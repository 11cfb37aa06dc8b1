/**
 * Gradient taps for the explanation methods: a layer's activation A and dScore/dA for a class, the
 * input gradient of a class or a channel, the class scores — one forward and one backward pass each,
 * on the model's engine (engine/engine.ts: ONNX Runtime where it runs the model, else TF.js).
 *
 * The score of a class is what the model's head (models/head.ts) says: the pre-softmax logit, for a
 * one-sigmoid binary head the pre-sigmoid logit z (class 1) or −z (class 0), for a linear head the
 * output.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { CnnModel } from '../models/model';
import { ChannelTarget, INPUT, isChannelTarget, ReluRule, ScoreTarget } from '../engine';
import { channelScores } from '../engine/tfjs';

export type { ChannelTarget, ReluRule, ScoreTarget };
export { channelScores, isChannelTarget };

/**
 * The class scores [B, K] for a preprocessed batch: the pre-softmax logits, for a binary (one
 * sigmoid unit) head [−z, z], for a linear head the outputs (models/head.ts). The caller disposes them.
 */
export function logitsOf(model: CnnModel, batch: tf.Tensor4D, batchSize = 32): tf.Tensor2D {
  return model.engine.logits(batch, batchSize);
}

/** A layer's output and the class scores (see logitsOf) for a batch, in one forward pass. The caller disposes both. */
export function activationAndLogits(model: CnnModel, batch: tf.Tensor4D, layer: string): { activation: tf.Tensor; logits: tf.Tensor2D } {
  model.layerName(layer);
  const { taps, logits } = model.engine.forward(batch, [layer]);
  return { activation: taps[0], logits };
}

export interface LayerGradients {
  /** Layer output A, [B, ...layer shape]. */
  activation: tf.Tensor;
  /** dScore/dA, same shape as A. */
  gradient: tf.Tensor;
  /** Class scores [B, K] (see logitsOf: pre-softmax logits; binary heads [−z, z]). */
  logits: tf.Tensor2D;
  /** The differentiated score. */
  score: number;
}

/**
 * A missing backend kernel as a clear error. Known case: the wasm backend of tfjs 4.22 has no
 * Conv2DBackpropFilter, and tfjs-layers' Conv2D (a fused conv2d while gradients are recorded) computes
 * its filter gradient even when only activation gradients are asked for; nor does it have
 * DepthwiseConv2dNativeBackpropInput (gradients through depthwise convolutions).
 */
function explainKernelError(e: unknown, model: CnnModel, what: string): unknown {
  const m = e instanceof Error ? /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(e.message) : null;
  if (!m) return e;
  return new CnnvisError(
    `gradients of model '${model.name}' ${what} need the TensorFlow.js kernel '${m[1]}', which the '${m[2]}' backend does not have; ` +
      `run with CNNVIS_BACKEND=cpu (slower) or install @tensorflow/tfjs-node (backend 'tensorflow'); ` +
      `gradient-free methods (cam, eigencam, scorecam) work on '${m[2]}'`,
  );
}

/**
 * A layer's activation and the gradient of the target score with respect to it, plus the logits.
 * One forward pass and one backward pass (from the logits down to the layer only). The caller
 * disposes the returned tensors.
 */
export function layerGradients(model: CnnModel, batch: tf.Tensor4D, layer: string, target: ScoreTarget, rule: ReluRule = 'gradient'): LayerGradients {
  const name = model.layerName(layer);
  try {
    const g = model.engine.backward(batch, target, name, rule);
    return { activation: g.activation!, gradient: g.gradient, logits: g.logits, score: g.score };
  } catch (e) {
    throw explainKernelError(e, model, `at layer '${layer}'`);
  }
}

/**
 * The class scores [B, K] of the image when layer `layer` outputs `replacement` [B, ...layer shape]
 * instead of its own activation (B copies of the one-image `batch` run, the layer's output swapped by a
 * forward hook): what Ablation-CAM measures. The caller disposes the result.
 */
export function scoresWithLayerOutput(model: CnnModel, batch: tf.Tensor4D, layer: string, replacement: tf.Tensor): tf.Tensor2D {
  return model.engine.scoresWithLayerOutput(batch, model.layerName(layer), replacement);
}

/** Checks a channel target against the model (unknown layer lists the layers; channel range). */
export function checkChannelTarget(model: CnnModel, t: ChannelTarget): void {
  const shape = model.layerShape(t.layer);
  const c = shape[shape.length - 1] ?? 0;
  if (!Number.isInteger(t.channel) || t.channel < 0 || t.channel >= c) {
    throw new CnnvisError(`channel ${t.channel} is out of range; layer '${t.layer}' of model '${model.name}' has channels 0..${c - 1}`);
  }
  if (t.reduce !== 'sum' && t.reduce !== 'max') throw new CnnvisError(`channel score must be 'sum' or 'max', got '${String(t.reduce)}'`);
}

/**
 * Gradient of the target score with respect to the (preprocessed) input batch, plus the logits. The
 * score is summed over the batch, so for independent images each gets its own gradient. A channel
 * target differentiates the channel's score instead of a logit.
 */
export function inputGradients(
  model: CnnModel,
  batch: tf.Tensor4D,
  target: ScoreTarget | ChannelTarget,
  rule: ReluRule = 'gradient',
): { gradient: tf.Tensor4D; logits: tf.Tensor2D; score: number } {
  if (isChannelTarget(target)) checkChannelTarget(model, target);
  try {
    const g = model.engine.backward(batch, target, INPUT, rule);
    return { gradient: g.gradient as tf.Tensor4D, logits: g.logits, score: g.score };
  } catch (e) {
    throw explainKernelError(e, model, 'with respect to the input');
  }
}
