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
import { registerWasmConvGradients } from '../engine/wasmConvGrads';
import { buildDemoModel, DEMO_ASSET_DIR, DEMO_CLASSES, DEMO_INPUT_SIZE } from './demo';

/** Seed ranges: training uses [TRAIN_SEED, …), validation [VAL_SEED, …); tests use TEST_SEED and up. */
export const DEMO_SEEDS = { init: 7, train: 1_000_000, validation: 900_000_000, test: 1_500_000_000 } as const;

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
