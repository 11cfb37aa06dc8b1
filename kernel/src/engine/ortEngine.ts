/**
 * The engine over ONNX Runtime (engine.ts), for models the ONNX compiler runs (engine/onnx/net.ts,
 * OrtNet). Values between layers stay in the runtime's layout (NCHW); this file converts them to and
 * from TF's (NHWC) at the interface, turns targets into seeds at the logits or at a layer, and passes
 * the ReLU rule to the backward graphs.
 *
 * Every call runs through `onEngine`: when the model does not run here (a tapped layer off the path to
 * the logits, a target it cannot seed) the call is answered by the TF.js engine; when the runtime fails
 * on the model, the model moves to TF.js for good and the call is answered there.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { Head, modelHead } from '../models/head';
import { ChannelTarget, Engine, Gradients, INPUT, isChannelTarget, LOGITS, ObjectiveScore, ReluRule, ScoreTarget } from './engine';
import { engineLabel, Forward, fromTensor, joinRows, onEngine, OrtNet, sumValues, toTensor } from './onnx/net';
import { OrtValue } from './onnx/runtime';
import { TfjsEngine } from './tfjs';

/** Images per forward+backward pass on ONNX Runtime: every layer value of a pass is kept until its backward. */
const ORT_GRADIENT_BATCH = 4;

export class OrtEngine implements Engine {
  readonly kind = 'onnxruntime';

  constructor(
    readonly net: tf.LayersModel,
    /** Answers what this engine cannot. */
    readonly tfjs: TfjsEngine,
  ) {}

  label(backend: string): string {
    return engineLabel(backend, this.net);
  }

  forward(x: tf.Tensor4D, layers: readonly string[]): { taps: tf.Tensor[]; logits: tf.Tensor2D } {
    return (
      onEngine(this.net, (ort) => {
        if (!layers.every((l) => holds(ort, l))) return undefined;
        // Keyed by the input tensor: a gradient of the same input next re-uses the pass.
        const fw = ort.forward(x, { layers, key: x });
        return { taps: layers.map((l) => toTensor(fw.get(l))), logits: logitsTensor(ort, fw) };
      }) ?? this.tfjs.forward(x, layers)
    );
  }

  /** The named layers' outputs and the model's own output (the head's softmax / sigmoid applied). */
  outputs(x: tf.Tensor4D, layers: readonly string[]): { taps: tf.Tensor[]; output: tf.Tensor } {
    return (
      onEngine(this.net, (ort) => {
        if (x.rank !== 4 || !layers.every((n) => holds(ort, n))) return undefined;
        const fw = ort.forward(x, { layers });
        const taps = layers.map((n) => toTensor(fw.get(n)));
        // The engine stops at the raw logits; the head's softmax / sigmoid gives the model's output.
        const output = tf.tidy(() => modelHead(this.net).activate(toTensor(fw.get(ort.logitsName))));
        return { taps, output };
      }) ?? this.tfjs.outputs(x, layers)
    );
  }

  logits(batch: tf.Tensor4D, batchSize = 32): tf.Tensor2D {
    return (
      onEngine(this.net, (ort) => {
        const B = batch.shape[0];
        const parts: OrtValue[] = [];
        for (let i0 = 0; i0 < B; i0 += batchSize) {
          const x = i0 === 0 && batchSize >= B ? batch : batch.slice([i0], [Math.min(batchSize, B - i0)]);
          // The logits-only graph (batch norms folded, kernels pre-packed): a prediction keeps nothing
          // for a gradient that may follow, which runs its own forward pass.
          const l = logitsData(ort, ort.forward(x));
          parts.push({ data: l.data, dims: [l.B, l.K] });
          if (x !== batch) x.dispose();
        }
        // (An empty batch: no part, no classes, as before.)
        const all = parts.length ? joinRows(parts) : { data: new Float32Array(0), dims: [0, 0] };
        return tf.tensor2d(all.data as Float32Array, all.dims as [number, number]);
      }) ?? this.tfjs.logits(batch, batchSize)
    );
  }

  backward(x: tf.Tensor4D, target: ScoreTarget | ChannelTarget, to: string, rule: ReluRule = 'gradient'): Gradients {
    const channel = isChannelTarget(target) ? target : null;
    return (
      onEngine(this.net, (ort) => {
        if (channel && !holds(ort, channel.layer)) return undefined;
        if (to === INPUT) return inputBackward(ort, x, target, rule);
        if (!holds(ort, to)) return undefined;
        // Keyed by the input tensor: the same image again (a new class in an explorer) re-uses every
        // layer value of its forward pass and only runs the backward graphs above the layer.
        // A target at the logits keeps only what backward passes from the logits down to `to` read
        // (the values below stay inside the runtime).
        const fw = ort.forward(x, { complete: true, key: x, layers: channel ? [to, channel.layer] : [to], downTo: channel ? undefined : to });
        const s = channel ? channelSeed(fw.get(channel.layer), channel) : logitSeed(ort, fw, target as ScoreTarget);
        const g = ort.backward(fw, channel ? channel.layer : ort.logitsName, s.seed, to, rule);
        return { activation: toTensor(fw.get(to)), gradient: toTensor(g), logits: logitsTensor(ort, fw), score: s.score };
      }) ?? this.tfjs.backward(x, target, to, rule)
    );
  }

  /**
   * The layers after `layer` as one engine graph (composeSuffix), fed the replacement and what they
   * read from earlier layers; on TF.js when that output exists only inside a fused chain, or for the
   * logits layer itself.
   */
  scoresWithLayerOutput(x: tf.Tensor4D, layer: string, replacement: tf.Tensor): tf.Tensor2D {
    return (
      onEngine(this.net, (ort) => {
        if (!ort.has(layer) || layer === ort.logitsName) return undefined;
        const d = ort.dims(layer);
        const want = d.length === 3 ? [d[1], d[2], d[0]] : d;
        if (replacement.shape.length !== want.length + 1 || want.some((v, i) => v !== replacement.shape[i + 1])) {
          throw new CnnvisError(`layer '${layer}' produced shape [${[x.shape[0], ...want].join(', ')}], the replacement has [${replacement.shape.join(', ')}]`);
        }
        const raw = ort.logitsFrom(x, layer, fromTensor(replacement));
        if (!raw) return undefined;
        const B = raw.dims[0];
        const scores = modelHead(ort.net).scoresData(nhwcData(raw));
        return tf.tensor2d(scores, [B, scores.length / B]);
      }) ?? this.tfjs.scoresWithLayerOutput(x, layer, replacement)
    );
  }

  /** On TF.js: the runtime's graphs end each layer at its activation, not before it. */
  preActivationGradients(x: tf.Tensor4D, target: ScoreTarget, layers: readonly string[]): tf.Tensor[] {
    return this.tfjs.preActivationGradients(x, target, layers);
  }

  objectiveGradient(x: tf.Tensor4D, layers: readonly string[], score: ObjectiveScore, options: { linear?: boolean } = {}): { scores: Float32Array; dx: tf.Tensor4D } {
    return (
      onEngine(this.net, (ort) =>
        layers.some((l) => l !== LOGITS && !holds(ort, l)) ? undefined : ((options.linear ? linearObjective(ort, x, layers, score) : null) ?? objectiveBackward(ort, x, layers, score)),
      ) ??
      this.tfjs.objectiveGradient(x, layers, score)
    );
  }
}

/**
 * The engine holds layer `l`'s output as the model computes it: every layer it runs but the logits
 * layer of a head whose softmax / sigmoid is the layer's own activation (the engine keeps that layer's
 * output before it). Calls that read such a layer run on TF.js.
 */
function holds(ort: OrtNet, l: string): boolean {
  if (!ort.has(l)) return false;
  if (l !== ort.logitsName) return true;
  const h = modelHead(ort.net);
  return !h.fused || h.kind === 'linear' || h.fromLogits;
}

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
  return { seed: classSeed(head, target, dims), score: classScore(head, head.scoresData(data), target) };
}

/** The seed of class `target`'s score at the raw logits of a batch (the head's seed for every image), in the internal layout of a logits value of `dims`. */
function classSeed(head: Head, target: number, dims: number[]): OrtValue {
  const one = head.seed(target);
  const seed = new Float32Array(dims[0] * one.length);
  for (let b = 0; b < dims[0]; b++) seed.set(one, b * one.length);
  return { data: nhwcData({ data: seed, dims }, true), dims };
}

/** Class `target`'s score summed over a batch's class scores [B, K]. */
function classScore(head: Head, scores: Float32Array, target: number): number {
  const K = head.numClasses;
  let score = 0;
  for (let b = 0; b < scores.length / K; b++) score += scores[b * K + target];
  return score;
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

/** d score / d input: a class one image per pass, other targets ORT_GRADIENT_BATCH images per pass. */
function inputBackward(ort: OrtNet, batch: tf.Tensor4D, target: ScoreTarget | ChannelTarget, rule: ReluRule): Gradients {
  const B = batch.shape[0];
  const grads: tf.Tensor[] = [];
  const logits: tf.Tensor2D[] = [];
  let score = 0;
  try {
    // A class's gradient runs forward and backward in one graph, fastest one image at a time (a
    // batch's layer values no longer fit the caches); other targets go ORT_GRADIENT_BATCH at a time.
    const step = typeof target === 'number' ? 1 : ORT_GRADIENT_BATCH;
    for (let i0 = 0; i0 < B; i0 += step) {
      const n = Math.min(step, B - i0);
      const x = n === B ? batch : batch.slice([i0], [n]);
      if (typeof target === 'number') {
        // A class: its seed is known before the pass, so forward and backward run as one graph.
        const one = classGradient(ort, x, target, rule);
        if (one) {
          if (x !== batch) x.dispose();
          score += one.score;
          grads.push(one.gradient);
          logits.push(one.logits);
          continue;
        }
      }
      const fw = ort.forward(x, { complete: true, key: x === batch ? batch : undefined, layers: isChannelTarget(target) ? [target.layer] : [] });
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
 * d (class `target`'s score, summed over the batch) / d input for an image batch, forward and backward
 * in one runtime call (OrtNet.inputGradient); null where that graph does not serve the model.
 */
function classGradient(ort: OrtNet, x: tf.Tensor4D, target: number, rule: ReluRule): Gradients | null {
  const head = modelHead(ort.net);
  const B = x.shape[0];
  const r = ort.inputGradient(x, classSeed(head, target, [B, ...ort.dims(ort.logitsName)]), rule);
  if (!r) return null;
  const scores = head.scoresData(nhwcData(r.logits));
  return { gradient: tf.tensor4d(r.gx.data as Float32Array, x.shape), logits: tf.tensor2d(scores, [B, head.numClasses]), score: classScore(head, scores, target) };
}

/**
 * The per-image scores at the activations `acts` of the objective's layers (TF layout; the raw logits
 * [B, R] for LOGITS, which the head turns into class scores inside the differentiated function) and
 * d(sum of scores)/d each layer's output as engine seeds (internal layout, summed per engine layer).
 */
function scoreSeeds(ort: OrtNet, layers: readonly string[], acts: tf.Tensor[], score: ObjectiveScore): { scores: Float32Array; seeds: Map<string, OrtValue> } {
  const head = modelHead(ort.net);
  let scores: Float32Array = new Float32Array(0);
  const grads = tf.grads((...as: tf.Tensor[]) => {
    const s = score((layer) => {
      const i = layers.indexOf(layer);
      if (i < 0) throw new CnnvisError(`objective read layer '${layer}' that it did not declare`);
      return layer === LOGITS ? head.scores(as[i]) : as[i];
    });
    scores = Float32Array.from(s.dataSync());
    return s.sum() as tf.Scalar;
  })(acts);
  const seeds = new Map<string, OrtValue>();
  grads.forEach((g, i) => {
    const name = layers[i] === LOGITS ? ort.logitsName : layers[i];
    const dims = [acts[i].shape[0], ...ort.dims(name)];
    // Logits seeds are [B, R] in TF order; the engine's logits value may be 4-d NCHW.
    const v = layers[i] === LOGITS ? { data: nhwcData({ data: g.dataSync() as Float32Array, dims }, true), dims } : fromTensor(g);
    const prev = seeds.get(name);
    seeds.set(name, prev ? sumValues(prev, v) : v);
  });
  tf.dispose(grads);
  return { scores, seeds };
}

/**
 * A linear objective (a weighted sum of layer outputs) in one runtime call: its weights are its
 * gradient at zero activations (computed once here, in TF.js, through the head for LOGITS), fed as
 * seeds to the one-call graph, which returns each image's score and the input gradient. Null when that
 * graph does not serve these layers.
 */
function linearObjective(ort: OrtNet, x: tf.Tensor4D, layers: readonly string[], score: ObjectiveScore): { scores: Float32Array; dx: tf.Tensor4D } | null {
  const seeds = linearSeeds(ort, x.shape[0], layers, score);
  const r = ort.objectiveGradient(x, seeds);
  if (!r) return null;
  return { scores: Float32Array.from(r.score.data as Float32Array), dx: tf.tensor4d(r.gx.data as Float32Array, r.gx.dims as [number, number, number, number]) };
}

/** The last weights derived from each score function (the render loop passes the same one every step). */
const seedCache = new WeakMap<ObjectiveScore, { ort: OrtNet; key: string; seeds: Map<string, OrtValue> }>();

/**
 * A linear objective's weights for a batch of B: d score / d output of each layer it reads (internal
 * layout), its gradient at zero activations, kept per score function for the next call.
 */
function linearSeeds(ort: OrtNet, B: number, layers: readonly string[], score: ObjectiveScore): Map<string, OrtValue> {
  const key = `${B}\u0000${layers.join('\u0000')}`;
  const kept = seedCache.get(score);
  if (kept && kept.ort === ort && kept.key === key) return kept.seeds;
  const names = layers.map((l) => (l === LOGITS ? ort.logitsName : l));
  const tfDims = (d: number[]) => (d.length === 3 ? [d[1], d[2], d[0]] : d);
  const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const zeros = names.map((n, i) => tf.zeros(layers[i] === LOGITS ? [B, size(ort.dims(n))] : [B, ...tfDims(ort.dims(n))]));
  let seeds: Map<string, OrtValue>;
  try {
    seeds = scoreSeeds(ort, layers, zeros, score).seeds;
  } finally {
    tf.dispose(zeros);
  }
  seedCache.set(score, { ort, key, seeds });
  return seeds;
}

/**
 * One forward pass of `x`, the objective's per-image scores from the named layers' outputs (in TF.js),
 * and d(sum of scores)/dx from one backward pass seeded at every named layer.
 */
function objectiveBackward(
  ort: OrtNet,
  x: tf.Tensor4D,
  layers: readonly string[],
  score: ObjectiveScore,
): { scores: Float32Array; dx: tf.Tensor4D } {
  const names = layers.map((l) => (l === LOGITS ? ort.logitsName : l));
  // Only as deep as the deepest layer the objective reads.
  const deepest = names.reduce((a, n) => (ort.indexOf(n) > ort.indexOf(a) ? n : a), names[0]);
  const fw = ort.forward(x, { complete: true, upTo: deepest, layers: names });
  const acts = layers.map((l, i) => (l === LOGITS ? rawTensor(ort, fw) : toTensor(fw.get(names[i]))));
  try {
    const { scores, seeds } = scoreSeeds(ort, layers, acts, score);
    const dx = toTensor(ort.backwardFrom(fw, seeds, ort.inputName)) as tf.Tensor4D;
    return { scores, dx };
  } finally {
    tf.dispose(acts);
  }
}
