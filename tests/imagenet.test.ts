/** The real ImageNet model on real photos: the top-1 classes the provenance notes list. */
import * as tf from '@tensorflow/tfjs';
import { predict } from '../kernel/src/basics/predict';
import { ortUnsupportedReason } from '../kernel/src/engine/onnx/net';
import { loadModel } from '../kernel/src/models/load';
import { CnnModel } from '../kernel/src/models/model';
import { bothSync } from './helpers/accel';
import { relErr } from './helpers/compare';
import { requireShared } from './helpers/shared';

let model: CnnModel;
beforeAll(async () => {
  requireShared();
  model = await loadModel('mobilenet_v1_0.75_224');
});

test.each([
  ['cat_dog.png', 'bull_mastiff'],
  ['panda.jpg', 'giant_panda'],
  ['coffee.png', 'espresso'],
  ['beagle.jpg', 'beagle'],
  ['hummingbird.jpg', 'hummingbird'],
  ['sports_car.jpg', 'sports_car'],
])('mobilenet_v1_0.75_224 top-1 on %s is %s', async (file, label) => {
  const r = await predict(model, file, { top: 5, display: false });
  expect(r.predictions[0].label).toBe(label);
  expect(r.predictions.map((p) => p.probability)).toEqual([...r.predictions.map((p) => p.probability)].sort((a, b) => b - a));
  const sum = r.probabilities.reduce((a, b) => a + b, 0);
  expect(sum).toBeCloseTo(1, 4);
});

test('cat_dog.png: the dog first and the cat second, as in the Grad-CAM paper', async () => {
  const r = await predict(model, 'cat_dog.png', { top: 2, display: false });
  expect(r.predictions.map((p) => p.label)).toEqual(['bull_mastiff', 'tiger_cat']);
  expect(r.predictions[0].probability).toBeGreaterThan(0.7);
  expect(r.meta.backend).toMatch(/^(wasm|cpu|tensorflow)(\+onnxruntime)?$/);
});

test("taps of two layers and the logits run as one engine graph and equal TF.js' (a MobileNet graph the runtime once refused to load)", async () => {
  const small = await loadModel('mobilenet_v1_0.25_224');
  const x = tf.tidy(() => tf.randomUniform([1, 224, 224, 3], -1, 1, 'float32', 7) as tf.Tensor4D);
  const layers = ['conv_pw_11_relu', 'conv_pw_13_relu'];
  const r = bothSync(() => small.engine.forward(x, layers));
  expect(ortUnsupportedReason(small.net)).toBe('');
  for (let i = 0; i < layers.length; i++) {
    expect([layers[i], relErr(r.engine.taps[i].dataSync(), r.tfjs.taps[i].dataSync(), Number.MIN_VALUE) < 1e-4]).toEqual([layers[i], true]);
  }
  expect(relErr(r.engine.logits.dataSync(), r.tfjs.logits.dataSync(), Number.MIN_VALUE)).toBeLessThan(1e-4);
  tf.dispose([x, ...r.engine.taps, ...r.tfjs.taps, r.engine.logits, r.tfjs.logits]);
});
