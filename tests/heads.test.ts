/**
 * Model heads (kernel/src/models/head.ts): softmax fused into a Dense layer, a separate Softmax layer,
 * Activation('softmax'), softmax after a Reshape, one sigmoid unit (fused and as its own layer),
 * three sigmoid units and a linear head — each on the engine and on the TF.js path. Probabilities are
 * checked against TF.js' own model.predict; class scores against the logits computed here from the
 * layers' own weights; gradients against finite differences; occlusion, Score-CAM, CAM, the report
 * and activation maximization on a one-sigmoid model.
 */
import * as tf from '@tensorflow/tfjs';
import { classProbabilities, predict } from '../kernel/src/basics/predict';
import { initBackend } from '../kernel/src/engine/backend';
import { ortNet } from '../kernel/src/engine/onnx/net';
import { setAccelEnabled } from '../kernel/src/engine/onnx/runtime';
import { cam } from '../kernel/src/explain/cam/cam';
import { CamContext } from '../kernel/src/explain/cam/base';
import { gradCam } from '../kernel/src/explain/cam/gradcam';
import { channelMasks, scoreCam, ScoreCam } from '../kernel/src/explain/cam/scorecam';
import { saliency } from '../kernel/src/explain/attribution/saliency';
import { logitsModel } from '../kernel/src/engine/tfjs';
import { inputGradients, layerGradients, logitsOf } from '../kernel/src/explain/gradients';
import { engineFor } from '../kernel/src/engine';
import { deletionCurve } from '../kernel/src/explain/eval/perturbation';
import { occlusion } from '../kernel/src/explain/occlusion';
import { HeadKind } from '../kernel/src/models/head';
import { CnnModel } from '../kernel/src/models/model';
import { classLogit } from '../kernel/src/optvis/objectives';
import { evaluateObjective } from '../kernel/src/optvis/render';
import { seededFloats } from '../kernel/src/random';
import { buildReport } from '../kernel/src/report/report';
import { runTaps } from '../kernel/src/taps';
import { RGBImage } from '../kernel/src/types';

beforeAll(async () => {
  await initBackend();
});

const S = 6;
type L = tf.SymbolicTensor;

interface Case {
  name: string;
  kind: HeadKind;
  classes: number;
  model: CnnModel;
  /** The class scores [B, K] computed here from the layers' own weights (the reference). */
  scores: (x: tf.Tensor4D) => Float32Array;
  /** Probabilities [B, K] from TF.js' model.predict, as the head defines them. */
  probs: (x: tf.Tensor4D) => Float32Array;
}

function randomize(net: tf.LayersModel, seed: number, scale = 1): void {
  let k = seed;
  for (const layer of net.layers) {
    const ws = layer.getWeights();
    if (ws.length) layer.setWeights(ws.map((w) => tf.tensor(seededFloats(w.size, k++, -scale, scale), w.shape)));
  }
}

/** conv 'c1' (tanh, smooth for finite differences) → global average pooling 'gap'. */
function trunk(): { input: L; gap: L } {
  const input = tf.input({ shape: [S, S, 3], name: 'img' });
  const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'c1' }).apply(input) as L;
  return { input, gap: tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(c) as L };
}

/** The output of layer `name` for x (a sub-model over the same graph). */
function layerOut(net: tf.LayersModel, name: string, x: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => tf.model({ inputs: net.inputs, outputs: net.getLayer(name).output as L }).predict(x) as tf.Tensor);
}

/** gap · W + b of the Dense layer `dense` (its pre-activation output). */
function denseLogits(net: tf.LayersModel, dense: string, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const [k, b] = net.getLayer(dense).getWeights();
    return tf.matMul(layerOut(net, 'gap', x) as tf.Tensor2D, k as tf.Tensor2D).add(b) as tf.Tensor2D;
  });
}

function data(t: tf.Tensor): Float32Array {
  const d = t.dataSync().slice() as Float32Array;
  t.dispose();
  return d;
}

function predictOut(net: tf.LayersModel, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const o = net.predict(x) as tf.Tensor;
    return o.reshape([o.shape[0], -1]) as tf.Tensor2D;
  });
}

function makeCases(): Case[] {
  const l = tf.layers;
  const cases: Case[] = [];
  const add = (name: string, kind: HeadKind, classes: number, out: L, input: L, scores: Case['scores'], probs?: Case['probs']) => {
    const net = tf.model({ inputs: input, outputs: out, name });
    randomize(net, cases.length * 10 + 1, 1.5);
    const model = new CnnModel(net, { name, preprocess: 'unit' });
    cases.push({ name, kind, classes, model, scores, probs: probs ?? ((x) => data(predictOut(model.net, x))) });
    return model;
  };
  // Softmax fused into Dense: scores = gap·W + b.
  {
    const { input, gap } = trunk();
    const m = add('softmax_fused', 'softmax', 3, l.dense({ units: 3, activation: 'softmax', name: 'fc' }).apply(gap) as L, input, (x) => data(denseLogits(m.net, 'fc', x)));
  }
  // A separate Softmax layer, and Activation('softmax').
  for (const [name, act] of [['softmax_layer', l.softmax({ name: 'sm' })], ['activation_softmax', l.activation({ activation: 'softmax', name: 'sm' })]] as const) {
    const { input, gap } = trunk();
    const fc = l.dense({ units: 3, name: 'fc' }).apply(gap) as L;
    const m = add(name, 'softmax', 3, act.apply(fc) as L, input, (x) => data(denseLogits(m.net, 'fc', x)));
  }
  // MobileNet-style: gap → reshape → 1×1 conv → reshape → dropout → softmax.
  {
    const { input, gap } = trunk();
    let y = l.reshape({ targetShape: [1, 1, 4], name: 'r1' }).apply(gap) as L;
    y = l.conv2d({ filters: 3, kernelSize: 1, name: 'preds' }).apply(y) as L;
    y = l.reshape({ targetShape: [3], name: 'r2' }).apply(y) as L;
    y = l.dropout({ rate: 0.3, name: 'drop' }).apply(y) as L;
    const m = add('softmax_after_reshape', 'softmax', 3, l.activation({ activation: 'softmax', name: 'sm' }).apply(y) as L, input, (x) =>
      data(tf.tidy(() => {
        const [k, b] = m.net.getLayer('preds').getWeights();
        return tf.matMul(layerOut(m.net, 'gap', x) as tf.Tensor2D, k.reshape([4, 3]) as tf.Tensor2D).add(b);
      })),
    );
  }
  // One sigmoid unit, fused and as its own layer: scores [−z, z], probabilities [1 − p, p].
  const binaryProbs = (m: () => CnnModel) => (x: tf.Tensor4D) =>
    data(tf.tidy(() => {
      const p = predictOut(m().net, x);
      return tf.concat([tf.sub(1, p), p], 1);
    }));
  const binaryScores = (m: () => CnnModel, dense: string) => (x: tf.Tensor4D) =>
    data(tf.tidy(() => {
      const z = denseLogits(m().net, dense, x);
      return tf.concat([tf.neg(z), z], 1);
    }));
  {
    const { input, gap } = trunk();
    const m: CnnModel = add('binary_fused', 'binary', 2, l.dense({ units: 1, activation: 'sigmoid', name: 'fc' }).apply(gap) as L, input, binaryScores(() => m, 'fc'), binaryProbs(() => m));
  }
  {
    const { input, gap } = trunk();
    const fc = l.dense({ units: 1, name: 'fc' }).apply(gap) as L;
    const m: CnnModel = add('binary_layer', 'binary', 2, l.activation({ activation: 'sigmoid', name: 'sig' }).apply(fc) as L, input, binaryScores(() => m, 'fc'), binaryProbs(() => m));
  }
  // One linear unit: read as the logit z of a binary classifier (probabilities [1 − σ(z), σ(z)]).
  {
    const { input, gap } = trunk();
    const m: CnnModel = add('one_linear_unit', 'binary', 2, l.dense({ units: 1, name: 'fc' }).apply(gap) as L, input, binaryScores(() => m, 'fc'), (x) => {
      const z = data(predictOut(m.net, x));
      return Float32Array.from({ length: 2 * z.length }, (_, i) => {
        const p = 1 / (1 + Math.exp(-z[i >> 1]));
        return i % 2 ? p : 1 - p;
      });
    });
  }
  // Three sigmoid units (multi-label): scores = pre-sigmoid logits, probabilities = the outputs.
  {
    const { input, gap } = trunk();
    const m = add('multilabel', 'multilabel', 3, l.dense({ units: 3, activation: 'sigmoid', name: 'fc' }).apply(gap) as L, input, (x) => data(denseLogits(m.net, 'fc', x)));
  }
  // A linear head: the outputs are the scores, probabilities their softmax (computed here by hand).
  {
    const { input, gap } = trunk();
    const m = add('linear', 'linear', 3, l.dense({ units: 3, name: 'fc' }).apply(gap) as L, input, (x) => data(denseLogits(m.net, 'fc', x)), (x) => {
      const o = data(predictOut(m.net, x));
      const out = new Float32Array(o.length);
      for (let r = 0; r < o.length; r += 3) {
        const e = [0, 1, 2].map((i) => Math.exp(o[r + i]));
        const s = e[0] + e[1] + e[2];
        for (let i = 0; i < 3; i++) out[r + i] = e[i] / s;
      }
      return out;
    });
  }
  return cases;
}

function images(n: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(seededFloats(n * S * S * 3, seed, 0, 1), [n, S, S, 3]);
}

function picture(seed = 5): RGBImage {
  const v = seededFloats(S * S * 3, seed, 0, 255);
  return { width: S, height: S, data: Uint8Array.from(v, (x) => Math.round(x)) };
}

/** The picture as the model sees it with preprocess 'unit'. */
function pictureBatch(img: RGBImage): tf.Tensor4D {
  return tf.tidy(() => tf.tensor4d(img.data, [1, S, S, 3], 'int32').toFloat().div(255) as tf.Tensor4D);
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
}

/** Central finite difference of Σ_b score_k(x_b) along a direction v, from the reference scores. */
function finiteDifference(c: Case, x: tf.Tensor4D, v: tf.Tensor4D, k: number, eps = 1e-2): number {
  const at = (sign: number) => {
    const xs = tf.tidy(() => x.add(v.mul(sign * eps)) as tf.Tensor4D);
    const s = c.scores(xs);
    xs.dispose();
    let sum = 0;
    for (let b = 0; b < x.shape[0]; b++) sum += s[b * c.classes + k];
    return sum;
  };
  return (at(1) - at(-1)) / (2 * eps);
}

/** Every number of one head kind on the current path. */
async function checkCase(c: Case, engine: boolean): Promise<void> {
  const model = c.model;
  expect(model.head.kind).toBe(c.kind);
  expect(model.numClasses).toBe(c.classes);
  expect(model.softmax).toBe(c.kind === 'softmax');
  // The path under test really runs (the engine compiles every one of these models).
  expect(ortNet(model.net) !== null).toBe(engine);

  const x = images(3, 21);
  // Probabilities: equal TF.js' own model.predict (as the head reads it), image by image.
  for (let b = 0; b < 3; b++) {
    const xb = x.slice([b], [1]) as tf.Tensor4D;
    expectClose(classProbabilities(model, xb), c.probs(xb), 2e-5);
    xb.dispose();
  }
  // predict() on a picture: the same numbers as model.predict on pixels / 255.
  const img = picture();
  const r = await predict(model, img, { top: c.classes, display: false });
  const px = pictureBatch(img);
  expectClose(r.probabilities, c.probs(px), 2e-5);
  if (c.kind === 'binary') expect(r.text()).toMatch(c.name === 'one_linear_unit' ? /one linear output z: class 1 = σ\(z\), class 0 = 1 − σ\(z\)/ : /class 1 = p, class 0 = 1 − p/);
  if (c.kind === 'linear') expect(r.text()).toMatch(/softmax of the outputs \(linear head/);
  // Class scores: the pre-softmax / pre-sigmoid logits (binary: [−z, z]).
  expectClose(data(logitsOf(model, x)), c.scores(x), 1e-4);
  // Gradients of each class score equal finite differences of the reference score.
  const v = tf.tidy(() => images(3, 22).sub(0.5) as tf.Tensor4D);
  for (let k = 0; k < c.classes; k++) {
    const g = inputGradients(model, x, k);
    expectClose(data(g.logits), c.scores(x), 1e-4);
    const analytic = tf.tidy(() => g.gradient.mul(v).sum().dataSync()[0]);
    g.gradient.dispose();
    const fd = finiteDifference(c, x, v, k);
    expect(Math.abs(analytic - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
    expect(Math.abs(analytic)).toBeGreaterThan(1e-3);
  }
  // runTaps: the model's own output (the engine stops at the raw logits and applies the head).
  const t = runTaps(model.net, x, ['c1']);
  expectClose(t.output.dataSync(), data(model.net.predict(x) as tf.Tensor), 2e-5);
  tf.dispose([...t.taps, t.output]);
  // Activation maximization's class objective reads the same scores.
  const obj = evaluateObjective(model, classLogit(c.classes - 1), x);
  const ref = c.scores(x);
  expectClose(obj, [0, 1, 2].map((b) => ref[b * c.classes + c.classes - 1]), 1e-4);
  // Explanations say which score they use.
  const s = await saliency(model, img, { classIndex: 0, display: false });
  const binaryName = c.name === 'one_linear_unit' ? '−z (negated output logit)' : '−z (negated pre-sigmoid logit)';
  const name = { softmax: 'pre-softmax logit', binary: binaryName, multilabel: 'pre-sigmoid logit', linear: 'output (linear head)' }[c.kind];
  expect(s.text()).toContain(name);
  if (s.target.kind === 'class') {
    expect(s.target.scoreName).toBe(name);
    const scores0 = c.scores(px);
    expect(s.target.logit).toBeCloseTo(scores0[0], 4);
    expect(s.target.score).toBeCloseTo(c.probs(px)[0], 5);
  }
  tf.dispose([x, v, px]);
}

const CASES = makeCases();

describe.each([
  ['engine', true],
  ['TF.js (CNNVIS_ACCEL=off)', false],
])('heads on the %s path', (_path, engine) => {
  beforeAll(() => setAccelEnabled(engine));
  afterAll(() => setAccelEnabled(true));

  test.each(CASES.map((c) => [c.name, c] as const))('%s: kind, probabilities, scores and gradients', async (_name, c) => {
    await checkCase(c, engine);
    // Again, for leaks (the first run fills per-model caches: compiled graphs, logits models).
    const before = tf.memory().numTensors;
    await checkCase(c, engine);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('binary: dz/dA at the pooled layer is ±W/(h·w), and the engine objective gradient agrees with inputGradients', () => {
    const c = CASES.find((k) => k.name === 'binary_fused')!;
    const before = tf.memory().numTensors;
    const x = images(1, 31);
    const w = c.model.net.getLayer('fc').getWeights()[0].dataSync();
    for (const k of [0, 1]) {
      const g = layerGradients(c.model, x, 'c1', k);
      const got = g.gradient.dataSync();
      for (let p = 0; p < S * S; p++) for (let ch = 0; ch < 4; ch++) expect(got[p * 4 + ch]).toBeCloseTo(((k === 1 ? 1 : -1) * w[ch]) / (S * S), 6);
      expect(g.score).toBeCloseTo(c.scores(x)[k], 4);
      tf.dispose([g.activation, g.gradient, g.logits]);
    }
    if (engine) {
      const obj = classLogit(0);
      const r = engineFor(c.model.net).objectiveGradient(x, obj.layers, (get) => obj.scores(get));
      expect(r).not.toBeNull();
      expect(r.scores[0]).toBeCloseTo(c.scores(x)[0], 4);
      const g = inputGradients(c.model, x, 0);
      expectClose(r.dx.dataSync(), g.gradient.dataSync(), 1e-5);
      tf.dispose([r.dx, g.gradient, g.logits]);
    }
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('binary: occlusion and deletion curves measure σ(±z) (a hand-computed drop for one patch), Score-CAM and CAM depend on the class', async () => {
    const c = CASES.find((k) => k.name === 'binary_layer')!;
    const model = c.model;
    const img = picture(9);
    const before = tf.memory().numTensors;
    const x = pictureBatch(img);
    const occ = [];
    for (const k of [0, 1]) {
      const r = await occlusion(model, img, { classIndex: k, patchSize: 3, stride: 3, fill: 'gray', display: false });
      expect(r.lowRes).not.toBeNull();
      const drops = r.lowRes!.data;
      expect(Array.from(drops).some((d) => Math.abs(d) > 1e-4)).toBe(true);
      // Patch 0 covers rows 0-2, columns 0-2 with gray (128 / 255).
      const covered = tf.tidy(() => {
        const mask = tf.buffer([1, S, S, 1]);
        for (let y = 0; y < 3; y++) for (let xx = 0; xx < 3; xx++) mask.set(1, 0, y, xx, 0);
        const m = mask.toTensor();
        return x.mul(tf.sub(1, m)).add(m.mul(128 / 255)) as tf.Tensor4D;
      });
      const drop = c.probs(x)[k] - c.probs(covered)[k];
      covered.dispose();
      expect(drops[0]).toBeCloseTo(drop, 5);
      expect(r.text()).toContain('measures the probability of class');
      occ.push(drops[0]);
    }
    expect(occ[0]).toBeCloseTo(-occ[1], 5);
    // Deletion curves follow σ(±z) too: from the image's probability of the class to the black image's.
    const black = tf.zeros([1, S, S, 3]) as tf.Tensor4D;
    const map = { width: S, height: S, data: Float32Array.from({ length: S * S }, (_, i) => i) };
    for (const k of [0, 1]) {
      const curve = await deletionCurve(model, img, map, { classIndex: k, steps: 4, baseline: 'black' });
      expect(curve.probabilities[0]).toBeCloseTo(c.probs(x)[k], 5);
      expect(curve.probabilities[4]).toBeCloseTo(c.probs(black)[k], 5);
    }
    black.dispose();

    // Score-CAM: channel weights = softmax over channels of σ(±z) of each masked input.
    const act = tf.tidy(() => layerOut(model.net, 'c1', x).squeeze([0]) as tf.Tensor3D);
    const masks = channelMasks(act, [0, 1, 2, 3], S, S);
    const masked = tf.tidy(() => x.mul(masks) as tf.Tensor4D);
    const p = c.probs(masked);
    const weights: Float32Array[] = [];
    for (const k of [0, 1]) {
      const e = [0, 1, 2, 3].map((i) => Math.exp(p[i * 2 + k]));
      const want = e.map((v) => v / e.reduce((a, b) => a + b, 0));
      const ctx: CamContext = { model, layer: 'c1', classIndex: k, batch: x, activation: act, gradient: null };
      const w = data(new ScoreCam().weights(ctx, {}));
      expectClose(w, want, 1e-5);
      weights.push(w);
    }
    expect(Math.max(...weights[0].map((v, i) => Math.abs(v - weights[1][i])))).toBeGreaterThan(1e-3);
    tf.dispose([act, masks, masked, x]);
    const m0 = await scoreCam(model, img, { classIndex: 0, display: false });
    const m1 = await scoreCam(model, img, { classIndex: 1, display: false });
    expect(Math.max(...Array.from(m0.lowRes.data, (v, i) => Math.abs(v - m1.lowRes.data[i])))).toBeGreaterThan(1e-3);
    expect(m0.text()).toContain('measures the probability of class 0');
    // CAM of class 0 uses −W: its raw map is Grad-CAM's (GAP → Dense), and the classes differ.
    for (const k of [0, 1]) {
      const a = await cam(model, img, { classIndex: k, display: false });
      const g = await gradCam(model, img, { classIndex: k, display: false });
      expectClose(a.lowRes.data, g.lowRes.data, 1e-4);
      expect(g.text()).toContain(k === 1 ? 'differentiates the pre-sigmoid logit z (class 1)' : 'differentiates −z, the negated pre-sigmoid logit (class 0)');
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('the report runs on a one-sigmoid model and shows both classes', async () => {
    const c = CASES.find((k) => k.name === 'binary_fused')!;
    // The TF.js logits model (for a fused head: a linear copy with its own weights) is built once per model and
    // kept; on the engine path the report's FullGrad is the first to build it. Counted from after it.
    logitsModel(c.model.net);
    const before = tf.memory().numTensors;
    const { sections, html } = await buildReport(c.model, picture(3));
    const titles = sections.map((s) => s.title);
    expect(titles.some((t) => /^Grad-CAM: class [01] \(class [01]\), the second class$/.test(t))).toBe(true);
    expect(html).toContain('class 1 = p, class 0 = 1 − p');
    expect(tf.memory().numTensors).toBe(before);
  });
});
