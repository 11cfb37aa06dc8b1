/**
 * A model's head: what its output means and which numbers explanations differentiate. One place that
 * every path asks (predictions, the TF.js gradient taps, the ONNX Runtime engine, activation
 * maximization, occlusion, Score-CAM, the report):
 *
 * - softmax (fused into a Dense / Conv layer, or a separate Softmax / Activation('softmax') layer,
 *   possibly followed by Reshape, Flatten, Dropout or identity layers): the class scores are the
 *   pre-softmax logits, probabilities their softmax;
 * - one sigmoid unit: a binary classifier with two classes, 0 (negative, probability 1 − p) and 1
 *   (positive, p). With z the pre-sigmoid logit the class scores are [−z, z], and the probabilities
 *   are their sigmoid (σ(−z) = 1 − σ(z)). One linear output unit is read the same way (a binary
 *   classifier trained on logits);
 * - several sigmoid units (multi-label): the scores are the pre-sigmoid logits, probabilities their
 *   sigmoid, one per class (they need not sum to 1);
 * - anything else (a linear head): the outputs are taken as the logits; probabilities = their softmax.
 *
 * "Raw logits" are the values of one layer (`logitsLayer`, before its own activation when `fused`);
 * the scores [B, K] are computed from them (`scores`), and a class's gradient seed on the raw logits
 * is `seed(k)` (binary: −1 for class 0, +1 for class 1).
 */
import { INFERENCE_IDENTITY } from './layerClasses';
import * as util from 'util';
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';

export type HeadKind = 'softmax' | 'binary' | 'multilabel' | 'linear';

/** Layers that leave values unchanged in meaning at inference (walked over to find the activation). */
const PASS_THROUGH: ReadonlySet<string> = new Set(['Reshape', 'Flatten', ...INFERENCE_IDENTITY]);

function activationName(layer: tf.layers.Layer): string | undefined {
  if (layer.getClassName() === 'Softmax') return 'softmax';
  const cfg = layer.getConfig() as { activation?: unknown };
  return typeof cfg.activation === 'string' ? cfg.activation : undefined;
}

function only<T>(xs: readonly T[] | undefined): T | undefined {
  return xs && xs.length === 1 ? xs[0] : undefined;
}

function outShape(layer: tf.layers.Layer): (number | null)[] {
  const s = layer.outputShape as (number | null)[] | (number | null)[][];
  return (Array.isArray(s[0]) ? (s[0] as (number | null)[]) : (s as (number | null)[])).slice(1);
}

function size(shape: (number | null)[]): number {
  return shape.reduce<number>((a, d) => a * (d ?? NaN), 1);
}

/** The layer producing a model's (first) output. */
function outputLayer(net: tf.LayersModel): tf.layers.Layer {
  const layer = net.outputLayers?.[0] ?? net.outputs?.[0]?.sourceLayer;
  if (!layer) throw new CnnvisError(`model '${net.name}' has no output layer; build it (give its input shape) before using it with cnnvis`);
  return layer as tf.layers.Layer;
}

export class Head {
  constructor(
    readonly kind: HeadKind,
    /** The layer whose output is the model's output. */
    readonly output: tf.layers.Layer,
    /**
     * The layer whose output is the raw logits; with `fused`, its output before its own activation
     * (a Dense / Conv with the softmax or sigmoid built in).
     */
    readonly logitsLayer: tf.layers.Layer,
    /** The activation is `logitsLayer`'s own (its pre-activation output is the raw logits). */
    readonly fused: boolean,
    /** The layer applying the softmax / sigmoid (null for a linear head). */
    readonly site: tf.layers.Layer | null,
    /** Raw logits per image (flattened). */
    readonly rawSize: number,
    /** A one-unit head without a sigmoid: its output is taken as the logit z of a binary classifier. */
    readonly fromLogits = false,
  ) {}

  /** One line (what console.log and a notebook cell show), never the layers' internals. */
  toString(): string {
    return `Head(${this.kind} at '${this.output.name}', ${this.numClasses} classes${this.fused ? ', activation fused' : ''})`;
  }

  [util.inspect.custom](): string {
    return this.toString();
  }

  /** Number of classes: 2 for a binary head, else one per raw logit. */
  get numClasses(): number {
    return this.kind === 'binary' ? 2 : this.rawSize;
  }

  /** Raw logits [B, ...] → class scores [B, K] (binary: [−z, z]). Differentiable. */
  scores(raw: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const flat = raw.reshape([raw.shape[0] ?? 1, -1]) as tf.Tensor2D;
      return this.kind === 'binary' ? (tf.concat([tf.neg(flat), flat], 1) as tf.Tensor2D) : flat;
    });
  }

  /** The same on the host: raw logits [B × rawSize] → scores [B × K]. */
  scoresData(raw: Float32Array): Float32Array {
    if (this.kind !== 'binary') return raw;
    const out = new Float32Array(raw.length * 2);
    for (let b = 0; b < raw.length; b++) {
      out[2 * b] = -raw[b];
      out[2 * b + 1] = raw[b];
    }
    return out;
  }

  /** Class scores [B, K] → probabilities [B, K]: softmax, or sigmoid for sigmoid heads. */
  probabilities(scores: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => (this.kind === 'binary' || this.kind === 'multilabel' ? tf.sigmoid(scores) : tf.softmax(scores)) as tf.Tensor2D);
  }

  /** The same on the host, for rows of K scores. */
  probabilitiesData(scores: Float32Array): Float32Array {
    const K = this.numClasses;
    const out = new Float32Array(scores.length);
    for (let r = 0; r < scores.length; r += K) {
      if (this.kind === 'binary' || this.kind === 'multilabel') {
        for (let i = r; i < r + K; i++) out[i] = 1 / (1 + Math.exp(-scores[i]));
        continue;
      }
      let m = -Infinity;
      for (let i = r; i < r + K; i++) m = Math.max(m, scores[i]);
      let s = 0;
      for (let i = r; i < r + K; i++) s += out[i] = Math.exp(scores[i] - m);
      for (let i = r; i < r + K; i++) out[i] /= s;
    }
    return out;
  }

  /**
   * The model's own output [B, ...] → probabilities [B, K]: the output itself for softmax and
   * multi-label heads, [1 − p, p] for one sigmoid unit, the softmax of a linear head's outputs.
   */
  probabilitiesFromOutput(out: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const flat = out.reshape([out.shape[0] ?? 1, -1]) as tf.Tensor2D;
      if (this.kind === 'binary') {
        const p = this.fromLogits ? tf.sigmoid(flat) : flat;
        return tf.concat([tf.sub(1, p), p], 1) as tf.Tensor2D;
      }
      return this.kind === 'linear' ? (tf.softmax(flat) as tf.Tensor2D) : flat;
    });
  }

  /** Raw logits [B, ...] → the model's output [B, ...output shape] (the head's activation applied). */
  activate(raw: tf.Tensor): tf.Tensor {
    if (this.kind === 'linear' || this.fromLogits) return raw.clone();
    return tf.tidy(() => {
      const b = raw.shape[0] ?? 1;
      const flat = raw.reshape([b, -1]);
      const y = this.kind === 'softmax' ? tf.softmax(flat) : tf.sigmoid(flat);
      return y.reshape([b, ...outShape(this.output).map((d) => d ?? -1)]);
    });
  }

  /** d(score of class k)/d(raw logits) for one image, [rawSize] (binary: [−1] or [+1]). */
  seed(k: number): Float32Array {
    this.checkClass(k);
    if (this.kind === 'binary') return Float32Array.of(k === 1 ? 1 : -1);
    const s = new Float32Array(this.rawSize);
    s[k] = 1;
    return s;
  }

  /** Throws a CnnvisError unless k is a class of this head. */
  checkClass(k: number): void {
    if (!Number.isInteger(k) || k < 0 || k >= this.numClasses) {
      throw new CnnvisError(`class index ${k} is out of range; the model has classes 0..${this.numClasses - 1}`);
    }
  }

  /** The name of class k's score, e.g. 'pre-softmax logit', 'pre-sigmoid logit z', '−z (negated pre-sigmoid logit)'. */
  scoreName(k: number): string {
    switch (this.kind) {
      case 'softmax':
        return 'pre-softmax logit';
      case 'multilabel':
        return 'pre-sigmoid logit';
      case 'linear':
        return 'output (linear head)';
      case 'binary': {
        const z = this.fromLogits ? 'output logit' : 'pre-sigmoid logit';
        return k === 0 ? `−z (negated ${z})` : `${z} z`;
      }
    }
  }

  /** What an explanation of class k differentiates, as a short sentence. */
  describe(k: number): string {
    switch (this.kind) {
      case 'softmax':
        return `differentiates the pre-softmax logit of class ${k}`;
      case 'multilabel':
        return `differentiates the pre-sigmoid logit of class ${k}`;
      case 'linear':
        return `differentiates output ${k} (linear head: the outputs are taken as logits)`;
      case 'binary': {
        const z = this.fromLogits ? 'output logit' : 'pre-sigmoid logit';
        return k === 1 ? `differentiates the ${z} z (class 1)` : `differentiates −z, the negated ${z} (class 0)`;
      }
    }
  }

  /** How the probabilities shown are computed. */
  get probabilityNote(): string {
    switch (this.kind) {
      case 'softmax':
        return 'softmax of the logits';
      case 'multilabel':
        return 'sigmoid per class (multi-label: they need not sum to 1)';
      case 'linear':
        return 'softmax of the outputs (linear head: the model has no softmax; its outputs are taken as logits)';
      case 'binary':
        return this.fromLogits
          ? 'binary classifier with one linear output z: class 1 = σ(z), class 0 = 1 − σ(z)'
          : 'binary classifier with one sigmoid unit: class 1 = p, class 0 = 1 − p';
    }
  }
}

/**
 * Finds the head by walking back from the output over pass-through layers to the first softmax or
 * sigmoid (a layer's own activation, a Softmax layer or an Activation layer).
 */
export function findHead(net: tf.LayersModel): Head {
  const output = outputLayer(net);
  let layer: tf.layers.Layer | undefined = output;
  for (let hops = 0; layer && hops < 16; hops++) {
    const act = activationName(layer);
    const cls = layer.getClassName();
    if (act === 'softmax' || act === 'sigmoid') {
      const separate = cls === 'Softmax' || cls === 'Activation';
      const logitsLayer = separate ? only(layer.inboundNodes[0]?.inboundLayers) : layer;
      if (!logitsLayer) break;
      const raw = size(separate ? outShape(logitsLayer) : outShape(layer));
      const kind: HeadKind = act === 'softmax' ? 'softmax' : raw === 1 ? 'binary' : 'multilabel';
      return new Head(kind, output, logitsLayer, !separate, layer, raw);
    }
    if (!PASS_THROUGH.has(cls) && !(cls === 'Activation' && act === 'linear')) break;
    layer = only(layer.inboundNodes[0]?.inboundLayers);
  }
  const raw = size(outShape(output));
  return raw === 1 ? new Head('binary', output, output, false, null, 1, true) : new Head('linear', output, output, false, null, raw);
}

const heads = new WeakMap<tf.LayersModel, Head>();

/** The model's head (cached per model). */
export function modelHead(net: tf.LayersModel): Head {
  let h = heads.get(net);
  if (!h) {
    h = findHead(net);
    heads.set(net, h);
  }
  return h;
}
