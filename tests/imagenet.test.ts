/** The real ImageNet model on real photos: the top-1 classes the provenance notes list. */
import { predict } from '../kernel/src/basics/predict';
import { loadModel } from '../kernel/src/models/load';
import { CnnModel } from '../kernel/src/models/model';
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
