/**
 * One graph of named layers (models/flatten.ts): Sequential and nested models become one flat
 * functional model whose outputs equal the original's, whose weights are the original's variables,
 * and whose inner layers are reachable by name, qualified path and nested model name.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { flattenModel } from '../kernel/src/models/flatten';
import { CnnModel } from '../kernel/src/models/model';
import { summary } from '../kernel/src/basics/summary';
import { runTaps } from '../kernel/src/taps';

beforeAll(async () => {
  await initBackend();
});

/** Deterministic weights (a seeded sine), so two models can be compared exactly. getWeights() returns the variables themselves: never dispose them. */
function seedWeights(net: tf.LayersModel, seed = 1): void {
  let k = seed;
  for (const layer of net.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    layer.setWeights(ws.map((w) => tf.tidy(() => {
      const n = w.size;
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = 0.3 * Math.sin(++k * 12.9898) ;
      const t = tf.tensor(v, w.shape);
      // Positive variances for batch norm.
      return w.shape.length === 1 && /variance/i.test(layer.name + (layer.weights[ws.indexOf(w)]?.originalName ?? '')) ? t.abs().add(0.5) : t;
    })));
  }
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
}

function base(): tf.LayersModel {
  const x = tf.input({ shape: [20, 20, 3], name: 'base_in' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'conv1' }).apply(x) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(c1) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 6, kernelSize: 3, name: 'conv2' }).apply(bn) as tf.SymbolicTensor;
  const r = tf.layers.reLU({ name: 'out_relu' }).apply(c2) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: r, name: 'base_model' });
}

/** Transfer learning as Keras writes it: the base is a layer of an outer functional model. */
function transfer(): { outer: tf.LayersModel; inner: tf.LayersModel } {
  const inner = base();
  const x = tf.input({ shape: [20, 20, 3], name: 'image' });
  const f = inner.apply(x) as tf.SymbolicTensor;
  const g = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(f) as tf.SymbolicTensor;
  // A name that clashes with a layer inside the base.
  const d = tf.layers.dense({ units: 3, activation: 'softmax', name: 'conv1' }).apply(g) as tf.SymbolicTensor;
  const outer = tf.model({ inputs: x, outputs: d, name: 'transfer' });
  seedWeights(outer);
  return { outer, inner };
}

/** Teachable Machine's shape: Sequential ▸ [Sequential ▸ functional base] + Sequential head. */
function teachable(): tf.LayersModel {
  const b = base();
  const features = tf.sequential({ name: 'sequential_1', layers: [tf.layers.inputLayer({ inputShape: [20, 20, 3] }), b, tf.layers.globalAveragePooling2d({ name: 'gap' })] });
  const head = tf.sequential({ name: 'sequential_3', layers: [tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu', name: 'dense_Dense1' }), tf.layers.dense({ units: 3, activation: 'softmax', name: 'dense_Dense2' })] });
  const outer = tf.sequential({ name: 'sequential_4', layers: [features, head] });
  seedWeights(outer, 7);
  return outer;
}

const input = () => tf.randomUniform([2, 20, 20, 3], 0, 1, 'float32', 3) as tf.Tensor4D;

describe('flattenModel', () => {
  test('a nested transfer-learning model: same outputs, every leaf layer at the top, shared weights', () => {
    const { outer } = transfer();
    const f = flattenModel(outer);
    expect(f.rebuilt).toBe(true);
    const names = f.net.layers.map((l) => l.name);
    // The inner 'conv1' clashes with the outer head's name, so it is qualified; the others keep theirs.
    expect(names).toEqual(expect.arrayContaining(['base_model/conv1', 'bn', 'conv2', 'out_relu', 'gap', 'conv1']));
    expect(f.layers.get('out_relu')).toEqual({ path: ['base_model'], original: 'out_relu' });
    expect(f.layers.get('conv1')).toEqual({ path: [], original: 'conv1' });
    expect(f.aliases.get('base_model')).toBe('out_relu');
    const x = input();
    const a = outer.predict(x) as tf.Tensor;
    const b = f.net.predict(x) as tf.Tensor;
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    // The same variables: a change to the original shows in the flat model.
    const inner = (outer.getLayer('base_model') as tf.LayersModel).getLayer('conv2');
    const flatConv2 = f.net.getLayer('conv2');
    expect(flatConv2.weights.map((w) => w.read().id)).toEqual(inner.weights.map((w) => w.read().id));
    const doubled = inner.getWeights().map((w) => w.mul(-2));
    inner.setWeights(doubled);
    tf.dispose(doubled);
    const a2 = outer.predict(x) as tf.Tensor;
    const b2 = f.net.predict(x) as tf.Tensor;
    expect(maxDiff(a, a2)).toBeGreaterThan(1e-3);
    expect(maxDiff(a2, b2)).toBeLessThan(1e-6);
    tf.dispose([x, a, b, a2, b2]);
  });

  test('Teachable-Machine-like double nesting: inner layers and the nested softmax are found', () => {
    const tm = teachable();
    const m = new CnnModel(tm, { preprocess: 'mobilenet' });
    expect(m.net.getClassName()).not.toBe('Sequential');
    expect(m.layerNames()).toEqual(['input', 'conv1', 'bn', 'conv2', 'out_relu', 'gap', 'dense_Dense1', 'dense_Dense2']);
    expect(m.softmax).toBe(true);
    expect(m.numClasses).toBe(3);
    expect(m.spatialLayers()).toEqual(['conv1', 'bn', 'conv2', 'out_relu']);
    expect(m.layerInfo('conv2').path).toEqual(['sequential_4', 'sequential_1', 'base_model'].slice(1));
    // Qualified paths and the nested model's own name reach the same layer.
    expect(m.layer('sequential_1/base_model/conv2').name).toBe('conv2');
    expect(m.layer('base_model').name).toBe('out_relu');
    const x = input();
    const want = tm.predict(x) as tf.Tensor;
    const { taps, output } = runTaps(m.net, x, ['out_relu']);
    expect(maxDiff(want, output)).toBeLessThan(1e-5);
    // The tapped layer equals the inner model's own output.
    const b = (tm.getLayer('sequential_1') as tf.LayersModel).getLayer('base_model') as tf.LayersModel;
    const inner = b.predict(x) as tf.Tensor;
    expect(maxDiff(inner, taps[0])).toBeLessThan(1e-5);
    tf.dispose([x, want, inner, output, ...taps]);
  });

  test('the summary indents nested models like Keras expand_nested', () => {
    const m = new CnnModel(teachable());
    const text = summary(m, { display: false }).text();
    expect(text).toMatch(/▸ sequential_1 \(Sequential\)/);
    expect(text).toMatch(/\n  ▸ base_model \((Functional|Model)\)/);
    expect(text).toMatch(/\n    conv2 \(Conv2D\)/);
    expect(text).toMatch(/\n  dense_Dense2 \(Dense\)/);
  });

  test('a plain tf.sequential model becomes functional with its output layer known', () => {
    const seq = tf.sequential({ layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: 'softmax' }),
    ] });
    seedWeights(seq, 5);
    const m = new CnnModel(seq);
    expect(m.net.outputLayers.length).toBe(1);
    expect(m.softmax).toBe(true);
    const x = tf.randomUniform([1, 12, 12, 1], 0, 1, 'float32', 9);
    const a = seq.predict(x) as tf.Tensor;
    const b = m.net.predict(x) as tf.Tensor;
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    tf.dispose([x, a, b]);
  });

  test('flattening again and again leaks no tensors (one rebuild per model)', () => {
    const tm = teachable();
    new CnnModel(tm);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) new CnnModel(tm);
    expect(tf.memory().numTensors).toBe(before);
    // A fresh rebuild adds no tensors beyond the input layer's: weights are shared, not copied.
    const flat = flattenModel(tm);
    expect(tf.memory().numTensors).toBe(before);
    expect(flat.net.weights.length).toBe(tm.weights.length);
  });

  test('an any-size input runs at the Resizing size or 224, or the size asked', () => {
    const x = tf.input({ shape: [null, null, 3] });
    const c = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: 'c' }).apply(x) as tf.SymbolicTensor;
    const g = tf.layers.globalAveragePooling2d({}).apply(c) as tf.SymbolicTensor;
    const net = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2, activation: 'softmax' }).apply(g) as tf.SymbolicTensor });
    const m = new CnnModel(net);
    expect([m.inputHeight, m.inputWidth]).toEqual([224, 224]);
    expect(m.spatialLayers()).toEqual(['c']);
    expect(m.layerShape('c')).toEqual([222, 222, 2]);
    expect(m.sizeNote).toMatch(/any size/);
    const m2 = new CnnModel(net, { size: [40, 64] });
    expect(m2.layerShape('c')).toEqual([38, 62, 2]);
  });

  test('a Rescaling layer inside the model makes the default preprocessing none', () => {
    const seq = tf.sequential({ layers: [
      tf.layers.rescaling({ inputShape: [8, 8, 3], scale: 1 / 255 }),
      tf.layers.conv2d({ filters: 2, kernelSize: 3 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ] });
    const m = new CnnModel(seq);
    expect(m.preprocess).toBe('none');
    expect(m.preprocessNote).toMatch(/scales its own input.*0\.00392157/);
    const asked = new CnnModel(seq, { preprocess: 'unit' });
    expect(asked.preprocess).toBe('unit');
    expect(asked.preprocessNote).toMatch(/although/);
  });
});

describe('labels against the head', () => {
  const binary = () => {
    const x = tf.input({ shape: [6, 6, 1] });
    const f = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: x, outputs: tf.layers.dense({ units: 1, activation: 'sigmoid' }).apply(f) as tf.SymbolicTensor });
  };
  test('a one-sigmoid model takes two labels; a wrong count given by the user is one clear error', () => {
    expect(new CnnModel(binary(), { labels: ['closed', 'open'] }).label(1)).toBe('open');
    expect(() => new CnnModel(binary(), { labels: ['open'] })).toThrow(/has 2 classes but 1 labels were given.*one-sigmoid model has two/);
  });
  test('labels from a file that do not fit are set aside with a note', () => {
    const m = new CnnModel(binary(), { labels: { names: ['a', 'b', 'c'], source: 'labels.txt' } });
    expect(m.labels).toBeNull();
    expect(m.labelsNote).toBe('3 labels (labels.txt) for 2 classes: not used');
  });
});

describe('a model that takes any size runs at the image\'s own size', () => {
  test('predictions and Grad-CAM of a 40×64 image use a 40×64 input (equal to TF.js predict on that tensor)', async () => {
    const { predict } = await import('../kernel/src/basics/predict');
    const { gradCam } = await import('../kernel/src/explain/cam/gradcam');
    const x = tf.input({ shape: [null, null, 3] });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'c1' }).apply(x) as tf.SymbolicTensor;
    const p = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(c) as tf.SymbolicTensor;
    const g = tf.layers.globalAveragePooling2d({}).apply(p) as tf.SymbolicTensor;
    const net = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 3, activation: 'softmax' }).apply(g) as tf.SymbolicTensor });
    seedWeights(net, 11);
    const W = 64, H = 40;
    const data = new Uint8Array(W * H * 3).map((_, i) => (i * 37) % 251);
    const image = { width: W, height: H, data };
    const m = new CnnModel(net, { preprocess: 'unit' });
    expect(m.anySize).toBe(true);
    const r = await predict(m, image, { display: false, top: 3 });
    const want = tf.tidy(() => net.predict(tf.tensor4d(data, [1, H, W, 3], 'int32').toFloat().div(255)) as tf.Tensor);
    const wantP = want.dataSync();
    r.probabilities.forEach((v, i) => expect(Math.abs(v - wantP[i])).toBeLessThan(1e-5));
    want.dispose();
    const cam = await gradCam(m, image, { display: false, layer: 'c1' });
    expect([cam.map.height, cam.map.width]).toEqual([H, W]);
    expect(m.atSize(H, W).sizeNote).toMatch(/runs at 40×64, the image's own size/);
    // The same size again reuses the rebuilt model.
    expect(m.atSize(H, W)).toBe(m.atSize(H, W));
  });
});
