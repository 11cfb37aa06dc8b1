/** Activation maximization: objectives, parameterizations, transforms, regularizers and the render loop, checked by their math. */
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { useDisplayWriter } from '../kernel/src/display/jupyter';
import { initBackend } from '../kernel/src/engine/backend';
import { loadModel } from '../kernel/src/models/load';
import { CnnModel } from '../kernel/src/models/model';
import { modelHead } from '../kernel/src/models/head';
import {
  channel,
  channels,
  classLogit,
  colorMatrix,
  COLOR_SQRT_COV,
  ensureInputGradients,
  evaluateObjective,
  filterPatterns,
  fourierParam,
  inverseRealDft2d,
  jitter,
  l2Penalty,
  layerMean,
  maximize,
  MaximizeOptions,
  neuron,
  pad,
  parseObjective,
  pixelParam,
  resampleMatrix,
  resample2d,
  resizeLinear,
  Rng,
  roll,
  rotate,
  rotateBy,
  scale,
  spectrumScale,
  sum,
  tvPenalty,
  withFastLayers,
} from '../kernel/src/optvis';
import { toRGBA } from '../kernel/src/optvis/render';
import { forEachConvTap } from './helpers/convTaps';

/**
 * input 24×24×3 → c1 (conv 3×3, 8, relu) → dw (depthwise 3×3 stride 2, linear) → pw (conv 1×1, 12, linear)
 * → pw_relu → c3 (conv 3×3 stride 2 same, 6, relu) → gap → predictions (dense 5, softmax).
 * Exercises the wasm gradient paths MobileNet needs (depthwise input gradient, fused linear conv).
 */
function smallNet(seed = 3): CnnModel {
  // He-initialized with small positive biases, so no channel starts dead on a gray image.
  const init = (s: number) => tf.initializers.heNormal({ seed: seed * 100 + s });
  const bias = () => tf.initializers.constant({ value: 0.1 });
  const input = tf.input({ shape: [24, 24, 3], name: 'img' });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1', kernelInitializer: init(1), biasInitializer: bias() }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', name: 'dw', depthwiseInitializer: init(2), useBias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 12, kernelSize: 1, name: 'pw', kernelInitializer: init(3), biasInitializer: bias() }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'pw_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'c3', kernelInitializer: init(4), biasInitializer: bias() }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'softmax', name: 'predictions', kernelInitializer: init(5) }).apply(x) as tf.SymbolicTensor;
  return new CnnModel(tf.model({ inputs: input, outputs: out, name: 'small' }), { name: 'small', preprocess: 'mobilenet' });
}

const FAST: MaximizeOptions = { steps: 32, param: 'fourier', transforms: [jitter(1)], display: false, progress: false, seed: 1, lr: 0.15 };

function noiseImages(n: number, h: number, w: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([n, h, w, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

let model: CnnModel;

beforeAll(async () => {
  await initBackend();
  model = smallNet();
});

describe('objectives', () => {
  test("'layer:channel' parses to the channel objective; bad names and channels give clear errors", () => {
    const o = parseObjective('pw_relu:7');
    expect(o.description).toBe('pw_relu:7');
    expect(o.layers).toEqual(['pw_relu']);
    expect(() => parseObjective('pw_relu')).toThrow(/layer:channel/);
    expect(() => parseObjective('pw_relu:x')).toThrow(/layer:channel/);
    expect(() => parseObjective('nope:1').check(model)).toThrow(/unknown layer 'nope'.*c1, dw, pw, pw_relu, c3/);
    expect(() => parseObjective('pw_relu:12').check(model)).toThrow(/channel 12 is out of range for layer 'pw_relu'.*12 channels, 0\.\.11/);
    expect(() => classLogit(5).check(model)).toThrow(/0\.\.4/);
    expect(() => neuron('c3', 0, { x: 6 }).check(model)).toThrow(/outside layer 'c3'/);
  });

  test('a composed objective equals the same combination of its parts', () => {
    const parts = [channel('c1', 2), neuron('c3', 1, { x: 2, y: 3 }), classLogit(3), layerMean('pw')];
    const composed = parts[0].scale(2).sub(parts[1]).add(parts[2].neg()).add(parts[3].scale(0.25));
    expect(composed.layers).toEqual(['c1', 'c3', '@logits', 'pw']);
    const imgs = noiseImages(3, 24, 24, 11);
    const v = parts.map((p) => evaluateObjective(model, p, imgs));
    const c = evaluateObjective(model, composed, imgs);
    const s = evaluateObjective(model, sum([parts[0], parts[1], 'pw_relu:4']), imgs);
    const p4 = evaluateObjective(model, 'pw_relu:4', imgs);
    for (let i = 0; i < 3; i++) {
      expect(c[i]).toBeCloseTo(2 * v[0][i] - v[1][i] - v[2][i] + 0.25 * v[3][i], 4);
      expect(s[i]).toBeCloseTo(v[0][i] + v[1][i] + p4[i], 4);
    }
    // The parts themselves, computed directly from the layer outputs.
    const [c1, c3, pw] = tf.tidy(() => {
      const m = tf.model({ inputs: model.net.inputs, outputs: ['c1', 'c3', 'pw'].map((n) => model.net.getLayer(n).output as tf.SymbolicTensor) });
      return (m.predict(imgs.mul(2).sub(1)) as tf.Tensor[]).map((t) => t.arraySync() as number[][][][]);
    });
    for (let i = 0; i < 3; i++) {
      let m = 0;
      for (const row of c1[i]) for (const px of row) m += px[2];
      expect(v[0][i]).toBeCloseTo(m / (24 * 24), 4);
      expect(v[1][i]).toBeCloseTo(c3[i][3][2][1], 5);
      const flat = pw[i].flat(2);
      expect(v[3][i]).toBeCloseTo(flat.reduce((a, b) => a + b, 0) / flat.length, 4);
    }
    imgs.dispose();
  });

  test('class objectives use the pre-softmax score (fused Dense softmax and a separate Softmax layer)', () => {
    const imgs = noiseImages(2, 24, 24, 5);
    const logits = evaluateObjective(model, classLogit(1), imgs);
    const expected = tf.tidy(() => {
      const gap = tf.model({ inputs: model.net.inputs, outputs: model.net.getLayer('gap').output as tf.SymbolicTensor }).predict(imgs.mul(2).sub(1)) as tf.Tensor2D;
      const [k, b] = model.net.getLayer('predictions').getWeights();
      return tf.matMul(gap, k as tf.Tensor2D).add(b).slice([0, 1], [-1, 1]).dataSync();
    });
    const probs = tf.tidy(() => (model.net.predict(imgs.mul(2).sub(1)) as tf.Tensor).slice([0, 1], [-1, 1]).dataSync());
    for (let i = 0; i < 2; i++) {
      expect(logits[i]).toBeCloseTo(expected[i], 4);
      expect(Math.abs(logits[i] - probs[i])).toBeGreaterThan(1e-3);
    }
    // Softmax as its own layer: the logits are its input.
    const input = tf.input({ shape: [8, 8, 3] });
    const g = tf.layers.globalAveragePooling2d({ name: 'g' }).apply(input) as tf.SymbolicTensor;
    const d = tf.layers.dense({ units: 4, name: 'scores', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }).apply(g) as tf.SymbolicTensor;
    const sm = tf.layers.activation({ activation: 'softmax', name: 'sm' }).apply(d) as tf.SymbolicTensor;
    const m2 = new CnnModel(tf.model({ inputs: input, outputs: sm }), { preprocess: 'unit' });
    expect(m2.softmax).toBe(true);
    expect(modelHead(m2.net).logitsLayer.name).toBe('scores');
    const small = noiseImages(1, 8, 8, 2);
    const want = tf.tidy(() => (tf.model({ inputs: input, outputs: d }).predict(small) as tf.Tensor).dataSync()[2]);
    expect(evaluateObjective(m2, { classIndex: 2 }, small)[0]).toBeCloseTo(want, 5);
    // No softmax: the output itself, read once (no duplicate-output tap model, so no TF.js warning).
    const lin = tf.layers.dense({ units: 3, name: 'lin', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }).apply(g) as tf.SymbolicTensor;
    const m3 = new CnnModel(tf.model({ inputs: input, outputs: lin }), { preprocess: 'unit' });
    expect(m3.softmax).toBe(false);
    const warn = jest.spyOn(console, 'warn');
    try {
      const want3 = tf.tidy(() => (m3.net.predict(small) as tf.Tensor).dataSync()[1]);
      expect(evaluateObjective(m3, classLogit(1).add('lin:1'), small)[0]).toBeCloseTo(2 * want3, 5);
      expect(warn.mock.calls.filter((c) => /redundant/.test(String(c[0])))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
    imgs.dispose();
    small.dispose();
  });
});

describe('parameterizations', () => {
  test('pixel and Fourier images have the requested shape, lie in (0, 1), and start from the same seeded noise', () => {
    for (const make of [pixelParam, fourierParam]) {
      const p = make({ batch: 2, height: 20, width: 15, seed: 4 });
      const v = p.image();
      expect([p.batch, p.height, p.width]).toEqual([2, 20, 15]);
      expect(v.length).toBe(2 * 20 * 15 * 3);
      expect(Math.min(...v)).toBeGreaterThan(0);
      expect(Math.max(...v)).toBeLessThan(1);
      // Both batch items start equal; a different seed starts elsewhere.
      const n = 20 * 15 * 3;
      for (let i = 0; i < n; i += 37) expect(v[i]).toBe(v[n + i]);
      const q = make({ batch: 1, height: 20, width: 15, seed: 5 });
      const w = q.image();
      expect(Array.from(w).some((x, i) => Math.abs(x - v[i]) > 1e-6)).toBe(true);
      p.dispose();
      q.dispose();
    }
  });

  test('the inverse DFT of a single frequency is a sinusoid, and the spectrum is scaled by 1/f', () => {
    const [h, w] = [8, 10];
    const L = w / 2 + 1;
    const [k, l] = [3, 2];
    const one = new Float32Array(h * L);
    one[k * L + l] = 1;
    const zero = new Float32Array(h * L);
    const cosImg = inverseRealDft2d(one, zero, h, w);
    const sinImg = inverseRealDft2d(zero, one, h, w);
    for (let n = 0; n < h; n++) {
      for (let c = 0; c < w; c++) {
        const a = 2 * Math.PI * ((k * n) / h + (l * c) / w);
        expect(cosImg[n * w + c]).toBeCloseTo(2 * Math.cos(a), 4);
        expect(sinImg[n * w + c]).toBeCloseTo(-2 * Math.sin(a), 4);
      }
    }
    // The constant term and the Nyquist column are counted once.
    const dc = new Float32Array(h * L);
    dc[0] = 1;
    const dcImg = inverseRealDft2d(dc, zero, h, w);
    expect(Math.max(...dcImg.map((v) => Math.abs(v - 1)))).toBeLessThan(1e-5);
    // 1/f: doubling the frequency halves the scale; decay 2 quarters it; k and h − k are the same frequency.
    const s = spectrumScale(32, 32);
    const Ls = 17;
    expect(s[0 * Ls + 2] / s[0 * Ls + 4]).toBeCloseTo(2, 5);
    expect(s[3 * Ls + 4] / s[6 * Ls + 8]).toBeCloseTo(2, 5);
    expect(s[3 * Ls + 1]).toBeCloseTo(s[29 * Ls + 1], 5);
    const s2 = spectrumScale(32, 32, 2);
    expect(s2[0 * Ls + 2] / s2[0 * Ls + 4]).toBeCloseTo(4, 4);
    expect(s[0]).toBeCloseTo(s[1], 5); // the constant term gets the lowest frequency's scale
  });

  test('the colour matrix is a square root of a covariance: orthogonal columns, luminance first', () => {
    const M = COLOR_SQRT_COV;
    const col = (j: number) => M.map((r) => r[j]);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]]) expect(Math.abs(dot(col(a), col(b)))).toBeLessThan(2e-4);
    expect(col(0).every((v) => v > 0)).toBe(true);
    const norms = [0, 1, 2].map((j) => Math.sqrt(dot(col(j), col(j))));
    expect(norms[0]).toBeGreaterThan(norms[1]);
    expect(norms[1]).toBeGreaterThan(norms[2]);
    const N = colorMatrix();
    expect(Math.hypot(...N.map((r) => r[0]))).toBeCloseTo(1, 6);
  });
});

describe('transforms', () => {
  const ramp = () => tf.tidy(() => tf.range(0, 2 * 12 * 10 * 3).reshape([2, 12, 10, 3]).div(720) as tf.Tensor4D);

  test('jitter, scale and rotate keep the shape, pad grows it, and all are seeded', () => {
    const x = ramp();
    for (const t of [jitter(3), scale([0.9, 1.1]), rotate(10)]) {
      const a = t.apply(x, new Rng(9));
      const b = t.apply(x, new Rng(9));
      expect(a.shape).toEqual(x.shape);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      // Some seed gives a different draw.
      const differs = [1, 2, 3, 4, 5].some((s) => {
        const c = t.apply(x, new Rng(s));
        const d = Array.from(c.dataSync()).some((v, i) => v !== a.dataSync()[i]);
        c.dispose();
        return d;
      });
      expect(differs).toBe(true);
      a.dispose();
      b.dispose();
    }
    const p = pad(4).apply(x, new Rng(1));
    expect(p.shape).toEqual([2, 20, 18, 3]);
    expect(p.slice([0, 0, 0, 0], [1, 1, 1, 1]).dataSync()[0]).toBeCloseTo(0.5, 6);
    p.dispose();
    x.dispose();
  });

  test('roll shifts cyclically; zooms and rotations keep constants and are exact at factor 1 / angle 0', () => {
    const x = ramp();
    const r = roll(x, 2, 2).arraySync();
    const xa = x.arraySync();
    expect(r[1][5][2]).toEqual(xa[1][5][0]);
    expect(r[1][5][0]).toEqual(xa[1][5][8]);
    for (const [n, m, f] of [[7, 7, 1.3], [12, 5, 1], [5, 12, 1]] as const) {
      const w = resampleMatrix(n, m, f);
      for (let i = 0; i < n; i++) expect(w.slice(i * m, (i + 1) * m).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
    // resizeLinear (TF.js's resize kernel) is the same map as the interpolation matrices, up and down.
    for (const [h, w] of [[17, 23], [7, 5]]) {
      const a = resizeLinear(x, h, w).dataSync();
      const b = resample2d(x, tf.tensor2d(resampleMatrix(h, 12), [h, 12]), tf.tensor2d(resampleMatrix(w, 10), [w, 10])).dataSync();
      expect(a.length).toBe(2 * h * w * 3);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
    }
    const identity = resampleMatrix(6, 6, 1);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) expect(identity[i * 6 + j]).toBeCloseTo(i === j ? 1 : 0, 6);
    const gray = tf.fill([1, 16, 16, 3], 0.3) as tf.Tensor4D;
    const rot = rotateBy(gray, 7).dataSync();
    expect(Math.max(...rot.map((v) => Math.abs(v - 0.3)))).toBeLessThan(1e-5);
    expect(Array.from(rotateBy(x, 0).dataSync())).toEqual(Array.from(x.dataSync()));
    // A 90° turn by three shears (exact: the shears are whole-pixel shifts) moves the pixel two to the
    // right of the centre to two below it (clockwise on screen, rows going down).
    const dot = tf.tidy(() => tf.buffer([1, 9, 9, 1]).toTensor().add(tf.oneHot([4 * 9 + 6], 81).reshape([1, 9, 9, 1])) as tf.Tensor4D);
    const turned = rotateBy(dot, 90).reshape([9, 9]).arraySync() as number[][];
    expect(turned[6][4]).toBeCloseTo(1, 4);
    expect(turned.flat().reduce((a, b) => a + Math.abs(b), 0)).toBeCloseTo(1, 4);
    gray.dispose();
    x.dispose();
    dot.dispose();
  });
});

describe('maximize', () => {
  test('a channel objective rises well above its value for noise images', async () => {
    const r = await maximize(model, 'pw_relu:5', FAST);
    const noise = noiseImages(8, 24, 24, 3);
    const noiseVals = evaluateObjective(model, 'pw_relu:5', noise);
    noise.dispose();
    const best = Math.max(...noiseVals);
    expect(r.values.length).toBe(32);
    expect(r.finalValue).toBeGreaterThan(4 * r.initialValue);
    expect(r.finalValue).toBeGreaterThan(2 * best);
    expect(r.values[31]).toBeGreaterThan(3 * r.values[0]);
    // Shown enlarged by a whole factor (24 → 240), each pattern pixel a block.
    const shown = r.image();
    expect([shown.width, shown.height]).toEqual([240, 240]);
    const raw = toRGBA(r.pixels, 24, 24);
    for (const [x, y] of [[0, 0], [5, 17], [23, 23]]) {
      for (let c = 0; c < 4; c++) expect(shown.data[((y * 10 + 9) * 240 + x * 10 + 3) * 4 + c]).toBe(raw.data[(y * 24 + x) * 4 + c]);
    }
    expect(r.text()).toMatch(/pw_relu:5/);
    expect((r.vegaLite() as { data: { values: unknown[] } }).data.values.length).toBe(32);
    expect(r.png().length).toBeGreaterThan(50);
  });

  test('a class logit rises, with the pixel parameterization and Adam', async () => {
    const steps: number[] = [];
    const r = await maximize(model, { classIndex: 2 }, { ...FAST, param: 'pixel', lr: 0.2, optimizer: 'adam', onStep: (s) => steps.push(s.step) });
    expect(steps).toEqual(Array.from({ length: 32 }, (_, i) => i));
    const noise = noiseImages(8, 24, 24, 4);
    const noiseVals = evaluateObjective(model, classLogit(2), noise);
    noise.dispose();
    expect(r.objective).toBe('logit[2]');
    expect(r.finalValue - r.initialValue).toBeGreaterThan(0.15);
    expect(r.finalValue - Math.max(...noiseVals)).toBeGreaterThan(0.15);
  });

  test('regularizers lower the total variation / L2 of the result for the same seed', async () => {
    const base = await maximize(model, 'c3:1', { ...FAST, lr: 0.2 });
    const withTv = await maximize(model, 'c3:1', { ...FAST, lr: 0.2, regularizers: { tv: 5 } });
    const withL2 = await maximize(model, 'c3:1', { ...FAST, lr: 0.2, regularizers: { l2: 20 } });
    const withBlur = await maximize(model, 'c3:1', { ...FAST, lr: 0.2, regularizers: { blur: 20 } });
    const measure = (px: Float32Array, f: (x: tf.Tensor4D) => tf.Tensor1D) =>
      tf.tidy(() => f(tf.tensor4d(px, [1, 24, 24, 3])).dataSync()[0]);
    expect(measure(withTv.pixels, tvPenalty)).toBeLessThan(0.8 * measure(base.pixels, tvPenalty));
    expect(measure(withL2.pixels, l2Penalty)).toBeLessThan(0.8 * measure(base.pixels, l2Penalty));
    expect(measure(withBlur.pixels, tvPenalty)).toBeLessThan(0.9 * measure(base.pixels, tvPenalty));
    await expect(maximize(model, 'c3:1', { ...FAST, regularizers: { sharp: 1 } as never })).rejects.toThrow(/unknown regularizer 'sharp'/);
  });

  test('runs are deterministic and leave no tensors behind', async () => {
    const opts = { ...FAST, steps: 4, transforms: 'standard' as const, size: 32 };
    const a = await maximize(model, channel('c1', 3).add(neuron('pw_relu', 2)), opts);
    const before = tf.memory().numTensors;
    const b = await maximize(model, channel('c1', 3).add(neuron('pw_relu', 2)), opts);
    await filterPatterns(model, 'c3', { ...opts, channels: 2 });
    await filterPatterns(model, 'c3', { ...opts, channels: 2 });
    await maximize(model, 'c1:0', { ...opts, steps: 2, param: 'fourier', optimizer: 'adam', regularizers: { blur: 1, tv: 1 } });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(b.pixels)).toEqual(Array.from(a.pixels));
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
  });

  test('many filters at once equal the same channels optimized one by one', async () => {
    const opts = { ...FAST, steps: 10, transforms: [jitter(2), scale([0.95, 1.05]), rotate(5)] };
    const fp = await filterPatterns(model, 'pw_relu', { ...opts, channels: [0, 3, 7], batchSize: 3 });
    expect(fp.channels).toEqual([0, 3, 7]);
    const img = fp.image();
    expect(img.width % (2 + 2 * (24 + 2))).toBe(0); // 3 tiles → 2 per row, enlarged by a whole factor
    expect(img.width).toBeGreaterThanOrEqual(224);
    for (const [i, c] of [0, 3, 7].entries()) {
      const one = await maximize(model, `pw_relu:${c}`, opts);
      let maxDiff = 0;
      for (let p = 0; p < one.pixels.length; p++) maxDiff = Math.max(maxDiff, Math.abs(one.pixels[p] - fp.pixels[i][p]));
      expect(maxDiff).toBeLessThan(1e-3);
      expect(fp.finalValues[i]).toBeCloseTo(one.finalValue, 2);
    }
    // The per-item objective picks one channel per image.
    const imgs = noiseImages(2, 24, 24, 8);
    const both = evaluateObjective(model, channels('pw_relu', [3, 7]), imgs);
    const three = evaluateObjective(model, 'pw_relu:3', imgs);
    const seven = evaluateObjective(model, 'pw_relu:7', imgs);
    expect(both[0]).toBeCloseTo(three[0], 5);
    expect(both[1]).toBeCloseTo(seven[1], 5);
    imgs.dispose();
  });

  test('in a notebook: the preview image shows under the progress bar, the finished bar alone, then the result; no empty output', async () => {
    const messages: { data: Record<string, unknown>; update: boolean; id?: string }[] = [];
    const previous = useDisplayWriter((m, update) => messages.push({ data: m.data, update, id: m.transient.display_id }));
    try {
      const r = await maximize(model, 'pw_relu:1', { ...FAST, steps: 6, preview: 2, display: true, progress: true });
      const bars = messages.filter((m) => String(m.data['text/html'] ?? '').includes('cnnvis-progress'));
      expect(new Set(bars.map((m) => m.id)).size).toBe(1);
      expect(bars.map((m) => m.update)).toEqual(bars.map((_, i) => i > 0));
      // Every preview (steps 2, 4, 6) is a picture in the bar's own output, with its caption.
      // (Ticks of the bar in between send the picture again with it.)
      const captionOf = (m: { data: Record<string, unknown> }) => /<figcaption[^>]*>([^<]*)</.exec(String(m.data['text/html']))?.[1];
      const previews = bars.filter((m, i) => captionOf(m) !== undefined && (i === 0 || captionOf(bars[i - 1]) !== captionOf(m)));
      expect(previews.map(captionOf)).toEqual([2, 4, 6].map((k) => `maximize pw_relu:1: step ${k}`));
      // The last preview is the final pattern, as computed (the result enlarges it for display).
      const src = /src="data:image\/png;base64,([^"]+)"/.exec(String(previews[2].data['text/html']))![1];
      const png = PNG.sync.read(Buffer.from(src, 'base64'));
      expect([png.width, png.height]).toEqual([r.width, r.height]);
      expect(Buffer.from(png.data).equals(Buffer.from(toRGBA(r.pixels, r.width, r.height).data))).toBe(true);
      // Finished: the bar alone, at 6/6; no other display id, no empty output anywhere.
      const done = bars[bars.length - 1];
      expect(String(done.data['text/plain'])).toMatch(/6\/6 100%$/);
      expect(String(done.data['text/html'])).not.toContain('<img');
      expect(messages.filter((m) => m.id !== undefined && m.id !== done.id)).toEqual([]);
      for (const m of messages) expect(String(m.data['text/plain']).trim()).not.toBe('');
      const last = messages[messages.length - 1];
      expect(last.data['text/plain']).toBe(r.text());
      expect(typeof last.data['image/png']).toBe('string');
    } finally {
      useDisplayWriter(previous);
    }
  });

  test('in a notebook without a progress bar: the preview has its own output, which ends as one line', async () => {
    const messages: { data: Record<string, unknown>; update: boolean; id?: string }[] = [];
    const previous = useDisplayWriter((m, update) => messages.push({ data: m.data, update, id: m.transient.display_id }));
    try {
      const r = await maximize(model, 'pw_relu:1', { ...FAST, steps: 5, preview: 2, display: true, progress: false });
      const own = messages.filter((m) => m.id !== undefined);
      expect(new Set(own.map((m) => m.id)).size).toBe(1);
      expect(own.map((m) => [m.data['text/plain'], typeof m.data['image/png'], m.update])).toEqual([
        ['maximize pw_relu:1: step 2', 'string', false],
        ['maximize pw_relu:1: step 4', 'string', true],
        ['maximize pw_relu:1: step 5', 'string', true],
        ['maximize pw_relu:1: done, 5 steps', 'undefined', true],
      ]);
      expect(messages.map((m) => m.data['text/plain'])).toEqual([...own.map((m) => m.data['text/plain']), r.text()]);
    } finally {
      useDisplayWriter(previous);
    }
  });

  test('MobileNet: a channel and a class logit rise in a few steps (input gradients work on this backend)', async () => {
    const mobilenet = await loadModel('mobilenet_v1_0.25_224');
    expect(modelHead(mobilenet.net).logitsLayer.name).toBe('reshape_2'); // conv_preds → reshape_2 → act_softmax
    const opts = { steps: 4, size: 64, display: false, progress: false, lr: 0.15, transforms: [jitter(2)] };
    const r = await maximize(mobilenet, { classIndex: 130 }, opts);
    const c = await maximize(mobilenet, 'conv_pw_5_relu:2', opts);
    expect(r.finalValue).toBeGreaterThan(r.initialValue + 2);
    expect(r.text()).toMatch(/logit\[130\]/);
    expect(c.finalValue).toBeGreaterThan(c.initialValue + 0.3);
    expect(c.values[2]).toBeGreaterThan(c.values[0]);
  });
});

/**
 * input 16×16×3 → c (conv 3×3, 2 filters, relu), preprocess 'mobilenet' (grey → 0). Filter 0 is off on
 * grey (bias −0.3) but on where red is high and blue low; filter 1 is dead (zero kernel, bias −0.1).
 */
function offOnGreyNet(): { model: CnnModel; kernel: tf.Tensor4D; bias: tf.Tensor1D } {
  const input = tf.input({ shape: [16, 16, 3], name: 'img' });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c' });
  const out = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: out, name: 'offgrey' });
  const k = new Float32Array(3 * 3 * 3 * 2);
  for (let p = 0; p < 9; p++) {
    k[(p * 3 + 0) * 2] = 0.5; // red up
    k[(p * 3 + 2) * 2] = -0.5; // blue down
  }
  const kernel = tf.tensor4d(k, [3, 3, 3, 2]);
  const bias = tf.tensor1d([-0.3, -0.1]);
  conv.setWeights([kernel, bias]);
  return { model: new CnnModel(net, { name: 'offgrey', preprocess: 'mobilenet' }), kernel, bias };
}

describe('starts that a ReLU unit can feel', () => {
  test('amplify scales one item of the start along the same noise, the others untouched', () => {
    for (const make of [pixelParam, fourierParam]) {
      const p = make({ batch: 2, height: 8, width: 8, seed: 2, decorrelate: false });
      const before = p.image();
      p.amplify([1, 4]);
      const after = p.image();
      const logit = (v: number) => Math.log(v / (1 - v));
      const n = 8 * 8 * 3;
      for (let i = 0; i < n; i++) {
        expect(after[i]).toBe(before[i]);
        expect(logit(after[n + i])).toBeCloseTo(4 * logit(before[n + i]), 4);
      }
      expect(Math.max(...Array.from(before.slice(0, n), (v) => Math.abs(logit(v))))).toBeGreaterThan(1e-3);
      p.dispose();
    }
  });

  test('a conv+ReLU filter off on grey gets a positive objective in a few steps; a dead one is named in the warnings', async () => {
    const { model: m, kernel, bias } = offOnGreyNet();
    const opts = { ...FAST, steps: 8, size: 16 };
    // The weak start (sd 0.01, pixels 0.5 ± ~0.002) leaves filter 0 off everywhere: objective exactly 0.
    const start = fourierParam({ batch: 1, height: 16, width: 16, seed: FAST.seed ?? 0, sd: 0.01 });
    expect(tf.tidy(() => evaluateObjective(m, 'c:0', tf.tensor4d(start.image(), [1, 16, 16, 3])))[0]).toBe(0);
    start.dispose();
    const before = tf.memory().numTensors;
    const r = await filterPatterns(m, 'c', { ...opts, channels: [0, 1] });
    expect(tf.memory().numTensors).toBe(before);
    // Independent check of the final value: the layer's math on the returned pixels.
    const want = tf.tidy(() => {
      const x = tf.tensor4d(r.pixels[0], [1, 16, 16, 3]).mul(2).sub(1) as tf.Tensor4D;
      return tf.relu(tf.conv2d(x, kernel, 1, 'same').add(bias)).mean([0, 1, 2]).dataSync()[0];
    });
    expect(r.finalValues[0]).toBeCloseTo(want, 4);
    expect(r.finalValues[0]).toBeGreaterThan(1); // at most 8.7: nine taps of red 1, blue −1, bias −0.3
    // It got there by making red high and blue low.
    let red = 0;
    let blue = 0;
    for (let i = 0; i < r.pixels[0].length; i += 3) {
      red += r.pixels[0][i];
      blue += r.pixels[0][i + 2];
    }
    expect(red - blue).toBeGreaterThan(0.05 * 256);
    expect(r.finalValues[1]).toBe(0);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^the mean of c channel 1 stayed exactly 0 with a zero gradient/);
    expect(r.text()).toContain('warning: the mean of c channel 1');
    // Per item: filter 0 alone follows the same path as in the batch with the dead filter.
    const alone = await maximize(m, 'c:0', opts);
    expect(Array.from(alone.pixels)).toEqual(Array.from(r.pixels[0]));
    expect(alone.warnings).toEqual([]);
    const dead = await maximize(m, 'c:1', { ...opts, steps: 2 });
    expect(dead.warnings).toHaveLength(1);
    expect(dead.warnings[0]).toMatch(/^the objective c:1 stayed exactly 0/);
    kernel.dispose();
    bias.dispose();
  });
});

test('fast layer forms (affine batch norm, unfused linear conv) give the same values and input gradients, and are restored', () => {
  const input = tf.input({ shape: [10, 10, 3] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'cv', kernelInitializer: tf.initializers.heNormal({ seed: 1 }), biasInitializer: tf.initializers.constant({ value: 0.2 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ maxValue: 6, name: 'r6' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, useBias: false, name: 'c2', kernelInitializer: tf.initializers.heNormal({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: x });
  net.getLayer('bn').setWeights([tf.tensor1d([1.5, 0.5, 2, 1]), tf.tensor1d([0.1, -0.2, 0.3, 0]), tf.tensor1d([0.2, -0.1, 0.05, 0.3]), tf.tensor1d([0.5, 2, 1, 0.25])]);
  const img = tf.randomNormal([2, 10, 10, 3], 0, 1, 'float32', 4);
  const wts = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 5);
  const run = () =>
    tf.tidy(() => {
      const f = (t: tf.Tensor) => (net.apply(t) as tf.Tensor).mul(wts).sum();
      return [f(img).dataSync()[0], ...Array.from(tf.grad(f)(img).dataSync())];
    });
  const plain = run();
  const fast = withFastLayers(net, () => {
    expect(Object.prototype.hasOwnProperty.call(net.getLayer('bn'), 'call')).toBe(true);
    expect(Object.prototype.hasOwnProperty.call(net.getLayer('c2'), 'call')).toBe(true);
    return run();
  });
  for (const l of net.layers) expect(Object.prototype.hasOwnProperty.call(l, 'call')).toBe(false);
  expect(Math.abs(plain[0])).toBeGreaterThan(0.1);
  for (let i = 0; i < plain.length; i++) expect(fast[i]).toBeCloseTo(plain[i], 4);
  expect(() => withFastLayers(net, () => { throw new Error('boom'); })).toThrow('boom');
  for (const l of net.layers) expect(Object.prototype.hasOwnProperty.call(l, 'call')).toBe(false);
  tf.dispose([img, wts]);
});

describe('wasm input-gradient kernels', () => {
  beforeAll(() => ensureInputGradients());

  /** Naive gradient of sum(w ⊙ depthwiseConv2d(x, f)) with respect to x. */
  function naiveDepthwiseGrad(x: number[][][][], f: number[][][][], wts: number[][][][], stride: number, padTop: number, padLeft: number): number[][][][] {
    const [b, H, W, C] = [x.length, x[0].length, x[0][0].length, x[0][0][0].length];
    const [kh, kw, , mult] = [f.length, f[0].length, f[0][0].length, f[0][0][0].length];
    const out = x.map((img) => img.map((row) => row.map((px) => px.map(() => 0))));
    forEachConvTap({ batch: b, inH: H, inW: W, outH: wts[0].length, outW: wts[0][0].length, kh, kw, stride, padTop, padLeft }, (n, i, j, u, v, y, xx) => {
      for (let c = 0; c < C; c++) for (let m = 0; m < mult; m++) out[n][y][xx][c] += f[u][v][c][m] * wts[n][i][j][c * mult + m];
    });
    return out;
  }

  test.each([
    [1, 'same', 1],
    [2, 'same', 1],
    [2, 'valid', 1],
    [2, 'same', 2],
    [1, 'valid', 3],
  ] as const)('depthwise input gradient, stride %d, %s padding, multiplier %d', (stride, padding, mult) => {
    const H = 7;
    const W = 6;
    const C = 2;
    const x = tf.randomNormal([2, H, W, C], 0, 1, 'float32', 1) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, C, mult], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.depthwiseConv2d(x, f, stride, padding);
    const wts = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const g = tf.grad((xx: tf.Tensor) => tf.depthwiseConv2d(xx as tf.Tensor4D, f, stride, padding).mul(wts).sum())(x);
    const [oh, ow] = [y.shape[1], y.shape[2]];
    const padTop = padding === 'same' ? Math.floor(Math.max((oh - 1) * stride + 3 - H, 0) / 2) : 0;
    const padLeft = padding === 'same' ? Math.floor(Math.max((ow - 1) * stride + 3 - W, 0) / 2) : 0;
    const want = naiveDepthwiseGrad(x.arraySync(), f.arraySync(), wts.arraySync() as number[][][][], stride, padTop, padLeft);
    const got = g.arraySync() as number[][][][];
    for (let n = 0; n < 2; n++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) for (let c = 0; c < C; c++) expect(got[n][i][j][c]).toBeCloseTo(want[n][i][j][c], 4);
    tf.dispose([x, f, y, wts, g]);
  });
});

describe('the first step checks the start', () => {
  test('a recorded generator replays its draws, then continues from its source', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    const rec = Rng.recording(a);
    const first = [rec.rng.next(), rec.rng.next(), rec.rng.int(0, 9)];
    const want = [b.next(), b.next(), Math.floor(b.next() * 10)];
    expect(first).toEqual(want);
    const again = rec.replay();
    expect([again.next(), again.next(), again.int(0, 9)]).toEqual(want);
    expect(again.next()).toBe(b.next());
    // The source moved on by what the replay drew past the record.
    expect(a.next()).toBe(b.next());
  });

  test('one engine pass per step when every item responds; the first step again for each stronger start', async () => {
    const count = (m: CnnModel) => {
      const e = m.engine;
      const orig = e.objectiveGradient.bind(e);
      let n = 0;
      e.objectiveGradient = (...args: Parameters<typeof orig>) => {
        n++;
        return orig(...args);
      };
      return { calls: () => n, restore: () => (e.objectiveGradient = orig) };
    };
    const c = count(model);
    try {
      await maximize(model, 'pw_relu:5', { ...FAST, steps: 5 });
      expect(c.calls()).toBe(5);
    } finally {
      c.restore();
    }
    const { model: m } = offOnGreyNet();
    const d = count(m);
    try {
      // Filter 0 is off on the weak start: stronger starts until it responds, each a retake of step 1.
      const r = await maximize(m, 'c:0', { ...FAST, steps: 3, size: 16 });
      expect(r.finalValue).toBeGreaterThan(0);
      expect(d.calls()).toBeGreaterThan(3);
      expect(d.calls()).toBeLessThanOrEqual(3 + 4);
    } finally {
      d.restore();
    }
  });
});
