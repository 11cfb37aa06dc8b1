/**
 * A TF.js layers model run on ONNX Runtime (OrtNet): forward passes (logits, any layers' outputs) and
 * backward passes from a seed at any layer (the logits for a class, or one feature map) down to any
 * earlier layer or the input, with the plain, guided or deconvnet ReLU rule. The work is split by job:
 * plan.ts (the layers, their kernels and fused chains), forward.ts and backward.ts (the passes),
 * compose.ts (layer graphs joined into one graph per kind of pass), caches.ts (compiled graphs, the
 * kept pass), values.ts (values between graphs).
 *
 * Each layer is compiled once into a forward graph and, on the first gradient request that reaches
 * it, a backward graph (layers.ts); passes run them joined into one graph each (compose.ts): the
 * logits, a class's input gradient (forward and backward in one call), a forward pass that keeps the
 * values a later backward pass reads (in JS memory, NCHW), so a new class only runs the backward
 * graphs above the chosen layer.
 *
 * The model's weights are watched (every weight variable's `assign`): after a change (setWeights,
 * training, cascading randomization) the graphs are rebuilt on next use. Models the engine cannot
 * compile, or fails on, run on TF.js, and say why (ortUnsupportedReason, engineFallbacks).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { runBackward, runInputGradient, runObjectiveGradient } from './backward';
import { GraphCache } from './caches';
import { ForwardOptions, runForward, runSuffix } from './forward';
import { Rule } from './layers';
import { oneLine, Plan } from './plan';
import { ortRuntime, OrtValue } from './runtime';
import { Forward } from './values';

export type { ForwardOptions } from './forward';
export { Forward, fromTensor, joinRows, sumValues, toTensor } from './values';

const versions = new WeakMap<tf.LayersModel, { version: number }>();

/** A counter that changes whenever one of the model's weight variables is assigned. */
export function weightsVersion(net: tf.LayersModel): number {
  let v = versions.get(net);
  if (!v) {
    const box = { version: 0 };
    v = box;
    versions.set(net, box);
    for (const lv of net.weights) {
      const variable = (lv as unknown as { val?: tf.Variable }).val;
      if (!variable || typeof variable.assign !== 'function') continue;
      const assign = variable.assign.bind(variable);
      variable.assign = (x: tf.Tensor) => {
        box.version++;
        assign(x);
      };
    }
  }
  return v.version;
}

export class OrtNet {
  private readonly cache = new GraphCache();

  private constructor(private readonly plan: Plan) {}

  /** Compiles the model, or returns why it cannot run here (one line; see Plan.build). */
  static build(net: tf.LayersModel): OrtNet | string {
    const plan = Plan.build(net);
    return typeof plan === 'string' ? plan : new OrtNet(plan);
  }

  get net(): tf.LayersModel {
    return this.plan.net;
  }

  get inputName(): string {
    return this.plan.inputName;
  }

  /** The layer whose output is the raw (pre-softmax / pre-sigmoid) logits (models/head.ts). */
  get logitsName(): string {
    return this.plan.logitsName;
  }

  /** Limits of one run (see GraphCache.limits); settable. */
  get limits(): GraphCache['limits'] {
    return this.cache.limits;
  }

  /** Graph runs so far (see GraphCache.runs). */
  get runs(): GraphCache['runs'] {
    return this.cache.runs;
  }

  /** Position of a layer in the engine's order (−1 when it is not on the way to the logits). */
  indexOf(layer: string): number {
    return this.plan.indexOf(layer);
  }

  has(layer: string): boolean {
    return this.plan.has(layer);
  }

  /** Internal dims (no batch) of a layer's output. */
  dims(layer: string): number[] {
    return this.plan.dims(layer);
  }

  /** Runs the model on an NHWC batch: the logits and the layers `opts` asks for (see ForwardOptions). */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): Forward {
    return runForward(this.plan, this.cache, x, opts);
  }

  /**
   * The raw logits with layer `layer`'s output replaced by `y` ([n, ...], internal layout): the layers
   * after it in one runtime call, fed what they read from earlier layers from a pass of `x` (one image
   * or n). Null when that output exists only inside a fused chain (see composeSuffix).
   */
  logitsFrom(x: tf.Tensor4D, layer: string, y: OrtValue): OrtValue | null {
    return runSuffix(this.plan, this.cache, x, layer, y);
  }

  /**
   * Gradient of a seed at layer `from` (d score / d output of `from`, internal layout) with respect to
   * the output of layer `to` (or the input, `to` = the input layer's name). Needs a complete forward.
   */
  backward(fw: Forward, from: string, seed: OrtValue, to: string, rule: Rule = 'gradient'): OrtValue {
    return runBackward(this.plan, this.cache, fw, new Map([[from, seed]]), to, rule);
  }

  /** The same with seeds at several layers (their gradients add up where the paths meet). */
  backwardFrom(fw: Forward, seeds: Map<string, OrtValue>, to: string, rule: Rule = 'gradient'): OrtValue {
    return runBackward(this.plan, this.cache, fw, seeds, to, rule);
  }

  /**
   * The raw logits of an NHWC batch and d(seed · logits)/d input (NHWC, as TF.js holds images) under
   * `rule`, in one runtime call; `seed` is [B, ...logits dims] in the internal layout. Null when the
   * model's input is not an image or no gradient reaches it.
   */
  inputGradient(x: tf.Tensor4D, seed: OrtValue, rule: Rule = 'gradient'): { logits: OrtValue; gx: OrtValue } | null {
    return runInputGradient(this.plan, this.cache, x, seed, rule);
  }

  /**
   * Each image's score Σ seed · output over the layers of `seeds` (weights in the internal layout,
   * [B, ...dims]) and its gradient with respect to the input (NHWC), in one runtime call. Null when the
   * model's input is not an image or the one-call graph does not serve these layers.
   */
  objectiveGradient(x: tf.Tensor4D, seeds: Map<string, OrtValue>, rule: Rule = 'gradient'): { score: OrtValue; gx: OrtValue } | null {
    return runObjectiveGradient(this.plan, this.cache, x, seeds, rule);
  }

  /** Drops compiled graphs (weights changed) and cached passes. */
  dispose(): void {
    this.cache.dispose();
  }
}

const nets = new WeakMap<tf.LayersModel, { version: number; net: OrtNet | string }>();

/** A weak reference (ES2021; the project's TypeScript library is older). */
interface Weak<T> {
  deref(): T | undefined;
}
const WeakRefCtor = (globalThis as unknown as { WeakRef: new <T extends object>(target: T) => Weak<T> }).WeakRef;

/** Models that run on TF.js although the engine is available, and why (the last few, for backendReport()). */
const fallbacks: { net: Weak<tf.LayersModel>; name: string; reason: string }[] = [];

/** Models the engine failed on at run time (they stay on TF.js). */
const failed = new WeakMap<tf.LayersModel, string>();

function noteFallback(net: tf.LayersModel, reason: string | null): void {
  const i = fallbacks.findIndex((f) => f.net.deref() === net);
  if (i >= 0) fallbacks.splice(i, 1);
  if (reason === null) return;
  fallbacks.push({ net: new WeakRefCtor(net), name: net.name, reason });
  if (fallbacks.length > 8) fallbacks.shift();
}

/** 'model 'name' runs on TF.js: reason' for each live model the engine does not run, most recent last. */
export function engineFallbacks(): string[] {
  return fallbacks.filter((f) => f.net.deref() !== undefined).map((f) => `model '${f.name}' runs on TF.js: ${f.reason}`);
}

/** The compiled model (cached, rebuilt after weight changes), or null when it cannot run here. */
export function ortNet(net: tf.LayersModel): OrtNet | null {
  if (!ortRuntime() || failed.has(net)) return null;
  let version: number;
  try {
    version = weightsVersion(net);
  } catch (e) {
    version = -1;
    if (!nets.has(net)) {
      const reason = `the engine could not read the model's weights: ${oneLine(e)}`;
      nets.set(net, { version, net: reason });
      noteFallback(net, reason);
    }
  }
  const hit = nets.get(net);
  if (hit && hit.version === version) return typeof hit.net === 'string' ? null : hit.net;
  if (hit && typeof hit.net !== 'string') hit.net.dispose();
  const built = OrtNet.build(net);
  nets.set(net, { version, net: built });
  noteFallback(net, typeof built === 'string' ? built : null);
  return typeof built === 'string' ? null : built;
}

/**
 * Runs `fn` on the engine when the model runs there, and returns its value; undefined when the model
 * does not run on the engine, when `fn` returns undefined, or when the engine fails on it. A failure
 * (a graph the runtime refuses, a run that throws) moves the model to TF.js for good, with the reason
 * kept for ortUnsupportedReason() and backendReport(): the caller then computes the same thing on TF.js.
 * User errors (CnnvisError) pass through. Tensors `fn` made are freed when it fails.
 */
export function onEngine<T>(net: tf.LayersModel, fn: (ort: OrtNet) => T | undefined): T | undefined {
  const ort = ortNet(net);
  if (!ort) return undefined;
  const engine = tf.engine();
  engine.startScope();
  let value: T | undefined;
  try {
    value = fn(ort);
  } catch (e) {
    engine.endScope();
    if (e instanceof CnnvisError) throw e;
    engineFailed(net, e);
    return undefined;
  }
  engine.endScope(value as unknown as tf.TensorContainer);
  return value;
}

/** Moves a model to TF.js after the engine failed on it (see onEngine). */
export function engineFailed(net: tf.LayersModel, e: unknown): void {
  const hit = nets.get(net);
  if (hit && typeof hit.net !== 'string') hit.net.dispose();
  const reason = `the engine failed on it: ${oneLine(e)}`;
  nets.set(net, { version: hit?.version ?? -1, net: reason });
  failed.set(net, reason);
  noteFallback(net, reason);
}

/** Why a model does not run on ONNX Runtime ('' when it does). */
export function ortUnsupportedReason(net: tf.LayersModel): string {
  if (!ortRuntime()) return 'onnxruntime is not available';
  ortNet(net);
  if (failed.has(net)) return failed.get(net)!;
  const hit = nets.get(net);
  return hit && typeof hit.net === 'string' ? hit.net : '';
}

/** The engine a model's passes run on, for results: 'wasm', or 'wasm+onnxruntime'. */
export function engineLabel(backend: string, net: tf.LayersModel): string {
  return ortNet(net) ? `${backend}+onnxruntime` : backend;
}

