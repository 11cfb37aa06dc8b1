/**
 * ONNX Runtime (onnxruntime-node, an optional dependency whose CPU library ships inside its npm package)
 * as a second engine next to TensorFlow.js: cnnvis compiles each layer of a supported model into small
 * ONNX graphs (forward and backward, engine/onnx/layers.ts) and runs them here, on every core.
 *
 * The native binding is called directly because its `run` is synchronous: cnnvis' gradient functions
 * are synchronous (like TF.js' own), and the package's promise wrapper only defers the same call.
 *
 * CNNVIS_ACCEL: `onnxruntime` (default: used where it loads and the model is supported) or `off`.
 */
import * as os from 'os';
import { CnnvisError } from '../../errors';
import { GraphSpec, modelBytes } from './proto';

export interface OrtValue {
  data: Float32Array | BigInt64Array;
  dims: number[];
}

interface Binding {
  InferenceSession: new () => {
    loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: object): void;
    run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, { data: Float32Array | BigInt64Array; dims: readonly number[] }>;
    dispose?(): void;
  };
}
type TensorCtor = new (type: string, data: Float32Array | BigInt64Array, dims: readonly number[]) => unknown;

/** What the binding reads from an input and builds for an output: type, dims, data, location. */
class PlainTensor {
  readonly location = 'cpu';
  readonly size: number;
  constructor(
    readonly type: string,
    readonly data: Float32Array | BigInt64Array,
    readonly dims: readonly number[],
  ) {
    this.size = data.length;
  }
  get cpuData(): Float32Array | BigInt64Array {
    return this.data;
  }
}

let loaded: { binding: Binding; Tensor: TensorCtor } | null | undefined;
let whyNot = '';

export const ACCEL_CHOICES = ['onnxruntime', 'off'] as const;

/** The runtime, or null when it is switched off or does not load (see `accelStatus`). */
export function ortRuntime(): { binding: Binding; Tensor: TensorCtor } | null {
  if (loaded !== undefined) return loaded;
  const choice = (process.env.CNNVIS_ACCEL ?? 'onnxruntime').toLowerCase();
  if (choice === 'off' || choice === '0' || choice === 'none') {
    whyNot = 'switched off (CNNVIS_ACCEL=off)';
    return (loaded = null);
  }
  if (choice !== 'onnxruntime' && choice !== 'ort' && choice !== '1') {
    throw new CnnvisError(`unknown accelerator '${process.env.CNNVIS_ACCEL}' (CNNVIS_ACCEL); valid: ${ACCEL_CHOICES.join(', ')}`, ACCEL_CHOICES);
  }
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const b = require('onnxruntime-node/dist/binding') as { binding: Binding & { initOrtOnce(level: number, T: unknown, main: boolean): void } };
    const { isMainThread } = require('worker_threads') as { isMainThread: boolean };
    /* eslint-enable @typescript-eslint/no-require-imports */
    // The binding builds its outputs with the tensor class it is given. onnxruntime-common's class
    // checks `instanceof Float32Array`, which fails when the arrays come from another realm (the
    // binding's arrays inside a test sandbox, or a notebook's vm context); cnnvis' plain holder does
    // not check. (cnnvis owns the binding's one-time set-up: use onnxruntime-node's own API in the
    // same process before cnnvis, not after.)
    b.binding.initOrtOnce(3, PlainTensor, isMainThread);
    loaded = { binding: b.binding, Tensor: PlainTensor as unknown as TensorCtor };
  } catch (e) {
    whyNot = `onnxruntime-node did not load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
    loaded = null;
  }
  return loaded;
}

/** 'onnxruntime (N threads)' or why it is not used. */
export function accelStatus(): string {
  return ortRuntime() ? `onnxruntime (${threads()} threads)` : `not used: ${whyNot}`;
}

/** Switches the accelerator off or on again for this process (tests compare both paths). */
export function setAccelEnabled(on: boolean): void {
  if (!on) {
    loaded = null;
    whyNot = 'switched off by setAccelEnabled(false)';
  } else {
    loaded = undefined;
  }
}

function threads(): number {
  const n = Number(process.env.CNNVIS_THREADS);
  return Number.isInteger(n) && n > 0 ? n : Math.max(1, os.cpus().length);
}

function isInt64(a: ArrayBufferView): boolean {
  return Object.prototype.toString.call(a) === '[object BigInt64Array]';
}

/**
 * The same memory as a typed array of this realm: arrays made by the native binding (or another
 * realm, e.g. a test sandbox) fail `instanceof` checks in onnxruntime-common and in callers.
 */
function own(a: Float32Array | BigInt64Array): Float32Array | BigInt64Array {
  if (isInt64(a)) return a instanceof BigInt64Array ? a : new BigInt64Array(a.buffer, a.byteOffset, a.length);
  return a instanceof Float32Array ? a : new Float32Array(a.buffer, a.byteOffset, a.length);
}

/** One compiled graph (small weights inside, large ones fed on every run). `run` is synchronous. */
export class OrtGraph {
  private readonly session: InstanceType<Binding['InferenceSession']>;
  private readonly Tensor: TensorCtor;

  /** What runs need from the spec (not its initializer bytes, which the session has copied). */
  private readonly outputs: string[];
  private readonly bound: NonNullable<GraphSpec['bound']>;

  constructor(spec: GraphSpec) {
    const rt = ortRuntime();
    if (!rt) throw new CnnvisError(`onnxruntime is not available: ${whyNot}`);
    this.Tensor = rt.Tensor;
    this.outputs = spec.outputs.map((o) => o.name);
    this.bound = spec.bound ?? {};
    this.session = new rt.binding.InferenceSession();
    const bytes = modelBytes(spec);
    this.session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
      // Light graphs (element-wise, pooling, padding) run on the calling thread: waking a pool costs
      // more than they do.
      intraOpNumThreads: spec.light ? 1 : threads(),
      interOpNumThreads: 1,
      enableCpuMemArena: false,
      enableMemPattern: false,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Workers spin while a run lasts (a graph of many small operators hands each one to them
      // without waking them: 10-20 % of MobileNetV2's pass) and stop when it returns, so they take
      // no core between graphs.
      extra: { 'session.intra_op.allow_spinning': '1', 'session.force_spinning_stop': '1' },
    });
  }

  run(feeds: Record<string, OrtValue>, outputs: readonly string[] = this.outputs): Record<string, OrtValue> {
    const f: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(feeds)) {
      f[k] = new this.Tensor(isInt64(v.data) ? 'int64' : 'float32', v.data, v.dims);
    }
    for (const [k, w] of Object.entries(this.bound)) f[k] = new this.Tensor('float32', w.get(), w.dims);
    const fetches: Record<string, null> = {};
    for (const o of outputs) fetches[o] = null;
    const r = this.session.run(f, fetches, {});
    const out: Record<string, OrtValue> = {};
    for (const o of outputs) out[o] = { data: own(r[o].data), dims: [...r[o].dims] };
    return out;
  }

  dispose(): void {
    this.session.dispose?.();
  }
}
