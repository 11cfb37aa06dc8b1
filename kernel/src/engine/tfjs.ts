/**
 * The engine over TF.js (engine.ts): forward passes over the model's own graph (any topology:
 * branches and skips included) through models with extra outputs, and gradients with tf.valueAndGrad.
 *
 * The class scores come from the raw logits, the softmax's or sigmoid's input (a separate Softmax /
 * Activation layer), or, when the activation is fused into the last Dense / Conv layer, a linear copy
 * of that one layer applied to the same symbolic input (its weights synced with the original's before
 * every call); the head (models/head.ts) turns them into the class scores [B, K] (binary: [−z, z])
 * inside the differentiated function.
 *
 * d score / d (a layer's output A) is taken with a forward hook: while the gradient is computed, the
 * layer returns A + Z with Z = 0, and the gradient with respect to Z is the gradient with respect to A.
 * Only activation and input gradients are computed, never weight gradients. Guided backprop and the
 * deconvnet swap the model's ReLUs for the pass (reluRules.ts).
 *
 * On the wasm backend the gradient kernels it lacks (Conv2DBackpropFilter, which fused Conv2D asks for
 * even when only activation gradients are wanted, and DepthwiseConv2dNativeBackpropInput) are
 * registered from wasmGradients.ts before the first backward pass; other backends are untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { modelHead } from '../models/head';
import { getLayer, layerOutputShape } from '../taps';
import { ChannelTarget, Engine, Gradients, INPUT, isChannelTarget, LOGITS, ObjectiveScore, ReluRule, ScoreTarget } from './engine';
import { withFastLayers } from './fastLayers';
import { withReluRule } from './reluRules';
import { ensureInputGradients } from './wasmGradients';

interface LogitsHead {
  /** Symbolic raw logits: the softmax's / sigmoid's input (or the model output for a linear head). */
  logits: tf.SymbolicTensor;
  /** A linear copy of a layer with a fused softmax or sigmoid, whose weights must be synced before use. */
  linearCopy?: { copy: tf.layers.Layer; original: tf.layers.Layer };
}

const heads = new WeakMap<tf.LayersModel, LogitsHead>();

/** Where the raw (pre-softmax / pre-sigmoid) logits of a model are in its TF.js graph (cached per model). */
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

const tappedModels = new WeakMap<tf.LayersModel, Map<string, tf.LayersModel>>();

/**
 * A model over the same graph (sharing its weights) whose outputs are the named layers' outputs
 * followed by the raw logits ('logits') or the model's own outputs ('outputs'). Cached per model, kind
 * and layer list.
 */
function tapped(net: tf.LayersModel, layers: readonly string[], kind: 'logits' | 'outputs'): tf.LayersModel {
  const key = `${kind}\u0000${layers.join('\u0000')}`;
  let perNet = tappedModels.get(net);
  if (!perNet) {
    perNet = new Map();
    tappedModels.set(net, perNet);
  }
  const hit = perNet.get(key);
  if (hit) return hit;
  const taps = layers.map((n) => getLayer(net, n).output as tf.SymbolicTensor);
  const finals = kind === 'logits' ? [logitsHead(net).logits] : net.outputs;
  const m = tf.model({ inputs: net.inputs, outputs: [...taps, ...finals] });
  perNet.set(key, m);
  return m;
}

/**
 * A model over the same graph with outputs [...named layers' outputs, raw logits] (cached). Sync the
 * linear copy (if any) with `syncHead` before running it.
 */
export function logitsModel(net: tf.LayersModel, layers: readonly string[] = []): tf.LayersModel {
  return tapped(net, layers, 'logits');
}

/**
 * Runs the model once (under the caller's tape when there is one) for the named layers' outputs and the
 * raw logits; a layer whose output is the raw logits (a linear head's output) is read once.
 */
function runLogits(net: tf.LayersModel, layers: readonly string[], x: tf.Tensor4D, batchSize?: number): { taps: tf.Tensor[]; raw: tf.Tensor } {
  const logits = logitsHead(net).logits;
  const own = layers.filter((n) => getLayer(net, n).output !== logits);
  const out = logitsModel(net, own).predict(x, batchSize === undefined ? {} : { batchSize }) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(out) ? out : [out];
  const raw = list[own.length];
  return { taps: layers.map((n) => (own.includes(n) ? list[own.indexOf(n)] : raw)), raw };
}

/** Makes a fused-activation layer's linear copy use the original's current weights. */
export function syncHead(net: tf.LayersModel): void {
  const lc = logitsHead(net).linearCopy;
  if (lc) lc.copy.setWeights(lc.original.getWeights());
}

/** A model over the same graph whose outputs are the named layers' outputs followed by the model's own output(s) (cached). */
export function tapModel(net: tf.LayersModel, layerNames: readonly string[]): tf.LayersModel {
  return tapped(net, layerNames, 'outputs');
}

type CallFn = tf.layers.Layer['call'];

/** A layer's `activation` object, as far as the pre-activation tap uses it. */
type ActivationLike = { apply: (x: tf.Tensor) => tf.Tensor; getClassName: () => string };

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

/** Per-image score of a channel target from the layer output [B, ..., C]: [B]. */
export function channelScores(out: tf.Tensor, t: ChannelTarget): tf.Tensor1D {
  return tf.tidy(() => {
    const b = out.shape[0] ?? 1;
    const c = out.shape[out.rank - 1];
    const ch = out.reshape([b, -1, c]).slice([0, 0, t.channel], [-1, -1, 1]).reshape([b, -1]);
    return (t.reduce === 'sum' ? ch.sum(1) : ch.max(1)) as tf.Tensor1D;
  });
}

/** The score of a class (summed over the batch) or any scalar of the class scores. */
export function scoreOf(logits: tf.Tensor2D, target: ScoreTarget): tf.Scalar {
  if (typeof target === 'function') return target(logits);
  const k = logits.shape[1];
  if (!Number.isInteger(target) || target < 0 || target >= k) {
    throw new CnnvisError(`class index ${target} is out of range; the model has classes 0..${k - 1}`);
  }
  return logits.slice([0, target], [-1, 1]).sum() as tf.Scalar;
}

export class TfjsEngine implements Engine {
  readonly kind = 'tfjs';

  constructor(readonly net: tf.LayersModel) {}

  label(backend: string): string {
    return backend;
  }

  /** Raw logits [B, ...] → the class scores [B, K] of the model's head (binary: [−z, z]). */
  private scores(t: tf.Tensor): tf.Tensor2D {
    return modelHead(this.net).scores(t);
  }

  forward(x: tf.Tensor4D, layers: readonly string[]): { taps: tf.Tensor[]; logits: tf.Tensor2D } {
    syncHead(this.net);
    return tf.tidy(() => {
      const { taps, raw } = runLogits(this.net, layers, x);
      // (Each tap its own tensor: the caller disposes them one by one.)
      return { taps: taps.map((t) => (t === raw ? t.clone() : t)), logits: this.scores(raw) };
    });
  }

  outputs(x: tf.Tensor4D, layers: readonly string[]): { taps: tf.Tensor[]; output: tf.Tensor } {
    const out = tapModel(this.net, layers).predict(x);
    const list = Array.isArray(out) ? out : [out];
    return { taps: list.slice(0, layers.length), output: list[layers.length] };
  }

  logits(x: tf.Tensor4D, batchSize = 32): tf.Tensor2D {
    syncHead(this.net);
    return tf.tidy(() => this.scores(runLogits(this.net, [], x, batchSize).raw));
  }

  backward(x: tf.Tensor4D, target: ScoreTarget | ChannelTarget, to: string, rule: ReluRule = 'gradient'): Gradients {
    if (rule !== 'gradient') return withReluRule(this.net, rule, () => this.backward(x, target, to)).value;
    return to === INPUT ? this.inputBackward(x, target) : this.layerBackward(x, target, to);
  }

  private inputBackward(x: tf.Tensor4D, target: ScoreTarget | ChannelTarget): Gradients {
    const channel = isChannelTarget(target) ? target : null;
    syncHead(this.net);
    ensureInputGradients();
    let logits: tf.Tensor2D | null = null;
    let result: { value: tf.Scalar; grad: tf.Tensor };
    try {
      result = tf.valueAndGrad((xx: tf.Tensor4D) => {
        const { taps, raw } = runLogits(this.net, channel ? [channel.layer] : [], xx);
        const l = tf.keep(this.scores(raw));
        logits = l;
        if (channel) return channelScores(taps[0], channel).sum() as tf.Scalar;
        return scoreOf(l, target as ScoreTarget);
      })(x);
    } catch (e) {
      (logits as tf.Tensor | null)?.dispose();
      throw e;
    }
    const { value, grad } = result;
    const score = value.dataSync()[0];
    value.dispose();
    return { gradient: grad, logits: logits as unknown as tf.Tensor2D, score };
  }

  private layerBackward(x: tf.Tensor4D, target: ScoreTarget | ChannelTarget, layer: string): Gradients {
    const L = getLayer(this.net, layer);
    const channel = isChannelTarget(target) ? target : null;
    syncHead(this.net);
    ensureInputGradients();
    const z = tf.zeros([x.shape[0], ...layerOutputShape(L)]);
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
          tf.valueAndGrad((_zz: tf.Tensor) => {
            const { taps, raw } = runLogits(this.net, channel ? [channel.layer] : [], x);
            const l = tf.keep(this.scores(raw));
            logits = l;
            if (channel) return channelScores(taps[0], channel).sum() as tf.Scalar;
            return scoreOf(l, target as ScoreTarget);
          })(z),
      );
      if (!activation || !logits) throw new CnnvisError(`layer '${layer}' was not reached when running model '${this.net.name}'`);
      const score = value.dataSync()[0];
      value.dispose();
      return { activation, gradient: grad, logits, score };
    } catch (e) {
      (activation as tf.Tensor | null)?.dispose();
      (logits as tf.Tensor | null)?.dispose();
      throw e;
    } finally {
      z.dispose();
    }
  }

  scoresWithLayerOutput(batch: tf.Tensor4D, layer: string, replacement: tf.Tensor): tf.Tensor2D {
    const L = getLayer(this.net, layer);
    const B = replacement.shape[0] as number;
    const m = logitsModel(this.net);
    syncHead(this.net);
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
        () => this.scores(m.predict(x, { batchSize: B }) as tf.Tensor),
      );
    });
  }

  preActivationGradients(x: tf.Tensor4D, target: ScoreTarget, layers: readonly string[]): tf.Tensor[] {
    ensureInputGradients();
    syncHead(this.net);
    const net = logitsModel(this.net);
    const targets = layers.map((name) => getLayer(this.net, name));
    const zeros = targets.map((l) => tf.zeros([x.shape[0], ...layerOutputShape(l)]));
    const restore: Array<() => void> = [];
    let live: tf.Tensor[] = [];
    try {
      // A layer with its own activation: the activation is wrapped so that z (before it) gets + Z.
      const hooked: number[] = [];
      targets.forEach((layer, i) => {
        const holder = layer as unknown as { activation?: ActivationLike };
        const original = holder.activation;
        if (!original || typeof original.apply !== 'function') {
          hooked.push(i);
          return;
        }
        const hadOwn = Object.prototype.hasOwnProperty.call(holder, 'activation');
        holder.activation = { apply: (v) => original.apply(tf.add(v, live[i])), getClassName: () => 'CnnvisPreActivationTap' };
        restore.push(() => {
          if (hadOwn) holder.activation = original;
          else delete holder.activation;
        });
      });
      const run = (): tf.Tensor => scoreOf(this.scores(net.predict(x) as tf.Tensor), target);
      // Layers without an activation: an output hook adds + Z (nested, one per layer).
      const withHooks = (k: number, fn: () => tf.Tensor): tf.Tensor => {
        if (k === hooked.length) return fn();
        const i = hooked[k];
        return withForwardHook(targets[i], (out) => tf.add(out, live[i]), () => withHooks(k + 1, fn));
      };
      const grads = tf.grads((...args: tf.Tensor[]) => {
        live = args.slice(1);
        return withHooks(0, run);
      });
      return grads([x, ...zeros]);
    } catch (e) {
      const m = e instanceof Error ? /Kernel '(\w+)' not registered/.exec(e.message) : null;
      if (m) throw new CnnvisError(`these gradients need the TensorFlow.js gradient kernel '${m[1]}', which this backend lacks; run with CNNVIS_BACKEND=cpu`);
      throw e;
    } finally {
      restore.forEach((r) => r());
      zeros.forEach((z) => z.dispose());
    }
  }

  objectiveGradient(x: tf.Tensor4D, layers: readonly string[], score: ObjectiveScore, _options: { linear?: boolean } = {}): { scores: Float32Array; dx: tf.Tensor4D } {
    ensureInputGradients();
    const names = layers.filter((l) => l !== LOGITS);
    syncHead(this.net);
    let scores: Float32Array = new Float32Array(0);
    // The layers in their gradient-friendly forms for the pass (fastLayers.ts).
    const { value, grad } = withFastLayers(this.net, () =>
      tf.valueAndGrad((xx: tf.Tensor4D) => {
        const { taps, raw } = runLogits(this.net, names, xx);
        const s = score((layer) => {
          if (layer === LOGITS) return this.scores(raw);
          const i = names.indexOf(layer);
          if (i < 0) throw new CnnvisError(`objective read layer '${layer}' that it did not declare`);
          return taps[i];
        });
        scores = Float32Array.from(s.dataSync());
        return s.sum() as tf.Scalar;
      })(x),
    );
    value.dispose();
    // A constant, like the other engine's: a caller differentiating through x (the render loop's
    // chain rule) must not differentiate this gradient computation again.
    const dx = tf.tensor4d(grad.dataSync() as Float32Array, grad.shape as [number, number, number, number]);
    grad.dispose();
    return { scores, dx };
  }
}
