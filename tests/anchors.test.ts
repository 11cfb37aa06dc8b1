/**
 * Issue 19: the methods cnnvis took from the anchors (pytorch-grad-cam, Captum, xplique) and the
 * anchors' conventions, against tests/fixtures/torch_anchors.py — each map computed from its definition
 * with torch autograd in float64 on the same weights (a small CNN with a BatchNormalization, a separate
 * ReLU layer and a max-pool). Pearson r > 0.999 for every class; ROAD's imputation against hand-solved
 * systems; Average Drop against TF.js' own predict; JSON precision; the empty/constant-map warnings.
 *
 * Needs /usr/bin/python3 with torch (Debian python3-torch); skipped with a warning without it unless CI is set.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../kernel/src/random';
import { initBackend } from '../kernel/src/engine/backend';
import { ablationCam } from '../kernel/src/explain/cam/ablationcam';
import { eigenCam } from '../kernel/src/explain/cam/eigencam';
import { eigenGradCam } from '../kernel/src/explain/cam/eigengradcam';
import { fem } from '../kernel/src/explain/cam/fem';
import { finerCam, similarClasses } from '../kernel/src/explain/cam/finercam';
import { gradCam } from '../kernel/src/explain/cam/gradcam';
import { gradCamElementWise } from '../kernel/src/explain/cam/gradcamelementwise';
import { gradCamPlusPlus } from '../kernel/src/explain/cam/gradcampp';
import { kpcaCam } from '../kernel/src/explain/cam/kpcacam';
import { scoreCam } from '../kernel/src/explain/cam/scorecam';
import { camWarnings } from '../kernel/src/explain/cam/base';
import { fullGrad } from '../kernel/src/explain/attribution/fullgrad';
import { integratedGradients, riemann } from '../kernel/src/explain/attribution/integratedGradients';
import { rise, riseMasks } from '../kernel/src/explain/attribution/rise';
import { confidenceChange, averageDropIncrease } from '../kernel/src/explain/eval/confidence';
import { noisyLinearImpute, road } from '../kernel/src/explain/eval/road';
import { pearson } from '../kernel/src/explain/eval/stats';
import { float32Rows, float32Value } from '../kernel/src/explain/json';
import { explainMethodIds } from '../kernel/src/explain/registry';
import { explorerMethods } from '../kernel/src/explore/cam';
import { CnnvisError } from '../kernel/src/errors';
import { CnnModel } from '../kernel/src/models/model';
import { imageToBatch } from '../kernel/src/models/preprocess';
import { Map2D, RGBImage } from '../kernel/src/types';

const PY = '/usr/bin/python3';
const SCRIPT = path.join(__dirname, 'fixtures', 'torch_anchors.py');
const probe = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
const hasTorch = probe.status === 0;
if (!hasTorch && !process.env.CI) console.warn(`SKIPPING anchor parity tests: ${PY} cannot import torch (Debian: python3-torch)`);
const suite = hasTorch || process.env.CI ? describe : describe.skip;

const SIZE = 16;
const CLASSES = 5;
const RISE_N = 48;

type Layer = Record<string, unknown> & { type: string; name: string };

/** Seeded weights in TF.js layout; `denseScale` shrinks the output layer (flat probabilities, tiny gradients). */
function spec(seed: number, denseScale = 1): Layer[] {
  const rng = mulberry32(seed);
  const uni = (n: number, a: number, b: number) => Array.from({ length: n }, () => a + (b - a) * rng());
  const conv = (name: string, cin: number, cout: number, relu: boolean): Layer => {
    const lim = Math.sqrt(6 / (9 * cin));
    return { type: 'conv', name, kernelShape: [3, 3, cin, cout], kernel: uni(9 * cin * cout, -lim, lim), bias: uni(cout, -0.05, 0.1), relu };
  };
  return [
    conv('c1', 3, 6, true),
    { type: 'bn', name: 'bn1', gamma: uni(6, 0.5, 1.5), beta: uni(6, -0.2, 0.2), mean: uni(6, 0, 0.3), var: uni(6, 0.5, 1.5), eps: 0.001 },
    conv('c2', 6, 8, false),
    { type: 'relu', name: 'r2' },
    { type: 'maxpool', name: 'pool', size: 2 },
    conv('c3', 8, 12, true),
    { type: 'gap', name: 'gap' },
    { type: 'dense', name: 'predictions', kernelShape: [12, CLASSES], kernel: uni(12 * CLASSES, -1, 1).map((v) => v * denseScale), bias: uni(CLASSES, -0.1, 0.1) },
  ];
}

function build(layers: Layer[], name: string): CnnModel {
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  let x: tf.SymbolicTensor = input;
  for (const l of layers) {
    const n = l.name;
    if (l.type === 'conv') x = tf.layers.conv2d({ name: n, filters: (l.kernelShape as number[])[3], kernelSize: 3, padding: 'same', activation: l.relu ? 'relu' : 'linear' }).apply(x) as tf.SymbolicTensor;
    else if (l.type === 'bn') x = tf.layers.batchNormalization({ name: n, epsilon: l.eps as number }).apply(x) as tf.SymbolicTensor;
    else if (l.type === 'relu') x = tf.layers.reLU({ name: n }).apply(x) as tf.SymbolicTensor;
    else if (l.type === 'maxpool') x = tf.layers.maxPooling2d({ name: n, poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    else if (l.type === 'gap') x = tf.layers.globalAveragePooling2d({ name: n }).apply(x) as tf.SymbolicTensor;
    else x = tf.layers.dense({ name: n, units: CLASSES, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  }
  const net = tf.model({ inputs: input, outputs: x, name });
  for (const l of layers) {
    let ws: tf.Tensor[] | null = null;
    if (l.type === 'conv' || l.type === 'dense') ws = [tf.tensor(l.kernel as number[], l.kernelShape as number[]), tf.tensor1d(l.bias as number[])];
    if (l.type === 'bn') ws = ['gamma', 'beta', 'mean', 'var'].map((k) => tf.tensor1d(l[k] as number[]));
    if (ws) {
      net.getLayer(l.name).setWeights(ws);
      ws.forEach((w) => w.dispose());
    }
  }
  return new CnnModel(net, { name, preprocess: 'unit', labels: { names: Array.from({ length: CLASSES }, (_, i) => `class${i}`), source: 'test' } });
}

function picture(seed: number): RGBImage {
  const rng = mulberry32(seed);
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const blob = Math.exp(-((x - 5) ** 2 + (y - 10) ** 2) / 12);
      for (let c = 0; c < 3; c++) data[(y * SIZE + x) * 3 + c] = Math.round(Math.min(255, 40 + 150 * blob * (c === 0 ? 1 : 0.3) + 60 * (x / SIZE) + 40 * rng()));
    }
  }
  return { width: SIZE, height: SIZE, data };
}

type ClassRef = Record<string, number[] | number> & { classIndex: number };

function corr(ours: ArrayLike<number>, ref: number[]): number {
  expect(ours.length).toBe(ref.length);
  const flat = (v: ArrayLike<number>) => Array.prototype.every.call(v, (a: number) => Math.abs(a - v[0]) < 1e-12);
  if (flat(ref) || flat(ours)) return flat(ref) && flat(ours) ? 1 : 0;
  return pearson(ours, ref);
}

suite('issue 19: new methods and conventions against torch references', () => {
  const models: CnnModel[] = [];
  let image: RGBImage;
  let ref: ClassRef[][];
  let masks: Float32Array;
  const table: string[] = [];
  const r999 = (name: string, ours: ArrayLike<number>, theirs: number[], min = 0.999) => {
    const r = corr(ours, theirs);
    table.push(`${name}: r=${r.toFixed(6)}`);
    expect(r).toBeGreaterThan(min);
  };

  beforeAll(async () => {
    if (!hasTorch) throw new Error(`CI is set but ${PY} cannot import torch`);
    await initBackend();
    const specs = [spec(19), spec(19, 1e-3)];
    specs.forEach((s, i) => models.push(build(s, `anchors${i}`)));
    image = picture(3);
    const mt = riseMasks(0, RISE_N, SIZE, SIZE, 4, 0.5, 5);
    masks = mt.dataSync().slice() as Float32Array;
    mt.dispose();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-anchors-'));
    try {
      const body = { height: SIZE, width: SIZE, pixels: Array.from(image.data), nets: specs.map((layers) => ({ layers, classes: [0, 2, 4] })), rise: { n: RISE_N, masks: Array.from(masks) } };
      fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(body));
      const r = spawnSync(PY, [SCRIPT, path.join(dir, 'spec.json'), path.join(dir, 'out.json')], { encoding: 'utf8', timeout: 120000 });
      if (r.status !== 0) throw new Error(`torch_anchors.py failed: ${r.stderr}`);
      ref = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')).nets;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180000);

  afterAll(() => {
    models.forEach((m) => m.net.dispose());
    if (table.length) console.log(['issue 19 vs torch:', ...table].join('\n  '));
  });

  test('identical logits (weights transposed correctly)', () => {
    models.forEach((m, i) => {
      const b = imageToBatch(image, 'unit');
      const p = m.net.predict(b) as tf.Tensor;
      const probs = Array.from(p.dataSync());
      const logits = ref[i][0].logits as number[];
      const e = logits.map(Math.exp);
      const s = e.reduce((a, v) => a + v, 0);
      e.forEach((v, k) => expect(probs[k]).toBeCloseTo(v / s, 5));
      tf.dispose([b, p]);
    });
  });

  const camCases: Array<[string, (m: CnnModel, c: number) => Promise<{ lowRes: Map2D; map: Map2D }>]> = [
    ['gradcampp', (m, c) => gradCamPlusPlus(m, image, { classIndex: c, layer: 'c3', display: false })],
    ['gradcampp_pt', (m, c) => gradCamPlusPlus(m, image, { classIndex: c, layer: 'c3', display: false, convention: 'pytorch-grad-cam' })],
    ['eigencam', (m, c) => eigenCam(m, image, { classIndex: c, layer: 'c3', display: false })],
    ['eigencam_center', (m, c) => eigenCam(m, image, { classIndex: c, layer: 'c3', display: false, convention: 'pytorch-grad-cam' })],
    ['eigengradcam', (m, c) => eigenGradCam(m, image, { classIndex: c, layer: 'c3', display: false })],
    ['gradcamelementwise', (m, c) => gradCamElementWise(m, image, { classIndex: c, layer: 'c3', display: false })],
    ['fem', (m, c) => fem(m, image, { classIndex: c, layer: 'c3', display: false })],
    ['kpcacam', (m, c) => kpcaCam(m, image, { classIndex: c, layer: 'c3', display: false })],
    ['ablationcam', (m, c) => ablationCam(m, image, { classIndex: c, layer: 'c3', display: false, batchSize: 5 })],
    ['finercam', (m, c) => finerCam(m, image, { classIndex: c, layer: 'c3', display: false })],
    ['scorecam', (m, c) => scoreCam(m, image, { classIndex: c, layer: 'c3', display: false })],
    ['scorecam_pt', (m, c) => scoreCam(m, image, { classIndex: c, layer: 'c3', display: false, convention: 'pytorch-grad-cam' })],
  ];

  test.each(camCases)('%s matches the torch reference on both nets, every class', async (key, run) => {
    for (let n = 0; n < models.length; n++) {
      for (const cls of ref[n]) {
        const theirs = cls[key] as number[];
        const ours = await run(models[n], cls.classIndex);
        r999(`${key} net${n} class ${cls.classIndex}`, ours.lowRes.data, theirs);
      }
    }
  }, 60000);

  test('the conventions change the numbers where the anchors differ (the tests above can fail)', () => {
    // Grad-CAM++ on the net with tiny gradients: pytorch-grad-cam's ε dominates, the exact formula does not.
    const pp = ref[1].map((c) => corr(c.gradcampp as number[], c.gradcampp_pt as number[]));
    expect(Math.min(...pp)).toBeLessThan(0.999);
    // Score-CAM: softmax over probabilities vs logits differ on the normal net.
    const sc = ref[0].map((c) => corr(c.scorecam as number[], c.scorecam_pt as number[]));
    expect(Math.min(...sc)).toBeLessThan(0.9999);
    // Eigen-CAM centred vs not.
    const ec = ref[0].map((c) => corr(c.eigencam as number[], c.eigencam_center as number[]));
    expect(Math.min(...ec)).toBeLessThan(0.999);
  });

  test('Finer-CAM compares with the classes whose scores are closest', () => {
    for (const cls of ref[0]) expect(similarClasses(cls.logits as number[], cls.classIndex, [1, 2, 3])).toEqual(cls.finerCompared);
  });

  test('FullGrad (input and every conv / BN bias gradient) matches the torch reference', async () => {
    for (let n = 0; n < models.length; n++) {
      for (const cls of ref[n]) {
        const r = await fullGrad(models[n], image, { classIndex: cls.classIndex, display: false });
        expect(r.signed).toBe(false);
        expect(r.details.biasLayers).toBe(4);
        r999(`fullgrad net${n} class ${cls.classIndex}`, r.map.data, cls.fullgrad as number[]);
        const diff = Math.max(...Array.from(r.map.data, (v, i) => Math.abs(v - (cls.fullgrad as number[])[i])));
        expect(diff).toBeLessThan(1e-4);
      }
    }
  }, 60000);

  test("Integrated Gradients reproduce Captum's Gauss–Legendre and trapezoid rules", async () => {
    const zeros = tf.zeros([1, SIZE, SIZE, 3]) as tf.Tensor4D;
    try {
      for (const cls of ref[0]) {
        const gl = await integratedGradients(models[0], image, { classIndex: cls.classIndex, steps: 8, convention: 'captum', baseline: { tensor: zeros }, display: false });
        const tr = await integratedGradients(models[0], image, { classIndex: cls.classIndex, steps: 8, rule: 'captum-trapezoid', baseline: { tensor: zeros }, display: false });
        r999(`ig gausslegendre class ${cls.classIndex}`, gl.map.data, cls.ig_gl as number[], 0.99999);
        r999(`ig captum-trapezoid class ${cls.classIndex}`, tr.map.data, cls.ig_trap as number[], 0.99999);
        const ratio = (a: ArrayLike<number>, b: number[]) => Array.from(a).reduce((s, v) => s + v, 0) / b.reduce((s, v) => s + v, 0);
        expect(ratio(gl.map.data, cls.ig_gl as number[])).toBeCloseTo(1, 3);
        expect(ratio(tr.map.data, cls.ig_trap as number[])).toBeCloseTo(1, 3);
      }
    } finally {
      zeros.dispose();
    }
    // Captum's trapezoid with n points = cnnvis' trapezoid with n − 1 intervals × (n − 1)/n.
    const c = riemann(8, 'captum-trapezoid');
    const ours = riemann(7, 'trapezoid');
    c.weights.forEach((w, i) => expect(w).toBeCloseTo((ours.weights[i] * 7) / 8, 12));
    c.alphas.forEach((a, i) => expect(a).toBeCloseTo(ours.alphas[i], 12));
    // Gauss–Legendre nodes as numpy's leggauss: exact for polynomials of degree 2n − 1.
    const g = riemann(5, 'gausslegendre');
    expect(g.alphas.reduce((s, a, i) => s + g.weights[i] * a ** 9, 0)).toBeCloseTo(1 / 10, 12);
  }, 60000);

  test('RISE aggregates the masked probabilities as xplique does; its masks are seeded, in [0, 1], cropped', async () => {
    for (const cls of ref[0]) {
      const r = await rise(models[0], image, { classIndex: cls.classIndex, samples: RISE_N, gridSize: 4, seed: 5, batchSize: 20, display: false });
      expect(r.signed).toBe(false);
      const theirs = cls.rise as number[];
      r999(`rise class ${cls.classIndex}`, r.map.data, theirs, 0.99999);
      expect(Math.max(...Array.from(r.map.data, (v, i) => Math.abs(v - theirs[i])))).toBeLessThan(1e-5);
    }
    // Any batching gives the same masks.
    const a = riseMasks(10, 3, SIZE, SIZE, 4, 0.5, 5);
    expect(Array.from(a.dataSync())).toEqual(Array.from(masks.subarray(10 * SIZE * SIZE, 13 * SIZE * SIZE)));
    a.dispose();
    expect(Math.min(...masks)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...masks)).toBeLessThanOrEqual(1);
    const mean = masks.reduce((s, v) => s + v, 0) / masks.length;
    expect(mean).toBeGreaterThan(0.3);
    expect(mean).toBeLessThan(0.7);
  }, 60000);

  test('every new method is in the registry, the CLI help source and the explorer menu', () => {
    const ids = explainMethodIds();
    const menu = explorerMethods().map((m) => m.id);
    for (const id of ['ablationcam', 'eigengradcam', 'gradcamelementwise', 'kpcacam', 'finercam', 'fem', 'fullgrad', 'rise']) {
      expect(ids).toContain(id);
      expect(menu).toContain(id);
    }
  });

  test('an empty map says so (all channel weights ≤ 0) and a flat Score-CAM names the flat probabilities', async () => {
    // Class 0 of a copy whose output weights for class 0 are all negative: every Grad-CAM weight is < 0.
    const layers = spec(19);
    const dense = layers[layers.length - 1] as unknown as { kernel: number[] };
    dense.kernel = dense.kernel.map((v, i) => (i % CLASSES === 0 ? -Math.abs(v) - 0.1 : v));
    const m = build(layers, 'negative');
    try {
      const r = await gradCam(m, image, { classIndex: 0, layer: 'c3', display: false });
      expect(r.warnings.length).toBe(1);
      expect(r.warnings[0]).toMatch(/empty/);
      expect(r.warnings[0]).toMatch(/all 12 channel weights are ≤ 0/);
      expect(r.text()).toMatch(/no peak/);
      expect(r.text()).not.toMatch(/peak at x=0, y=0/);
      const ok = await gradCam(models[0], image, { classIndex: ref[0][0].classIndex, layer: 'c3', display: false });
      expect(ok.warnings).toEqual([]);
    } finally {
      m.net.dispose();
    }
    const flat = await scoreCam(models[1], image, { classIndex: 0, layer: 'c3', display: false });
    expect(flat.warnings.join(' ')).toMatch(/≈ 1\/12.*flat/);
    expect(camWarnings('X', new Float32Array([0.5, 0.5, 0.5]))[0]).toMatch(/constant/);
    expect(camWarnings('X', new Float32Array([-1, 0, -2]))[0]).toMatch(/empty/);
    expect(camWarnings('X', new Float32Array([0, 1, 0.5]))).toEqual([]);
  }, 60000);

  test('conventions are checked', async () => {
    await expect(gradCam(models[0], image, { convention: 'captum', display: false })).rejects.toThrow(CnnvisError);
    await expect(gradCam(models[0], image, { convention: 'nope' as never, display: false })).rejects.toThrow(/unknown convention 'nope'/);
    await expect(integratedGradients(models[0], image, { convention: 'pytorch-grad-cam', display: false })).rejects.toThrow(/no 'pytorch-grad-cam' convention/);
  });

  test('no tensors leak', async () => {
    const all = async () => {
      await ablationCam(models[0], image, { layer: 'c3', display: false });
      await kpcaCam(models[0], image, { layer: 'c3', display: false });
      await finerCam(models[0], image, { layer: 'c3', display: false });
      await fullGrad(models[0], image, { display: false });
      await rise(models[0], image, { samples: 8, gridSize: 4, display: false });
      await eigenGradCam(models[0], image, { layer: 'c3', display: false });
      await fem(models[0], image, { layer: 'c3', display: false });
      await scoreCam(models[0], image, { layer: 'c3', display: false, convention: 'pytorch-grad-cam' });
    };
    await all(); // first calls build cached per-model helpers (the logits model and its linear head)
    const before = tf.memory().numTensors;
    await all();
    expect(tf.memory().numTensors).toBe(before);
  }, 60000);
});

describe('ROAD, Average Drop / Increase, JSON precision (no torch needed)', () => {
  test('noisy linear imputation solves the neighbour-mean system (hand-computed cases)', () => {
    // 3×3, the centre removed: the weighted mean of its 8 neighbours (sides 1/6, corners 1/12; weights sum to 1).
    const img = Float32Array.from([1, 2, 3, 4, 0, 6, 7, 8, 9]);
    const centre = noisyLinearImpute(img, 3, 3, 1, Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), 0);
    expect(centre[4]).toBeCloseTo((2 + 4 + 6 + 8) / 6 + (1 + 3 + 7 + 9) / 12, 6);
    // A corner removed: only 3 neighbours inside (sides 1/6, 1/6, diagonal 1/12; total 5/12).
    const corner = noisyLinearImpute(img, 3, 3, 1, Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]), 0);
    expect(corner[0]).toBeCloseTo((2 / 6 + 4 / 6 + 0 / 12) / (5 / 12), 6);
    // A 1×4 row with the two middle pixels removed: x1 = (a + x2)/2, x2 = (x1 + b)/2 → linear interpolation.
    const row = noisyLinearImpute(Float32Array.from([0, 5, 5, 3]), 1, 4, 1, Uint8Array.from([0, 1, 1, 0]), 0);
    expect(row[1]).toBeCloseTo(1, 6);
    expect(row[2]).toBeCloseTo(2, 6);
    // Two channels solved independently; kept pixels untouched; noise adds N(0, σ²) to removed pixels only.
    const two = noisyLinearImpute(Float32Array.from([0, 10, 9, 9, 3, 30]), 1, 3, 2, Uint8Array.from([0, 1, 0]), 0);
    expect(Array.from(two)).toEqual([0, 10, expect.closeTo(1.5, 6), expect.closeTo(20, 6), 3, 30]);
    const noisy = noisyLinearImpute(Float32Array.from([0, 9, 3]), 1, 3, 1, Uint8Array.from([0, 1, 0]), 0.5, mulberry32(1));
    expect(noisy[0]).toBe(0);
    expect(noisy[2]).toBe(3);
    expect(noisy[1]).not.toBeCloseTo(1.5, 6);
    expect(Math.abs(noisy[1] - 1.5)).toBeLessThan(2.5);
  });

  test('ROAD curves are the model’s own probabilities of the imputed images; Average Drop by hand', async () => {
    await initBackend();
    const m = build(spec(7), 'road');
    const img = picture(4);
    try {
      const map: Map2D = { width: SIZE, height: SIZE, data: Float32Array.from({ length: SIZE * SIZE }, (_, i) => ((i * 37) % 101) / 101) };
      const r = await road(m, img, map, { classIndex: 1, fractions: [0.25, 0.5], noise: 0, batchSize: 1 });
      // MoRF at 25 %: the 64 highest pixels removed and imputed, then TF.js' own predict.
      const order = Array.from(map.data.keys()).sort((a, b) => map.data[b] - map.data[a] || a - b);
      const x = imageToBatch(img, 'unit');
      const pixels = x.dataSync() as Float32Array;
      const probOf = (removedIdx: number[]) => {
        const removed = new Uint8Array(SIZE * SIZE);
        removedIdx.forEach((p) => (removed[p] = 1));
        const t = tf.tensor4d(noisyLinearImpute(pixels, SIZE, SIZE, 3, removed, 0), [1, SIZE, SIZE, 3]);
        const p = m.net.predict(t) as tf.Tensor;
        const v = p.dataSync()[1];
        tf.dispose([t, p]);
        return v;
      };
      const p0 = (() => {
        const p = m.net.predict(x) as tf.Tensor;
        const v = p.dataSync()[1];
        p.dispose();
        return v;
      })();
      expect(r.morf.probabilities[0]).toBeCloseTo(p0, 5);
      expect(r.morf.probabilities[1]).toBeCloseTo(probOf(order.slice(0, 64)), 5);
      expect(r.morf.probabilities[2]).toBeCloseTo(probOf(order.slice(0, 128)), 5);
      expect(r.lerf.probabilities[1]).toBeCloseTo(probOf(order.slice(-64)), 5);
      expect(Array.from(r.morf.fractions)).toEqual([0, 0.25, 0.5]);
      expect(r.combined).toBeCloseTo((r.lerf.mean - r.morf.mean) / 2, 10);
      expect(r.morf.mean).toBeCloseTo((r.morf.probabilities[1] + r.morf.probabilities[2]) / 2, 6);
      const chart = r.vegaLite() as { data: { values: unknown[] } };
      expect(chart.data.values.length).toBe(6);
      expect(r.text()).toMatch(/MoRF AUC .* LeRF AUC .* combined/);
      // Average Drop / Increase: the image times the map (already in [0, 1]).
      const c = await confidenceChange(m, img, map, { classIndex: 1 });
      const e = tf.mul(x, tf.tensor4d(map.data, [1, SIZE, SIZE, 1]));
      const pe = m.net.predict(e) as tf.Tensor;
      const o = pe.dataSync()[1];
      tf.dispose([e, pe, x]);
      expect(c.original).toBeCloseTo(p0, 5);
      expect(c.explanation).toBeCloseTo(o, 5);
      expect(c.drop).toBeCloseTo(Math.max(0, p0 - o) / p0, 5);
      expect(c.increase).toBe(o > p0);
      expect(averageDropIncrease([{ drop: 0.5, increase: false }, { drop: 0, increase: true }])).toEqual({ averageDrop: 25, increaseInConfidence: 50, images: 2 });
    } finally {
      m.net.dispose();
    }
  }, 60000);

  test('JSON keeps full float32 precision: a map of 1e-8 values round-trips exactly', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => (i + 1) * 1e-8 * (i % 2 ? -1 : 1) + (i === 5 ? 0.1 : 0));
    const map: Map2D = { width: 4, height: 3, data };
    const back = JSON.parse(JSON.stringify({ map: float32Rows(map) })).map as number[][];
    expect(back.length).toBe(3);
    back.flat().forEach((v, i) => expect(Math.fround(v)).toBe(data[i]));
    expect(float32Value(Math.fround(0.1))).toBe(0.1);
    expect(float32Value(Math.fround(1e-8))).toBe(1e-8);
    expect(float32Value(NaN)).toBeNull();
    expect(JSON.stringify(float32Rows({ width: 2, height: 1, data: Float32Array.from([1e-8, 3.4e-12]) }))).toBe('[[1e-8,3.4e-12]]');
  });
});
