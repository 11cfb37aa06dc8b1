/**
 * The ONNX Runtime engine (kernel/src/engine/onnx) against TF.js on the same weights: every layer kind
 * it compiles, logits, layer outputs, layer and input gradients (plain, guided, deconvnet rules,
 * class, function and channel targets), re-use of a kept forward pass, weight changes, unsupported
 * layers falling back to TF.js, and no leaked tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { partSizes } from '../kernel/src/engine/onnx/backward';
import { ortNet, ortUnsupportedReason } from '../kernel/src/engine/onnx/net';
import { ortRuntime, setAccelEnabled } from '../kernel/src/engine/onnx/runtime';
import { activationAndLogits, ChannelTarget, inputGradients, layerGradients, logitsOf, ScoreTarget } from '../kernel/src/explain/gradients';
import { CnnModel } from '../kernel/src/models/model';
import { maximize } from '../kernel/src/optvis/render';
import { channel, channels, classLogit, layerMean, neuron, Objective } from '../kernel/src/optvis/objectives';
import { seededFloats } from '../kernel/src/random';
import { logitsModel } from '../kernel/src/engine/tfjs';
import { bothSync as both } from './helpers/accel';
import { centralDifference, relErr as arrayRelErr } from './helpers/compare';
import { randomizeSigned as randomize } from './helpers/nets';

beforeAll(async () => {
  await initBackend();
});


type L = tf.SymbolicTensor;
/**
 * One of every layer kind and setting the engine compiles: asymmetric 'same' padding at stride 2,
 * a non-square kernel, depthwise with multiplier 2, batch norm, ReLU6, sigmoid/tanh, overlapping max and average
 * pooling with padding, a residual Add, Concatenate, zero padding, global max pooling, Flatten, Dense
 * with ReLU and a fused softmax.
 */
function zoo(): CnnModel {
  const l = tf.layers;
  const input = tf.input({ shape: [17, 17, 3], name: 'img' });
  let x = l.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'pad' }).apply(input) as L;
  x = l.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', name: 'c1' }).apply(x) as L;
  x = l.batchNormalization({ name: 'bn1' }).apply(x) as L;
  x = l.reLU({ maxValue: 6, name: 'relu6' }).apply(x) as L;
  const a = l.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu', name: 'dw' }).apply(x) as L;
  const b = l.conv2d({ filters: 16, kernelSize: [5, 3], padding: 'same', activation: 'tanh', name: 'dil' }).apply(x) as L;
  const bp = l.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'maxp' }).apply(b) as L;
  let y = l.add({ name: 'add' }).apply([a, bp]) as L;
  y = l.activation({ activation: 'relu', name: 'addrelu' }).apply(y) as L;
  // TF.js' own average-pooling gradient is wrong at 'same' borders; cnnvis replaces it (see below).
  const ap = l.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avgp' }).apply(y) as L;
  const s = l.conv2d({ filters: 4, kernelSize: 1, activation: 'sigmoid', name: 'sig' }).apply(y) as L;
  let z = l.concatenate({ name: 'cat' }).apply([ap, s]) as L;
  z = l.conv2d({ filters: 12, kernelSize: 3, padding: 'valid', activation: 'relu', name: 'c3' }).apply(z) as L;
  const g = l.globalMaxPooling2d({ name: 'gmp' }).apply(z) as L;
  const f = l.flatten({ name: 'flat' }).apply(z) as L;
  let h = l.concatenate({ name: 'cat2' }).apply([g, f]) as L;
  h = l.dense({ units: 10, activation: 'relu', name: 'fc' }).apply(h) as L;
  h = l.dropout({ rate: 0.5, name: 'drop' }).apply(h) as L;
  h = l.dense({ units: 5, activation: 'softmax', name: 'probs' }).apply(h) as L;
  const net = tf.model({ inputs: input, outputs: h, name: 'zoo' });
  randomize(net, 100);
  return new CnnModel(net, { name: 'zoo', preprocess: 'none' });
}

function batch(n: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(seededFloats(n * 17 * 17 * 3, seed, -1, 1), [n, 17, 17, 3]);
}

/** max |a − b| / max |b| of two tensors of the same shape. */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return arrayRelErr(a.dataSync(), b.dataSync(), Number.MIN_VALUE);
}

const TOL = 1e-4;

test('onnxruntime loads here and compiles every layer kind of the zoo model', () => {
  expect(ortRuntime()).not.toBeNull();
  const m = zoo();
  expect(ortUnsupportedReason(m.net)).toBe('');
  expect(ortNet(m.net)).not.toBeNull();
});

test('logits and layer outputs equal TF.js', () => {
  const m = zoo();
  const x = batch(3, 1);
  const ort = ortNet(m.net)!;
  const f0 = ort.runs.forward;
  const l = both(() => logitsOf(m, x, 2));
  // Batches that need only the logits run the whole model as one graph: one run per batch of 2.
  expect(ort.runs.forward - f0).toBe(2);
  expect(relErr(l.engine, l.tfjs)).toBeLessThan(TOL);
  // 'probs': the model's probabilities (the engine holds its output before the softmax, so TF.js answers).
  for (const layer of ['pad', 'c1', 'relu6', 'dw', 'maxp', 'add', 'avgp', 'cat', 'c3', 'gmp', 'flat', 'fc', 'probs']) {
    const r = both(() => activationAndLogits(m, x, layer));
    expect([layer, relErr(r.engine.activation, r.tfjs.activation)]).toEqual([layer, expect.any(Number)]);
    expect(relErr(r.engine.activation, r.tfjs.activation)).toBeLessThan(TOL);
    tf.dispose([r.engine.activation, r.engine.logits, r.tfjs.activation, r.tfjs.logits]);
  }
  tf.dispose([x, l.engine, l.tfjs]);
});

test('layer gradients equal TF.js at every depth, for a class and for a function of the logits', () => {
  const m = zoo();
  const x = batch(2, 2);
  const top: ScoreTarget = (z) => z.max(1).sum() as tf.Scalar;
  for (const layer of ['c1', 'relu6', 'dw', 'dil', 'add', 'cat', 'c3', 'flat', 'fc']) {
    for (const target of [3, top]) {
      const r = both(() => layerGradients(m, x, layer, target));
      expect([layer, typeof target, relErr(r.engine.gradient, r.tfjs.gradient)]).toEqual([layer, typeof target, expect.any(Number)]);
      expect([layer, typeof target, relErr(r.engine.gradient, r.tfjs.gradient) < TOL]).toEqual([layer, typeof target, true]);
      expect(relErr(r.engine.activation, r.tfjs.activation)).toBeLessThan(TOL);
      expect(Math.abs(r.engine.score - r.tfjs.score)).toBeLessThan(1e-4 * Math.max(1, Math.abs(r.tfjs.score)));
      tf.dispose([r.engine.gradient, r.engine.activation, r.engine.logits, r.tfjs.gradient, r.tfjs.activation, r.tfjs.logits]);
    }
  }
  x.dispose();
});

test('input gradients equal TF.js for the plain, guided and deconvnet rules, class and channel targets', () => {
  const m = zoo();
  const x = batch(5, 3); // more than one engine batch (4)
  const targets: (number | ChannelTarget)[] = [1, { layer: 'add', channel: 5, reduce: 'sum' }, { layer: 'c3', channel: 2, reduce: 'max' }];
  for (const target of targets) {
    for (const rule of [undefined, 'guided', 'deconvnet'] as const) {
      const run = () => {
        const g = inputGradients(m, x, target, rule);
        g.logits.dispose();
        return g;
      };
      const r = both(run);
      const gn = r.engine.gradient.abs().max().dataSync()[0];
      expect(gn).toBeGreaterThan(0);
      expect([JSON.stringify(target), rule, relErr(r.engine.gradient, r.tfjs.gradient) < TOL]).toEqual([JSON.stringify(target), rule, true]);
      expect(Math.abs(r.engine.score - r.tfjs.score)).toBeLessThan(1e-4 * Math.max(1, Math.abs(r.tfjs.score)));
      tf.dispose([r.engine.gradient, r.tfjs.gradient]);
    }
  }
  x.dispose();
});

test('a new class on the same input runs only backward graphs above the layer', () => {
  const m = zoo();
  const ort = ortNet(m.net)!;
  const x = batch(1, 4);
  const first = layerGradients(m, x, 'c3', 0);
  const before = { ...ort.runs };
  const again = layerGradients(m, x, 'c3', 4);
  expect(ort.runs.forward).toBe(before.forward);
  // c3's gradient comes from gmp/flat/cat2/fc/probs: at most those five graphs.
  expect(ort.runs.backward - before.backward).toBeGreaterThan(0);
  expect(ort.runs.backward - before.backward).toBeLessThanOrEqual(5);
  const ref = both(() => layerGradients(m, x, 'c3', 4)).tfjs;
  expect(relErr(again.gradient, ref.gradient)).toBeLessThan(TOL);
  // A different input tensor with the same values is a new pass.
  const y = x.clone();
  const f0 = ort.runs.forward;
  tf.dispose(Object.values(layerGradients(m, y, 'c3', 4)).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
  expect(ort.runs.forward).toBeGreaterThan(f0);
  tf.dispose([x, y, first.gradient, first.activation, first.logits, again.gradient, again.activation, again.logits, ref.gradient, ref.activation, ref.logits]);
});

test('the composed complete pass rounds as the layer graphs: batch norms stay apart from the kernels (exact graph)', () => {
  const m = zoo();
  const ort = ortNet(m.net)!;
  const x = batch(1, 7);
  // One graph, weights inline (c1 → bn1 → relu6 fused as a chain) …
  const whole = ort.forward(x, { complete: true });
  // … and layer by layer (asking for bn1, inside the chain, splits it).
  const layered = ort.forward(x.clone(), { complete: true, layers: ['bn1'] });
  expect(layered.values.has('bn1')).toBe(true);
  expect(whole.values.has('bn1')).toBe(false);
  for (const name of ['relu6', 'dw', 'add', 'c3', 'fc']) expect([name, arrayRelErr(whole.get(name).data as Float32Array, layered.get(name).data as Float32Array)]).toEqual([name, 0]);
  x.dispose();
});

test('a one-image gradient at a layer keeps only what backward passes from the logits to that layer read; another layer of the same input keeps everything', () => {
  const m = zoo();
  const ort = ortNet(m.net)!;
  const x = batch(1, 6);
  const full = ort.forward(x.clone(), { complete: true });
  const part = ort.forward(x, { complete: true, key: x, layers: ['c3'], downTo: 'c3' });
  expect(part.floor).toBe(ort.indexOf('c3'));
  expect(part.values.size).toBeLessThan(full.values.size / 2);
  // The kept values are the full pass's (same graphs, same rounding).
  for (const name of part.values.keys()) expect([name, arrayRelErr(part.get(name).data as Float32Array, full.get(name).data as Float32Array)]).toEqual([name, 0]);
  // Only gradients of the logits down to c3 read it.
  expect(() => ort.backward(part, ort.logitsName, { data: new Float32Array(10), dims: [1, 10] }, 'add')).toThrow(/serves only gradients of the logits at layer 'c3'/);
  // Through the engine: c3 again re-uses the pass; 'add' (another layer of the same input) runs a
  // complete one, which 'dw' then re-uses; all equal TF.js.
  for (const [layer, newPass] of [['c3', false], ['add', true], ['dw', false]] as const) {
    const f0 = ort.runs.forward;
    const r = both(() => layerGradients(m, x, layer, 2));
    expect([layer, ort.runs.forward > f0]).toEqual([layer, newPass]);
    expect(relErr(r.engine.gradient, r.tfjs.gradient)).toBeLessThan(TOL);
    expect(relErr(r.engine.activation, r.tfjs.activation)).toBeLessThan(TOL);
    tf.dispose([r.engine.gradient, r.engine.activation, r.engine.logits, r.tfjs.gradient, r.tfjs.activation, r.tfjs.logits]);
  }
  x.dispose();
});

test('changed weights are seen: the engine rebuilds after setWeights', () => {
  const m = zoo();
  const x = batch(2, 5);
  const before = logitsOf(m, x);
  randomize(m.net, 900);
  const r = both(() => logitsOf(m, x));
  expect(relErr(r.engine, r.tfjs)).toBeLessThan(TOL);
  expect(relErr(r.engine, before)).toBeGreaterThan(0.01);
  tf.dispose([x, before, r.engine, r.tfjs]);
});

/**
 * Layers whose weights reach 1 MiB: their kernels are graph inputs fed on every run (a stride-1 conv
 * and its flipped backward kernel, a strided conv's ConvTranspose in a conv/BN/ReLU chain, a Dense
 * kernel read from TF.js' memory), not constants inside the graph.
 */
function heavy(): CnnModel {
  const l = tf.layers;
  const input = tf.input({ shape: [4, 4, 3], name: 'img' });
  let x = l.conv2d({ filters: 64, kernelSize: 1, activation: 'relu', name: 'c0' }).apply(input) as L;
  x = l.conv2d({ filters: 520, kernelSize: 3, padding: 'same', activation: 'relu', name: 'wide' }).apply(x) as L;
  x = l.conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', name: 'down' }).apply(x) as L;
  x = l.batchNormalization({ name: 'down_bn' }).apply(x) as L;
  x = l.reLU({ name: 'down_relu' }).apply(x) as L;
  x = l.flatten({ name: 'flat' }).apply(x) as L;
  x = l.dense({ units: 1100, activation: 'relu', name: 'fc' }).apply(x) as L;
  x = l.dense({ units: 5, activation: 'softmax', name: 'probs' }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x, name: 'heavy' });
  randomize(net, 300);
  return new CnnModel(net, { name: 'heavy', preprocess: 'none' });
}

test('large weights fed on every run, and backward passes cut to one filter, give the same logits and gradients', () => {
  const m = heavy();
  for (const name of ['wide', 'down', 'fc']) expect([name, m.net.getLayer(name).getWeights()[0].size * 4 >= 1 << 20]).toEqual([name, true]);
  const x = tf.tensor4d(seededFloats(3 * 4 * 4 * 3, 31, -1, 1), [3, 4, 4, 3]);
  const l = both(() => logitsOf(m, x));
  expect(relErr(l.engine, l.tfjs)).toBeLessThan(TOL);
  const ort = ortNet(m.net)!;
  // A class, and single filters of a conv and of a conv/BN/ReLU chain: those gradients are zero in every
  // other channel, so the engine runs the layer's backward graph on the filter's channel alone.
  const targets: (number | ChannelTarget)[] = [2, { layer: 'wide', channel: 7, reduce: 'sum' }, { layer: 'down_relu', channel: 3, reduce: 'max' }];
  for (const target of targets) {
    for (const rule of [undefined, 'guided', 'deconvnet'] as const) {
      const cut0 = ort.runs.cut;
      const r = both(() => {
        const g = inputGradients(m, x, target, rule);
        g.logits.dispose();
        return g.gradient;
      });
      const label = [JSON.stringify(target), rule];
      expect([...label, r.engine.abs().max().dataSync()[0] > 0]).toEqual([...label, true]);
      expect([...label, relErr(r.engine, r.tfjs) < TOL]).toEqual([...label, true]);
      expect([...label, ort.runs.cut - cut0]).toEqual([...label, typeof target === 'number' ? 0 : 1]);
      tf.dispose([r.engine, r.tfjs]);
    }
  }
  // A weight change is read on the next run (the Dense kernel is not copied anywhere).
  randomize(m.net, 301);
  const after = both(() => logitsOf(m, x));
  expect(relErr(after.engine, after.tfjs)).toBeLessThan(TOL);
  expect(relErr(after.engine, l.engine)).toBeGreaterThan(0.01);
  tf.dispose([x, l.engine, l.tfjs, after.engine, after.tfjs]);
});

test('the runtime holds no copy of a large kernel: compiling and running a 128 MB Dense layer adds far less than 128 MB', () => {
  const input = tf.input({ shape: [8, 8, 3] });
  const flat = tf.layers.flatten({}).apply(tf.layers.conv2d({ filters: 64, kernelSize: 1 }).apply(input) as L) as L;
  const fc = tf.layers.dense({ units: 8192, activation: 'relu', name: 'big' });
  fc.setFastWeightInitDuringBuild(true); // zeros: the values do not matter here
  const out = tf.layers.dense({ units: 5, activation: 'softmax' }).apply(fc.apply(flat) as L) as L;
  const m = new CnnModel(tf.model({ inputs: input, outputs: out }), { name: 'big', preprocess: 'none' });
  const x = tf.tensor4d(seededFloats(8 * 8 * 3, 5, -1, 1), [1, 8, 8, 3]);
  const rss0 = process.memoryUsage().rss;
  const g = inputGradients(m, x, 1);
  const grown = process.memoryUsage().rss - rss0;
  expect(ortNet(m.net)).not.toBeNull();
  expect(grown).toBeLessThan(48 * 2 ** 20);
  tf.dispose([x, g.gradient, g.logits]);
  m.net.dispose();
});

test('a model with a layer the engine does not compile runs on TF.js and says why', () => {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c' }).apply(input) as L;
  x = tf.layers.layerNormalization({ name: 'ln' }).apply(x) as L;
  x = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(x) as L;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as L;
  x = tf.layers.dense({ units: 3 }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x });
  const m = new CnnModel(net, { name: 'odd', preprocess: 'none' });
  expect(ortNet(net)).toBeNull();
  expect(ortUnsupportedReason(net)).toMatch(/layer 'ln' is a LayerNormalization, which the engine does not compile; it compiles Conv2D, .*LeakyReLU/);
  const b = tf.tensor4d(seededFloats(2 * 8 * 8 * 3, 9, -1, 1), [2, 8, 8, 3]);
  const g = inputGradients(m, b, 1);
  expect(g.gradient.shape).toEqual([2, 8, 8, 3]);
  tf.dispose([b, g.gradient, g.logits]);
});

test('the engine path leaves no tensors behind', () => {
  const m = zoo();
  const x = batch(2, 6);
  const call = () => {
    tf.dispose(logitsOf(m, x));
    const a = activationAndLogits(m, x, 'c3');
    const lg = layerGradients(m, x, 'add', 2);
    const ig = inputGradients(m, x, { layer: 'c3', channel: 1, reduce: 'max' }, 'guided');
    tf.dispose([a.activation, a.logits, lg.activation, lg.gradient, lg.logits, ig.gradient, ig.logits]);
  };
  call();
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) call();
  expect(tf.memory().numTensors).toBe(n0);
  x.dispose();
});

/**
 * Central differences (step 1e-2) of logit k at input cells `cells` against the gradient `gv`: the
 * largest error, and the largest |gradient| or |difference| (`scaleBy`) for a relative bound.
 */
function finiteDifferenceError(m: CnnModel, v: Float32Array, shape: [number, number, number, number], k: number, gv: ArrayLike<number>, cells: number[], scaleBy: 'gradient' | 'difference'): { worst: number; scale: number } {
  const f = (arr: Float32Array) => {
    const t = tf.tensor4d(arr, shape);
    const z = logitsOf(m, t);
    const out = z.dataSync()[k];
    tf.dispose([t, z]);
    return out;
  };
  let worst = 0;
  let scale = 0;
  for (const i of cells) {
    const fd = centralDifference(f, v, i, 1e-2);
    worst = Math.max(worst, Math.abs(fd - gv[i]));
    scale = Math.max(scale, Math.abs(scaleBy === 'gradient' ? gv[i] : fd));
  }
  return { worst, scale };
}

test('dilated convolutions (no TF.js gradient) and average pooling with same padding (wrong in TF.js 4.22, replaced) match central finite differences', () => {
  const l = tf.layers;
  const input = tf.input({ shape: [9, 9, 3] });
  let x = l.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'tanh', name: 'dil' }).apply(input) as L;
  x = l.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, strides: 1, padding: 'valid', activation: 'tanh' }).apply(x) as L;
  // TF.js divides every window by its full size in the gradient; TF (and the forward pass) count
  // only the cells inside the image.
  x = l.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as L;
  x = l.globalAveragePooling2d({}).apply(x) as L;
  x = l.dense({ units: 2 }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x });
  randomize(net, 300);
  const m = new CnnModel(net, { name: 'dilated', preprocess: 'none' });
  expect(ortNet(net)).not.toBeNull();
  const v = seededFloats(9 * 9 * 3, 4, -1, 1);
  const x0 = tf.tensor4d(v, [1, 9, 9, 3]);
  const g = inputGradients(m, x0, 1);
  const { worst, scale } = finiteDifferenceError(m, v, [1, 9, 9, 3], 1, g.gradient.dataSync(), [0, 17, 40, 81, 99, 120, 161, 242], 'gradient');
  expect(scale).toBeGreaterThan(0);
  expect(worst / scale).toBeLessThan(1e-2);
  tf.dispose([x0, g.gradient, g.logits]);
});

test('max pooling without overlap (2×2, 3×3 stride 3; valid and same padding on odd sizes; ties) passes gradients as TF.js does', () => {
  const l = tf.layers;
  for (const [pool, padding] of [[2, 'valid'], [2, 'same'], [3, 'same']] as const) {
    const input = tf.input({ shape: [7, 7, 3] });
    // The pool reads the image itself, so the many ties of a coarse image reach the gradient.
    let x = l.maxPooling2d({ poolSize: pool, strides: pool, padding, name: 'mp' }).apply(input) as L;
    x = l.conv2d({ filters: 4, kernelSize: 2, padding: 'same', activation: 'tanh' }).apply(x) as L;
    x = l.flatten({}).apply(x) as L;
    x = l.dense({ units: 3 }).apply(x) as L;
    const net = tf.model({ inputs: input, outputs: x });
    randomize(net, 310 + pool);
    const m = new CnnModel(net, { name: `pool${pool}${padding}`, preprocess: 'none' });
    expect(ortNet(net)).not.toBeNull();
    // Values on a grid of four levels: most windows hold their maximum more than once.
    const x0 = tf.tensor4d(seededFloats(3 * 7 * 7 * 3, 5 + pool, 0, 4).map(Math.floor), [3, 7, 7, 3]);
    for (const rule of [undefined, 'guided'] as const) {
      const r = both(() => inputGradients(m, x0, 1, rule));
      // Each window passes its gradient to one cell: no more non-zero cells than windows.
      const nonzero = r.engine.gradient.dataSync().filter((v) => v !== 0).length;
      const windows = 3 * 3 * Math.ceil((padding === 'same' ? 7 : 7 - pool + 1) / pool) ** 2;
      expect(nonzero).toBeGreaterThan(0);
      expect(nonzero).toBeLessThanOrEqual(windows);
      expect([pool, padding, rule, relErr(r.engine.gradient, r.tfjs.gradient) < TOL]).toEqual([pool, padding, rule, true]);
      tf.dispose([r.engine.gradient, r.engine.logits, r.tfjs.gradient, r.tfjs.logits]);
    }
    x0.dispose();
  }
});

test("cnnvis' AvgPoolGrad for TF.js matches central finite differences with 'same' padding", () => {
  const input = tf.input({ shape: [7, 7, 3] });
  let x = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(input) as L;
  x = tf.layers.conv2d({ filters: 2, kernelSize: 2, activation: 'tanh' }).apply(x) as L;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as L;
  x = tf.layers.dense({ units: 2 }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x });
  randomize(net, 500);
  const m = new CnnModel(net, { name: 'avg', preprocess: 'none' });
  const v = seededFloats(7 * 7 * 3, 8, -1, 1);
  setAccelEnabled(false);
  try {
    const x0 = tf.tensor4d(v, [1, 7, 7, 3]);
    const g = inputGradients(m, x0, 0);
    // Corner, edge and inner cells: the corner's windows are the ones TF.js 4.22 got wrong.
    const { worst, scale } = finiteDifferenceError(m, v, [1, 7, 7, 3], 0, g.gradient.dataSync(), [0, 1, 3 * 6, 3 * 24 + 1, 3 * 48 + 2], 'difference');
    expect(scale).toBeGreaterThan(1e-4);
    expect(worst / scale).toBeLessThan(1e-2);
    tf.dispose([x0, g.gradient, g.logits]);
  } finally {
    setAccelEnabled(true);
  }
});

test('activation maximization on the engine follows the same ascent as on TF.js', async () => {
  const m = zoo();
  const run = () => maximize(m, { layer: 'c3', channel: 4 }, { steps: 4, size: 17, seed: 3, display: false, progress: false, transforms: [] });
  const ort = await run();
  setAccelEnabled(false);
  let ref: Awaited<ReturnType<typeof run>>;
  try {
    ref = await run();
  } finally {
    setAccelEnabled(true);
  }
  expect(ort.values.length).toBe(4);
  for (let i = 0; i < 4; i++) expect(Math.abs(ort.values[i] - ref.values[i])).toBeLessThan(1e-3 * Math.max(1, Math.abs(ref.values[i])));
  let d = 0;
  for (let i = 0; i < ref.pixels.length; i++) d = Math.max(d, Math.abs(ort.pixels[i] - ref.pixels[i]));
  expect(d).toBeLessThan(1e-3);
  expect(ort.values[3]).toBeGreaterThan(ort.values[0]);
});

test('a linear objective runs forward and backward in one call and equals the general path and TF.js', () => {
  const m = zoo();
  const x = batch(3, 21);
  const ort = ortNet(m.net)!;
  const engine = m.engine;
  // Channels inside fused chains (c1 before its batch norm, dw's ReLU), a neuron, a class logit, the
  // mean of a layer, weights and a negation; one channel per image; a layer and the logits together.
  const objectives: Objective[] = [
    channel('c1', 3),
    channel('dw', 5).scale(2).sub(neuron('c3', 7, { x: 1, y: 2 })),
    classLogit(2).add(layerMean('add')).neg(),
    channels('c3', [0, 4, 11]),
    channel('probs', 1).add(classLogit(1)),
  ];
  // The TF.js engine's linear copy of the softmax layer (kept with the model) made before tensors are counted.
  logitsModel(m.net);
  const before = tf.memory().numTensors;
  for (const obj of objectives) {
    expect(obj.linear).toBe(true);
    const runs = { ...ort.runs };
    const one = engine.objectiveGradient(x, obj.layers, (get) => obj.scores(get), { linear: true });
    // One runtime call: one forward and one backward run counted, nothing kept. An objective on the
    // probabilities (the output of 'probs', whose softmax the engine leaves out) runs on TF.js.
    const calls = obj.layers.includes('probs') ? 0 : 1;
    expect([obj.description, ort.runs.forward - runs.forward, ort.runs.backward - runs.backward]).toEqual([obj.description, calls, calls]);
    const general = engine.objectiveGradient(x, obj.layers, (get) => obj.scores(get));
    setAccelEnabled(false);
    let ref: ReturnType<typeof engine.objectiveGradient>;
    try {
      ref = m.engine.objectiveGradient(x, obj.layers, (get) => obj.scores(get));
    } finally {
      setAccelEnabled(true);
    }
    for (const r of [one, general]) {
      expect([obj.description, arrayRelErr(r.scores, ref.scores, Number.MIN_VALUE) < TOL]).toEqual([obj.description, true]);
      expect([obj.description, r === one, relErr(r.dx, ref.dx) < TOL]).toEqual([obj.description, r === one, true]);
    }
    expect(Math.max(...Array.from(ref.dx.dataSync(), Math.abs))).toBeGreaterThan(1e-4);
    tf.dispose([one.dx, general.dx, ref.dx]);
  }
  // A score function that is not linear is never given the one-call path by the objectives.
  expect(new Objective(['c3'], 'squared', (get) => get('c3').square().mean([1, 2, 3]) as tf.Tensor1D).linear).toBe(false);
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
});

test("a batch whose forward values pass a one-call graph's memory budget runs in equal parts, with the whole batch's values", () => {
  expect(partSizes(8, 52 << 20, 256 << 20)).toEqual([4, 4]);
  expect(partSizes(7, 10, 30)).toEqual([3, 2, 2]);
  expect(partSizes(4, 37 << 20, 256 << 20)).toEqual([4]);
  expect(partSizes(3, 1000, 1)).toEqual([1, 1, 1]);
  expect(partSizes(0, 1000, 1)).toEqual([0]);
  const m = zoo();
  const ort = ortNet(m.net)!;
  const B = 7;
  const x = batch(B, 41);
  // Per-image seeds, so parts joined in the wrong order would show.
  const ld = [B, ...ort.dims(ort.logitsName)];
  const seed = { data: seededFloats(ld.reduce((a, d) => a * d, 1), 42, -1, 1), dims: ld };
  const cd = [B, ...ort.dims('c3')];
  const seeds = new Map([['c3', { data: seededFloats(cd.reduce((a, d) => a * d, 1), 43, -1, 1), dims: cd }]]);
  const budget = ort.limits.passBytes;
  const run = (passBytes: number) => {
    ort.limits.passBytes = passBytes;
    try {
      const runs = ort.runs.forward;
      const g = ort.inputGradient(x, seed)!;
      const o = ort.objectiveGradient(x, seeds)!;
      return { g, o, runs: ort.runs.forward - runs };
    } finally {
      ort.limits.passBytes = budget;
    }
  };
  const whole = run(budget);
  const parts = run(1);
  expect([whole.runs, parts.runs]).toEqual([2, 2 * B]);
  for (const [a, b] of [
    [parts.g.logits, whole.g.logits],
    [parts.g.gx, whole.g.gx],
    [parts.o.score, whole.o.score],
    [parts.o.gx, whole.o.gx],
  ]) {
    expect(a.dims).toEqual(b.dims);
    expect(arrayRelErr(a.data as Float32Array, b.data as Float32Array, Number.MIN_VALUE)).toBeLessThan(1e-5);
  }
  expect(whole.o.gx.dims).toEqual([B, 17, 17, 3]);
  expect(Math.max(...Array.from(whole.o.gx.data as Float32Array, Math.abs))).toBeGreaterThan(1e-4);
  x.dispose();
});

test('a gradient that reaches no channel of a convolution gives an exact zero, with no graph run on zero channels', () => {
  const m = zoo();
  const x = batch(2, 23);
  const ort = ortNet(m.net)!;
  const fw = ort.forward(x, { complete: true });
  const dims = [2, ...ort.dims('dil')];
  const runs = { ...ort.runs };
  // (A graph on zero channels leaves its output unwritten: the gradient was whatever memory held.)
  const g = ort.backward(fw, 'dil', { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims }, 'img');
  expect(ort.runs.cut).toBe(runs.cut);
  expect(g.dims).toEqual([2, 3, 17, 17]);
  expect(Array.from(g.data as Float32Array).every((v) => v === 0)).toBe(true);
  x.dispose();
});
