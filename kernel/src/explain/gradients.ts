/**
 * Gradient taps: a layer's activation A and dScore/dA for a class, in one forward and one backward
 * pass over the model's own graph (any topology: branches and skips included).
 *
 * The score of a class is what the model's head (models/head.ts) says: the pre-softmax logit, for a
 * one-sigmoid binary head the pre-sigmoid logit z (class 1) or −z (class 0), for a linear head the
 * output. The raw logits come from a model over the same graph whose output is the softmax's or
 * sigmoid's input (a separate Softmax / Activation layer), or, when the activation is fused into the
 * last Dense / Conv layer, from a linear copy of that one layer applied to the same symbolic input
 * (its weights synced with the original's before every call); the head turns them into the class
 * scores [B, K] (binary: [−z, z]) inside the differentiated function.
 *
 * dScore/dA is taken with a forward hook: while the gradient is computed, layer L returns A + Z with
 * Z = 0, and the gradient with respect to Z is the gradient with respect to A. Only activation and
 * input gradients are computed, never weight gradients.
 *
 * On the wasm backend the gradient kernels it lacks (Conv2DBackpropFilter, which fused Conv2D asks for
 * even when only activation gradients are wanted, and DepthwiseConv2dNativeBackpropInput) are
 * registered from engine/wasmGradients.ts before the first backward pass; other backends are untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { CnnModel } from '../models/model';
import { ensureInputGradients } from '../engine/wasmGradients';
import { Forward, fromTensor, onEngine, OrtNet, sumValues, toTensor } from '../engine/onnx/net';
import { OrtValue } from '../engine/onnx/runtime';
import { Head, modelHead } from '../models/head';
import { layerOutputShape } from '../taps';
import { activeReluRule } from './attribution/reluRules';

interface LogitsHead {
  /** Symbolic raw logits: the softmax's / sigmoid's input (or the model output for a linear head). */
  logits: tf.SymbolicTensor;
  /** A linear copy of a layer with a fused softmax or sigmoid, whose weights must be synced before use. */
  linearCopy?: { copy: tf.layers.Layer; original: tf.layers.Layer };
}

const heads = new WeakMap<tf.LayersModel, LogitsHead>();

/** Where the raw (pre-softmax / pre-sigmoid) logits of a model are (cached per model). */
export function logitsHead(net: tf.LayersModel): LogitsHead {
  const hit = heads.get(net);
  if (hit) return hit;
  let head: LogitsHead = { logits: net.outputs[0] };
  const site = modelHead(net).site;
  if (site) {
    const layer = site;
    const input = layer.inboundNodes[0].inputTensors[0];
    if (!modelHead(net).fused) {
      head = { logits: input };
    } else {
      // Softmax / sigmoid fused into a Dense / Conv layer: the same layer with a linear activation.
      const Ctor = layer.constructor as new (cfg: object) => tf.layers.Layer;
      const copy = new Ctor({ ...layer.getConfig(), activation: 'linear', name: `${layer.name}__cnnvis_logits` });
      const logits = copy.apply(input) as tf.SymbolicTensor;
      copy.setWeights(layer.getWeights());
      head = { logits, linearCopy: { copy, original: layer } };
    }
  }
  heads.set(net, head);
  return head;
}

const logitModels = new WeakMap<tf.LayersModel, Map<string, tf.LayersModel>>();

/**
 * A model over the same graph with outputs [...named layers' outputs, logits] (cached). Sync the
 * linear copy (if any) with `syncHead` before running it.
 */
export function logitsModel(net: tf.LayersModel, layers: readonly string[] = []): tf.LayersModel {
  const key = layers.join('\u0000');
  let perNet = logitModels.get(net);
  if (!perNet) {
    perNet = new Map();
    logitModels.set(net, perNet);
  }
  const hit = perNet.get(key);
  if (hit) return hit;
  const head = logitsHead(net);
  const taps = layers.map((n) => net.getLayer(n).output as tf.SymbolicTensor);
  const m = tf.model({ inputs: net.inputs, outputs: [...taps, head.logits] });
  perNet.set(key, m);
  return m;
}

/** Makes a fused-activation layer's linear copy use the original's current weights. */
export function syncHead(net: tf.LayersModel): void {
  const lc = logitsHead(net).linearCopy;
  if (lc) lc.copy.setWeights(lc.original.getWeights());
}

/** Raw logits [B, ...] → the class scores [B, K] of the model's head (binary: [−z, z]). */
function flatLogits(net: tf.LayersModel, t: tf.Tensor): tf.Tensor2D {
  return modelHead(net).scores(t);
}

/**
 * The raw logits of a fused-activation head from the output of the fused layer's input (`t`): the
 * layer's linear copy applied to it (differentiable); other heads: `t` itself.
 */
export function rawLogitsFrom(net: tf.LayersModel, t: tf.Tensor): tf.Tensor {
  const lc = logitsHead(net).linearCopy;
  if (!lc) return t;
  syncHead(net);
  return lc.copy.apply(t) as tf.Tensor;
}

/**
 * The class scores [B, K] for a preprocessed batch: the pre-softmax logits, for a binary (one
 * sigmoid unit) head [−z, z], for a linear head the outputs (models/head.ts). The caller disposes them.
 */
export function logitsOf(model: CnnModel, batch: tf.Tensor4D, batchSize = 32): tf.Tensor2D {
  // On the engine when the model runs there (undefined: it does not, or the engine failed on it).
  const onOrt = onEngine(model.net, (ort) => {
    const B = batch.shape[0];
    const parts: Float32Array[] = [];
    let K = 0;
    for (let i0 = 0; i0 < B; i0 += batchSize) {
      const x = i0 === 0 && batchSize >= B ? batch : batch.slice([i0], [Math.min(batchSize, B - i0)]);
      // One image: keep the whole pass (keyed by the tensor), so a gradient of the same input next
      // (an explanation right after its prediction) does not run the forward pass again.
      const fw = B === 1 ? ort.forward(x, 'all', batch) : ort.forward(x, []);
      const l = logitsData(ort, fw);
      K = l.K;
      parts.push(l.data);
      if (x !== batch) x.dispose();
    }
    const all = new Float32Array(B * K);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return tf.tensor2d(all, [B, K]);
  });
  if (onOrt) return onOrt;
  syncHead(model.net);
  return tf.tidy(() => flatLogits(model.net, logitsModel(model.net).predict(batch, { batchSize }) as tf.Tensor));
}

/** A layer's output and the class scores (see logitsOf) for a batch, in one forward pass. The caller disposes both. */
export function activationAndLogits(model: CnnModel, batch: tf.Tensor4D, layer: string): { activation: tf.Tensor; logits: tf.Tensor2D } {
  model.layer(layer);
  const onOrt = onEngine(model.net, (ort) => {
    if (!ort.has(layer)) return undefined;
    const fw = ort.forward(batch, [layer], batch);
    return { activation: toTensor(fw.get(layer)), logits: logitsTensor(ort, fw) };
  });
  if (onOrt) return onOrt;
  syncHead(model.net);
  return tf.tidy(() => {
    const [a, l] = logitsModel(model.net, [layer]).predict(batch) as tf.Tensor[];
    return { activation: a, logits: flatLogits(model.net, l) };
  });
}

/**
 * What to differentiate: a class index (its score — see logitsOf — summed over the batch) or any
 * scalar of the class scores [B, K].
 */
export type ScoreTarget = number | ((logits: tf.Tensor2D) => tf.Scalar);

function scoreOf(logits: tf.Tensor2D, target: ScoreTarget): tf.Scalar {
  if (typeof target === 'function') return target(logits);
  const k = logits.shape[1];
  if (!Number.isInteger(target) || target < 0 || target >= k) {
    throw new CnnvisError(`class index ${target} is out of range; the model has classes 0..${k - 1}`);
  }
  return logits.slice([0, target], [-1, 1]).sum() as tf.Scalar;
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

type CallFn = tf.layers.Layer['call'];

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

/** Runs `fn` while `layer` passes its output through `hook` (restored afterwards, even on errors). */
export function withForwardHook<T>(layer: tf.layers.Layer, hook: (out: tf.Tensor) => tf.Tensor, fn: () => T): T {
  const hadOwn = Object.prototype.hasOwnProperty.call(layer, 'call');
  const original: CallFn = layer.call;
  const hooked: CallFn = function (this: tf.layers.Layer, inputs, kwargs) {
    const out = original.call(this, inputs, kwargs);
    if (Array.isArray(out)) throw new CnnvisError(`layer '${layer.name}' has several outputs; gradients need a single-output layer`);
    return hook(out);
  };
  layer.call = hooked;
  try {
    return fn();
  } finally {
    if (hadOwn) layer.call = original;
    else delete (layer as unknown as { call?: CallFn }).call;
  }
}

/**
 * A layer's activation and the gradient of the target score with respect to it, plus the logits.
 * One forward pass and one backward pass (from the logits down to the layer only). The caller
 * disposes the returned tensors.
 */
export function layerGradients(model: CnnModel, batch: tf.Tensor4D, layer: string, target: ScoreTarget): LayerGradients {
  const L = model.layer(layer);
  const onOrt = onEngine(model.net, (ort) => {
    if (!ort.has(layer)) return undefined;
    // Keyed by the input tensor: the same image again (a new class in an explorer) re-uses every
    // layer value of its forward pass and only runs the backward graphs above the layer.
    const fw = ort.forward(batch, 'all', batch, undefined, [layer]);
    const { seed, score } = logitSeed(ort, fw, target);
    const g = ort.backward(fw, ort.logitsName, seed, layer);
    return { activation: toTensor(fw.get(layer)), gradient: toTensor(g), logits: logitsTensor(ort, fw), score };
  });
  if (onOrt) return onOrt;
  const net = logitsModel(model.net);
  syncHead(model.net);
  ensureInputGradients();
  const z = tf.zeros([batch.shape[0], ...layerOutputShape(L)]);
  let activation: tf.Tensor | null = null;
  let logits: tf.Tensor2D | null = null;
  try {
    const { value, grad } = withForwardHook(
      L,
      (out) => {
        if (activation) throw new CnnvisError(`layer '${layer}' is used more than once in the graph; pick a layer applied once`);
        if (out.shape.some((d, i) => d !== z.shape[i])) {
          throw new CnnvisError(`layer '${layer}' produced shape [${out.shape.join(', ')}], expected [${z.shape.join(', ')}]`);
        }
        activation = tf.keep(out);
        return tf.add(out, z);
      },
      () =>
        tf.valueAndGrad((zz: tf.Tensor) => {
          const l = tf.keep(flatLogits(model.net, net.predict(batch) as tf.Tensor));
          logits = l;
          return scoreOf(l, target);
        })(z),
    );
    if (!activation || !logits) throw new CnnvisError(`layer '${layer}' was not reached when running model '${model.name}'`);
    const score = value.dataSync()[0];
    value.dispose();
    return { activation, gradient: grad, logits, score };
  } catch (e) {
    (activation as tf.Tensor | null)?.dispose();
    (logits as tf.Tensor | null)?.dispose();
    throw explainKernelError(e, model, `at layer '${layer}'`);
  } finally {
    z.dispose();
  }
}

/**
 * The class scores [B, K] of the image when layer `layer` outputs `replacement` [B, ...layer shape]
 * instead of its own activation (B copies of the one-image `batch` run, the layer's output swapped by a
 * forward hook): what Ablation-CAM measures. Runs on TF.js (the engine has no way to feed a layer).
 * The caller disposes the result.
 */
export function scoresWithLayerOutput(model: CnnModel, batch: tf.Tensor4D, layer: string, replacement: tf.Tensor): tf.Tensor2D {
  const L = model.layer(layer);
  const B = replacement.shape[0] as number;
  const net = logitsModel(model.net);
  syncHead(model.net);
  return tf.tidy(() => {
    const x = batch.shape[0] === B ? batch : (tf.tile(batch, [B, 1, 1, 1]) as tf.Tensor4D);
    return withForwardHook(
      L,
      (out) => {
        if (out.shape.some((d, i) => d !== replacement.shape[i])) {
          throw new CnnvisError(`layer '${layer}' produced shape [${out.shape.join(', ')}], the replacement has [${replacement.shape.join(', ')}]`);
        }
        return replacement;
      },
      () => flatLogits(model.net, net.predict(x, { batchSize: B }) as tf.Tensor),
    );
  });
}

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

/** Checks a channel target against the model (unknown layer lists the layers; channel range). */
export function checkChannelTarget(model: CnnModel, t: ChannelTarget): void {
  const shape = model.layerShape(t.layer);
  const c = shape[shape.length - 1] ?? 0;
  if (!Number.isInteger(t.channel) || t.channel < 0 || t.channel >= c) {
    throw new CnnvisError(`channel ${t.channel} is out of range; layer '${t.layer}' of model '${model.name}' has channels 0..${c - 1}`);
  }
  if (t.reduce !== 'sum' && t.reduce !== 'max') throw new CnnvisError(`channel score must be 'sum' or 'max', got '${String(t.reduce)}'`);
}

/** Per-image score of a channel target from the layer output [B, ..., C]: [B]. */
export function channelScores(out: tf.Tensor, t: ChannelTarget): tf.Tensor1D {
  return tf.tidy(() => {
    const b = out.shape[0] ?? 1;
    const c = out.shape[out.rank - 1];
    const ch = out.reshape([b, -1, c]).slice([0, 0, t.channel], [-1, -1, 1]).reshape([b, -1]);
    return (t.reduce === 'sum' ? ch.sum(1) : ch.max(1)) as tf.Tensor1D;
  });
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
): { gradient: tf.Tensor4D; logits: tf.Tensor2D; score: number } {
  const channel = isChannelTarget(target) ? target : null;
  if (channel) checkChannelTarget(model, channel);
  const onOrt = onEngine(model.net, (ort) => (!channel || ort.has(channel.layer) ? ortInputGradients(ort, batch, target, activeReluRule(model.net) ?? 'gradient') : undefined));
  if (onOrt) return onOrt;
  const net = logitsModel(model.net, channel ? [channel.layer] : []);
  syncHead(model.net);
  ensureInputGradients();
  let logits: tf.Tensor2D | null = null;
  let result: { value: tf.Scalar; grad: tf.Tensor };
  try {
    result = tf.valueAndGrad((x: tf.Tensor4D) => {
      const outs = net.predict(x) as tf.Tensor | tf.Tensor[];
      const list = Array.isArray(outs) ? outs : [outs];
      const l = tf.keep(flatLogits(model.net, list[list.length - 1]));
      logits = l;
      if (channel) return channelScores(list[0], channel).sum() as tf.Scalar;
      return scoreOf(l, target as ScoreTarget);
    })(batch);
  } catch (e) {
    (logits as tf.Tensor | null)?.dispose();
    throw explainKernelError(e, model, 'with respect to the input');
  }
  const { value, grad } = result;
  const score = value.dataSync()[0];
  value.dispose();
  return { gradient: grad as tf.Tensor4D, logits: logits as unknown as tf.Tensor2D, score };
}

/* ---- the same on ONNX Runtime (engine/onnx), used when the model compiles there ---- */

/** NCHW → NHWC order (TF's flattening order) of a 4-d value; other values as they are. */
function nhwcData(v: OrtValue, inverse = false): Float32Array {
  const d = v.data as Float32Array;
  if (v.dims.length !== 4 || (v.dims[2] === 1 && v.dims[3] === 1)) return d;
  const [B, C, H, W] = v.dims;
  const out = new Float32Array(d.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) {
        const nchw = (b * C + c) * H * W + p;
        const nhwc = (b * H * W + p) * C + c;
        if (inverse) out[nchw] = d[nhwc];
        else out[nhwc] = d[nchw];
      }
  return out;
}

/** The raw logits of a pass as [B, R] in TF's order (a 4-d logits layer is flattened like TF's reshape). */
function rawData(ort: OrtNet, fw: Forward): { data: Float32Array; B: number; R: number } {
  const l = fw.get(ort.logitsName);
  return { data: nhwcData(l), B: l.dims[0], R: l.data.length / l.dims[0] };
}

/** The class scores of a pass as [B, K] (the head applied to the raw logits). */
function logitsData(ort: OrtNet, fw: Forward): { data: Float32Array; B: number; K: number } {
  const { data, B } = rawData(ort, fw);
  const scores = modelHead(ort.net).scoresData(data);
  return { data: scores, B, K: scores.length / B };
}

function logitsTensor(ort: OrtNet, fw: Forward): tf.Tensor2D {
  const { data, B, K } = logitsData(ort, fw);
  return tf.tensor2d(data, [B, K]);
}

function rawTensor(ort: OrtNet, fw: Forward): tf.Tensor2D {
  const { data, B, R } = rawData(ort, fw);
  return tf.tensor2d(data, [B, R]);
}

/**
 * d score / d (raw logits) for a target and the score. A class: the head's seed per image (one-hot;
 * binary: −1 for class 0, +1 for class 1); a function of the class scores: its gradient through the head.
 */
function logitSeed(ort: OrtNet, fw: Forward, target: ScoreTarget): { seed: OrtValue; score: number } {
  const head: Head = modelHead(ort.net);
  const dims = fw.get(ort.logitsName).dims;
  const { data, B, R } = rawData(ort, fw);
  const asSeed = (flat: Float32Array): OrtValue => ({ data: nhwcData({ data: flat, dims }, true), dims });
  if (typeof target === 'function') {
    const raw = tf.tensor2d(data, [B, R]);
    const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => target(head.scores(z)))(raw);
    const out = { seed: asSeed(grad.dataSync() as Float32Array), score: value.dataSync()[0] };
    tf.dispose([raw, value, grad]);
    return out;
  }
  const one = head.seed(target);
  const scores = head.scoresData(data);
  const K = head.numClasses;
  const seed = new Float32Array(B * R);
  let score = 0;
  for (let b = 0; b < B; b++) {
    seed.set(one, b * R);
    score += scores[b * K + target];
  }
  return { seed: asSeed(seed), score };
}

/** d (channel score) / d (layer output) in the internal layout, and the summed score. */
function channelSeed(v: OrtValue, t: ChannelTarget): { seed: OrtValue; score: number } {
  const [B, C] = v.dims;
  const per = v.data.length / (B * C);
  const data = v.data as Float32Array;
  const seed = new Float32Array(data.length);
  let score = 0;
  for (let b = 0; b < B; b++) {
    const o = (b * C + t.channel) * per;
    if (t.reduce === 'sum') {
      for (let k = 0; k < per; k++) {
        seed[o + k] = 1;
        score += data[o + k];
      }
    } else {
      let m = -Infinity;
      for (let k = 0; k < per; k++) m = Math.max(m, data[o + k]);
      // Like TF's max: every position holding the maximum gets the gradient.
      for (let k = 0; k < per; k++) if (data[o + k] === m) seed[o + k] = 1;
      score += m;
    }
  }
  return { seed: { data: seed, dims: v.dims }, score };
}

/** Images per forward+backward pass on ONNX Runtime: every layer value of a pass is kept until its backward. */
const ORT_GRADIENT_BATCH = 4;

function ortInputGradients(
  ort: OrtNet,
  batch: tf.Tensor4D,
  target: ScoreTarget | ChannelTarget,
  rule: 'gradient' | 'guided' | 'deconvnet',
): { gradient: tf.Tensor4D; logits: tf.Tensor2D; score: number } {
  const B = batch.shape[0];
  const grads: tf.Tensor[] = [];
  const logits: tf.Tensor2D[] = [];
  let score = 0;
  try {
    for (let i0 = 0; i0 < B; i0 += ORT_GRADIENT_BATCH) {
      const n = Math.min(ORT_GRADIENT_BATCH, B - i0);
      const x = n === B ? batch : batch.slice([i0], [n]);
      const fw = ort.forward(x, 'all', x === batch ? batch : undefined, undefined, isChannelTarget(target) ? [target.layer] : []);
      if (x !== batch) x.dispose();
      let s: { seed: OrtValue; score: number };
      let from = ort.logitsName;
      if (isChannelTarget(target)) {
        s = channelSeed(fw.get(target.layer), target);
        from = target.layer;
      } else {
        s = logitSeed(ort, fw, target);
      }
      score += s.score;
      grads.push(toTensor(ort.backward(fw, from, s.seed, ort.inputName, rule)));
      logits.push(logitsTensor(ort, fw));
    }
    const gradient = (grads.length === 1 ? grads[0].clone() : tf.concat(grads, 0)) as tf.Tensor4D;
    const l = (logits.length === 1 ? logits[0].clone() : tf.concat(logits, 0)) as tf.Tensor2D;
    return { gradient, logits: l, score };
  } finally {
    tf.dispose([...grads, ...logits]);
  }
}



/**
 * For activation maximization on ONNX Runtime: one forward pass of `x`, the per-image scores
 * `score(get)` computes (in TF.js) from the named layers' outputs ('@logits' for the class scores,
 * see logitsOf), and d(sum of scores)/dx from one backward pass seeded at every named layer. Null when the
 * model (or one of the layers) does not run on the engine. The caller disposes `dx`.
 */
export function ortObjectiveGradient(
  model: CnnModel,
  x: tf.Tensor4D,
  layers: readonly string[],
  score: (get: (layer: string) => tf.Tensor) => tf.Tensor1D,
  logitsName = '@logits',
): { scores: Float32Array; dx: tf.Tensor4D } | null {
  return onEngine(model.net, (ort) => (layers.some((l) => l !== logitsName && !ort.has(l)) ? undefined : ortObjective(model, ort, x, layers, score, logitsName))) ?? null;
}

function ortObjective(
  model: CnnModel,
  ort: OrtNet,
  x: tf.Tensor4D,
  layers: readonly string[],
  score: (get: (layer: string) => tf.Tensor) => tf.Tensor1D,
  logitsName: string,
): { scores: Float32Array; dx: tf.Tensor4D } {
  const names = layers.map((l) => (l === logitsName ? ort.logitsName : l));
  // Only as deep as the deepest layer the objective reads.
  const deepest = names.reduce((a, n) => (ort.indexOf(n) > ort.indexOf(a) ? n : a), names[0]);
  const fw = ort.forward(x, 'all', undefined, deepest, names);
  // The logits are read raw; the head turns them into class scores inside the differentiated function.
  const head = modelHead(model.net);
  const acts = layers.map((l, i) => (l === logitsName ? rawTensor(ort, fw) : toTensor(fw.get(names[i]))));
  try {
    const get = (layer: string) => {
      const i = layers.indexOf(layer);
      if (i < 0) throw new CnnvisError(`objective read layer '${layer}' that it did not declare`);
      return acts[i];
    };
    let scores: Float32Array = new Float32Array(0);
    const grads = tf.grads((...as: tf.Tensor[]) => {
      const s = score((layer) => {
        const i = layers.indexOf(layer);
        const a = as[i] ?? get(layer);
        return layer === logitsName ? head.scores(a) : a;
      });
      scores = Float32Array.from(s.dataSync());
      return s.sum() as tf.Scalar;
    })(acts);
    const seeds = new Map<string, OrtValue>();
    grads.forEach((g, i) => {
      const dims = fw.get(names[i]).dims;
      // Logits seeds are [B, R] in TF order; the engine's logits value may be 4-d NCHW.
      const v = layers[i] === logitsName ? { data: nhwcData({ data: g.dataSync() as Float32Array, dims }, true), dims } : fromTensor(g);
      const prev = seeds.get(names[i]);
      seeds.set(names[i], prev ? sumValues(prev, v) : v);
    });
    tf.dispose(grads);
    const dx = toTensor(ort.backwardFrom(fw, seeds, ort.inputName)) as tf.Tensor4D;
    return { scores, dx };
  } finally {
    tf.dispose(acts);
  }
}
