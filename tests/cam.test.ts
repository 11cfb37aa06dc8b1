/** The CAM family: channel weights against hand computations, Grad-CAM = CAM, MobileNet on a photo, errors, memory. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { CamContext, normalizeMap } from '../kernel/src/explain/cam/base';
import { cam, findCamHead } from '../kernel/src/explain/cam/cam';
import { eigenCam, eigenCamWeights } from '../kernel/src/explain/cam/eigencam';
import { gradCam, gradCamWeights } from '../kernel/src/explain/cam/gradcam';
import { gradCamPlusPlus, gradCamPlusPlusWeights } from '../kernel/src/explain/cam/gradcampp';
import { HiResCam, hiResCam } from '../kernel/src/explain/cam/hirescam';
import { LayerCam, layerCam } from '../kernel/src/explain/cam/layercam';
import { channelMasks, ScoreCam, scoreCam } from '../kernel/src/explain/cam/scorecam';
import { xGradCam, xGradCamWeights } from '../kernel/src/explain/cam/xgradcam';
import { ExplainResult } from '../kernel/src/explain/explainResult';
import { camMethod } from '../kernel/src/explain/methods';
import { loadModel } from '../kernel/src/models/load';
import { CnnModel } from '../kernel/src/models/model';
import { RGBImage } from '../kernel/src/types';
import { seededFloats } from '../kernel/src/random';
import { pearson as corr } from '../kernel/src/explain/eval/stats';

const seeded = seededFloats;

/** input 6×6×3 → c1 conv 3×3×4 same relu → GAP → dense 3 softmax: the network CAM was made for. */
function gapNet(): CnnModel {
  const input = tf.input({ shape: [6, 6, 3], name: 'img' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(c1) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions' }).apply(gap) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: out, name: 'gapnet' });
  for (const [name, seed] of [['c1', 3], ['predictions', 9]] as const) {
    const l = net.getLayer(name);
    l.setWeights(l.getWeights().map((w, i) => tf.tensor(seeded(w.size, seed + i, -0.8, 0.8), w.shape)));
  }
  return new CnnModel(net, { name: 'gapnet', preprocess: 'unit', labels: { names: ['red', 'green', 'blue'], source: 'test' } });
}

function picture(): RGBImage {
  return { width: 6, height: 6, data: new Uint8Array(seeded(108, 42, 0, 255).map(Math.round)) };
}

/** A tiny activation/gradient pair [2, 3, 2] (h, w, c) with a zero and negative gradients. */
const A = [0.5, 0.0, 1.0, 2.0, 0.25, 0.75, 1.5, 0.5, 0.0, 1.0, 2.0, 0.1];
const G = [0.2, -0.4, 0.0, 0.3, 0.5, -0.1, -0.3, 0.6, 0.1, 0.2, 0.4, -0.2];
const at = (arr: number[], i: number, j: number, k: number) => arr[(i * 3 + j) * 2 + k];
function pair(): { activation: tf.Tensor3D; gradient: tf.Tensor3D } {
  return { activation: tf.tensor3d(A, [2, 3, 2]), gradient: tf.tensor3d(G, [2, 3, 2]) };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits = 5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i], digits);
}


beforeAll(async () => {
  // The default backend (wasm here): gradients.ts registers the gradient kernels wasm lacks.
  await initBackend();
});

describe('channel weights against hand computations', () => {
  test('Grad-CAM: spatial mean of the gradient', () => {
    const p = pair();
    const w = gradCamWeights(p).dataSync();
    for (let k = 0; k < 2; k++) {
      let s = 0;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) s += at(G, i, j, k);
      expect(w[k]).toBeCloseTo(s / 6, 6);
    }
    tf.dispose([p.activation, p.gradient]);
  });

  test("Grad-CAM++: the paper's α with exp(S) second and third derivatives (float64 differences)", () => {
    // S = Σ V·A is linear in A (as a ReLU network is, piecewise), Y = exp(S); the gradient of S is V = G.
    // The derivatives of Y along each coordinate are taken numerically in float64 (central differences).
    const p = pair();
    const S = (a: number[]) => a.reduce((s, v, i) => s + v * G[i], 0);
    const y = Math.exp(S(A));
    const n = A.length;
    const d1 = new Float64Array(n), d2 = new Float64Array(n), d3 = new Float64Array(n);
    const h = 1e-3;
    for (let e = 0; e < n; e++) {
      const f = (t: number) => Math.exp(S(A.map((v, i) => (i === e ? v + t : v))));
      d1[e] = (f(h) - f(-h)) / (2 * h);
      d2[e] = (f(h) - 2 * f(0) + f(-h)) / (h * h);
      d3[e] = (f(2 * h) - 2 * f(h) + 2 * f(-h) - f(-2 * h)) / (2 * h ** 3);
    }
    const expected = [0, 1].map((k) => {
      let sumA = 0;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) sumA += at(A, i, j, k);
      let w = 0;
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 3; j++) {
          const e = (i * 3 + j) * 2 + k;
          const den = 2 * d2[e] + sumA * d3[e];
          const alpha = Math.abs(den) > 1e-9 ? d2[e] / den : 0;
          w += alpha * Math.max(d1[e], 0);
        }
      }
      return w / y; // the paper's weights carry the positive factor Y = exp(S); ours drop it
    });
    expect(Math.abs(expected[0]) + Math.abs(expected[1])).toBeGreaterThan(0.05);
    expectClose(gradCamPlusPlusWeights(p).dataSync(), expected, 4);
    tf.dispose([p.activation, p.gradient]);
  });

  test("XGrad-CAM: activation-weighted gradients", () => {
    const p = pair();
    const w = xGradCamWeights(p).dataSync();
    for (let k = 0; k < 2; k++) {
      let num = 0, den = 0;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) { num += at(A, i, j, k) * at(G, i, j, k); den += at(A, i, j, k); }
      expect(w[k]).toBeCloseTo(num / den, 5);
    }
    tf.dispose([p.activation, p.gradient]);
  });

  test('LayerCAM: ReLU(Σ_k ReLU(g)·A); HiResCAM: ReLU(Σ_k g·A)', () => {
    const p = pair();
    const ctx = { ...p, model: gapNet(), layer: 'c1', classIndex: 0, batch: tf.zeros([1, 6, 6, 3]) } as CamContext;
    const layer = new LayerCam().rawMap(ctx, {});
    const hires = new HiResCam().rawMap(ctx, {});
    const expLayer: number[] = [], expHires: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        let sl = 0, sh = 0;
        for (let k = 0; k < 2; k++) { sl += Math.max(at(G, i, j, k), 0) * at(A, i, j, k); sh += at(G, i, j, k) * at(A, i, j, k); }
        expLayer.push(Math.max(sl, 0));
        expHires.push(Math.max(sh, 0));
      }
    }
    expect(layer.shape).toEqual([2, 3]);
    expectClose(layer.dataSync(), expLayer, 6);
    expectClose(hires.dataSync(), expHires, 6);
    expect(expHires.some((v, i) => v !== expLayer[i])).toBe(true);
    tf.dispose([p.activation, p.gradient, layer, hires, ctx.batch]);
  });

  test('Eigen-CAM: the first right singular vector, signed to a positive projection', () => {
    // A = 3·u1 v1ᵀ + 1·u2 v2ᵀ with orthonormal u's (6 positions) and v's (3 channels).
    const u1 = [1, 1, 1, 1, 1, 1].map((x) => x / Math.sqrt(6));
    const u2 = [1, -1, 1, -1, 1, -1].map((x) => x / Math.sqrt(6));
    const v1 = [2, 1, 2].map((x) => x / 3);
    const v2 = [1, 2, -2].map((x) => x / 3);
    const data = [];
    for (let p = 0; p < 6; p++) for (let k = 0; k < 3; k++) data.push(3 * u1[p] * v1[k] + u2[p] * v2[k]);
    const activation = tf.tensor3d(data, [2, 3, 3]);
    expectClose(eigenCamWeights({ activation }).dataSync(), v1, 4);
    const negated = tf.neg(activation) as tf.Tensor3D;
    // −A has the same singular vectors; the sign follows the projection: Σ(−A)·v > 0 needs −v1.
    expectClose(eigenCamWeights({ activation: negated }).dataSync(), v1.map((x) => -x), 4);
    tf.dispose([activation, negated]);
  });

  test('Score-CAM: softmax over channels of the class probability of each masked input; topN by variance', async () => {
    const model = gapNet();
    const img = picture();
    const x = tf.tidy(() => tf.tensor4d(img.data, [1, 6, 6, 3], 'int32').toFloat().div(255) as tf.Tensor4D);
    const act = tf.tidy(() => (tf.model({ inputs: model.net.inputs, outputs: model.net.getLayer('c1').output as tf.SymbolicTensor }).predict(x) as tf.Tensor).squeeze([0]) as tf.Tensor3D);
    const a = act.dataSync();
    // By hand: each channel (already 6×6 = input size) scaled to [0, 1] masks the input.
    const probs: number[] = [];
    const variances: number[] = [];
    for (let k = 0; k < 4; k++) {
      const ch = Array.from({ length: 36 }, (_, p) => a[p * 4 + k]);
      const lo = Math.min(...ch), hi = Math.max(...ch);
      const mean = ch.reduce((s, v) => s + v, 0) / 36;
      variances.push(ch.reduce((s, v) => s + (v - mean) ** 2, 0) / 36);
      const mask = ch.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
      const masked = tf.tidy(() => x.mul(tf.tensor4d(mask, [1, 6, 6, 1])));
      probs.push((model.net.predict(masked) as tf.Tensor).dataSync()[1]);
      masked.dispose();
    }
    const z = probs.map(Math.exp);
    const expected = z.map((v) => v / z.reduce((s, q) => s + q, 0));
    const ctx: CamContext = { model, layer: 'c1', classIndex: 1, batch: x, activation: act, gradient: null };
    expectClose(new ScoreCam().weights(ctx, { batchSize: 3 }).dataSync(), expected, 5);
    // topN = 2: the two channels with the largest variance share a softmax; the others weigh 0.
    const top = [0, 1, 2, 3].sort((p, q) => variances[q] - variances[p]).slice(0, 2);
    const zt = top.map((k) => Math.exp(probs[k]));
    const w2 = new ScoreCam().weights(ctx, { topN: 2 }).dataSync();
    for (let k = 0; k < 4; k++) {
      const i = top.indexOf(k);
      expect(w2[k]).toBeCloseTo(i < 0 ? 0 : zt[i] / (zt[0] + zt[1]), 5);
    }
    tf.dispose([x, act]);
  });
});

test('Grad-CAM equals CAM on a GAP + dense network', async () => {
  const model = gapNet();
  let nonTrivial = 0;
  for (const classIndex of [0, 1, 2]) {
    const g = await gradCam(model, picture(), { classIndex, display: false });
    const c = await cam(model, picture(), { classIndex, display: false });
    expect(g.layer).toBe('c1');
    expect(c.layer).toBe('c1');
    // Before ReLU and normalization Grad-CAM's map is CAM's divided by hw > 0, so after them they agree.
    expectClose(g.lowRes.data, c.lowRes.data, 5);
    if (Math.max(...Array.from(c.lowRes.data)) === 1) {
      nonTrivial++;
      expect(corr(g.map.data, c.map.data)).toBeGreaterThan(0.999);
    }
  }
  expect(nonTrivial).toBeGreaterThanOrEqual(2);
  expect(findCamHead(model).featureLayer).toBe('c1');
});

test('CAM on a network without global average pooling names what would work', async () => {
  const input = tf.input({ shape: [6, 6, 3] });
  const c = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'relu', name: 'conv' }).apply(input) as tf.SymbolicTensor;
  const f = tf.layers.flatten({ name: 'flat' }).apply(c) as tf.SymbolicTensor;
  const d = tf.layers.dense({ units: 2, activation: 'softmax', name: 'dense' }).apply(f) as tf.SymbolicTensor;
  const model = new CnnModel(tf.model({ inputs: input, outputs: d }), { name: 'flatnet', preprocess: 'unit' });
  await expect(cam(model, picture(), { display: false })).rejects.toThrow(/CAM needs .*global average pooling.*flatnet.*from a Conv2D layer \('conv'\).*gradCam/);
  await expect(cam(gapNet(), picture(), { layer: 'c1', display: false })).resolves.toBeInstanceOf(ExplainResult);
});

test('every method returns a [0, 1] map at input size and leaves no tensors behind', async () => {
  const model = gapNet();
  const methods = [gradCam, gradCamPlusPlus, xGradCam, layerCam, hiResCam, cam, eigenCam, scoreCam];
  for (const m of methods) await m(model, picture(), { display: false }); // warm caches
  const before = tf.memory().numTensors;
  for (let round = 0; round < 3; round++) {
    for (const m of methods) {
      const r = await m(model, picture(), { label: 'green', display: false });
      expect(r.map.width).toBe(6);
      expect(r.map.height).toBe(6);
      expect(Math.min(...Array.from(r.map.data))).toBeGreaterThanOrEqual(0);
      expect(Math.max(...Array.from(r.map.data))).toBeLessThanOrEqual(1 + 1e-6);
      expect(r.target.index).toBe(1);
    }
  }
  expect(tf.memory().numTensors).toBe(before);
  expect(camMethod('Grad-CAM++').id).toBe('gradcampp');
  expect(() => camMethod('gradcum')).toThrow(/gradcam, gradcampp/);
  expect(normalizeMap({ width: 2, height: 1, data: new Float32Array([3, 3]) }).data).toEqual(new Float32Array([0, 0]));
});

describe('mobilenet_v1_0.75_224 on cat_dog.png', () => {
  let model: CnnModel;
  beforeAll(async () => {
    const t0 = Date.now();
    model = await loadModel('mobilenet_v1_0.75_224');
    console.log(`load ${Date.now() - t0} ms`);
  });

  // Generous boxes (x0, y0, x1, y1) in the 224×224 picture: the bulldog stands upper/middle left of
  // centre, the tabby lies in the lower right.
  const DOG = [55, 0, 185, 150];
  const CAT = [35, 115, 224, 224];
  const inside = (p: { x: number; y: number }, b: number[]) => p.x >= b[0] && p.x < b[2] && p.y >= b[1] && p.y < b[3];

  test('the dog map and the cat map peak in different places, each on its animal', async () => {
    const dog = await gradCam(model, 'cat_dog.png', { classIndex: 243, layer: 'conv_pw_13_relu', display: false });
    const cat = await gradCam(model, 'cat_dog.png', { label: 'tiger cat', display: false });
    expect(dog.target.label).toBe('bull_mastiff');
    expect(cat.target.index).toBe(282);
    expect(cat.layer).toBe('conv_pw_13_relu'); // the default: last layer with spatial output
    expect(dog.map.width).toBe(224);
    expect(dog.lowRes.width).toBe(7);
    const pd = dog.peak();
    const pc = cat.peak();
    expect(inside(pd, DOG)).toBe(true);
    expect(inside(pc, CAT)).toBe(true);
    expect(Math.hypot(pd.x - pc.x, pd.y - pc.y)).toBeGreaterThan(40);
    expect(corr(dog.lowRes.data, cat.lowRes.data)).toBeLessThan(0.5);
    // MobileNet pools conv_pw_13_relu globally into a 1×1 convolution: CAM applies and equals Grad-CAM.
    const c = await cam(model, 'cat_dog.png', { classIndex: 243, display: false });
    expectClose(c.lowRes.data, dog.lowRes.data, 4);
    const img = dog.image();
    expect(img.width).toBeGreaterThan(2 * 224);
    expect(dog.text()).toMatch(/Grad-CAM of mobilenet_v1_0.75_224 for class 243 'bull_mastiff'.*conv_pw_13_relu/);
  });

  test('bad input: unknown layer, non-spatial layer, class out of range, unknown label', async () => {
    await expect(gradCam(model, 'cat_dog.png', { layer: 'conv_pw_99' })).rejects.toThrow(/unknown layer 'conv_pw_99'.*layers: .*conv_pw_13_relu/);
    await expect(gradCam(model, 'cat_dog.png', { layer: 'global_average_pooling2d_1' })).rejects.toThrow(/not a spatial map; layers with spatial output: .*conv_pw_13_relu/);
    await expect(gradCam(model, 'cat_dog.png', { classIndex: 1000 })).rejects.toThrow(/class index 1000 is out of range.*0\.\.999/);
    await expect(gradCam(model, 'cat_dog.png', { label: 'tabbby' })).rejects.toThrow(/unknown label 'tabbby'.*did you mean: tabby \(281\)/);
    await expect(gradCam(model, 'cat_dog.png', { label: 'cat' })).rejects.toThrow(/ambiguous.*tiger_cat \(282\)/);
  });
});

test('Score-CAM masks: each channel upsampled and min–max scaled to [0, 1]; a constant channel masks everything out', () => {
  // 2×2 activation, 3 channels: a ramp, its negative, and a constant.
  const act = tf.tensor3d([0, -0, 5, 1, -1, 5, 2, -2, 5, 4, -4, 5], [2, 2, 3]);
  const before = tf.memory().numTensors;
  const m = channelMasks(act, [0, 1, 2], 4, 4);
  const d = m.dataSync();
  expect(m.shape).toEqual([3, 4, 4, 1]);
  // Half-pixel bilinear upsampling of 2 → 4 samples at 0, 0.25, 0.75, 1 of each span (edges clamped).
  const up = (a: number, b: number) => [a, a + 0.25 * (b - a), a + 0.75 * (b - a), b];
  // Channel 0 is [[0, 1], [2, 4]]: rows interpolate between its rows, columns between its columns.
  const grid: number[] = [];
  for (const y of [0, 1, 2, 3]) for (const x of [0, 1, 2, 3]) grid.push(up(up(0, 1)[x], up(2, 4)[x])[y]);
  const lo = Math.min(...grid);
  const hi = Math.max(...grid);
  for (let p = 0; p < 16; p++) {
    expect(d[p]).toBeCloseTo((grid[p] - lo) / (hi - lo), 6);
    expect(d[16 + p]).toBeCloseTo((hi - grid[p]) / (hi - lo), 6);
    expect(d[32 + p]).toBe(0);
  }
  m.dispose();
  expect(tf.memory().numTensors).toBe(before);
  act.dispose();
});
