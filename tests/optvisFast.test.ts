/**
 * Activation maximization's image side in plain arrays: the FFT, the real inverse 2-D DFT and its
 * adjoint, the parameterizations' gradients, and the sampler that does the transforms and the resize
 * as one bilinear sampling — each checked against an independent reference (naive sums, finite
 * differences, the TF.js transforms).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { affinePreprocess, preprocessImages } from '../kernel/src/optvis/render';
import { PREPROCESS_NAMES } from '../kernel/src/types';
import { CnnModel } from '../kernel/src/models/model';
import {
  applyTransforms,
  fft,
  fourierParam,
  inverseDftMatrices,
  inverseRealDft2d,
  inverseRealDft2dAdjoint,
  jitter,
  maximize,
  pad,
  pixelParam,
  resizeLinear,
  Rng,
  rotate,
  Sampler,
  scale,
  standardTransforms,
  Transform,
} from '../kernel/src/optvis';

beforeAll(async () => {
  await initBackend();
});

/** Deterministic pseudo-random values in [−1, 1). */
function values(n: number, seed: number): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: n }, () => r.uniform(-1, 1));
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe('FFT', () => {
  test.each([1, 2, 3, 4, 5, 6, 8, 9, 12, 15, 17, 49, 61, 67, 128, 150, 224, 227, 299, 512])('length %d equals the naive DFT, both directions, batched', (n) => {
    const batch = 3;
    const re = values(n * batch, n);
    const im = values(n * batch, n + 1000);
    for (const sign of [-1, 1] as const) {
      const [r, i] = [re.slice(), im.slice()];
      fft(r, i, n, batch, sign);
      for (let b = 0; b < batch; b++) {
        let err = 0;
        let size = 0;
        for (let k = 0; k < n; k++) {
          let sr = 0;
          let si = 0;
          for (let j = 0; j < n; j++) {
            const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
            const [xr, xi] = [re[j * batch + b], im[j * batch + b]];
            sr += xr * Math.cos(a) - xi * Math.sin(a);
            si += xr * Math.sin(a) + xi * Math.cos(a);
          }
          err = Math.max(err, Math.abs(sr - r[k * batch + b]), Math.abs(si - i[k * batch + b]));
          size = Math.max(size, Math.abs(sr), Math.abs(si));
        }
        expect(err / size).toBeLessThan(1e-9);
      }
    }
  });
});

test('large prime lengths (Bluestein): forward then inverse gives n times the input', () => {
  for (const n of [1021, 1019, 2 * 523]) {
    const re = values(n * 2, n);
    const im = values(n * 2, n + 1);
    const [r, i] = [re.slice(), im.slice()];
    fft(r, i, n, 2, -1);
    expect(maxAbs(r.map((v, k) => v - re[k]))).toBeGreaterThan(1); // it did transform
    fft(r, i, n, 2, 1);
    expect(maxAbs(r.map((v, k) => v / n - re[k]))).toBeLessThan(1e-10);
    expect(maxAbs(i.map((v, k) => v / n - im[k]))).toBeLessThan(1e-10);
  }
});

describe('real inverse 2-D DFT', () => {
  /** The dense reference: the matrices of inverseDftMatrices, along rows then columns. */
  function naive(re: ArrayLike<number>, im: ArrayLike<number>, h: number, w: number): Float64Array {
    const L = Math.floor(w / 2) + 1;
    const m = inverseDftMatrices(h, w);
    const yr = new Float64Array(h * L);
    const yi = new Float64Array(h * L);
    for (let n = 0; n < h; n++) {
      for (let l = 0; l < L; l++) {
        for (let k = 0; k < h; k++) {
          const [c, s] = [m.cosH[n * h + k], m.sinH[n * h + k]];
          yr[n * L + l] += c * re[k * L + l] - s * im[k * L + l];
          yi[n * L + l] += s * re[k * L + l] + c * im[k * L + l];
        }
      }
    }
    const x = new Float64Array(h * w);
    for (let n = 0; n < h; n++) {
      for (let c = 0; c < w; c++) {
        for (let l = 0; l < L; l++) x[n * w + c] += yr[n * L + l] * m.cosW[l * w + c] - yi[n * L + l] * m.sinW[l * w + c];
      }
    }
    return x;
  }

  test.each([[8, 10], [15, 17], [13, 13], [7, 224], [150, 150], [1, 9], [227, 6]])('%d×%d: the FFT form equals the matrix form; the adjoint passes the dot-product test', (h, w) => {
    const L = Math.floor(w / 2) + 1;
    const re = values(h * L, h * 31 + w);
    const im = values(h * L, h * 37 + w);
    const x = inverseRealDft2d(re, im, h, w);
    const want = naive(re, im, h, w);
    let err = 0;
    for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(x[i] - want[i]));
    expect(err / maxAbs(want)).toBeLessThan(1e-4);
    // <A x, g> = <x, Aᵀ g>
    const g = values(h * w, h + w);
    const a = inverseRealDft2dAdjoint(g, h, w);
    const lhs = dot(x, g);
    const rhs = dot(re, a.re) + dot(im, a.im);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-9 * (Math.abs(lhs) + maxAbs(g) * h * w));
    // The adjoint is not trivially consistent: it has the dense form's values too.
    const basis = new Float64Array(h * L);
    basis[Math.min(1, h - 1) * L + Math.min(1, L - 1)] = 1;
    const col = naive(basis, new Float64Array(h * L), h, w);
    const want1 = dot(col, g); // float32 matrices: agree to float32 precision
    expect(Math.abs(a.re[Math.min(1, h - 1) * L + Math.min(1, L - 1)] - want1)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want1)));
  });
});

describe('parameterization gradients', () => {
  test.each([
    ['pixel', true],
    ['pixel', false],
    ['fourier', true],
    ['fourier', false],
  ] as const)('%s (decorrelate %s): backward equals central differences of a linear functional of the image', (name, decorrelate) => {
    const make = name === 'pixel' ? pixelParam : fourierParam;
    // A strong start (sd 1 for pixels; the Fourier normalization keeps its pixels near sd 1) so the sigmoid is curved.
    const p = make({ batch: 2, height: 9, width: 12, seed: 5, sd: name === 'pixel' ? 1 : 30, decorrelate });
    const r = values(2 * 9 * 12 * 3, 77);
    const f = () => dot(p.image(), r);
    p.image();
    const grads = p.backward(Float32Array.from(r));
    expect(grads.map((g) => g.length)).toEqual(p.params.map((v) => v.length));
    for (let dir = 0; dir < 3; dir++) {
      const u = p.params.map((v, j) => values(v.length, 100 * dir + j));
      const eps = 1e-2;
      const move = (k: number) => p.params.forEach((v, j) => u[j].forEach((d, i) => (v[i] += k * d)));
      move(eps);
      const up = f();
      move(-2 * eps);
      const down = f();
      move(eps);
      const numeric = (up - down) / (2 * eps);
      const analytic = grads.reduce((s, g, j) => s + dot(g, u[j]), 0);
      expect(Math.abs(numeric)).toBeGreaterThan(1e-2);
      expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 * Math.abs(numeric) + 1e-4);
    }
    p.dispose();
  });
});

describe('sampler', () => {
  /** A smooth test image [B, H, W, 3] in (0, 1), different per item and colour. */
  function smooth(b: number, h: number, w: number): Float32Array {
    const out = new Float32Array(b * h * w * 3);
    for (let n = 0; n < b; n++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) {
            out[((n * h + y) * w + x) * 3 + c] = 0.5 + 0.3 * Math.sin((2 * Math.PI * (y + 2 * c + n)) / h) * Math.cos((2 * Math.PI * (x - c)) / w + 0.4 * n);
          }
        }
      }
    }
    return out;
  }

  function viaTfjs(img: Float32Array, shape: [number, number, number, number], list: readonly Transform[], seed: number, out?: [number, number]): Float32Array {
    return tf.tidy(() => {
      let t = applyTransforms(tf.tensor4d(img, shape), list, new Rng(seed));
      if (out) t = resizeLinear(t, out[0], out[1]);
      return t.dataSync() as Float32Array;
    });
  }

  test('pads and jitters equal the TF.js transforms exactly; so does the plain resize', () => {
    const [b, h, w] = [2, 11, 14];
    const img = smooth(b, h, w);
    const lists: Transform[][] = [[pad(3), jitter(2)], [pad(2), pad(1, 0.2), jitter(3), jitter(1)], [jitter(4)], [pad(2)], []];
    for (const list of lists) {
      for (const seed of [1, 2, 3]) {
        const s = Sampler.from(list, h, w, null, null)!;
        const got = s.draw(new Rng(seed)).forward(img, b);
        const want = viaTfjs(img, [b, h, w, 3], list, seed);
        expect(got.length).toBe(want.length);
        expect(maxAbs(got.map((v, i) => v - want[i]))).toBeLessThan(1e-6);
      }
    }
    // pad + jitter, then the resize to a model's input (one interpolation on both paths).
    for (const [ho, wo] of [[17, 23], [7, 5], [24, 24]]) {
      const list = [pad(2), jitter(2)];
      const got = Sampler.from(list, h, w, ho, wo)!.draw(new Rng(4)).forward(img, b);
      const want = viaTfjs(img, [b, h, w, 3], list, 4, [ho, wo]);
      expect(maxAbs(got.map((v, i) => v - want[i]))).toBeLessThan(1e-5);
    }
  });

  test('scale and rotate agree with the TF.js transforms on a smooth image away from the border', () => {
    const [b, h, w] = [1, 40, 36];
    const img = smooth(b, h, w);
    for (const list of [[scale([0.9, 1.1])], [rotate(10)], [scale([1.05]), rotate(8), jitter(2)]]) {
      for (const seed of [1, 5]) {
        const got = Sampler.from(list, h, w, null, null)!.draw(new Rng(seed)).forward(img, b);
        const want = viaTfjs(img, [b, h, w, 3], list, seed);
        let err = 0;
        let moved = 0;
        for (let y = 8; y < h - 8; y++) {
          for (let x = 8; x < w - 8; x++) {
            for (let c = 0; c < 3; c++) {
              const i = (y * w + x) * 3 + c;
              err = Math.max(err, Math.abs(got[i] - want[i]));
              moved = Math.max(moved, Math.abs(want[i] - img[i]));
            }
          }
        }
        expect(moved).toBeGreaterThan(0.02); // the transform did something
        expect(err).toBeLessThan(0.01);
      }
    }
  });

  test('a constant 0.5 image stays 0.5 everywhere through the standard transforms and a resize; same seed, same taps', () => {
    const [h, w] = [30, 26];
    const s = Sampler.from(standardTransforms(), h, w, 50, 45)!;
    const half = new Float32Array(2 * h * w * 3).fill(0.5);
    for (const seed of [0, 1, 2]) expect(maxAbs(s.draw(new Rng(seed)).forward(half, 2).map((v) => v - 0.5))).toBeLessThan(1e-6);
    const a = s.draw(new Rng(9));
    const again = s.draw(new Rng(9));
    const other = s.draw(new Rng(10));
    expect(Array.from(again.index)).toEqual(Array.from(a.index));
    expect(Array.from(again.weight)).toEqual(Array.from(a.weight));
    expect(Array.from(again.bias)).toEqual(Array.from(a.bias));
    expect(Array.from(other.weight).some((v, i) => v !== a.weight[i])).toBe(true);
    // The taps' weights and the padding's share sum to 1 for every output pixel.
    for (let o = 0; o < 50 * 45; o++) expect(a.weight[4 * o] + a.weight[4 * o + 1] + a.weight[4 * o + 2] + a.weight[4 * o + 3] + a.bias[o] / 0.5).toBeCloseTo(1, 5);
  });

  test('the adjoint passes the dot-product test', () => {
    const [b, h, w] = [2, 21, 18];
    const s = Sampler.from(standardTransforms(), h, w, 32, 29)!;
    const map = s.draw(new Rng(3));
    const x = Float32Array.from(values(b * h * w * 3, 1));
    const y = Float32Array.from(values(b * 32 * 29 * 3, 2));
    const linear = map.forward(x, b).map((v, i) => v - map.forward(new Float32Array(x.length), b)[i]);
    const lhs = dot(linear, y);
    const rhs = dot(x, map.adjoint(y, b));
    expect(Math.abs(lhs)).toBeGreaterThan(1);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.abs(lhs));
  });

  test('lists the sampler cannot express get none', () => {
    const own: Transform = { name: 'flip', apply: (x) => tf.reverse(x, 2) };
    expect(Sampler.from([pad(2), own], 10, 10, null, null)).toBeNull();
    expect(Sampler.from([jitter(2), pad(2)], 10, 10, null, null)).toBeNull();
    expect(Sampler.from(standardTransforms(), 10, 10, null, null)).not.toBeNull();
  });
});

/** input 24×24×3 → conv 3×3 (6, relu) → gap → dense 4. */
function tinyNet(): CnnModel {
  const input = tf.input({ shape: [24, 24, 3] });
  const c = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c', kernelInitializer: tf.initializers.heNormal({ seed: 4 }), biasInitializer: tf.initializers.constant({ value: 0.1 }) }).apply(input) as tf.SymbolicTensor;
  const g = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(c) as tf.SymbolicTensor;
  const d = tf.layers.dense({ units: 4, name: 'out', kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }) }).apply(g) as tf.SymbolicTensor;
  return new CnnModel(tf.model({ inputs: input, outputs: d, name: 'tiny' }), { name: 'tiny', preprocess: 'mobilenet' });
}

test('the preprocessing as A·v + b per pixel equals preprocessImages, every mode, RGB and gray models', () => {
  const gap = (c: number) => {
    const input = tf.input({ shape: [4, 5, c] });
    return tf.model({ inputs: input, outputs: tf.layers.globalAveragePooling2d({}).apply(input) as tf.SymbolicTensor });
  };
  const img = Float32Array.from(values(2 * 4 * 5 * 3, 3).map((v) => 0.5 + 0.5 * v));
  for (const c of [3, 1]) {
    for (const mode of PREPROCESS_NAMES) {
      const m = new CnnModel(gap(c), { preprocess: mode });
      const f = affinePreprocess(m)!;
      const want = tf.tidy(() => preprocessImages(m, tf.tensor4d(img, [2, 4, 5, 3])).dataSync());
      // As many channels as preprocessImages gives (gray models: 1, or 3 where a mode broadcasts per-colour constants).
      const k = want.length / 40;
      expect(f.channels).toBe(k);
      if (c === 1 && (mode === 'mobilenet' || mode === 'unit' || mode === 'none')) expect(k).toBe(1);
      for (let q = 0; q < 40; q++) {
        for (let o = 0; o < k; o++) {
          const got = f.b[o] + f.a[o * 3] * img[q * 3] + f.a[o * 3 + 1] * img[q * 3 + 1] + f.a[o * 3 + 2] * img[q * 3 + 2];
          expect(Math.abs(got - want[q * k + o])).toBeLessThan(1e-4 * (1 + Math.abs(want[q * k + o])));
        }
      }
    }
  }
});

describe('the render loop', () => {
  const base = { steps: 12, display: false, progress: false, seed: 2, lr: 0.1 } as const;
  /** jitter without its geometric form: the list then runs through TF.js. */
  const plainJitter = (n: number): Transform => ({ name: `plain jitter(${n})`, apply: jitter(n).apply });

  test('the sampled path and the TF.js path give the same run for pads, jitters and the resize', async () => {
    const m = tinyNet();
    for (const param of ['fourier', 'pixel'] as const) {
      const fast = await maximize(m, 'c:2', { ...base, param, size: 20, transforms: [pad(2), jitter(3)] });
      const slow = await maximize(m, 'c:2', { ...base, param, size: 20, transforms: [pad(2), plainJitter(3)] });
      expect(fast.finalValue).toBeGreaterThan(fast.initialValue + 0.05);
      for (let i = 0; i < base.steps; i++) expect(fast.values[i]).toBeCloseTo(slow.values[i], 3);
      expect(maxAbs(fast.pixels.map((v, i) => v - slow.pixels[i]))).toBeLessThan(2e-3);
    }
  });

  test("a user's transform without geometry: the TF.js path, and the objective still rises; tensors are freed", async () => {
    const m = tinyNet();
    const flip: Transform = { name: 'flip', apply: (x) => tf.reverse(x, 2) };
    await maximize(m, { classIndex: 1 }, { ...base, steps: 2, transforms: [flip] }); // loads what a first run loads
    const before = tf.memory().numTensors;
    const r = await maximize(m, { classIndex: 1 }, { ...base, transforms: [jitter(1), flip, rotate(5)], regularizers: { tv: 0.1 } });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.settings.transforms).toEqual(['jitter(1)', 'flip', 'rotate(5)']);
    expect(r.finalValue).toBeGreaterThan(r.initialValue + 0.05);
    expect(r.values[base.steps - 1]).toBeGreaterThan(r.values[0]);
  });
});
