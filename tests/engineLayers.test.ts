/**
 * The layer kinds users' CNNs bring beyond the classic ones, on the ONNX Runtime engine against TF.js on
 * the same weights: leaky/parametric/exponential ReLUs and the smooth activations, separable and
 * transposed convolutions, upsampling, cropping, merges, the preprocessing layers models carry
 * (Rescaling, Normalization, augmentation, same-size Resizing) and BatchNormalization saved with
 * `axis: [3]`. For each: the layer's output, the logits, its gradient and the input gradient under the
 * plain, guided and deconvnet rules equal the TF.js path's within 1e-4. Also: a model the engine cannot
 * compile, or one it fails on while running, still gives TF.js' numbers, and backendReport() says why.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { backendReport, initBackend } from '../kernel/src/engine/backend';
import { ortNet, ortUnsupportedReason, OrtNet } from '../kernel/src/engine/onnx/net';
import { OrtGraph, setAccelEnabled } from '../kernel/src/engine/onnx/runtime';
import { activationAndLogits, inputGradients, layerGradients, logitsOf } from '../kernel/src/explain/gradients';
import { CnnModel } from '../kernel/src/models/model';
import { loadKerasH5 } from '../kernel/src/models/keras';
import { flattenModel } from '../kernel/src/models/flatten';
import '../kernel/src/models/layerClasses';
import { seededFloats } from '../kernel/src/random';
import { bothSync as both } from './helpers/accel';
import { relErr as arrayRelErr } from './helpers/compare';
import { randomizeSigned as randomize } from './helpers/nets';

beforeAll(async () => {
  await initBackend();
});

type L = tf.SymbolicTensor;
const l = tf.layers;
const TOL = 1e-4;


/** A layer of a class registered with TF.js' serialization (models/layerClasses.ts' Keras classes). */
function registered(className: string, config: object): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`class ${className} is not registered`);
  const [Cls] = entry as unknown as [new (c: object) => tf.layers.Layer];
  return new Cls(config);
}

/** max |a − b| / max |b| of two tensors of the same shape. */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return arrayRelErr(a.dataSync(), b.dataSync(), Number.MIN_VALUE);
}

function batch(n: number, shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(seededFloats(n * size, seed, lo, hi), [n, ...shape] as [number, number, number, number]);
}

/**
 * Checks a model on both paths: it compiles; logits equal; each named layer's output and its gradient
 * for a class equal; the input gradient of a class and of a channel of each layer equals under the
 * three ReLU rules; no tensors are left behind.
 */
function checkModel(m: CnnModel, x: tf.Tensor4D, layers: string[]): void {
  expect(ortUnsupportedReason(m.net)).toBe('');
  expect(ortNet(m.net)).not.toBeNull();
  const lg = both(() => logitsOf(m, x));
  expect(relErr(lg.engine, lg.tfjs)).toBeLessThan(TOL);
  tf.dispose([lg.engine, lg.tfjs]);
  for (const layer of layers) {
    const a = both(() => activationAndLogits(m, x, layer));
    expect([layer, 'output', relErr(a.engine.activation, a.tfjs.activation) < TOL]).toEqual([layer, 'output', true]);
    // A layer that does nothing to these inputs would prove nothing.
    expect([layer, 'nonzero', a.tfjs.activation.abs().max().dataSync()[0] > 0]).toEqual([layer, 'nonzero', true]);
    tf.dispose([a.engine.activation, a.engine.logits, a.tfjs.activation, a.tfjs.logits]);
    const g = both(() => layerGradients(m, x, layer, 1));
    expect([layer, 'gradient', relErr(g.engine.gradient, g.tfjs.gradient) < TOL]).toEqual([layer, 'gradient', true]);
    expect([layer, 'gradient nonzero', g.tfjs.gradient.abs().max().dataSync()[0] > 0]).toEqual([layer, 'gradient nonzero', true]);
    tf.dispose([g.engine.gradient, g.engine.activation, g.engine.logits, g.tfjs.gradient, g.tfjs.activation, g.tfjs.logits]);
  }
  const targets = [2, ...layers.map((layer) => ({ layer, channel: 1, reduce: 'sum' as const }))];
  for (const target of targets) {
    for (const rule of [undefined, 'guided', 'deconvnet'] as const) {
      const r = both(() => {
        const g = inputGradients(m, x, target, rule);
        g.logits.dispose();
        return g.gradient;
      });
      const label = [JSON.stringify(target), rule ?? 'gradient'];
      expect([...label, r.tfjs.abs().max().dataSync()[0] > 0]).toEqual([...label, true]);
      expect([...label, relErr(r.engine, r.tfjs) < TOL]).toEqual([...label, true]);
      tf.dispose([r.engine, r.tfjs]);
    }
  }
  // No leaks on the engine path (the TF.js path above has built and cached its own tap models).
  const calls = () => {
    tf.dispose(logitsOf(m, x));
    for (const layer of layers) tf.dispose(Object.values(layerGradients(m, x, layer, 1)).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
    const g = inputGradients(m, x, { layer: layers[0], channel: 1, reduce: 'max' }, 'guided');
    tf.dispose([g.gradient, g.logits]);
  };
  calls();
  const n0 = tf.memory().numTensors;
  calls();
  expect(tf.memory().numTensors).toBe(n0);
  // The engine ran all of it (it did not fail and hand the model to TF.js).
  expect(ortUnsupportedReason(m.net)).toBe('');
}

test('leaky, parametric, exponential and thresholded ReLUs and the smooth activations', () => {
  const input = tf.input({ shape: [7, 7, 3], name: 'img' });
  let x = l.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(input) as L;
  x = l.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'c2' }).apply(x) as L;
  x = l.leakyReLU({ alpha: 0.2, name: 'leaky' }).apply(x) as L;
  x = l.conv2d({ filters: 6, kernelSize: 1, name: 'c3' }).apply(x) as L;
  x = l.elu({ name: 'elu' }).apply(x) as L;
  x = l.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'elu', name: 'c_elu' }).apply(x) as L;
  x = l.prelu({ name: 'prelu' }).apply(x) as L;
  x = l.conv2d({ filters: 6, kernelSize: 1, activation: 'swish', name: 'c_swish' }).apply(x) as L;
  x = l.activation({ activation: 'selu', name: 'selu' }).apply(x) as L;
  x = l.conv2d({ filters: 6, kernelSize: 1, activation: 'gelu', name: 'c_gelu' }).apply(x) as L;
  x = l.activation({ activation: 'mish', name: 'mish' }).apply(x) as L;
  x = l.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'softplus', name: 'dw_softplus' }).apply(x) as L;
  x = l.activation({ activation: 'gelu_new', name: 'gelu_new' }).apply(x) as L;
  x = l.conv2d({ filters: 6, kernelSize: 1, activation: 'softsign', name: 'c_softsign' }).apply(x) as L;
  x = l.activation({ activation: 'hardSigmoid', name: 'hard' }).apply(x) as L;
  // (ThresholdedReLU compiles too, but TF.js has no gradient for it: nothing to compare.)
  x = l.conv2d({ filters: 6, kernelSize: 1, name: 'c4' }).apply(x) as L;
  const g = l.globalMaxPooling2d({ name: 'gmp' }).apply(x) as L;
  let h = l.dense({ units: 8, activation: 'swish', name: 'fc_swish' }).apply(g) as L;
  h = l.dense({ units: 8, activation: 'relu', name: 'fc' }).apply(h) as L;
  h = l.dense({ units: 4, activation: 'softmax', name: 'probs' }).apply(h) as L;
  const net = tf.model({ inputs: input, outputs: h, name: 'acts' });
  randomize(net, 10);
  // PReLU slopes of both signs per position and channel (the random ones above).
  const m = new CnnModel(net, { name: 'acts', preprocess: 'none' });
  const xb = batch(2, [7, 7, 3], 11, -2, 2);
  checkModel(m, xb, ['leaky', 'elu', 'c_elu', 'prelu', 'c_swish', 'selu', 'c_gelu', 'mish', 'dw_softplus', 'gelu_new', 'c_softsign', 'hard', 'c4', 'gmp', 'fc_swish']);
  xb.dispose();
});

test('separable and transposed convolutions, upsampling (nearest, bilinear), cropping and merges', () => {
  const input = tf.input({ shape: [8, 8, 3], name: 'img' });
  const s1 = l.separableConv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu', name: 'sep_s2' }).apply(input) as L;
  const s2 = l.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'sep' }).apply(s1) as L;
  const t1 = l.conv2dTranspose({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'tr_same' }).apply(s2) as L;
  const t2 = l.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', name: 'tr_valid' }).apply(s2) as L; // 9×9
  const c2 = l.cropping2D({ cropping: [[0, 1], [1, 0]], name: 'crop' }).apply(t2) as L;
  const t3 = l.conv2dTranspose({ filters: 4, kernelSize: 2, strides: 3, padding: 'valid', name: 'tr_k2s3' }).apply(s2) as L; // 12×12
  const c3 = l.cropping2D({ cropping: [[2, 2], [1, 3]], name: 'crop2' }).apply(t3) as L;
  const u1 = l.upSampling2d({ size: [2, 2], name: 'up' }).apply(s2) as L;
  const u1c = l.conv2d({ filters: 4, kernelSize: 1, name: 'up_c' }).apply(u1) as L;
  const u2 = l.upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'up_bil' }).apply(s2) as L;
  const u2c = l.conv2d({ filters: 4, kernelSize: 1, name: 'up_bil_c' }).apply(u2) as L;
  const sub = (registered('Subtract', { name: 'sub' }).apply([c2, c3]) as L);
  const avg = l.average({ name: 'avg' }).apply([u1c, u2c]) as L;
  const t4 = l.conv2dTranspose({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'tr_s1' }).apply(avg) as L;
  let z = l.concatenate({ name: 'cat' }).apply([t1, sub, t4]) as L;
  z = l.conv2d({ filters: 6, kernelSize: 3, strides: 2, activation: 'relu', name: 'head_c' }).apply(z) as L;
  z = l.globalAveragePooling2d({ name: 'gap' }).apply(z) as L;
  z = l.dense({ units: 4, activation: 'softmax', name: 'probs' }).apply(z) as L;
  const net = tf.model({ inputs: input, outputs: z, name: 'convs' });
  randomize(net, 20);
  const m = new CnnModel(net, { name: 'convs', preprocess: 'none' });
  const xb = batch(2, [8, 8, 3], 21);
  checkModel(m, xb, ['sep_s2', 'sep', 'tr_same', 'tr_valid', 'crop', 'tr_k2s3', 'crop2', 'up', 'up_bil', 'sub', 'avg', 'tr_s1', 'cat']);
  xb.dispose();
});

test('preprocessing inside the model (Rescaling, augmentation, Normalization, same-size Resizing) and BatchNormalization with axis [3]', () => {
  const input = tf.input({ shape: [6, 6, 3], name: 'img' });
  let x = l.rescaling({ scale: 1 / 127.5, offset: -1, name: 'rescale' }).apply(input) as L;
  x = registered('RandomFlip', { mode: 'horizontal', name: 'flip' }).apply(x) as L;
  x = registered('RandomRotation', { factor: 0.1, name: 'rot' }).apply(x) as L;
  x = registered('Normalization', { axis: -1, name: 'norm' }).apply(x) as L;
  x = registered('Normalization', { axis: -1, mean: [0.1, -0.2, 0.3], variance: [2, 0.5, 1], name: 'norm_cfg' }).apply(x) as L;
  x = registered('Resizing', { height: 6, width: 6, name: 'resize' }).apply(x) as L;
  x = l.gaussianNoise({ stddev: 0.3, name: 'noise' }).apply(x) as L;
  x = l.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'c1' }).apply(x) as L;
  // Keras 2 writes the axis as a list; TF.js takes it as that axis.
  x = l.batchNormalization({ axis: [3] as unknown as number, name: 'bn_list' }).apply(x) as L;
  x = l.reLU({ name: 'relu' }).apply(x) as L;
  x = l.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'c2' }).apply(x) as L;
  x = l.batchNormalization({ axis: 3, name: 'bn3' }).apply(x) as L;
  x = registered('SpatialDropout2D', { rate: 0.5, name: 'sd' }).apply(x) as L;
  x = l.flatten({ name: 'flat' }).apply(x) as L;
  x = l.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x, name: 'pre' });
  randomize(net, 30);
  const m = new CnnModel(net, { name: 'pre', preprocess: 'none' });
  const xb = batch(2, [6, 6, 3], 31, 0, 255);
  checkModel(m, xb, ['rescale', 'flip', 'norm', 'norm_cfg', 'resize', 'bn_list', 'bn3']);
  xb.dispose();
});

const shared = process.env.CNNVIS_SHARED ?? path.resolve(__dirname, '../../shared');
const eyeFile = path.join(shared, 'data/wild/eye_state_h5/model.keras');

(fs.existsSync(eyeFile) ? test : test.skip)('a real Keras 2 model with BatchNormalization axis [3] (wild eye_state_h5) compiles and equals TF.js', async () => {
  const net = flattenModel(await loadKerasH5(eyeFile)).net;
  const bn = net.layers.filter((ly) => ly.getClassName() === 'BatchNormalization');
  expect(bn.length).toBeGreaterThan(0);
  expect(ortUnsupportedReason(net)).toBe('');
  const m = new CnnModel(net, { name: 'eye', preprocess: 'none' });
  const xb = batch(2, (net.inputs[0].shape.slice(1) as number[]), 41, 0, 1);
  const lg = both(() => logitsOf(m, xb));
  expect(relErr(lg.engine, lg.tfjs)).toBeLessThan(TOL);
  const probs = net.predict(xb) as tf.Tensor;
  const conv = net.layers.filter((ly) => ly.getClassName() === 'Conv2D').pop()!.name;
  const g = both(() => {
    const r = inputGradients(m, xb, { layer: conv, channel: 0, reduce: 'sum' });
    r.logits.dispose();
    return r.gradient;
  });
  expect(relErr(g.engine, g.tfjs)).toBeLessThan(TOL);
  expect(ortUnsupportedReason(net)).toBe('');
  tf.dispose([xb, lg.engine, lg.tfjs, probs, g.engine, g.tfjs]);
});

test('ThresholdedReLU (no TF.js gradient to compare) gives TF.js outputs on the engine', () => {
  const input = tf.input({ shape: [5, 5, 3] });
  let x = l.conv2d({ filters: 4, kernelSize: 3, name: 'c' }).apply(input) as L;
  x = l.thresholdedReLU({ theta: 0.1, name: 'thr' }).apply(x) as L;
  x = l.flatten({ name: 'flat' }).apply(x) as L;
  x = l.dense({ units: 3, name: 'out' }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x, name: 'thr_model' });
  randomize(net, 70);
  const m = new CnnModel(net, { name: 'thr', preprocess: 'none' });
  const xb = batch(2, [5, 5, 3], 71);
  const a = both(() => activationAndLogits(m, xb, 'thr'));
  expect(relErr(a.engine.activation, a.tfjs.activation)).toBeLessThan(TOL);
  expect(relErr(a.engine.logits, a.tfjs.logits)).toBeLessThan(TOL);
  // Some values are cut, some kept.
  const v = a.tfjs.activation.dataSync();
  expect(v.some((t) => t === 0) && v.some((t) => t > 0.1)).toBe(true);
  expect(ortUnsupportedReason(net)).toBe('');
  tf.dispose([xb, a.engine.activation, a.engine.logits, a.tfjs.activation, a.tfjs.logits]);
});

test('a Sequential model that was never built: the engine gives a reason instead of throwing', () => {
  const seq = tf.sequential({ layers: [l.conv2d({ filters: 2, kernelSize: 3, inputShape: [5, 5, 1] }), l.flatten(), l.dense({ units: 2 })] });
  const empty = tf.sequential();
  for (const net of [seq, empty]) {
    const built = (() => {
      try {
        return OrtNet.build(net);
      } catch (e) {
        return e;
      }
    })();
    // Either compiled, or one line that says why (never a TypeError).
    if (!(built instanceof OrtNet)) {
      expect(typeof built).toBe('string');
      expect(built as string).not.toMatch(/\n|Cannot read properties/);
    }
    expect(() => ortUnsupportedReason(net)).not.toThrow();
  }
  expect(OrtNet.build(empty)).toMatch(/no input or output layers/);
});

/** A model with a layer kind the engine does not compile (LayerNormalization) after a LeakyReLU. */
function oddModel(): CnnModel {
  const input = tf.input({ shape: [6, 6, 3] });
  let x = l.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'c' }).apply(input) as L;
  x = l.layerNormalization({ name: 'ln' }).apply(x) as L;
  x = l.leakyReLU({ name: 'leaky' }).apply(x) as L;
  x = l.flatten({ name: 'flat' }).apply(x) as L;
  x = l.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x, name: 'odd_model' });
  randomize(net, 50);
  return new CnnModel(net, { name: 'odd', preprocess: 'none' });
}

test('a model the engine cannot compile gives TF.js predictions and gradients, and backendReport says which layer and why', async () => {
  const m = oddModel();
  expect(ortNet(m.net)).toBeNull();
  const reason = ortUnsupportedReason(m.net);
  expect(reason).toMatch(/^layer 'ln' is a LayerNormalization, which the engine does not compile; it compiles Conv2D, DepthwiseConv2D, SeparableConv2D, .*LeakyReLU/);
  expect(reason).not.toMatch(/\n/);
  const xb = batch(2, [6, 6, 3], 51);
  const probs = m.net.predict(xb) as tf.Tensor;
  const viaApi = tf.tidy(() => tf.softmax(logitsOf(m, xb)));
  expect(relErr(viaApi, probs)).toBeLessThan(1e-5);
  const report = await backendReport();
  expect(report).toContain(`model 'odd_model' runs on TF.js: ${reason}`);
  tf.dispose([xb, probs, viaApi]);
});

test('when the engine fails while running, the model moves to TF.js with the same numbers and the reason is reported', async () => {
  const input = tf.input({ shape: [6, 6, 3] });
  let x = l.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'c' }).apply(input) as L;
  x = l.leakyReLU({ name: 'leaky' }).apply(x) as L;
  x = l.flatten({ name: 'flat' }).apply(x) as L;
  x = l.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x, name: 'flaky_model' });
  randomize(net, 60);
  const m = new CnnModel(net, { name: 'flaky', preprocess: 'none' });
  const xb = batch(2, [6, 6, 3], 61);
  expect(ortNet(net)).not.toBeNull();
  setAccelEnabled(false);
  const ref = inputGradients(m, xb, 1);
  const refLogits = logitsOf(m, xb);
  setAccelEnabled(true);
  const n0 = tf.memory().numTensors;
  // The runtime refuses every run from now on (as it would a graph it cannot execute).
  const spy = jest.spyOn(OrtGraph.prototype, 'run').mockImplementation(() => {
    throw new Error('simulated onnxruntime failure\u0000\u0001 with binary');
  });
  try {
    const g = inputGradients(m, xb, 1);
    expect(relErr(g.gradient, ref.gradient)).toBeLessThan(1e-6);
    expect(relErr(g.logits, ref.logits)).toBeLessThan(1e-6);
    const lg = logitsOf(m, xb);
    expect(relErr(lg, refLogits)).toBeLessThan(1e-6);
    tf.dispose([g.gradient, g.logits, lg]);
  } finally {
    spy.mockRestore();
  }
  expect(tf.memory().numTensors).toBe(n0);
  expect(ortNet(net)).toBeNull();
  const reason = ortUnsupportedReason(net);
  expect(reason).toMatch(/^the engine failed on it: simulated onnxruntime failure\?\? with binary$/);
  expect(await backendReport()).toContain(`model 'flaky_model' runs on TF.js: ${reason}`);
  tf.dispose([xb, ref.gradient, ref.logits, refLogits]);
});

test('squeeze-excitation blocks: Multiply, Maximum, Minimum, Add and Subtract with broadcasting, global pooling with keepdims', () => {
  const act = (a: string) => a as unknown as 'relu';
  const input = tf.input({ shape: [8, 8, 3], name: 'img' });
  const c1 = l.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(input) as L;
  // MobileNetV3's block: GAP(keepdims) → 1×1 conv → 1×1 conv with Keras 3's hard sigmoid → Multiply.
  let se = registered('GlobalAveragePooling2D', { keepdims: true, name: 'se_gap' }).apply(c1) as L;
  se = l.conv2d({ filters: 4, kernelSize: 1, activation: act('silu'), name: 'se_reduce' }).apply(se) as L;
  se = l.conv2d({ filters: 8, kernelSize: 1, activation: act('hardSigmoidKeras3'), name: 'se_expand' }).apply(se) as L;
  let x = l.multiply({ name: 'se_mul' }).apply([c1, se]) as L;
  x = l.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: act('silu'), name: 'c2' }).apply(x) as L;
  // EfficientNet's: GAP → Dense → Dense sigmoid → Reshape([1, 1, C]) → Multiply (the scale first).
  let v = l.globalAveragePooling2d({ name: 'se2_gap' }).apply(x) as L;
  v = l.dense({ units: 4, activation: act('hardSilu'), name: 'se2_fc' }).apply(v) as L;
  v = l.dense({ units: 8, activation: 'sigmoid', name: 'se2_gate' }).apply(v) as L;
  const v4 = l.reshape({ targetShape: [1, 1, 8], name: 'se2_reshape' }).apply(v) as L;
  x = l.multiply({ name: 'se2_mul' }).apply([v4, x]) as L;
  // Merges of a map with a vector ([C] → [1, 1, C]) and with a kept-dims map.
  const gmax = registered('GlobalMaxPooling2D', { keepdims: true, name: 'gmp_keep' }).apply(x) as L;
  const y1 = l.conv2d({ filters: 8, kernelSize: 1, activation: act('leakyRelu'), name: 'c3' }).apply(x) as L;
  let z = registered('Maximum', { name: 'max' }).apply([x, y1, gmax]) as L;
  z = registered('Minimum', { name: 'min' }).apply([z, v4]) as L;
  z = l.add({ name: 'add_b' }).apply([z, v]) as L;
  z = registered('Subtract', { name: 'sub_b' }).apply([z, gmax]) as L;
  z = l.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'c4' }).apply(z) as L;
  const g = l.globalAveragePooling2d({ name: 'gap' }).apply(z) as L;
  const h = l.dense({ units: 4, activation: 'softmax', name: 'probs' }).apply(g) as L;
  const net = tf.model({ inputs: input, outputs: h, name: 'se_net' });
  randomize(net, 80);
  const m = new CnnModel(net, { name: 'se', preprocess: 'none' });
  const xb = batch(2, [8, 8, 3], 81, -1.5, 1.5);
  checkModel(m, xb, ['se_gap', 'se_expand', 'se_mul', 'c2', 'se2_fc', 'se2_mul', 'gmp_keep', 'c3', 'max', 'min', 'add_b', 'sub_b']);
  xb.dispose();
});

test("Keras' activations TF.js lacks (models/layerClasses.ts), as layers and fused, and Keras' ReLU forms", () => {
  const act = (a: string) => a as unknown as 'relu';
  const input = tf.input({ shape: [6, 6, 3], name: 'img' });
  let z = l.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: act('hardSilu'), name: 'c_hardSilu' }).apply(input) as L;
  z = l.conv2d({ filters: 8, kernelSize: 1, activation: act('leakyRelu'), name: 'c_leakyRelu' }).apply(z) as L;
  const chain = ['hardTanh', 'celu', 'logSigmoid', 'tanhShrink', 'softShrink', 'hardShrink', 'squareplus', 'sparsePlus', 'sparseSigmoid', 'exponential', 'hardSigmoidKeras3', 'silu'];
  for (const a of chain) {
    z = l.conv2d({ filters: 8, kernelSize: 1, name: `k_${a}` }).apply(z) as L;
    // Values across every piece of the piecewise functions (clipping ones see smaller values).
    z = l.rescaling({ scale: ['hardTanh', 'sparseSigmoid'].includes(a) ? 1 : 3, offset: 0, name: `s_${a}` }).apply(z) as L;
    z = l.activation({ activation: act(a), name: `a_${a}` }).apply(z) as L;
  }
  z = registered('ReLU', { negativeSlope: 0.1, name: 'relu_leaky' }).apply(z) as L;
  z = l.conv2d({ filters: 8, kernelSize: 1, name: 'k_leaky' }).apply(z) as L;
  z = registered('ReLU', { maxValue: 3, name: 'relu_cap' }).apply(z) as L;
  z = l.conv2d({ filters: 8, kernelSize: 1, name: 'k_cap' }).apply(z) as L;
  z = registered('ReLU', { maxValue: 2, negativeSlope: 0.1, threshold: 0.2, name: 'relu_keras' }).apply(z) as L;
  z = l.conv2d({ filters: 8, kernelSize: 3, name: 'k_out' }).apply(z) as L;
  const g = l.globalAveragePooling2d({ name: 'gap' }).apply(z) as L;
  const h = l.dense({ units: 4, activation: 'softmax', name: 'probs' }).apply(g) as L;
  const net = tf.model({ inputs: input, outputs: h, name: 'keras_acts' });
  randomize(net, 90);
  const m = new CnnModel(net, { name: 'keras_acts', preprocess: 'none' });
  const xb = batch(2, [6, 6, 3], 91, -1.5, 1.5);
  checkModel(m, xb, ['c_hardSilu', 'c_leakyRelu', ...chain.map((a) => `a_${a}`), 'relu_leaky', 'relu_cap', 'relu_keras']);
  xb.dispose();
});
