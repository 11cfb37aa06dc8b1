/**
 * writeLayerWeights (kernel/src/models/writeWeights.ts): loaded values go into a freshly built model's
 * own weight memory (no second copy), and only where that is safe; anything in use gets setWeights.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { ortNet } from '../kernel/src/engine/onnx/net';
import { logitsOf } from '../kernel/src/explain/gradients';
import { assertFiniteWeights } from '../kernel/src/models/finite';
import { CnnModel } from '../kernel/src/models/model';
import { writeLayerWeights } from '../kernel/src/models/writeWeights';
import { seededFloats } from '../kernel/src/random';

beforeAll(async () => {
  await initBackend();
});

/** A small conv net built with zero weights, as loaders build it. */
function fresh(): CnnModel {
  const input = tf.input({ shape: [6, 6, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' });
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' });
  const dense = tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' });
  for (const l of [conv, gap, dense]) l.setFastWeightInitDuringBuild(true);
  const out = dense.apply(gap.apply(conv.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor) as tf.SymbolicTensor;
  return new CnnModel(tf.model({ inputs: input, outputs: out }), { name: 'fresh', preprocess: 'none' });
}

const valuesFor = (layer: tf.layers.Layer, seed: number) => layer.weights.map((w, i) => seededFloats(w.shape.reduce((a: number, d) => a * (d as number), 1), seed + i, -1, 1));

test('a freshly built layer gets the values in its own memory: same data, values read back, no tensor added', () => {
  const m = fresh();
  const layer = m.net.getLayer('conv');
  const ids = layer.weights.map((w) => w.read().dataId);
  const n0 = tf.memory().numTensors;
  const values = valuesFor(layer, 10);
  writeLayerWeights(layer, values);
  expect(layer.weights.map((w) => w.read().dataId)).toEqual(ids);
  expect(tf.memory().numTensors).toBe(n0);
  layer.getWeights().forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(values[i])));
  m.net.dispose();
});

test('weights the engine already compiled are replaced through setWeights, and the engine sees the change', () => {
  const m = fresh();
  writeLayerWeights(m.net.getLayer('conv'), valuesFor(m.net.getLayer('conv'), 20));
  writeLayerWeights(m.net.getLayer('probs'), valuesFor(m.net.getLayer('probs'), 30));
  const x = tf.tensor4d(seededFloats(2 * 6 * 6 * 3, 7, 0, 1), [2, 6, 6, 3]);
  const before = logitsOf(m, x);
  expect(ortNet(m.net)).not.toBeNull();
  const layer = m.net.getLayer('probs');
  const ids = layer.weights.map((w) => w.read().dataId);
  writeLayerWeights(layer, valuesFor(layer, 40));
  expect(layer.weights[0].read().dataId).not.toBe(ids[0]);
  const after = logitsOf(m, x);
  const d = after.sub(before).abs().max().dataSync()[0];
  expect(d).toBeGreaterThan(1e-3);
  // The same numbers as TF.js' own prediction with the new weights.
  const direct = tf.tidy(() => {
    const probs = m.net.predict(x) as tf.Tensor;
    return tf.log(probs).sub(tf.log(probs).mean(1, true));
  });
  const centred = tf.tidy(() => after.sub(after.mean(1, true)));
  expect(centred.sub(direct).abs().max().dataSync()[0]).toBeLessThan(1e-4);
  tf.dispose([x, before, after, direct, centred]);
  m.net.dispose();
});

test('a NaN written in place is still caught by the finite-weights check that passed before', () => {
  const m = fresh();
  const layer = m.net.getLayer('conv');
  writeLayerWeights(layer, valuesFor(layer, 50));
  expect(() => assertFiniteWeights(m.net, 'fresh')).not.toThrow();
  const bad = valuesFor(layer, 60);
  bad[0][3] = NaN;
  writeLayerWeights(layer, bad);
  expect(() => assertFiniteWeights(m.net, 'fresh')).toThrow(/layer 'conv'.*1 NaN/);
  m.net.dispose();
});

test('wrong counts name the layer, the weight and its shape', () => {
  const m = fresh();
  const layer = m.net.getLayer('conv');
  expect(() => writeLayerWeights(layer, [new Float32Array(3)])).toThrow(/layer 'conv' has 2 weights, got 1 arrays/);
  expect(() => writeLayerWeights(layer, [new Float32Array(5), new Float32Array(4)])).toThrow(/weight 'conv\/kernel' has shape \[3, 3, 3, 4\] \(108 values\), got 5/);
  m.net.dispose();
});
