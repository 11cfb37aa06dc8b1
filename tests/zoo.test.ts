/**
 * Conformance suite of issue 13: every model of the zoo (tests/helpers/zoo.ts — models written the way
 * users write them) × both paths (the ONNX Runtime engine and CNNVIS_ACCEL=off) × the public API, against
 * references computed here with plain TF.js: probabilities = the model's own predict; feature maps =
 * the model's own sub-graph (inner layers of nested models through their base's graph); Grad-CAM,
 * HiResCAM and LayerCAM recomputed with tf.grad from a split of the model; input gradients = tf.grad
 * of the reference logit and central finite differences; occlusion = probability drops computed by
 * hand; activation maximization's final objective recomputed; the engine equals the TF.js path; a
 * Sequential equals its functional twin and a nested model its flat twin; no tensors leak.
 */
import * as tf from '@tensorflow/tfjs';
import {
  asCnnModel,
  buildReport,
  cam,
  CnnModel,
  deconvnet,
  eigenCam,
  evaluation,
  featureMaps,
  filters,
  gradCam,
  gradCamPlusPlus,
  gradientXInput,
  guidedBackprop,
  guidedGradCam,
  hiResCam,
  initBackend,
  integratedGradients,
  layerCam,
  layerOutputs,
  maximize,
  occlusion,
  predict,
  saliency,
  scoreCam,
  setAccelEnabled,
  smoothGrad,
  summary,
  xGradCam,
} from '../kernel/src/index';
import { ensureInputGradients } from '../kernel/src/engine/wasmGradients';
import { mulberry32 } from '../kernel/src/random';
import { Map2D, RGBImage } from '../kernel/src/types';
import { both, onPath, PATHS } from './helpers/accel';
import { centralDifference, expectNoTensorLeak, maxAbsDiff, near, relErr } from './helpers/compare';
import {
  buildZoo,
  leafLayers,
  referenceBatch,
  referenceGradCam,
  referenceProbabilities,
  referenceScore,
  ZooModel,
  zooPicture,
} from './helpers/zoo';

const ZOO = buildZoo();
const NAMES = [...ZOO.keys()];
const off = { display: false } as const;

beforeAll(async () => {
  await initBackend();
  // The references below use tf.grad too: with TF.js' wasm kernels as fixed by cnnvis (wasm 4.22's own
  // MaxPoolGrad drops the gradient of windows whose maximum is 0; depthwise input gradients are missing).
  ensureInputGradients();
});

afterEach(() => setAccelEnabled(true));

/** What the user passes: the tf.LayersModel itself; an any-size model with the size to run at. */
function userModel(z: ZooModel): tf.LayersModel | CnnModel {
  return z.name === 'any_size' ? new CnnModel(z.net, { size: z.size }) : z.net;
}

function picture(z: ZooModel, seed = 7): RGBImage {
  return zooPicture(z.size[0], z.size[1], seed + z.name.length);
}

function sameMap(what: string, a: Map2D, b: Map2D, tol = 2e-3): void {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`${what}: map ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  near(what, maxAbsDiff(a.data, b.data), tol);
}

/** The classes to explain: the top class and another (for a binary head: both). */
function classesOf(z: ZooModel, probs: Float32Array): number[] {
  if (z.classes === 2) return [0, 1];
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
  return [order[0], order[order.length - 1]];
}

/** Reference numbers for a model on its picture. */
function reference(z: ZooModel, img = picture(z)) {
  const x = referenceBatch(z, img);
  const probs = referenceProbabilities(z, x);
  const logits = z.logits(x);
  const classes = classesOf(z, probs);
  const scores = classes.map((k) => {
    const s = referenceScore(z, logits, k);
    const v = s.dataSync()[0];
    s.dispose();
    return v;
  });
  logits.dispose();
  return { img, x, probs, classes, scores };
}

/** d score_k / d x from the reference logits. */
function referenceInputGradient(z: ZooModel, x: tf.Tensor4D, k: number): Float32Array {
  return tf.tidy(() => (tf.grad((t: tf.Tensor) => referenceScore(z, z.logits(t as tf.Tensor4D), k).sum())(x).dataSync() as Float32Array).slice());
}

const gap = (x: tf.Tensor) => tf.tidy(() => x.mean([0, 1, 2]).dataSync().slice() as Float32Array);

// ---------------------------------------------------------------------------------------------------

test('the zoo has at least 15 models and covers every kind the issue lists', () => {
  expect(ZOO.size).toBeGreaterThanOrEqual(15);
  const classes = new Set([...ZOO.values()].flatMap((z) => leafLayers(z.net).map((l) => l.getClassName())));
  for (const c of ['Conv2D', 'BatchNormalization', 'Dropout', 'LeakyReLU', 'ELU', 'GlobalMaxPooling2D', 'SeparableConv2D', 'DepthwiseConv2D', 'Rescaling', 'Conv2DTranspose', 'UpSampling2D', 'Concatenate', 'Activation', 'Add']) {
    expect([c, classes.has(c)]).toEqual([c, true]);
  }
  expect([...ZOO.values()].map((z) => z.head).sort()).toEqual(expect.arrayContaining(['linear', 'sigmoid', 'softmax']));
  expect([...ZOO.values()].filter((z) => z.innerNames).length).toBeGreaterThanOrEqual(3);
});

describe.each(NAMES)('%s', (name) => {
  const z = ZOO.get(name) as ZooModel;

  test('loads as a CnnModel: preprocessing default, classes, inner layers addressable by name', () => {
    const m = asCnnModel(userModel(z));
    expect(m.preprocess).toBe(z.preprocess);
    expect([m.inputHeight, m.inputWidth, m.inputChannels]).toEqual([...z.size, z.channels]);
    // Every leaf layer of the model is a layer of the flat graph (a nested model's inner layers too).
    const flat = new Set(m.net.layers.map((l) => l.getClassName()));
    for (const l of leafLayers(z.net)) expect(flat.has(l.getClassName())).toBe(true);
    expect(m.net.layers.filter((l) => l.getClassName() !== 'InputLayer').length).toBe(leafLayers(z.net).filter((l) => l.getClassName() !== 'InputLayer').length);
    for (const n of [z.probe.layer, z.split.layer, ...(z.innerNames ?? [])]) expect(m.layer(n)).toBeDefined();
    expect(m.spatialLayers()).toEqual(expect.arrayContaining([m.layer(z.probe.layer).name, m.layer(z.split.layer).name]));
    const s = summary(userModel(z), off);
    expect(s.totalParams).toBe(z.net.countParams());
    // Every leaf layer appears in the summary.
    expect(s.layers.filter((r) => r.className !== 'InputLayer' && !r.className.includes('Sequential') && r.className !== 'Functional' && r.className !== 'Model').length).toBeGreaterThanOrEqual(
      leafLayers(z.net).filter((l) => l.getClassName() !== 'InputLayer').length,
    );
  });

  test('predict: probabilities equal the model\'s own predict on both paths', async () => {
    const r = reference(z);
    const res = await both(() => predict(userModel(z), r.img, { ...off, top: z.classes }));
    for (const p of PATHS) {
      expect(res[p].probabilities.length).toBe(z.classes);
      near(`${name} ${p} probabilities`, maxAbsDiff(res[p].probabilities, r.probs), 2e-5);
      expect(res[p].predictions[0].index).toBe(r.probs.indexOf(Math.max(...r.probs)));
    }
    near(`${name} engine vs tfjs`, maxAbsDiff(res.engine.probabilities, res.tfjs.probabilities), 1e-5);
    r.x.dispose();
  });

  test('feature maps of an inner layer equal its own sub-graph; layer outputs', async () => {
    const r = reference(z);
    const want = z.probe.ref(r.x);
    const wantData = want.dataSync().slice();
    const [, h, w, c] = want.shape;
    want.dispose();
    const fm = await both(() => featureMaps(userModel(z), r.img, { ...off, layer: z.probe.layer }));
    for (const p of PATHS) {
      expect([fm[p].height, fm[p].width, fm[p].channels]).toEqual([h, w, c]);
      near(`${name} ${p} feature maps of ${z.probe.layer}`, relErr(fm[p].activation, wantData), 1e-4);
    }
    const act = z.split.act(r.x);
    const actMeans = gap(act);
    act.dispose();
    const lo = await both(() => layerOutputs(userModel(z), r.img, { ...off, layers: [z.split.layer] }));
    for (const p of PATHS) near(`${name} ${p} layer outputs means of ${z.split.layer}`, relErr(lo[p].layers[0].means, actMeans), 1e-4);
    // The default layer choice works too, and every layer shown is finite.
    const dflt = await both(() => layerOutputs(userModel(z), r.img, off));
    for (const p of PATHS) for (const l of dflt[p].layers) expect(Array.from(l.means).every(Number.isFinite)).toBe(true);
    const named = asCnnModel(userModel(z));
    for (const n of z.innerNames ?? []) {
      // Every inner name reaches its layer; the spatial ones give feature maps.
      if (!named.spatialLayers().includes(named.layerName(n))) continue;
      const f = await featureMaps(userModel(z), r.img, { ...off, layer: n });
      expect(f.activation.every(Number.isFinite)).toBe(true);
    }
    r.x.dispose();
  });

  test('filters: the kernel shown is the layer\'s own weights', async () => {
    const conv = leafLayers(z.net).find((l) => l.getClassName() === 'Conv2D') as tf.layers.Layer;
    const layerName = name === 'transfer' ? 'base_model/Conv1' : conv.name;
    const f = await filters(userModel(z), { ...off, layer: layerName });
    const k = conv.getWeights()[0];
    expect(f.shape).toEqual(k.shape);
    near(`${name} filters of ${layerName}`, maxAbsDiff(f.kernel, k.dataSync()), 0);
  });

  test('Grad-CAM, HiResCAM, LayerCAM equal tf.grad recomputations; the logit explained is the right one', async () => {
    const r = reference(z);
    for (const [i, k] of r.classes.entries()) {
      const want = referenceGradCam(z, r.x, k);
      const res = await both(() => gradCam(userModel(z), r.img, { ...off, layer: z.split.layer, classIndex: k }));
      for (const p of PATHS) {
        sameMap(`${name} ${p} Grad-CAM class ${k}`, res[p].lowRes, want);
        expect([res[p].map.width, res[p].map.height]).toEqual([z.size[1], z.size[0]]);
        near(`${name} ${p} Grad-CAM logit of class ${k}`, Math.abs(res[p].target.logit - r.scores[i]), 1e-4 * Math.max(1, Math.abs(r.scores[i])));
        near(`${name} ${p} Grad-CAM probability of class ${k}`, Math.abs(res[p].target.score - r.probs[k]), 2e-5);
      }
      // HiResCAM: ReLU(Σ_c dS/dA ⊙ A); LayerCAM: ReLU(Σ_c ReLU(dS/dA) ⊙ A), both min–max normalized.
      const [g, a] = tf.tidy(() => {
        const act = z.split.act(r.x);
        return [tf.grad((t: tf.Tensor) => referenceScore(z, z.split.tail(t), k).sum())(act), act];
      });
      const norm = (m: tf.Tensor): Map2D => {
        const d = m.dataSync() as Float32Array;
        const lo = Math.min(...d);
        const hi = Math.max(...d);
        return { width: m.shape[1] as number, height: m.shape[0] as number, data: d.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0)) };
      };
      const hr = tf.tidy(() => tf.relu(g.mul(a).sum(-1)).squeeze([0]));
      const lc = tf.tidy(() => tf.relu(tf.relu(g).mul(a).sum(-1)).squeeze([0]));
      const wantHr = norm(hr);
      const wantLc = norm(lc);
      tf.dispose([g, a, hr, lc]);
      const hres = await both(() => hiResCam(userModel(z), r.img, { ...off, layer: z.split.layer, classIndex: k }));
      const lres = await both(() => layerCam(userModel(z), r.img, { ...off, layer: z.split.layer, classIndex: k }));
      for (const p of PATHS) {
        sameMap(`${name} ${p} HiResCAM class ${k}`, hres[p].lowRes, wantHr);
        sameMap(`${name} ${p} LayerCAM class ${k}`, lres[p].lowRes, wantLc);
      }
    }
    // The default layer: a spatial layer, and the default class is the top class.
    const d = await both(() => gradCam(userModel(z), r.img, off));
    const top = r.probs.indexOf(Math.max(...r.probs));
    for (const p of PATHS) expect(d[p].target.index).toBe(top);
    sameMap(`${name} default Grad-CAM engine vs tfjs`, d.engine.lowRes, d.tfjs.lowRes);
    r.x.dispose();
  });

  test('Grad-CAM++, XGrad-CAM, Eigen-CAM, Score-CAM and CAM: engine equals TF.js; class-dependent', async () => {
    const r = reference(z);
    const k = r.classes[0];
    const o = { ...off, layer: z.split.layer, classIndex: k };
    for (const [what, fn] of [['Grad-CAM++', gradCamPlusPlus], ['XGrad-CAM', xGradCam], ['Eigen-CAM', eigenCam]] as const) {
      const res = await both(() => fn(userModel(z), r.img, o));
      sameMap(`${name} ${what} engine vs tfjs`, res.engine.lowRes, res.tfjs.lowRes);
      expect(res.engine.map.data.every(Number.isFinite)).toBe(true);
    }
    const sc = await both(() => scoreCam(userModel(z), r.img, { ...o, topN: 4 }));
    sameMap(`${name} Score-CAM engine vs tfjs`, sc.engine.lowRes, sc.tfjs.lowRes);
    near(`${name} Score-CAM probability`, Math.abs(sc.engine.target.score - r.probs[k]), 2e-5);
    if (z.head === 'sigmoid') {
      // Score-CAM weights channels by the explained class's score: class 0 and class 1 cannot agree.
      const other = await scoreCam(userModel(z), r.img, { ...o, classIndex: 1 - k, topN: 4 });
      expect(maxAbsDiff(other.lowRes.data, sc.engine.lowRes.data)).toBeGreaterThan(1e-3);
    }
    // CAM: on a feature map → global average pooling → output layer it equals Grad-CAM.
    const next = leafLayers(z.net);
    const idx = next.findIndex((l) => l.name === asCnnModel(userModel(z)).layer(z.split.layer).name);
    const gapDense = idx >= 0 && next[idx + 1]?.getClassName() === 'GlobalAveragePooling2D' && next[idx + 2]?.getClassName() === 'Dense' && idx + 3 === next.length;
    if (gapDense) {
      const c = await both(() => cam(userModel(z), r.img, o));
      const g = await gradCam(userModel(z), r.img, o);
      for (const p of PATHS) sameMap(`${name} ${p} CAM = Grad-CAM`, c[p].lowRes, g.lowRes);
    }
    r.x.dispose();
  });

  test('saliency = tf.grad of the class score (and finite differences on the small models); the gradient family on both paths', async () => {
    const r = reference(z);
    for (const [i, k] of r.classes.entries()) {
      const want = referenceInputGradient(z, r.x, k);
      // A zoo model whose score does not depend on its input would prove nothing.
      expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(1e-4);
      const res = await both(() => saliency(userModel(z), r.img, { ...off, classIndex: k }));
      for (const p of PATHS) {
        near(`${name} ${p} saliency class ${k}`, relErr(res[p].channels as Float32Array, want), 1e-3);
        const t = res[p].target;
        if (t.kind !== 'class') throw new Error('class target expected');
        near(`${name} ${p} saliency logit class ${k}`, Math.abs(t.logit - r.scores[i]), 1e-4 * Math.max(1, Math.abs(r.scores[i])));
      }
      if (z.small) {
        const g = res.engine.channels as Float32Array;
        const v = r.x.dataSync().slice() as Float32Array;
        // Two step sizes: a ReLU or max-pool kink within one step of the point spoils that difference only.
        const steps = z.preprocess === 'none' ? [0.1, 0.25, 1] : [2.5e-4, 1e-3, 4e-3];
        const score = (arr: Float32Array) =>
          tf.tidy(() => referenceScore(z, z.logits(tf.tensor4d(arr, r.x.shape)), k).dataSync()[0]);
        const rand = mulberry32(99);
        const byGrad = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
        const picks = [...byGrad.slice(0, 4), ...Array.from({ length: 4 }, () => Math.floor(rand() * v.length))];
        let worst = 0;
        let scale = 0;
        for (const j of picks) {
          let best = Infinity;
          for (const eps of steps) {
            const fd = centralDifference(score, v, j, eps);
            best = Math.min(best, Math.abs(fd - g[j]));
            scale = Math.max(scale, Math.abs(fd));
          }
          worst = Math.max(worst, best);
        }
        expect(scale).toBeGreaterThan(0);
        near(`${name} saliency vs finite differences class ${k}`, worst / scale, 3e-2);
      }
    }
    const k = r.classes[0];
    const want = referenceInputGradient(z, r.x, k);
    const xv = r.x.dataSync();
    const gxi = await both(() => gradientXInput(userModel(z), r.img, { ...off, classIndex: k }));
    for (const p of PATHS) near(`${name} ${p} gradient × input`, relErr(gxi[p].channels as Float32Array, want.map((g, j) => g * xv[j])), 1e-3);
    for (const [what, fn, extra] of [
      ['guided backprop', guidedBackprop, {}],
      ['deconvnet', deconvnet, {}],
      ['SmoothGrad', smoothGrad, { samples: 3, seed: 5 }],
      ['integrated gradients', integratedGradients, { steps: 6 }],
      ['guided Grad-CAM', guidedGradCam, { layer: z.split.layer }],
    ] as const) {
      const res = await both(() => (fn as typeof saliency)(userModel(z), r.img, { ...off, classIndex: k, ...extra }));
      near(`${name} ${what} engine vs tfjs`, relErr(res.engine.channels as Float32Array, res.tfjs.channels as Float32Array), 1e-3);
      expect(res.engine.map.data.every(Number.isFinite)).toBe(true);
    }
    r.x.dispose();
  });

  test('occlusion: probability drops equal the model\'s own predict on occluded inputs', async () => {
    const r = reference(z);
    const [H, W] = z.size;
    const ph = H / 2;
    const pw = W / 2;
    const gray = referenceBatch(z, { width: W, height: H, data: new Uint8Array(H * W * 3).fill(128) });
    const xs = r.x.dataSync();
    const gs = gray.dataSync();
    const C = z.channels;
    const batches: Float32Array[] = [];
    for (const y0 of [0, ph]) {
      for (const x0 of [0, pw]) {
        const b = Float32Array.from(xs);
        for (let y = y0; y < y0 + ph; y++) for (let x = x0; x < x0 + pw; x++) for (let c = 0; c < C; c++) b[(y * W + x) * C + c] = gs[(y * W + x) * C + c];
        batches.push(b);
      }
    }
    const occluded = tf.tensor4d(batches.flatMap((b) => Array.from(b)), [4, H, W, C]);
    const probs = referenceProbabilities(z, occluded);
    tf.dispose([occluded, gray]);
    for (const k of r.classes) {
      const want = [0, 1, 2, 3].map((i) => r.probs[k] - probs[i * z.classes + k]);
      const res = await both(() => occlusion(userModel(z), r.img, { ...off, classIndex: k, patchSize: [ph, pw], stride: [ph, pw] }));
      for (const p of PATHS) {
        const low = res[p].lowRes as Map2D;
        expect([low.width, low.height]).toEqual([2, 2]);
        near(`${name} ${p} occlusion drops class ${k}`, maxAbsDiff(low.data, want), 3e-5);
      }
    }
    r.x.dispose();
  });

  test('activation maximization: the final objective equals a recomputation; both paths ascend alike', async () => {
    const r = reference(z);
    r.x.dispose();
    const [H, W] = z.size;
    const k = r.classes[r.classes.length - 1];
    const settings = { steps: 3, seed: 3, display: false, progress: false, preview: 0, transforms: 'none' as const };
    const ch = await both(() => maximize(userModel(z), { layer: z.probe.layer, channel: 1 }, settings));
    const cl = await both(() => maximize(userModel(z), { classIndex: k }, settings));
    for (const p of PATHS) {
      for (const res of [ch[p], cl[p]]) {
        expect([res.height, res.width]).toEqual([H, W]);
        expect(res.pixels.every(Number.isFinite)).toBe(true);
      }
      // Recompute both objectives on the final picture: pixels in [0, 1] → 0–255 → the model's preprocessing.
      const toBatch = (px: Float32Array) =>
        tf.tidy(() => {
          let t = tf.tensor4d(px, [1, H, W, 3]).mul(255);
          if (z.preprocess === 'unit') t = t.div(255);
          if (z.channels === 1) t = t.mean(3, true);
          return t as tf.Tensor4D;
        });
      const xc = toBatch(ch[p].pixels);
      const a = z.probe.ref(xc);
      const wantCh = tf.tidy(() => a.slice([0, 0, 0, 1], [1, -1, -1, 1]).mean().dataSync()[0]);
      const xl = toBatch(cl[p].pixels);
      const lg = z.logits(xl);
      const s = referenceScore(z, lg, k);
      const wantCl = s.dataSync()[0];
      tf.dispose([xc, a, xl, lg, s]);
      near(`${name} ${p} maximize channel final value`, Math.abs(ch[p].finalValue - wantCh), 1e-3 * Math.max(1, Math.abs(wantCh)));
      near(`${name} ${p} maximize class ${k} final value`, Math.abs(cl[p].finalValue - wantCl), 1e-3 * Math.max(1, Math.abs(wantCl)));
    }
    for (const [what, res] of [['channel', ch], ['class', cl]] as const) {
      near(`${name} maximize ${what} values engine vs tfjs`, relErr(res.engine.values, res.tfjs.values, 1), 1e-3);
    }
  });

  test('deletion and insertion curves start and end at the model\'s own probabilities', async () => {
    const r = reference(z);
    const k = r.classes[0];
    const g = await gradCam(userModel(z), r.img, { ...off, classIndex: k });
    const black = referenceBatch(z, { width: z.size[1], height: z.size[0], data: new Uint8Array(z.size[0] * z.size[1] * 3) });
    const pBlack = referenceProbabilities(z, black)[k];
    black.dispose();
    const del = await both(() => evaluation.deletionCurve(userModel(z), r.img, g.map, { classIndex: k, steps: 4 }));
    const ins = await both(() => evaluation.insertionCurve(userModel(z), r.img, g.map, { classIndex: k, steps: 4, baseline: 'black' }));
    for (const p of PATHS) {
      near(`${name} ${p} deletion start`, Math.abs(del[p].probabilities[0] - r.probs[k]), 2e-5);
      near(`${name} ${p} deletion end`, Math.abs(del[p].probabilities[4] - pBlack), 2e-5);
      near(`${name} ${p} insertion start`, Math.abs(ins[p].probabilities[0] - pBlack), 2e-5);
      near(`${name} ${p} insertion end`, Math.abs(ins[p].probabilities[4] - r.probs[k]), 2e-5);
      expect(del[p].classIndex).toBe(k);
    }
    near(`${name} deletion engine vs tfjs`, maxAbsDiff(del.engine.probabilities, del.tfjs.probabilities), 2e-5);
    r.x.dispose();
  });

  test('no tensor leaks over a round of commands on both paths', async () => {
    const img = picture(z);
    const round = async () => {
      await predict(userModel(z), img, off);
      await featureMaps(userModel(z), img, { ...off, layer: z.probe.layer });
      await gradCam(userModel(z), img, off);
      await scoreCam(userModel(z), img, { ...off, topN: 2 });
      await saliency(userModel(z), img, off);
      await integratedGradients(userModel(z), img, { ...off, steps: 3 });
      await occlusion(userModel(z), img, { ...off, patchSize: z.size[0] / 2 });
      await maximize(userModel(z), { layer: z.probe.layer, channel: 0 }, { steps: 2, display: false, progress: false, preview: 0 });
    };
    // The first round warms up: flattening, engine compilation.
    await expectNoTensorLeak(() => both(round), 1);
  });
});

describe('twins: the same weights written another way give the same numbers', () => {
  const pairs = [...ZOO.values()].filter((z) => z.twin).map((z) => [z.name, z.twin as string]);
  test.each(pairs)('%s = %s', async (a, b) => {
    const za = ZOO.get(a) as ZooModel;
    const zb = ZOO.get(b) as ZooModel;
    const img = picture(za);
    for (const p of PATHS) {
      await onPath(p, async () => {
        const pa = await predict(za.net, img, off);
        const pb = await predict(zb.net, img, off);
        near(`${a}/${b} ${p} probabilities`, maxAbsDiff(pa.probabilities, pb.probabilities), 1e-5);
        const k = pa.predictions[1].index;
        const ga = await gradCam(za.net, img, { ...off, layer: za.split.layer, classIndex: k });
        const gb = await gradCam(zb.net, img, { ...off, layer: zb.split.layer, classIndex: k });
        sameMap(`${a}/${b} ${p} Grad-CAM`, ga.lowRes, gb.lowRes);
        const sa = await saliency(za.net, img, { ...off, classIndex: k });
        const sb = await saliency(zb.net, img, { ...off, classIndex: k });
        near(`${a}/${b} ${p} saliency`, relErr(sa.channels as Float32Array, sb.channels as Float32Array), 1e-4);
        const fa = await featureMaps(za.net, img, { ...off, layer: za.probe.layer });
        const fb = await featureMaps(zb.net, img, { ...off, layer: zb.probe.layer });
        near(`${a}/${b} ${p} feature maps`, relErr(fa.activation, fb.activation), 1e-5);
      });
    }
  });
});

describe('reports', () => {
  test.each(['mnist_seq', 'sigmoid', 'teachable', 'rescaling'])('%s: the report builds on both paths and its predictions are the model\'s own', async (name) => {
    const z = ZOO.get(name) as ZooModel;
    const r = reference(z);
    r.x.dispose();
    for (const p of PATHS) {
      await onPath(p, async () => {
        const rep = await buildReport(asCnnModel(userModel(z)), r.img);
        expect(rep.sections.length).toBeGreaterThanOrEqual(6);
        const first = rep.sections[0].result as unknown as { probabilities: Float32Array };
        near(`${name} ${p} report probabilities`, maxAbsDiff(first.probabilities, r.probs), 2e-5);
        expect(rep.html).toContain('<');
      });
    }
  });
});

describe('any-size input', () => {
  test('without a size, a picture runs at its own size: probabilities equal predict on the picture as it is', async () => {
    const z = ZOO.get('any_size') as ZooModel;
    const img = zooPicture(22, 30, 5);
    const x = referenceBatch(z, img);
    const want = referenceProbabilities(z, x);
    x.dispose();
    const res = await predict(z.net, img, off);
    near('any_size at the picture\'s own size', maxAbsDiff(res.probabilities, want), 2e-5);
    const g = await gradCam(z.net, img, off);
    expect([g.map.width, g.map.height]).toEqual([30, 22]);
  });
});
