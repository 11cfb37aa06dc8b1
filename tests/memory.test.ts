/**
 * Tensor count stays flat: every explanation method, activation maximization, the basics and both
 * explorers, called 100 times in a row on a small model, end with as many live tensors as after
 * their first call (which may build per-model caches). A leak of one tensor per call shows as 99.
 */
import * as tf from '@tensorflow/tfjs';
import { featureMaps, layerOutputs } from '../kernel/src/basics/featureMaps';
import { predict } from '../kernel/src/basics/predict';
import { initBackend } from '../kernel/src/engine/backend';
import { explainMethod, explainMethodIds, ExplainOptions } from '../kernel/src/explain/registry';
import { CamExplorer, FeatureMapExplorer } from '../kernel/src/explore';
import { CnnModel } from '../kernel/src/models/model';
import { filterPatterns, maximize } from '../kernel/src/optvis/render';
import { seededFloats } from '../kernel/src/random';
import { RGBImage } from '../kernel/src/types';

const CALLS = 100;

/**
 * 16×16×3 → conv 3×3×6 relu → batch norm → ReLU6 → depthwise 3×3 → conv 1×1×6 + skip → max pool
 * → conv 3×3×8 relu ('last') → GAP → dense 4 softmax: the layer kinds whose gradients the wasm
 * backend gets from cnnvis (conv, depthwise, max pool), batch norm, a residual add, a fused softmax.
 */
function smallNet(): CnnModel {
  const input = tf.input({ shape: [16, 16, 3], name: 'img' });
  const ap = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => l.apply(x) as tf.SymbolicTensor;
  const a = ap(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }), input);
  let x = ap(tf.layers.batchNormalization({ name: 'bn' }), a);
  x = ap(tf.layers.reLU({ maxValue: 6, name: 'bn_relu' }), x);
  x = ap(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }), x);
  x = ap(tf.layers.conv2d({ filters: 6, kernelSize: 1, name: 'pw' }), x);
  x = ap(tf.layers.add({ name: 'skip' }), [a, x]);
  x = ap(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }), x);
  x = ap(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'last' }), x);
  x = ap(tf.layers.globalAveragePooling2d({ name: 'gap' }), x);
  x = ap(tf.layers.dense({ units: 4, activation: 'softmax', name: 'out' }), x);
  const net = tf.model({ inputs: input, outputs: x, name: 'small' });
  let seed = 3;
  for (const layer of net.layers) {
    if (!layer.getWeights().length || layer.name === 'bn') continue;
    layer.setWeights(layer.getWeights().map((w) => tf.tensor(seededFloats(w.size, seed++, -0.5, 0.5), w.shape)));
  }
  return new CnnModel(net, { name: 'small', preprocess: 'mobilenet', labels: { names: ['a', 'b', 'c', 'd'], source: 'test' } });
}

function picture(seed: number): RGBImage {
  return { width: 16, height: 16, data: Uint8Array.from(seededFloats(16 * 16 * 3, seed, 0, 255), (v) => Math.round(v)) };
}

/** Live tensors after the first call and after CALLS calls in all. */
async function counts(call: (i: number) => Promise<unknown>): Promise<{ afterFirst: number; afterAll: number }> {
  await call(0);
  const afterFirst = tf.memory().numTensors;
  for (let i = 1; i < CALLS; i++) await call(i);
  return { afterFirst, afterAll: tf.memory().numTensors };
}

let model: CnnModel;

beforeAll(async () => {
  await initBackend();
  model = smallNet();
});

/** Small settings for the methods that run many passes. */
const SMALL: ExplainOptions = { steps: 3, samples: 2, patchSize: 8, stride: 8, topN: 4 };

describe(`tensor count over ${CALLS} calls`, () => {
  test.each(explainMethodIds())('%s', async (id) => {
    const method = explainMethod(id);
    let mapSize = 0;
    const { afterFirst, afterAll } = await counts(async (i) => {
      const r = await method.run(model, picture(i), { ...SMALL, classIndex: i % 4, display: false });
      mapSize = r.map.width * r.map.height;
    });
    expect(mapSize).toBe(16 * 16);
    expect(afterAll).toBe(afterFirst);
  });

  test('gradient methods with a channel target', async () => {
    const { afterFirst, afterAll } = await counts(async (i) => {
      await explainMethod(['saliency', 'guided-backprop', 'integrated-gradients'][i % 3]).run(model, picture(i), { ...SMALL, target: `last:${i % 8}`, display: false });
    });
    expect(afterAll).toBe(afterFirst);
  });

  test('maximize', async () => {
    const { afterFirst, afterAll } = await counts((i) => maximize(model, `last:${i % 8}`, { steps: 2, size: 16, seed: i, display: false, progress: false }));
    expect(afterAll).toBe(afterFirst);
  });

  test('filterPatterns', async () => {
    const { afterFirst, afterAll } = await counts((i) => filterPatterns(model, 'c1', { channels: 2, steps: 1, size: 16, seed: i, display: false, progress: false }));
    expect(afterAll).toBe(afterFirst);
  });

  test('predict, featureMaps, layerOutputs', async () => {
    const { afterFirst, afterAll } = await counts(async (i) => {
      await predict(model, picture(i), { display: false });
      await featureMaps(model, picture(i), { layer: ['c1', 'skip', 'last'][i % 3], display: false });
      await layerOutputs(model, picture(i), { display: false });
    });
    expect(afterAll).toBe(afterFirst);
  });

  test('CamExplorer: open, class and method changes, close', async () => {
    const methods = ['gradcam', 'scorecam', 'eigencam', 'saliency'];
    const before = tf.memory().numTensors;
    const { afterFirst, afterAll } = await counts(async (i) => {
      const ex = await CamExplorer.open(model, picture(i), { display: false, topK: 1 });
      ex.set({ class_index: (i + 1) % 4, method: methods[i % methods.length] });
      await ex.settled();
      expect(ex.get('status')).toBe('idle');
      ex.close();
    });
    expect(afterAll).toBe(afterFirst);
    expect(afterAll).toBe(before);
  });

  test('CamExplorer: layer changes on one open explorer', async () => {
    const ex = await CamExplorer.open(model, picture(1), { display: false, topK: 1 });
    const layers = ex.get('layers');
    const { afterFirst, afterAll } = await counts(async (i) => {
      // Different layer, class and method every call: each one is a new map, not a cache hit.
      ex.set({ layer: layers[i % layers.length], class_index: Math.floor(i / layers.length) % 4, method: i % 2 ? 'gradcampp' : 'layercam' });
      await ex.settled();
      expect(ex.get('status')).toBe('idle');
    });
    ex.close();
    expect(afterAll).toBe(afterFirst);
  });

  test('FeatureMapExplorer: layer changes', async () => {
    const before = tf.memory().numTensors;
    const ex = await FeatureMapExplorer.open(model, picture(2), { display: false, pageSize: 4 });
    const n = ex.get('layers').length;
    const { afterFirst, afterAll } = await counts(async (i) => {
      ex.set({ layer_index: i % n });
      await ex.settled();
      expect(ex.get('status')).toBe('idle');
    });
    ex.close();
    expect(afterAll).toBe(afterFirst);
    expect(tf.memory().numTensors).toBe(before);
  });
});
