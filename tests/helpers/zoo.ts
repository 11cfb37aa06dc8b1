/**
 * The model zoo of the conformance suite (issue 13): small CNN classifiers written the way users write
 * them in TF.js — Sequential and functional, nested bases, Teachable-Machine-like double nesting,
 * sigmoid / linear / Activation('softmax') heads, a Rescaling layer, any-size, non-square and grayscale
 * inputs, separable and depthwise convolutions, a U-Net-like net — with seeded weights.
 *
 * Every entry also carries independent references written here with plain TF.js, never with cnnvis:
 * the pre-activation head output (`logits`), the output of one inner convolution computed from the
 * model's own sub-graph (`probe`), and a split at a spatial layer (`split`: input → activation A,
 * A → logits) from which Grad-CAM can be recomputed with tf.grad.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../kernel/src/random';
import { RGBImage } from '../../kernel/src/types';
import { chain } from './nets';

type Sym = tf.SymbolicTensor;
type Layer = tf.layers.Layer;
const L = tf.layers;

export type Head = 'softmax' | 'sigmoid' | 'linear';

export interface ZooModel {
  name: string;
  /** What users would call it. */
  what: string;
  /** The model exactly as built (never flattened, never wrapped). */
  net: tf.LayersModel;
  head: Head;
  /** Classes cnnvis should report (2 for a one-unit sigmoid head). */
  classes: number;
  /** Picture size [height, width] the tests feed (the input size; any-size models: a size of our choice). */
  size: [number, number];
  channels: 1 | 3;
  /** The preprocessing cnnvis should choose by default. */
  preprocess: 'unit' | 'none';
  /** The model's output before its final activation, [B, units] (sigmoid: [B, 1] = z). */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** An inner spatial layer, the name cnnvis should know it by, and its output from the model's own sub-graph. */
  probe: { layer: string; ref(x: tf.Tensor4D): tf.Tensor4D };
  /** A spatial layer, the activation A at it, and A → logits: enough to recompute Grad-CAM. */
  split: { layer: string; act(x: tf.Tensor4D): tf.Tensor4D; tail(a: tf.Tensor): tf.Tensor2D };
  /** Small enough for central finite differences of the input gradient. */
  small: boolean;
  /** Name of a zoo model with the same weights and the same function (functional twin / flat twin). */
  twin?: string;
  /** Nested models: cnnvis names that must resolve to inner layers (plain and qualified). */
  innerNames?: string[];
}

// ---------------------------------------------------------------------------------------------------
// Seeded weights

/** Every leaf layer of a model, nested models included, in order. */
export function leafLayers(net: tf.LayersModel): Layer[] {
  return net.layers.flatMap((l) => (Array.isArray((l as unknown as { layers?: unknown }).layers) ? leafLayers(l as tf.LayersModel) : [l]));
}

function uniform(rand: () => number, n: number, lo: number, hi: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * rand();
  return v;
}

/**
 * Sets every weight from a seeded PRNG: kernels uniform ±√(6 / fan-in) (He), biases ±0.1, batch norm
 * γ ∈ [0.8, 1.2], β ±0.1, moving mean ±[0.1, 0.3] and moving variance ∈ [0.5, 0.9] ∪ [1.1, 1.5] (away
 * from the 0 / 1 of a fresh layer, so that a reader that ignores them gives other numbers).
 */
export function seedWeights(net: tf.LayersModel, seed: number, headGain = 1): void {
  const rand = mulberry32(seed);
  const leaves = leafLayers(net);
  leaves.forEach((layer, li) => {
    const vars = layer.weights;
    if (!vars.length) return;
    const last = li === leaves.length - 1 || leaves.slice(li + 1).every((l) => !l.weights.length);
    const values = vars.map((v) => {
      const shape = v.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      const name = v.name.split('/').pop() ?? v.name;
      if (/moving_mean/.test(name)) return uniform(rand, n, 0.1, 0.3).map((x) => (rand() < 0.5 ? -x : x));
      if (/moving_variance/.test(name)) return uniform(rand, n, 0.5, 0.9).map((x) => (rand() < 0.5 ? x : x + 0.6));
      if (/gamma/.test(name)) return uniform(rand, n, 0.8, 1.2);
      if (/beta|bias/.test(name)) return uniform(rand, n, -0.1, 0.1);
      let fanIn: number;
      if (/depthwise_kernel/.test(name)) fanIn = shape[0] * shape[1];
      else if (layer.getClassName() === 'Conv2DTranspose') fanIn = shape[0] * shape[1] * shape[3];
      else fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const lim = Math.sqrt(6 / Math.max(1, fanIn)) * (last ? headGain : 1);
      return uniform(rand, n, -lim, lim);
    });
    layer.setWeights(values.map((v, i) => tf.tensor(v, vars[i].shape as number[])));
  });
}

/** Copies weights leaf by leaf (same order, same shapes) from one model to another. */
function copyWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  const a = leafLayers(from).filter((l) => l.weights.length);
  const b = leafLayers(to).filter((l) => l.weights.length);
  if (a.length !== b.length) throw new Error(`copyWeights: ${a.length} vs ${b.length} layers with weights`);
  a.forEach((l, i) => b[i].setWeights(l.getWeights()));
}

// ---------------------------------------------------------------------------------------------------
// References

/** A layer's output before its activation: Dense → x·W + b; Activation / Softmax layers → their input. */
export function preActivation(layer: Layer, h: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const cls = layer.getClassName();
    if (cls === 'Activation' || cls === 'Softmax') return h.reshape([h.shape[0], -1]) as tf.Tensor2D;
    if (cls !== 'Dense') throw new Error(`preActivation: ${cls}`);
    const [w, b] = layer.getWeights();
    let z = tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D);
    if (b) z = z.add(b);
    return z as tf.Tensor2D;
  });
}

/** Eager application of layers (inference mode), the last one without its activation. */
export function applyThenLogits(layers: Layer[], a: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    let h = a;
    for (const l of layers.slice(0, -1)) h = l.apply(h, { training: false }) as tf.Tensor;
    return preActivation(layers[layers.length - 1], h);
  });
}

function subModel(inputs: Sym | Sym[], output: Sym): tf.LayersModel {
  return tf.model({ inputs, outputs: output });
}

const run = (m: tf.LayersModel) => (x: tf.Tensor4D): tf.Tensor4D => m.predict(x) as tf.Tensor4D;

/** References for a chain model (Sequential or a functional chain): split after layer k, logits before the last. */
function chainRefs(net: tf.LayersModel, probeIdx: number, splitIdx: number, probeName?: string) {
  const layers = net.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const pre = subModel(net.inputs, layers[layers.length - 2].output as Sym);
  const probe = subModel(net.inputs, layers[probeIdx].output as Sym);
  const act = subModel(net.inputs, layers[splitIdx].output as Sym);
  const last = layers[layers.length - 1];
  return {
    logits: (x: tf.Tensor4D) => tf.tidy(() => preActivation(last, pre.predict(x) as tf.Tensor)),
    probe: { layer: probeName ?? layers[probeIdx].name, ref: run(probe) },
    split: { layer: layers[splitIdx].name, act: run(act), tail: (a: tf.Tensor) => applyThenLogits(layers.slice(splitIdx + 1), a) },
  };
}

/** What a chain model's entry states besides its layers; the references come from chainRefs. */
interface ChainEntry extends Omit<ZooModel, 'net' | 'logits' | 'probe' | 'split'> {
  /** The model's own name (tf.model / tf.sequential). */
  netName?: string;
  /** Functional API: the input the layers are applied to. Without it, a Sequential (the first layer has inputShape). */
  input?: Sym;
  /** seedWeights' seed and head gain. */
  seed: [number, number];
  /** chainRefs' probe and split indices. */
  refs: [number, number];
}

/** A chain model (Sequential, or functional when an input is given) with seeded weights and its references. */
function chainModel(entry: ChainEntry, layers: Layer[]): ZooModel {
  const { netName, input, seed, refs, ...meta } = entry;
  const net = input ? tf.model({ inputs: input, outputs: chain(input, layers), name: netName }) : tf.sequential({ name: netName, layers });
  seedWeights(net, ...seed);
  return { ...meta, net, ...chainRefs(net, ...refs) };
}

// ---------------------------------------------------------------------------------------------------
// The models

/** The TF.js MNIST tutorial CNN (tfjs-examples/mnist, "getModel"): Sequential, 28×28×1. */
function mnistTutorialLayers(): Layer[] {
  return [
    L.conv2d({ inputShape: [28, 28, 1], kernelSize: 5, filters: 8, strides: 1, activation: 'relu', kernelInitializer: 'varianceScaling' }),
    L.maxPooling2d({ poolSize: [2, 2], strides: [2, 2] }),
    L.conv2d({ kernelSize: 5, filters: 16, strides: 1, activation: 'relu', kernelInitializer: 'varianceScaling' }),
    L.maxPooling2d({ poolSize: [2, 2], strides: [2, 2] }),
    L.flatten(),
    L.dense({ units: 10, kernelInitializer: 'varianceScaling', activation: 'softmax' }),
  ];
}

function mnistSequential(): ZooModel {
  const net = tf.sequential();
  for (const l of mnistTutorialLayers()) net.add(l);
  seedWeights(net, 1, 2);
  return { name: 'mnist_seq', what: 'TF.js tutorial MNIST CNN (tf.sequential, add())', net, head: 'softmax', classes: 10, size: [28, 28], channels: 1, preprocess: 'unit', small: false, twin: 'mnist_seq_twin', ...chainRefs(net, 0, 2) };
}

/** The same network written with tf.model, weights copied from mnist_seq. */
function mnistTwin(seq: tf.LayersModel): ZooModel {
  const input = tf.input({ shape: [28, 28, 1] });
  // Fresh layers of the same config (inputShape only matters for the Sequential).
  const net = tf.model({ inputs: input, outputs: chain(input, mnistTutorialLayers()), name: 'mnist_functional_twin' });
  copyWeights(seq, net);
  return { name: 'mnist_seq_twin', what: 'functional twin of mnist_seq (same weights)', net, head: 'softmax', classes: 10, size: [28, 28], channels: 1, preprocess: 'unit', small: false, ...chainRefs(net, 0, 2) };
}

/** Keras' "simple MNIST convnet" example, functional: conv32 → pool → conv64 → pool → flatten → dropout → dense. */
function mnistFunctional(): ZooModel {
  return chainModel({ name: 'mnist_functional', what: 'Keras simple MNIST convnet, functional API, with Dropout', head: 'softmax', classes: 10, size: [28, 28], channels: 1, preprocess: 'unit', small: false, netName: 'mnist_functional', input: tf.input({ shape: [28, 28, 1] }), seed: [2, 2], refs: [2, 3] }, [
    L.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }),
    L.maxPooling2d({ poolSize: 2 }),
    L.conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }),
    L.maxPooling2d({ poolSize: 2 }),
    L.flatten(),
    L.dropout({ rate: 0.5 }),
    L.dense({ units: 10, activation: 'softmax' }),
  ]);
}

/** CIFAR-10 style Sequential: conv-BN-LeakyReLU ×2, pool, dropout, conv-BN-ELU, GlobalMaxPooling2D, dense softmax. */
function cifarBn(): ZooModel {
  return chainModel({ name: 'cifar_bn', what: 'CIFAR-10 Sequential with BatchNormalization, Dropout, LeakyReLU, ELU, GlobalMaxPooling2D', head: 'softmax', classes: 10, size: [32, 32], channels: 3, preprocess: 'unit', small: false, netName: 'cifar_bn', seed: [3, 2], refs: [2, 10] }, [
    L.conv2d({ inputShape: [32, 32, 3], filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'conv1' }),
    L.batchNormalization({ name: 'bn1' }),
    L.leakyReLU({ alpha: 0.1, name: 'lrelu1' }),
    L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'conv2' }),
    L.batchNormalization({ name: 'bn2' }),
    L.leakyReLU({ name: 'lrelu2' }),
    L.maxPooling2d({ poolSize: 2, name: 'pool1' }),
    L.dropout({ rate: 0.25, name: 'drop1' }),
    L.conv2d({ filters: 12, kernelSize: 3, padding: 'same', name: 'conv3' }),
    L.batchNormalization({ name: 'bn3' }),
    L.elu({ name: 'elu3' }),
    L.globalMaxPooling2d({ name: 'gmp' }),
    L.dropout({ rate: 0.5, name: 'drop2' }),
    L.dense({ units: 10, activation: 'softmax', name: 'predictions' }),
  ]);
}

/** Separable and depthwise convolutions (MobileNet/Xception style), functional, ReLU6, GAP. */
function separable(): ZooModel {
  return chainModel({ name: 'separable', what: 'SeparableConv2D + DepthwiseConv2D + BN + ReLU6 + GAP (functional)', head: 'softmax', classes: 6, size: [24, 24], channels: 3, preprocess: 'unit', small: true, netName: 'separable_net', input: tf.input({ shape: [24, 24, 3], name: 'image' }), seed: [4, 2], refs: [3, 6] }, [
    L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', name: 'stem' }),
    L.reLU({ maxValue: 6, name: 'stem_relu' }),
    L.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 1, name: 'dw1' }),
    L.batchNormalization({ name: 'dw1_bn' }),
    L.reLU({ maxValue: 6, name: 'dw1_relu' }),
    L.separableConv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'relu', name: 'sep1' }),
    L.separableConv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu', name: 'sep2' }),
    L.globalAveragePooling2d({ name: 'gap' }),
    L.dense({ units: 6, activation: 'softmax', name: 'probs' }),
  ]);
}

/** A MobileNetV2-like base (inverted residual with Add), applied to `x`; `out_relu` is its last layer. */
function mobileBase(input: Sym): Sym {
  const x = chain(input, [
    L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }),
    L.batchNormalization({ name: 'bn_Conv1' }),
    L.reLU({ maxValue: 6, name: 'Conv1_relu' }),
  ]);
  const y = chain(x, [
    L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'block_1_depthwise' }),
    L.batchNormalization({ name: 'block_1_depthwise_BN' }),
    L.reLU({ maxValue: 6, name: 'block_1_depthwise_relu' }),
    L.conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'block_1_project' }),
    L.batchNormalization({ name: 'block_1_project_BN' }),
  ]);
  return chain(L.add({ name: 'block_1_add' }).apply([x, y]) as Sym, [
    L.conv2d({ filters: 16, kernelSize: 1, useBias: false, name: 'Conv_1' }),
    L.batchNormalization({ name: 'Conv_1_bn' }),
    L.reLU({ maxValue: 6, name: 'out_relu' }),
  ]);
}

/**
 * Transfer learning as in the Keras guide: `base = MobileNetV2(include_top=False)`, `x = base(inputs)`,
 * GAP, dropout, dense. The outer model also has a layer called `Conv1` (a 1×1 conv), so the base's
 * `Conv1` must be reached as `base_model/Conv1`.
 */
function transfer(flat: boolean): ZooModel {
  const inputs = tf.input({ shape: [32, 32, 3], name: 'input_image' });
  let base: tf.LayersModel | undefined;
  let feat: Sym;
  if (flat) {
    feat = mobileBase(inputs);
  } else {
    const bIn = tf.input({ shape: [32, 32, 3], name: 'base_input' });
    base = tf.model({ inputs: bIn, outputs: mobileBase(bIn), name: 'base_model' });
    feat = base.apply(inputs) as Sym;
  }
  const top = L.conv2d({ filters: 8, kernelSize: 1, activation: 'relu', name: flat ? 'Conv1_top' : 'Conv1' });
  let x = top.apply(feat) as Sym;
  const gap = L.globalAveragePooling2d({ name: 'global_average_pooling2d' });
  x = gap.apply(x) as Sym;
  const drop = L.dropout({ rate: 0.2, name: 'dropout' });
  x = drop.apply(x) as Sym;
  const dense = L.dense({ units: 3, activation: 'softmax', name: 'dense' });
  const outputs = dense.apply(x) as Sym;
  const net = tf.model({ inputs, outputs, name: flat ? 'transfer_flat' : 'transfer' });
  seedWeights(net, 5, 3);
  const tail = (a: tf.Tensor) => applyThenLogits([top, gap, drop, dense], a);
  const pre = subModel(inputs, x);
  const logits = (t: tf.Tensor4D) => tf.tidy(() => preActivation(dense, pre.predict(t) as tf.Tensor));
  if (flat) {
    const probe = subModel(inputs, net.getLayer('block_1_depthwise_relu').output as Sym);
    const act = subModel(inputs, feat);
    return { name: 'transfer_flat', what: 'transfer model written flat (reference twin of transfer)', net, head: 'softmax', classes: 3, size: [32, 32], channels: 3, preprocess: 'unit', small: false, logits, probe: { layer: 'block_1_depthwise_relu', ref: run(probe) }, split: { layer: 'out_relu', act: run(act), tail } };
  }
  const b = base as tf.LayersModel;
  // The brief's reference: the inner layer's output from the base's own graph, on the base's input.
  const probe = subModel(b.inputs, b.getLayer('block_1_depthwise_relu').output as Sym);
  const act = subModel(b.inputs, b.getLayer('out_relu').output as Sym);
  return {
    name: 'transfer', what: 'functional base model used as a layer of an outer functional model (Keras transfer learning)', net, head: 'softmax', classes: 3, size: [32, 32], channels: 3, preprocess: 'unit', small: false, twin: 'transfer_flat',
    logits, probe: { layer: 'block_1_depthwise_relu', ref: run(probe) }, split: { layer: 'out_relu', act: run(act), tail },
    innerNames: ['out_relu', 'base_model/out_relu', 'base_model/Conv1', 'block_1_add', 'base_model'],
  };
}

/**
 * Teachable Machine's image model: Sequential ▸ [Sequential ▸ [functional MobileNet-like base],
 * Sequential head (Dense 100 relu, Dense n softmax)].
 */
function teachable(): ZooModel {
  const bIn = tf.input({ shape: [32, 32, 3], name: 'input_1' });
  const base = tf.model({ inputs: bIn, outputs: mobileBase(bIn), name: 'model1' });
  const gap = L.globalAveragePooling2d({ name: 'global_average_pooling2d_GlobalAveragePooling2D1' });
  const trunk = tf.sequential({ name: 'sequential_1', layers: [base, gap] });
  const d1 = L.dense({ inputShape: [16], units: 12, activation: 'relu', name: 'dense_Dense1' });
  const d2 = L.dense({ units: 3, activation: 'softmax', useBias: false, name: 'dense_Dense2' });
  const headSeq = tf.sequential({ name: 'sequential_3', layers: [d1, d2] });
  const net = tf.sequential({ name: 'sequential_4', layers: [trunk, headSeq] });
  seedWeights(net, 6, 3);
  const probe = subModel(base.inputs, base.getLayer('block_1_project_BN').output as Sym);
  const act = subModel(base.inputs, base.getLayer('out_relu').output as Sym);
  const tail = (a: tf.Tensor) => applyThenLogits([gap, d1, d2], a);
  return {
    name: 'teachable', what: 'Teachable-Machine-like Sequential ▸ Sequential ▸ functional base + Sequential head', net, head: 'softmax', classes: 3, size: [32, 32], channels: 3, preprocess: 'unit', small: false,
    logits: (x) => tf.tidy(() => tail(act.predict(x) as tf.Tensor)),
    probe: { layer: 'block_1_project_BN', ref: run(probe) },
    split: { layer: 'out_relu', act: run(act), tail },
    innerNames: ['out_relu', 'sequential_1/model1/out_relu', 'model1', 'dense_Dense1'],
  };
}

/** Cat vs dog as in the Keras/TF.js articles: Sequential ending in Dense(1, sigmoid). */
function sigmoidHead(): ZooModel {
  return chainModel({ name: 'sigmoid', what: 'one sigmoid unit (binary classifier), Sequential', head: 'sigmoid', classes: 2, size: [16, 16], channels: 3, preprocess: 'unit', small: true, netName: 'cats_vs_dogs', seed: [7, 1.5], refs: [0, 2] }, [
    L.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, activation: 'relu' }),
    L.maxPooling2d({ poolSize: 2 }),
    L.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }),
    L.flatten(),
    L.dense({ units: 1, activation: 'sigmoid' }),
  ]);
}

/** A head without activation (trained with from_logits=True): outputs are logits. */
function linearHead(): ZooModel {
  return chainModel({ name: 'linear', what: 'linear logits head (from_logits=True), functional', head: 'linear', classes: 5, size: [16, 16], channels: 3, preprocess: 'unit', small: true, netName: 'logits_net', input: tf.input({ shape: [16, 16, 3] }), seed: [8, 2], refs: [0, 2] }, [
    L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'features' }),
    L.averagePooling2d({ poolSize: 2, name: 'avg' }),
    L.conv2d({ filters: 8, kernelSize: 3, activation: 'tanh', name: 'features2' }),
    L.flatten({ name: 'flat' }),
    L.dense({ units: 5, name: 'logits' }),
  ]);
}

/** Dense(4) followed by a separate Activation('softmax') layer, Sequential. */
function activationSoftmax(): ZooModel {
  // The last layer with weights (the Dense) gets headGain; the Activation layer has none.
  const z = chainModel({ name: 'activation_softmax', what: "Dense then Activation('softmax'), Sequential", head: 'softmax', classes: 4, size: [20, 20], channels: 3, preprocess: 'unit', small: true, seed: [9, 2], refs: [0, 1] }, [
    L.conv2d({ inputShape: [20, 20, 3], filters: 6, kernelSize: 3, strides: 2, activation: 'relu' }),
    L.conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }),
    L.globalAveragePooling2d({}),
    L.dense({ units: 4 }),
    L.activation({ activation: 'softmax' }),
  ]);
  const dense = z.net.layers[3];
  const pre = subModel(z.net.inputs, z.net.layers[2].output as Sym);
  return { ...z, logits: (x) => tf.tidy(() => preActivation(dense, pre.predict(x) as tf.Tensor)) };
}

/** The Keras image-classification tutorial: Rescaling(1/255) first, the model takes 0–255 pixels. */
function rescaling(): ZooModel {
  return chainModel({ name: 'rescaling', what: 'Rescaling(1/255) inside a Sequential (Keras tutorial), linear head', head: 'linear', classes: 5, size: [20, 20], channels: 3, preprocess: 'none', small: false, netName: 'flowers_tutorial', seed: [10, 2], refs: [1, 3] }, [
    L.rescaling({ inputShape: [20, 20, 3], scale: 1 / 255, name: 'rescaling' }),
    L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2d' }),
    L.maxPooling2d({ name: 'max_pooling2d' }),
    L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2d_1' }),
    L.maxPooling2d({ name: 'max_pooling2d_1' }),
    L.flatten({ name: 'flatten' }),
    L.dense({ units: 16, activation: 'relu', name: 'dense' }),
    L.dense({ units: 5, name: 'outputs' }),
  ]);
}

/** Fully convolutional: input [null, null, 3], GlobalAveragePooling, runs at any size. */
function anySize(): ZooModel {
  return chainModel({ name: 'any_size', what: 'any-size input [null, null, 3] with GlobalAveragePooling2D', head: 'softmax', classes: 4, size: [18, 26], channels: 3, preprocess: 'unit', small: true, netName: 'any_size', input: tf.input({ shape: [null, null, 3], name: 'any' }), seed: [11, 3], refs: [0, 2] }, [
    L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'fc_conv1' }),
    L.maxPooling2d({ poolSize: 2, name: 'fc_pool' }),
    L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'fc_conv2' }),
    L.globalAveragePooling2d({ name: 'fc_gap' }),
    L.dense({ units: 4, activation: 'softmax', name: 'fc_probs' }),
  ]);
}

/** A non-square input, 40×64 (height × width). */
function nonSquare(): ZooModel {
  return chainModel({ name: 'non_square', what: 'non-square 40×64 input, Sequential', head: 'softmax', classes: 3, size: [40, 64], channels: 3, preprocess: 'unit', small: false, netName: 'wide', seed: [12, 2], refs: [0, 2] }, [
    L.conv2d({ inputShape: [40, 64, 3], filters: 6, kernelSize: [3, 5], strides: 2, padding: 'same', activation: 'relu', name: 'wide_conv1' }),
    L.maxPooling2d({ poolSize: [2, 2], name: 'wide_pool' }),
    L.conv2d({ filters: 8, kernelSize: 3, padding: 'valid', activation: 'relu', name: 'wide_conv2' }),
    L.flatten({ name: 'wide_flat' }),
    L.dense({ units: 3, activation: 'softmax', name: 'wide_probs' }),
  ]);
}

/** Grayscale 12×12×1 (an eye-state-like net: conv, batch norm, ReLU) with two softmax classes. */
function grayscale(): ZooModel {
  return chainModel({ name: 'grayscale', what: 'grayscale input (1 channel), 2-way softmax', head: 'softmax', classes: 2, size: [12, 12], channels: 1, preprocess: 'unit', small: true, netName: 'grayscale', input: tf.input({ shape: [12, 12, 1], name: 'gray' }), seed: [23, 2], refs: [1, 3] }, [
    L.conv2d({ filters: 4, kernelSize: 3, name: 'g_conv1' }),
    L.batchNormalization({ name: 'g_bn' }),
    L.activation({ activation: 'relu', name: 'g_relu' }),
    L.conv2d({ filters: 6, kernelSize: 3, strides: 2, activation: 'relu', name: 'g_conv2' }),
    L.flatten({ name: 'g_flat' }),
    L.dense({ units: 2, activation: 'softmax', name: 'g_probs' }),
  ]);
}

/** U-Net-like encoder/decoder: Conv2DTranspose, UpSampling2D, Concatenate skips, then a classifier head. */
function unet(): ZooModel {
  const inputs = tf.input({ shape: [16, 16, 3], name: 'unet_in' });
  const e1 = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'enc1' }).apply(inputs) as Sym;
  const p1 = L.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(e1) as Sym;
  const e2 = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'enc2' }).apply(p1) as Sym;
  const p2 = L.maxPooling2d({ poolSize: 2, name: 'pool2' }).apply(e2) as Sym;
  const b = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'bottleneck' }).apply(p2) as Sym;
  const u2 = L.conv2dTranspose({ filters: 8, kernelSize: 2, strides: 2, padding: 'same', name: 'up2' }).apply(b) as Sym;
  const c2 = L.concatenate({ name: 'skip2' }).apply([u2, e2]) as Sym;
  const d2 = L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'dec2' }).apply(c2) as Sym;
  const u1 = L.upSampling2d({ size: [2, 2], name: 'up1' }).apply(d2) as Sym;
  const c1 = L.concatenate({ name: 'skip1' }).apply([u1, e1]) as Sym;
  const d1 = L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'dec1' }).apply(c1) as Sym;
  const gap = L.globalAveragePooling2d({ name: 'unet_gap' });
  const dense = L.dense({ units: 4, activation: 'softmax', name: 'unet_probs' });
  const outputs = dense.apply(gap.apply(d1) as Sym) as Sym;
  const net = tf.model({ inputs, outputs, name: 'unet_classifier' });
  seedWeights(net, 14, 3);
  const act = subModel(inputs, d1);
  const tail = (a: tf.Tensor) => applyThenLogits([gap, dense], a);
  return {
    name: 'unet', what: 'U-Net-like: Conv2DTranspose, UpSampling2D, Concatenate skips, classifier head', net, head: 'softmax', classes: 4, size: [16, 16], channels: 3, preprocess: 'unit', small: false,
    logits: (x) => tf.tidy(() => tail(act.predict(x) as tf.Tensor)),
    probe: { layer: 'skip2', ref: run(subModel(inputs, c2)) },
    split: { layer: 'dec1', act: run(act), tail },
  };
}

/** A Sequential model whose first layer is a Sequential feature block (nested Sequential, as in Keras' data-augmentation tutorials), sigmoid head. */
function nestedSequentialSigmoid(): ZooModel {
  const block = tf.sequential({
    name: 'feature_block',
    layers: [
      L.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'block_conv1' }),
      L.maxPooling2d({ poolSize: 2, name: 'block_pool' }),
      L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'block_conv2' }),
    ],
  });
  const gap = L.globalAveragePooling2d({ name: 'ns_gap' });
  const dense = L.dense({ units: 1, activation: 'sigmoid', name: 'ns_out' });
  const net = tf.sequential({ name: 'nested_sigmoid', layers: [block, gap, dense] });
  seedWeights(net, 15, 4);
  const probe = subModel(block.inputs, block.layers[0].output as Sym);
  const act = subModel(block.inputs, block.layers[2].output as Sym);
  const tail = (a: tf.Tensor) => applyThenLogits([gap, dense], a);
  return {
    name: 'nested_sigmoid', what: 'Sequential ▸ Sequential block, one sigmoid unit', net, head: 'sigmoid', classes: 2, size: [16, 16], channels: 3, preprocess: 'unit', small: true,
    logits: (x) => tf.tidy(() => tail(act.predict(x) as tf.Tensor)),
    probe: { layer: 'block_conv1', ref: run(probe) },
    split: { layer: 'block_conv2', act: run(act), tail },
    innerNames: ['block_conv2', 'feature_block/block_conv2'],
  };
}

/** Every zoo model, built fresh (deterministic weights). */
export function buildZoo(): Map<string, ZooModel> {
  const seq = mnistSequential();
  const list = [
    seq, mnistTwin(seq.net), mnistFunctional(), cifarBn(), separable(), transfer(false), transfer(true), teachable(), sigmoidHead(),
    linearHead(), activationSoftmax(), rescaling(), anySize(), nonSquare(), grayscale(), unet(), nestedSequentialSigmoid(),
  ];
  return new Map(list.map((z) => [z.name, z]));
}

/** A seeded noise picture (no flat regions, so max-pooling has no ties) with a brighter blob. */
export function zooPicture(h: number, w: number, seed: number): RGBImage {
  const rand = mulberry32(seed);
  const data = new Uint8Array(h * w * 3);
  const cy = h * (0.3 + 0.4 * rand());
  const cx = w * (0.3 + 0.4 * rand());
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const blob = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (0.05 * h * w));
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = Math.min(255, Math.round(40 + 120 * blob * (c + 1) / 3 + 90 * rand()));
    }
  }
  return { width: w, height: h, data };
}

/** The batch a model sees for a picture, computed here: pixels (/255 for 'unit'), mean over RGB for 1 channel. */
export function referenceBatch(z: ZooModel, img: RGBImage): tf.Tensor4D {
  return tf.tidy(() => {
    let t = tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]);
    if (z.preprocess === 'unit') t = t.div(255);
    if (z.channels === 1) t = t.mean(3, true);
    return t as tf.Tensor4D;
  });
}

/** Class probabilities from the model's own output: softmax output as is, sigmoid p → [1 − p, p], linear → softmax. */
export function referenceProbabilities(z: ZooModel, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => {
    const out = (z.net.predict(x) as tf.Tensor).reshape([x.shape[0], -1]);
    if (z.head === 'sigmoid') return tf.concat([tf.sub(1, out), out], 1).dataSync() as Float32Array;
    if (z.head === 'linear') return tf.softmax(out).dataSync() as Float32Array;
    return out.dataSync() as Float32Array;
  }).slice();
}

/** The score explanations of class k differentiate: the logit; sigmoid heads: z for class 1, −z for class 0. */
export function referenceScore(z: ZooModel, logits: tf.Tensor2D, k: number): tf.Tensor1D {
  return tf.tidy(() => {
    if (z.head === 'sigmoid') {
      const s = logits.reshape([-1]) as tf.Tensor1D;
      return (k === 1 ? s : s.neg()) as tf.Tensor1D;
    }
    return logits.slice([0, k], [-1, 1]).reshape([-1]) as tf.Tensor1D;
  });
}

/** Grad-CAM at the lowest resolution from the references: ReLU(Σ_c mean(dS/dA)·A), min–max normalized. */
export function referenceGradCam(z: ZooModel, x: tf.Tensor4D, k: number): { width: number; height: number; data: Float32Array } {
  const m = tf.tidy(() => {
    const a = z.split.act(x);
    const g = tf.grad((t: tf.Tensor) => referenceScore(z, z.split.tail(t), k).sum())(a) as tf.Tensor4D;
    const w = g.mean([1, 2]);
    return tf.relu(a.mul(w.reshape([1, 1, 1, -1])).sum(-1)).squeeze([0]) as tf.Tensor2D;
  });
  const d = m.dataSync() as Float32Array;
  const [height, width] = m.shape;
  m.dispose();
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of d) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const data = new Float32Array(d.length);
  if (hi > lo) for (let i = 0; i < d.length; i++) data[i] = (d[i] - lo) / (hi - lo);
  return { width, height, data };
}
