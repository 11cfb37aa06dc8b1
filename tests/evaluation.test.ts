/**
 * Evaluation metrics: map statistics against hand computations, deletion/insertion curves on a model
 * whose evidence is known, the pointing game, model randomization mechanics, and Grad-CAM's pointing
 * accuracy on the demo model (needs the trained weights in kernel/assets/demo).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generateScene } from '../kernel/src/data/shapes';
import { initBackend } from '../kernel/src/engine/backend';
import { gradCam } from '../kernel/src/explain/cam/gradcam';
import { deletionCurve, gaussianBlur, insertionCurve, pixelOrder } from '../kernel/src/explain/eval/perturbation';
import { pointingAccuracy, pointingGame } from '../kernel/src/explain/eval/pointing';
import { cascadingRandomization, layersFromTop, modelRandomization, randomizedWeights } from '../kernel/src/explain/eval/randomization';
import { maxAbsDiff, pearson, ranks, spearman, trapezoid } from '../kernel/src/explain/eval/stats';
import { CnnvisError } from '../kernel/src/errors';
import { logitsOf } from '../kernel/src/explain/gradients';
import { DEMO_ASSET_DIR, DEMO_LAST_CONV } from '../kernel/src/models/demo';
import { loadModel } from '../kernel/src/models/load';
import { CnnModel } from '../kernel/src/models/model';
import { imageToBatch } from '../kernel/src/models/preprocess';
import { Map2D, RGBImage } from '../kernel/src/types';

beforeAll(async () => {
  await initBackend();
});

describe('map statistics', () => {
  test('ranks average ties; Spearman is Pearson of ranks', () => {
    expect(Array.from(ranks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    // Monotone but non-linear: Spearman 1, Pearson below 1.
    const a = [1, 2, 3, 4, 5];
    const b = a.map((v) => v ** 4);
    expect(spearman(a, b)).toBeCloseTo(1, 12);
    expect(pearson(a, b)).toBeLessThan(0.95);
    expect(spearman(a, [...b].reverse())).toBeCloseTo(-1, 12);
    // Hand computation: ranks [1,2,3] vs [2,1,3] → r = 0.5.
    expect(spearman([1, 2, 3], [20, 10, 30])).toBeCloseTo(0.5, 12);
    expect(Number.isNaN(pearson([1, 1, 1], [1, 2, 3]))).toBe(true);
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(() => pearson([1, 2], [1, 2, 3])).toThrow(CnnvisError);
  });

  test('trapezoid rule', () => {
    expect(trapezoid([0, 1], [0, 1])).toBeCloseTo(0.5, 12);
    expect(trapezoid([1, 1, 0], [0, 0.5, 1])).toBeCloseTo(0.75, 12);
    expect(() => trapezoid([1, 1], [1, 0])).toThrow(/must not decrease/);
  });
});

describe('pointing game', () => {
  const map = (w: number, h: number, px: number, py: number): Map2D => {
    const data = new Float32Array(w * h);
    data[py * w + px] = 1;
    return { width: w, height: h, data };
  };
  const box = { x: 4, y: 4, w: 3, h: 2 }; // columns 4..6, rows 4..5

  test('a hit inside the box, a miss outside, tolerance counts pixels to the box', () => {
    expect(pointingGame(map(10, 10, 6, 5), box)).toMatchObject({ hit: true, x: 6, y: 5, constant: false });
    expect(pointingGame(map(10, 10, 7, 5), box).hit).toBe(false); // one column right of the box
    expect(pointingGame(map(10, 10, 7, 5), box, { tolerance: 1 }).hit).toBe(true);
    expect(pointingGame(map(10, 10, 8, 7), box, { tolerance: 2 }).hit).toBe(false); // √(2²+2²) > 2
    expect(pointingGame(map(10, 10, 8, 7), box, { tolerance: 3 }).hit).toBe(true);
  });

  test('a constant map is a miss; accuracy over games; bad input is an error', () => {
    const flat = { width: 10, height: 10, data: new Float32Array(100).fill(0.3) };
    expect(pointingGame(flat, box)).toMatchObject({ hit: false, constant: true });
    expect(pointingAccuracy([{ hit: true }, { hit: false }, { hit: true }, { hit: true }])).toEqual({ hits: 3, total: 4, accuracy: 0.75 });
    expect(() => pointingAccuracy([])).toThrow(CnnvisError);
    expect(() => pointingGame(map(10, 10, 1, 1), { x: 20, y: 0, w: 3, h: 3 })).toThrow(/does not overlap/);
  });
});

/**
 * A model whose evidence is known: 8×8 RGB → flatten → dense(2) with softmax. Class 0's logit is
 * 6·(mean red in the 3×3 box at rows/columns 2..4) − 2; class 1's logit is 0. The red pixels of the
 * box are all the evidence for class 0.
 */
const S = 8;
const inBox = (p: number) => { const x = p % S; const y = Math.floor(p / S); return x >= 2 && x <= 4 && y >= 2 && y <= 4; };
function boxModel(): CnnModel {
  const input = tf.input({ shape: [S, S, 3] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'predictions' }).apply(flat) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: out, name: 'boxnet' });
  const kernel = new Float32Array(S * S * 3 * 2);
  for (let p = 0; p < S * S; p++) if (inBox(p)) kernel[(p * 3 + 0) * 2 + 0] = 6 / 9;
  const ws = [tf.tensor2d(kernel, [S * S * 3, 2]), tf.tensor1d([-2, 0])];
  net.getLayer('predictions').setWeights(ws);
  ws.forEach((w) => w.dispose());
  return new CnnModel(net, { name: 'boxnet', preprocess: 'unit', labels: { names: ['red box', 'other'], source: 'test' } });
}
/** Red box on a gray picture; green elsewhere carries no evidence. */
function boxPicture(): RGBImage {
  const data = new Uint8Array(S * S * 3);
  for (let p = 0; p < S * S; p++) {
    data.set(inBox(p) ? [255, 0, 0] : [90, 200, 90], p * 3);
  }
  return { width: S, height: S, data };
}
function mapOf(score: (p: number) => number): Map2D {
  return { width: S, height: S, data: Float32Array.from({ length: S * S }, (_, p) => score(p)) };
}

describe('deletion and insertion curves', () => {
  let model: CnnModel;
  const image = boxPicture();
  const good = mapOf((p) => (inBox(p) ? 1 + p / 1000 : 0));
  const anti = mapOf((p) => (inBox(p) ? 0 : 1 + p / 1000));
  beforeAll(() => {
    model = boxModel();
  });
  afterAll(() => model.net.dispose());

  const probOf = (img: RGBImage): number => {
    const b = imageToBatch(img, 'unit');
    const l = logitsOf(model, b);
    const p = tf.tidy(() => tf.softmax(l).dataSync()[0]);
    tf.dispose([b, l]);
    return p;
  };

  test('deletion: end points are the picture and the all-black picture; a faithful map drops fastest', async () => {
    const d = await deletionCurve(model, image, good, { classIndex: 0, steps: 16 });
    expect(d.fractions.length).toBe(17);
    expect(d.pixelsPerStep).toBe(4);
    expect(d.fractions[0]).toBe(0);
    expect(d.fractions[16]).toBe(1);
    expect(d.probabilities[0]).toBeCloseTo(probOf(image), 5);
    const black = { width: S, height: S, data: new Uint8Array(S * S * 3) };
    expect(d.probabilities[16]).toBeCloseTo(probOf(black), 5);
    // The 9 box pixels are gone after 3 steps (12 pixels): the probability is already at its floor.
    expect(d.probabilities[3]).toBeCloseTo(probOf(black), 5);
    const a = await deletionCurve(model, image, anti, { classIndex: 0, steps: 16 });
    // The anti map removes the box last: the probability holds until the last 3 steps.
    expect(a.probabilities[13]).toBeCloseTo(probOf(image), 5);
    expect(d.auc).toBeLessThan(0.25 * a.auc);
    expect(d.auc).toBeCloseTo(trapezoid(d.probabilities, d.fractions), 10);
  });

  test('insertion: starts at the blurred picture, a faithful map rises fastest; batch size does not matter', async () => {
    const blurred = await insertionCurve(model, image, good, { classIndex: 0, steps: 16, batchSize: 5 });
    expect(blurred.probabilities[0]).toBeCloseTo(probOf(gaussianBlur(image, 2)), 5);
    expect(blurred.probabilities[16]).toBeCloseTo(probOf(image), 5);
    // On a black start the box's red is all the evidence: the faithful map gets it in 3 steps, the anti map last.
    const g = await insertionCurve(model, image, good, { classIndex: 0, steps: 16, baseline: 'black', batchSize: 5 });
    const a = await insertionCurve(model, image, anti, { classIndex: 0, steps: 16, baseline: 'black' });
    expect(g.probabilities[3]).toBeCloseTo(probOf(image), 5);
    expect(a.probabilities[13]).toBeLessThan(0.2);
    expect(g.auc).toBeGreaterThan(a.auc + 0.5);
    const one = await insertionCurve(model, image, good, { classIndex: 0, steps: 16, baseline: 'black', batchSize: 1 });
    expect(maxAbsDiff(one.probabilities, g.probabilities)).toBeLessThan(1e-6);
  });

  test('defaults to the top-1 class; maps of another size are resized; errors are clear', async () => {
    const d = await deletionCurve(model, image, good);
    expect(d.classIndex).toBe(0);
    expect(d.probabilities.length).toBe(65);
    const small = { width: 4, height: 4, data: Float32Array.from({ length: 16 }, (_, i) => i) };
    await expect(deletionCurve(model, image, small, { steps: 4 })).resolves.toMatchObject({ kind: 'deletion' });
    await expect(deletionCurve(model, image, good, { steps: 0 })).rejects.toThrow(/steps must be an integer/);
    await expect(deletionCurve(model, image, good, { baseline: [300, 0, 0] })).rejects.toThrow(/baseline must be/);
    expect(() => pixelOrder([1, NaN])).toThrow(/NaN/);
    expect(Array.from(pixelOrder([0.5, 2, 2, 1]))).toEqual([1, 2, 3, 0]);
  });

  test('frees its tensors', async () => {
    await deletionCurve(model, image, good, { steps: 8 });
    const before = tf.memory().numTensors;
    await deletionCurve(model, image, good, { steps: 8 });
    await insertionCurve(model, image, good, { steps: 8 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('model randomization', () => {
  /** A small CAM-shaped net with seeded weights. */
  function smallNet(): CnnModel {
    const input = tf.input({ shape: [12, 12, 3] });
    let x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
    return new CnnModel(tf.model({ inputs: input, outputs: x, name: 'small' }), { preprocess: 'unit' });
  }
  const picture: RGBImage = { width: 12, height: 12, data: Uint8Array.from({ length: 432 }, (_, i) => (i * 37 + (i % 7) * 11) % 256) };

  test('layers from the top; weights restored; per-step correlations; errors', async () => {
    const model = smallNet();
    expect(layersFromTop(model)).toEqual(['predictions', 'c2', 'c1']);
    const before = model.net.getWeights().map((w) => w.dataSync().slice());
    const explain = (m: CnnModel) => gradCam(m, picture, { classIndex: 0, layer: 'c2', display: false });
    const r = await cascadingRandomization(model, explain, { seed: 5 });
    expect(r.steps.map((s) => s.layer)).toEqual(['predictions', 'c2', 'c1']);
    for (const s of r.steps) {
      expect(s.spearman).toBeGreaterThanOrEqual(-1);
      expect(s.spearman).toBeLessThanOrEqual(1);
      expect(s.map.data.length).toBe(144);
    }
    // Trained weights are back, bit for bit, and the explanation is the original one.
    model.net.getWeights().forEach((w, i) => expect(Buffer.from(w.dataSync().buffer).equals(Buffer.from(before[i].buffer))).toBe(true));
    const again = await explain(model);
    expect(maxAbsDiff(again.map.data, r.original.data)).toBe(0);
    // Randomizing nothing that matters (an identity explanation) keeps ρ = 1: the measure can say "unchanged".
    const fixed = await modelRandomization(model, async () => r.original, { layers: ['c1'] });
    expect(fixed.steps[0].spearman).toBeCloseTo(1, 12);
    await expect(modelRandomization(model, explain, { layers: ['gap'] })).rejects.toThrow(/no weights to randomize/);
    await expect(modelRandomization(model, async () => ({ width: 2, height: 1, data: new Float32Array([1, 1]) }))).rejects.toThrow(/constant/);
    model.net.dispose();
  });

  test('independent mode randomizes one layer at a time', async () => {
    const model = smallNet();
    const seen: string[] = [];
    const trained = model.net.getWeights().map((w) => w.dataSync().slice());
    const names = model.net.layers.filter((l) => l.countParams() > 0).map((l) => l.name);
    const explain = async (m: CnnModel) => {
      // Record which layers differ from their trained weights at this call.
      const now = m.net.getWeights().map((w) => w.dataSync());
      let k = 0;
      const changed: string[] = [];
      for (const name of names) {
        const n = m.net.getLayer(name).getWeights().length;
        let diff = false;
        for (let j = 0; j < n; j++, k++) if (maxAbsDiff(now[k], trained[k]) > 0) diff = true;
        if (diff) changed.push(name);
      }
      seen.push(changed.join('+'));
      return gradCam(m, picture, { classIndex: 0, layer: 'c2', display: false });
    };
    await modelRandomization(model, explain, { mode: 'independent' });
    expect(seen).toEqual(['', 'predictions', 'c2', 'c1']);
    seen.length = 0;
    await modelRandomization(model, explain, { mode: 'cascading' });
    expect(seen).toEqual(['', 'predictions', 'c2+predictions', 'c1+c2+predictions']);
    model.net.dispose();
  });

  test('random weights: kernels keep their spread, 1-D weights are permuted, seeds repeat', () => {
    const k = tf.tensor2d([[1, -1], [2, -2], [0.5, -0.5]]);
    const b = tf.tensor1d([0.1, 0.2, 0.3, 0.4]);
    const [k1, b1] = randomizedWeights([k, b], 11);
    const [k2] = randomizedWeights([k, b], 11);
    expect(Array.from(k1.dataSync())).toEqual(Array.from(k2.dataSync()));
    expect(Array.from(k1.dataSync())).not.toEqual(Array.from(k.dataSync()));
    expect(Array.from(b1.dataSync()).sort()).toEqual(Array.from(b.dataSync()).sort());
    tf.dispose([k, b, k1, b1, k2]);
  });
});

describe('Grad-CAM on the demo model', () => {
  /** Far from the training (1e6…), validation (9e8…) and test (1.5e9…) seeds of demoTraining.ts. */
  const FIRST_SEED = 9_000_000;
  const N = 60;

  test(`the peak falls on the object in at least 90% of ${N} fresh scenes`, async () => {
    const model = await loadModel('demo');
    const games = [];
    let correct = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + N; seed++) {
      const scene = generateScene(seed, { size: model.inputHeight });
      // Explain the true class (the question is where the model sees it, not whether it is right).
      const r = await gradCam(model, scene.image, { classIndex: scene.label, layer: DEMO_LAST_CONV, display: false });
      const batch = imageToBatch(scene.image, model.preprocess);
      const logits = logitsOf(model, batch);
      if (tf.tidy(() => tf.argMax(logits, 1).dataSync()[0]) === scene.label) correct++;
      tf.dispose([batch, logits]);
      games.push(pointingGame(r.map, scene.box));
    }
    const acc = pointingAccuracy(games);
    console.log(`demo Grad-CAM pointing game: ${acc.hits}/${acc.total} = ${(100 * acc.accuracy).toFixed(1)}% (seeds ${FIRST_SEED}…${FIRST_SEED + N - 1}; top-1 accuracy ${correct}/${N})`);
    expect(acc.accuracy).toBeGreaterThanOrEqual(0.9);
  });
});
