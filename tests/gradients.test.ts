/** Gradient taps checked against central finite differences, pre-softmax logits, targets and memory. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { CnnvisError } from '../kernel/src/errors';
import { activationAndLogits, inputGradients, layerGradients, logitsOf } from '../kernel/src/explain/gradients';
import { findLabel, resolveClass } from '../kernel/src/explain/targets';
import { CnnModel } from '../kernel/src/models/model';
import { seededFloats } from '../kernel/src/random';
import { centralDifference, expectNoTensorLeak, maxAbs } from './helpers/compare';
import { chain, logitAt, seedLayers } from './helpers/nets';

/** Deterministic pseudo-random numbers in [-scale, scale). */
const seeded = (n: number, seed: number, scale = 1): Float32Array => seededFloats(n, seed, -scale, scale);

/**
 * input 8×8×3 → c1 conv 3×3×4 same tanh → c2 conv 3×3×5 valid tanh → GAP → dense 3 → softmax.
 * `fused`: the softmax is the dense layer's activation; otherwise a separate Activation layer.
 */
function smallNet(fused: boolean): CnnModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'img' });
  const output = chain(input, [
    tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'c1' }),
    tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'valid', activation: 'tanh', name: 'c2' }),
    tf.layers.globalAveragePooling2d({ name: 'gap' }),
    ...(fused
      ? [tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' })]
      : [tf.layers.dense({ units: 3, name: 'out' }), tf.layers.activation({ activation: 'softmax', name: 'probs' })]),
  ]);
  const net = tf.model({ inputs: input, outputs: output, name: fused ? 'small_fused' : 'small' });
  seedLayers(net, [['c1', 11, 0.6], ['c2', 21, 0.6], ['out', 31, 1.5]]);
  return new CnnModel(net, { name: net.name, preprocess: 'none', labels: { names: ['tabby cat', 'tiger cat', 'dog'], source: 'test' } });
}

function inputBatch(): tf.Tensor4D {
  return tf.tensor4d(seeded(8 * 8 * 3, 5, 1), [1, 8, 8, 3]);
}

/** The logits as a function of c1's output, built by hand in the test from the same weights. */
function tailFromC1(model: CnnModel): tf.Sequential {
  const tail = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 4], filters: 5, kernelSize: 3, padding: 'valid', activation: 'tanh' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 3 }),
    ],
  });
  tail.layers[0].setWeights(model.net.getLayer('c2').getWeights());
  tail.layers[2].setWeights(model.net.getLayer('out').getWeights());
  return tail;
}

/** Relative error with a floor so that near-zero gradients do not blow up the ratio. */
function relErr(a: number, b: number, floor: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), floor);
}

beforeAll(async () => {
  // The default backend (wasm here); its missing gradient kernels are registered by gradients.ts.
  await initBackend();
});

test('gradients on the default backend agree with the cpu backend within 1e-4', async () => {
  const model = smallNet(true);
  const x = inputBatch();
  const take = () => {
    const g = layerGradients(model, x, 'c1', 2);
    const i = inputGradients(model, x, 0);
    const out = { layer: g.gradient.dataSync().slice(), input: i.gradient.dataSync().slice() };
    tf.dispose([g.activation, g.gradient, g.logits, i.gradient, i.logits]);
    return out;
  };
  const main = tf.getBackend();
  const here = take();
  await tf.setBackend('cpu');
  let cpu: ReturnType<typeof take>;
  try {
    cpu = take();
  } finally {
    await tf.setBackend(main);
  }
  expect(tf.getBackend()).toBe(main);
  for (const k of ['layer', 'input'] as const) {
    expect(Math.max(...Array.from(cpu[k]).map(Math.abs))).toBeGreaterThan(1e-2);
    for (let j = 0; j < cpu[k].length; j++) expect(Math.abs(here[k][j] - cpu[k][j])).toBeLessThan(1e-4);
  }
  x.dispose();
});

test('logits are the pre-softmax scores, for a separate softmax layer and for a fused one', () => {
  for (const fused of [false, true]) {
    const model = smallNet(fused);
    const x = inputBatch();
    const logits = logitsOf(model, x);
    const expected = tf.tidy(() => {
      const gap = tf.model({ inputs: model.net.inputs, outputs: model.net.getLayer('gap').output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
      const [k, b] = model.net.getLayer('out').getWeights();
      return tf.matMul(gap as tf.Tensor2D, k as tf.Tensor2D).add(b);
    });
    const probs = model.net.predict(x) as tf.Tensor;
    const l = logits.dataSync();
    const e = expected.dataSync();
    for (let i = 0; i < 3; i++) expect(l[i]).toBeCloseTo(e[i], 5);
    const sm = tf.softmax(logits).dataSync();
    const p = probs.dataSync();
    for (let i = 0; i < 3; i++) expect(sm[i]).toBeCloseTo(p[i], 5);
    // The logits are not the probabilities (the test would be void otherwise).
    expect(Math.max(...Array.from(l).map((v, i) => Math.abs(v - p[i])))).toBeGreaterThan(0.05);
    tf.dispose([x, logits, expected, probs]);
  }
});

test('dLogit/dA at a layer agrees with central finite differences of the hand-built tail', () => {
  const model = smallNet(true);
  const x = inputBatch();
  const tail = tailFromC1(model);
  for (const cls of [0, 2]) {
    const g = layerGradients(model, x, 'c1', cls);
    expect(g.activation.shape).toEqual([1, 8, 8, 4]);
    expect(g.gradient.shape).toEqual([1, 8, 8, 4]);
    const a = g.activation.dataSync().slice() as Float32Array;
    const grad = g.gradient.dataSync();
    const scale = maxAbs(grad);
    expect(scale).toBeGreaterThan(1e-3);
    // The score reported is the logit of the class.
    expect(g.score).toBeCloseTo(g.logits.dataSync()[cls], 5);
    const f = (v: Float32Array) => tf.tidy(() => (tail.predict(tf.tensor4d(v, [1, 8, 8, 4])) as tf.Tensor).dataSync()[cls]);
    const probes = Array.from(seeded(8, 100 + cls, 1)).map((r) => Math.floor(((r + 1) / 2) * a.length));
    for (const i of probes) expect(relErr(grad[i], centralDifference(f, a, i, 1e-2), 0.05 * scale)).toBeLessThan(1e-2);
    tf.dispose([g.activation, g.gradient, g.logits]);
  }
  tail.dispose();
  x.dispose();
  // The forward hook is gone afterwards.
  expect(Object.prototype.hasOwnProperty.call(model.net.getLayer('c1'), 'call')).toBe(false);
});

test('dLogit/dInput agrees with central finite differences', () => {
  const model = smallNet(false);
  const x = inputBatch();
  const xs = x.dataSync().slice() as Float32Array;
  const { gradient, logits } = inputGradients(model, x, 1);
  const grad = gradient.dataSync();
  const scale = maxAbs(grad);
  for (const r of seeded(8, 77, 1)) {
    const i = Math.floor(((r + 1) / 2) * xs.length);
    expect(relErr(grad[i], centralDifference((v) => logitAt(model, v, 1), xs, i, 1e-2), 0.05 * scale)).toBeLessThan(1e-2);
  }
  tf.dispose([x, gradient, logits]);
});

test('a function target differentiates any scalar of the logits (top-1 = max logit)', () => {
  const model = smallNet(false);
  const x = inputBatch();
  const { activation, logits } = activationAndLogits(model, x, 'c2');
  const l = logits.dataSync();
  const top = l.indexOf(Math.max(...Array.from(l)));
  const byMax = layerGradients(model, x, 'c2', (lg) => tf.max(lg, 1).sum() as tf.Scalar);
  const byIndex = layerGradients(model, x, 'c2', top);
  const a = byMax.gradient.dataSync();
  const b = byIndex.gradient.dataSync();
  for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 6);
  const act = activation.dataSync();
  const act2 = byMax.activation.dataSync();
  for (let i = 0; i < act.length; i++) expect(act2[i]).toBeCloseTo(act[i], 6);
  tf.dispose([activation, logits, byMax.activation, byMax.gradient, byMax.logits, byIndex.activation, byIndex.gradient, byIndex.logits, x]);
});

test('gradient taps leave no tensors behind', async () => {
  const model = smallNet(true);
  const x = inputBatch();
  await expectNoTensorLeak(() => {
    const g = layerGradients(model, x, 'c1', 0);
    tf.dispose([g.activation, g.gradient, g.logits]);
    const i = inputGradients(model, x, 2);
    tf.dispose([i.gradient, i.logits]);
  }, 5);
  x.dispose();
});

test('targets: index, forgiving label, ambiguity, near suggestions, range', () => {
  const model = smallNet(true);
  expect(resolveClass(model, { classIndex: 2 }, null)).toBe(2);
  expect(resolveClass(model, { label: 'Tiger_Cat' }, null)).toBe(1);
  expect(resolveClass(model, { label: 'tabby' }, null)).toBe(0);
  expect(resolveClass(model, {}, new Float32Array([0.1, 3, -1]))).toBe(1);
  expect(() => resolveClass(model, { label: 'cat' }, null)).toThrow(/ambiguous.*tabby cat \(0\).*tiger cat \(1\)/);
  expect(() => resolveClass(model, { label: 'dgo' }, null)).toThrow(/unknown label 'dgo'.*did you mean: dog \(2\)/);
  expect(() => resolveClass(model, { classIndex: 3 }, null)).toThrow(/out of range.*0\.\.2/);
  expect(() => resolveClass(model, { classIndex: 0, label: 'dog' }, null)).toThrow(CnnvisError);
  expect(() => layerGradients(model, inputBatch(), 'c1', 7)).toThrow(/out of range/);
  expect(findLabel(['crane', 'crane', 'x'], 'x')).toBe(2);
  expect(() => findLabel(['crane', 'crane', 'x'], 'crane')).toThrow(/ambiguous/);
});
