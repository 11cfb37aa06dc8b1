/**
 * Trains the demo model on generated shape scenes and writes it to kernel/assets/demo.
 * Run with `node kernel/scripts/train-demo.js` after `npx tsc -p kernel`.
 *
 * Training runs on the WebAssembly backend: its missing Conv2DBackpropFilter kernel and a faster
 * stride-1 Conv2DBackpropInput are supplied by `registerWasmConvGradients()`, built from the backend's own
 * Transpose, Reverse and Conv2D kernels (the pure-JS 'cpu' backend is far slower on this model).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generateBatch } from '../data/shapes';
import { CnnvisError } from '../errors';
import { buildDemoModel, DEMO_ASSET_DIR, DEMO_CLASSES, DEMO_INPUT_SIZE } from './demo';

/** Seed ranges: training uses [TRAIN_SEED, …), validation [VAL_SEED, …); tests use TEST_SEED and up. */
export const DEMO_SEEDS = { init: 7, train: 1_000_000, validation: 900_000_000, test: 1_500_000_000 } as const;

type KernelFunc = tf.KernelConfig['kernelFunc'];

/**
 * The gradient of a 2-D convolution with respect to its filter, dW[i,j,c,o] = Σ x[b, y·s+i−p, x·s+j−p, c] ·
 * dy[b, y, x, o], computed as one forward convolution: batch and channels of x swap places, dy becomes the
 * filter, and the forward stride becomes the filter's dilation.
 */
function conv2dFilterGrad(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const a = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | number[][];
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (a.dataFormat !== 'NHWC') throw new CnnvisError('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad as 'same',
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const { top, left } = info.padInfo;
  const bottom = (info.outHeight - 1) * info.strideHeight + kh - info.inHeight - top;
  const right = (info.outWidth - 1) * info.strideWidth + kw - info.inWidth - left;
  const be = backend as tf.KernelBackend;
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const conv = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
  const slice = tf.getKernel('Slice', 'wasm')!.kernelFunc;
  const run = (f: KernelFunc, ins: tf.NamedTensorInfoMap, at: tf.NamedAttrMap): tf.TensorInfo =>
    f({ inputs: ins, attrs: at, backend }) as tf.TensorInfo;
  // Rows/columns past the last window never meet the filter: crop them (negative bottom/right padding).
  const cropped =
    bottom < 0 || right < 0
      ? run(slice, { x }, {
          begin: [0, 0, 0, 0],
          size: [x.shape[0], info.inHeight + Math.min(bottom, 0), info.inWidth + Math.min(right, 0), x.shape[3]],
        })
      : null;
  const xT = run(transpose, { x: cropped ?? x }, { perm: [3, 1, 2, 0] }); // [c, H, W, b]
  const dyT = run(transpose, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, b, o]
  const r = run(
    conv,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, Math.max(bottom, 0)],
        [left, Math.max(right, 0)],
        [0, 0],
      ],
      dilations: [info.strideHeight, info.strideWidth],
      dataFormat: 'NHWC',
    } as unknown as tf.NamedAttrMap,
  ); // [c, kh, kw, o]
  const out = run(transpose, { x: r }, { perm: [1, 2, 0, 3] });
  for (const t of [xT, dyT, r]) be.disposeData(t.dataId);
  if (cropped) be.disposeData(cropped.dataId);
  return out;
}

let wasmInputGradFallback: KernelFunc | null = null;

/**
 * The gradient of a stride-1 convolution with respect to its input: a forward convolution of dy with the
 * filter flipped in space and with its channel axes swapped. The wasm backend's own kernel for this is a
 * plain loop, several times slower than its Conv2D; other strides still go to that kernel.
 */
function conv2dInputGrad(args: Parameters<KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { inputs, attrs, backend } = args;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const a = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | number[][];
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  const stride = Array.isArray(a.strides) ? a.strides : [a.strides, a.strides];
  if (a.dataFormat !== 'NHWC' || stride[0] !== 1 || stride[1] !== 1) return wasmInputGradFallback!(args);
  const info = tf.backend_util.computeConv2DInfo(
    a.inputShape,
    filter.shape as [number, number, number, number],
    1,
    1,
    a.pad as 'same',
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const { top, bottom, left, right } = info.padInfo;
  const pads = [kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right];
  if (pads.some((p) => p < 0)) return wasmInputGradFallback!(args);
  const be = backend as tf.KernelBackend;
  const run = (name: string, ins: tf.NamedTensorInfoMap, at: tf.NamedAttrMap): tf.TensorInfo =>
    tf.getKernel(name, 'wasm')!.kernelFunc({ inputs: ins, attrs: at, backend }) as tf.TensorInfo;
  const flipped = run('Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh, kw, o, c]
  const out = run(
    'Conv2D',
    { x: dy, filter: swapped },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [pads[0], pads[1]],
        [pads[2], pads[3]],
        [0, 0],
      ],
      dilations: [1, 1],
      dataFormat: 'NHWC',
    } as unknown as tf.NamedAttrMap,
  );
  be.disposeData(flipped.dataId);
  be.disposeData(swapped.dataId);
  return out;
}

/**
 * Makes the wasm backend able to train convolutions fast: adds Conv2DBackpropFilter (missing) and
 * replaces the stride-1 path of Conv2DBackpropInput (slow). Idempotent.
 */
export function registerWasmConvGradients(): void {
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dFilterGrad });
  }
  const current = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (current && current.kernelFunc !== conv2dInputGrad) {
    wasmInputGradFallback = current.kernelFunc;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({ ...current, kernelFunc: conv2dInputGrad });
  }
}

/**
 * The plain demo model with the same function as `trained` (the batch-norm training form): every
 * conv → BN → ReLU becomes one conv with ReLU, kernel scaled per output channel by γ/√(σ²+ε) and bias
 * (b − μ)·γ/√(σ²+ε) + β, using the moving statistics that inference uses.
 */
export function foldBatchNorm(trained: tf.LayersModel): tf.LayersModel {
  const plain = buildDemoModel();
  for (const layer of plain.layers) {
    if (layer.getWeights().length === 0) continue;
    const src = trained.getLayer(layer.name);
    let bn: tf.layers.Layer | null = null;
    try {
      bn = trained.getLayer(`${layer.name}_bn`);
    } catch {
      bn = null;
    }
    if (!bn) {
      layer.setWeights(src.getWeights());
      continue;
    }
    const cfg = bn.getConfig() as { epsilon: number };
    const folded = tf.tidy(() => {
      const [kernel, bias] = src.getWeights();
      const [gamma, beta, mean, variance] = bn!.getWeights();
      const scale = gamma.div(variance.add(cfg.epsilon).sqrt());
      return [kernel.mul(scale), bias.sub(mean).mul(scale).add(beta)];
    });
    layer.setWeights(folded);
    tf.dispose(folded);
  }
  return plain;
}

/** Writes model.json (format layers-model, one shard 'weights.bin') and weights.bin into `dir`. */
export async function saveModelToDir(model: tf.LayersModel, dir: string): Promise<{ bytes: number }> {
  fs.mkdirSync(dir, { recursive: true });
  let bytes = 0;
  await model.save({
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const data = artifacts.weightData;
      if (!data || Array.isArray(data)) throw new CnnvisError('expected the weights as one ArrayBuffer');
      bytes = data.byteLength;
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(data));
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes } };
    },
  });
  return { bytes };
}

/** Fraction of `n` scenes (seeds startSeed…) the model classifies correctly. */
export function evaluateDemo(model: tf.LayersModel, startSeed: number, n: number, chunk = 100): number {
  let correct = 0;
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    const b = generateBatch(startSeed + i, m, { size: DEMO_INPUT_SIZE });
    const pred = tf.tidy(() => (model.predict(b.xs) as tf.Tensor).argMax(-1).dataSync());
    b.labels.forEach((l, j) => {
      if (pred[j] === l) correct++;
    });
    b.xs.dispose();
    b.ys.dispose();
  }
  return correct / n;
}

export interface TrainOptions {
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  learningRate: number;
  validationSize: number;
  /** Clutter ramps linearly from this value to 1 over the first `rampFraction` of the steps. */
  clutterStart: number;
  rampFraction: number;
  /** Stop after the epoch that passes this many seconds (the model is saved either way). */
  maxSeconds: number;
  outDir: string;
  log: (line: string) => void;
}

export interface TrainResult {
  epochs: number;
  trainScenes: number;
  trainAccuracy: number;
  validationAccuracy: number;
  seconds: number;
  weightBytes: number;
  backend: string;
  history: Array<{ epoch: number; loss: number; trainAccuracy: number; validationAccuracy: number; seconds: number }>;
}

/** Trains from scratch with Adam on fresh scenes every step; saves to `outDir`. */
export async function trainDemo(opts: Partial<TrainOptions> = {}): Promise<TrainResult> {
  const o: TrainOptions = {
    epochs: 8,
    stepsPerEpoch: 60,
    batchSize: 32,
    learningRate: 3e-3,
    validationSize: 400,
    clutterStart: 0.3,
    rampFraction: 0.4,
    maxSeconds: 840,
    outDir: DEMO_ASSET_DIR,
    log: (l) => console.log(l),
    ...opts,
  };
  if (tf.getBackend() === 'wasm') registerWasmConvGradients();
  const model = buildDemoModel({ seed: DEMO_SEEDS.init, batchNorm: true });
  model.compile({ optimizer: tf.train.adam(o.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const t0 = Date.now();
  const history: TrainResult['history'] = [];
  let seed: number = DEMO_SEEDS.train;
  let trainAccuracy = 0;
  let validationAccuracy = 0;
  let lowered = false;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    // The last stretch (the last two epochs, or past 70% of the time budget) uses a 5x smaller step.
    if (!lowered && (epoch >= o.epochs - 1 || (Date.now() - t0) / 1000 > 0.7 * o.maxSeconds)) {
      model.optimizer = tf.train.adam(o.learningRate / 5);
      lowered = true;
      o.log(`learning rate ${o.learningRate / 5} from epoch ${epoch}`);
    }
    let lossSum = 0;
    let accSum = 0;
    for (let step = 0; step < o.stepsPerEpoch; step++) {
      const progress = ((epoch - 1) * o.stepsPerEpoch + step) / (o.epochs * o.stepsPerEpoch);
      const clutter = Math.min(1, o.clutterStart + ((1 - o.clutterStart) * progress) / o.rampFraction);
      const b = generateBatch(seed, o.batchSize, { size: DEMO_INPUT_SIZE, clutter });
      seed += o.batchSize;
      const [loss, acc] = (await model.trainOnBatch(b.xs, b.ys)) as number[];
      b.xs.dispose();
      b.ys.dispose();
      lossSum += loss;
      accSum += acc;
    }
    trainAccuracy = accSum / o.stepsPerEpoch;
    validationAccuracy = evaluateDemo(model, DEMO_SEEDS.validation, o.validationSize);
    const seconds = (Date.now() - t0) / 1000;
    history.push({ epoch, loss: lossSum / o.stepsPerEpoch, trainAccuracy, validationAccuracy, seconds });
    o.log(
      `epoch ${epoch}/${o.epochs} loss ${(lossSum / o.stepsPerEpoch).toFixed(4)} train acc ${trainAccuracy.toFixed(4)} ` +
        `val acc ${validationAccuracy.toFixed(4)} (${seconds.toFixed(0)} s, ${tf.memory().numTensors} tensors)`,
    );
    if (seconds > o.maxSeconds) {
      o.log(`stopping: past the ${o.maxSeconds} s budget`);
      break;
    }
  }
  const plain = foldBatchNorm(model);
  const plainValidation = evaluateDemo(plain, DEMO_SEEDS.validation, o.validationSize);
  o.log(`folded batch norm into the convolutions: validation accuracy ${plainValidation.toFixed(4)}`);
  const { bytes } = await saveModelToDir(plain, o.outDir);
  plain.dispose();
  const result: TrainResult = {
    epochs: history.length,
    trainScenes: seed - DEMO_SEEDS.train,
    trainAccuracy,
    validationAccuracy,
    seconds: (Date.now() - t0) / 1000,
    weightBytes: bytes,
    backend: tf.getBackend(),
    history,
  };
  fs.writeFileSync(path.join(o.outDir, 'training-log.json'), JSON.stringify({ classes: DEMO_CLASSES, ...result }, null, 2));
  model.dispose();
  return result;
}
