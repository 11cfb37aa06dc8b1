/**
 * Keras activations on load: every activation Keras 2 or 3 writes into a config, as an Activation layer
 * and fused into a Dense layer, computes Keras' own formula for the file's Keras version (plain-JS
 * references below, from keras/src/activations/activations.py and tf_keras/activations.py) on values
 * spanning [−8, 8]; Keras 3's hard_sigmoid (relu6(x + 3) / 6) differs from Keras 2's (clip(0.2x + 0.5)).
 * A small squeeze-excitation CNN written by tests/fixtures/make_keras_activations.py (h5py, Keras 3's
 * on-disk layout) as a .keras archive and as Keras 3 and Keras 2 legacy .h5 files predicts like numpy,
 * on TF.js and on the engine.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { ortUnsupportedReason } from '../kernel/src/engine/onnx/net';
import { setAccelEnabled } from '../kernel/src/engine/onnx/runtime';
import { logitsOf } from '../kernel/src/explain/gradients';
import { buildKerasModel, loadKerasH5 } from '../kernel/src/models/keras';
import { loadKeras3 } from '../kernel/src/models/keras3';
import { CnnModel } from '../kernel/src/models/model';

beforeAll(async () => {
  await initBackend();
});

// ---------------------------------------------------------------------------------------------------
// Keras' definitions, in double precision

/** erf by its Taylor series (|z| ≤ 4; beyond, erf = ±1 to 2e-8). */
function erf(z: number): number {
  if (Math.abs(z) > 4) return Math.sign(z);
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (-z * z) / n;
    const t = term / (2 * n + 1);
    sum += t;
    if (Math.abs(t) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const clip = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);
const hardSigmoid3 = (x: number) => clip(x + 3, 0, 6) / 6;
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

type Ref = (x: number) => number;
const ELEMENTWISE: Record<string, Ref> = {
  linear: (x) => x,
  relu: (x) => Math.max(x, 0),
  relu6: (x) => clip(x, 0, 6),
  leaky_relu: (x) => (x > 0 ? x : 0.2 * x),
  sigmoid,
  tanh: Math.tanh,
  elu: (x) => (x > 0 ? x : Math.expm1(x)),
  selu: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
  softplus,
  softsign: (x) => x / (Math.abs(x) + 1),
  silu: (x) => x * sigmoid(x),
  swish: (x) => x * sigmoid(x),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  mish: (x) => x * Math.tanh(softplus(x)),
  exponential: Math.exp,
  hard_silu: (x) => x * hardSigmoid3(x),
  hard_swish: (x) => x * hardSigmoid3(x),
  celu: (x) => Math.max(0, x) + Math.min(0, Math.expm1(x)),
  hard_tanh: (x) => clip(x, -1, 1),
  log_sigmoid: (x) => -softplus(-x),
  tanh_shrink: (x) => x - Math.tanh(x),
  soft_shrink: (x) => (x > 0.5 ? x - 0.5 : x < -0.5 ? x + 0.5 : 0),
  hard_shrink: (x) => (Math.abs(x) > 0.5 ? x : 0),
  squareplus: (x) => (x + Math.sqrt(x * x + 4)) / 2,
  sparse_plus: (x) => (x <= -1 ? 0 : x < 1 ? (x + 1) ** 2 / 4 : x),
  sparse_sigmoid: (x) => clip(0.5 * x + 0.5, 0, 1),
};
/** hard_sigmoid by Keras version. */
const HARD_SIGMOID: Record<'2' | '3', Ref> = { '2': (x) => clip(0.2 * x + 0.5, 0, 1), '3': hardSigmoid3 };
/** Activations over the whole vector. */
function vectorRef(name: string, xs: number[]): number[] {
  const m = Math.max(...xs);
  const lse = m + Math.log(xs.reduce((a, v) => a + Math.exp(v - m), 0));
  return name === 'softmax' ? xs.map((v) => Math.exp(v - lse)) : xs.map((v) => v - lse);
}

/** −8 … 8 in steps of 1/16 (exact in float32), and the points where piecewise functions switch. */
const XS = Array.from({ length: 257 }, (_, i) => -8 + i / 16);
const N = XS.length;

// ---------------------------------------------------------------------------------------------------
// Configs as Keras 2 and Keras 3 write them

function keras3Config(activation: unknown, dense: boolean): object {
  const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  const input = { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, N], dtype: 'float32', sparse: false, name: 'x' }, registered_name: null };
  const layer = dense
    ? { module: 'keras.layers', class_name: 'Dense', config: { name: 'f', trainable: true, dtype: policy, units: N, activation, use_bias: true }, registered_name: null, build_config: { input_shape: [null, N] } }
    : { module: 'keras.layers', class_name: 'Activation', config: { name: 'f', trainable: true, dtype: policy, activation }, registered_name: null, build_config: { input_shape: [null, N] } };
  return { module: 'keras', class_name: 'Sequential', config: { name: 'm', trainable: true, dtype: policy, layers: [input, layer] }, registered_name: null };
}

function keras2Config(activation: unknown, dense: boolean): object {
  const layer = dense
    ? { class_name: 'Dense', config: { name: 'f', trainable: true, dtype: 'float32', units: N, activation, use_bias: true, batch_input_shape: [null, N] } }
    : { class_name: 'Activation', config: { name: 'f', trainable: true, dtype: 'float32', activation, batch_input_shape: [null, N] } };
  return { class_name: 'Sequential', config: { name: 'm', layers: [layer] } };
}

/** The model's output on XS (a Dense layer gets the identity kernel and a zero bias). */
async function outputOf(config: object, version: string | undefined, dense: boolean): Promise<Float32Array> {
  const net = await buildKerasModel(config, 'test config', "'test'", version);
  try {
    if (dense) net.layers[net.layers.length - 1].setWeights([tf.eye(N), tf.zeros([N])]);
    const n0 = tf.memory().numTensors;
    const y = tf.tidy(() => net.predict(tf.tensor2d(XS, [1, N])) as tf.Tensor);
    const out = y.dataSync() as Float32Array;
    y.dispose();
    expect(tf.memory().numTensors).toBe(n0);
    return out;
  } finally {
    net.dispose();
  }
}

function worst(out: ArrayLike<number>, ref: number[]): { err: number; at: number } {
  let err = 0;
  let at = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(out[i] - ref[i]) / Math.max(1, Math.abs(ref[i]));
    if (e > err) [err, at] = [e, XS[i]];
  }
  return { err, at };
}

const CASES: Array<{ name: string; version: '2' | '3'; ref: number[] }> = [];
for (const version of ['2', '3'] as const) {
  for (const [name, f] of Object.entries(ELEMENTWISE)) {
    // hard_silu and the newer functions exist in Keras 3 only.
    if (version === '2' && /^(hard_s|celu|hard_tanh|log_sigmoid|tanh_shrink|soft_shrink|hard_shrink|squareplus|sparse_)/.test(name)) continue;
    CASES.push({ name, version, ref: XS.map(f) });
  }
  CASES.push({ name: 'hard_sigmoid', version, ref: XS.map(HARD_SIGMOID[version]) });
  for (const v of ['softmax', 'log_softmax']) CASES.push({ name: v, version, ref: vectorRef(v, XS) });
}

describe.each([
  ['Activation layer', false],
  ['fused into Dense', true],
])('%s', (_, dense) => {
  test.each(CASES.map((c) => [c.name, `Keras ${c.version}`, c] as const))('%s (%s) equals Keras within 1e-6', async (_n, _v, c) => {
    const config = c.version === '3' ? keras3Config(c.name, dense) : keras2Config(c.name, dense);
    const out = await outputOf(config, c.version === '3' ? '3.8.0' : '2.15.0', dense);
    const w = worst(out, c.ref);
    expect([c.name, w.at, w.err < 1e-6]).toEqual([c.name, w.at, true]);
  });
});

test("hard_sigmoid follows the file's Keras version; without one, a config with Keras 3's keys is Keras 3's", async () => {
  const k3 = XS.map(HARD_SIGMOID['3']);
  const k2 = XS.map(HARD_SIGMOID['2']);
  // The two definitions differ (by up to 0.1), so each check below can fail.
  expect(worst(k3, k2).err).toBeGreaterThan(0.05);
  expect(worst(await outputOf(keras3Config('hard_sigmoid', false), undefined, false), k3).err).toBeLessThan(1e-6);
  expect(worst(await outputOf(keras2Config('hard_sigmoid', false), undefined, false), k2).err).toBeLessThan(1e-6);
  // tf.keras 2.13–2.15 writes Keras 3-style keys in .keras archives: the version decides.
  expect(worst(await outputOf(keras3Config('hard_sigmoid', false), '2.15.0', false), k2).err).toBeLessThan(1e-6);
  // The dict form {class_name: 'function', config: name} that Keras writes in some contexts.
  const dict = { module: 'keras.activations', class_name: 'function', config: 'hard_sigmoid', registered_name: 'hard_sigmoid' };
  expect(worst(await outputOf(keras3Config(dict, true), '3.1.0', true), k3).err).toBeLessThan(1e-6);
});

test("Keras layer configs: LeakyReLU's negative_slope (Keras 3) and alpha (Keras 2), ReLU's max_value / negative_slope / threshold", async () => {
  const seq = (layer: object) => ({ class_name: 'Sequential', config: { name: 'm', layers: [{ class_name: 'InputLayer', config: { batch_input_shape: [null, N], name: 'x' } }, layer] } });
  const run = async (layer: object) => outputOf(seq(layer), '3.8.0', false);
  const leaky = (a: number) => XS.map((x) => (x > 0 ? x : a * x));
  expect(worst(await run({ class_name: 'LeakyReLU', config: { name: 'f', negative_slope: 0.05 } }), leaky(0.05)).err).toBeLessThan(1e-6);
  expect(worst(await run({ class_name: 'LeakyReLU', config: { name: 'f', alpha: 0.15 } }), leaky(0.15)).err).toBeLessThan(1e-6);
  // Keras: x·[x > t], clipped to [0, m] when m is set, minus s·relu(t − x).
  const relu = (s: number, m: number | null, t: number) => XS.map((x) => (m === null ? (x > t ? x : 0) : clip(x > t ? x : 0, 0, m)) - s * Math.max(t - x, 0));
  for (const [s, m, t] of [[0, null, 0], [0, 6, 0], [0, 2.5, 0], [0.1, null, 0], [0.1, 3, 0], [0, null, 0.5], [0.2, 4, -1]] as const) {
    const out = await run({ class_name: 'ReLU', config: { name: 'f', max_value: m, negative_slope: s, threshold: t } });
    expect([s, m, t, worst(out, relu(s, m, t)).err < 1e-6]).toEqual([s, m, t, true]);
  }
});

// ---------------------------------------------------------------------------------------------------
// A Keras 3 archive and legacy .h5 files against numpy

const PY = '/usr/bin/python3';
const hasH5py = spawnSync(PY, ['-c', 'import h5py, numpy'], { stdio: 'ignore' }).status === 0;
if (!hasH5py) console.warn(`SKIPPING Keras activation fixtures: ${PY} cannot import h5py and numpy (apt install python3-h5py)`);

(hasH5py ? describe : describe.skip)('a squeeze-excitation CNN with Keras activations, written like Keras', () => {
  let dir = '';
  let expected: Record<'x' | 'keras3' | 'keras2', { shape: number[]; values: number[] }>;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-acts-'));
    const r = spawnSync(PY, [path.join(__dirname, 'fixtures/make_keras_activations.py'), dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`fixture generator failed: ${r.stderr}`);
    expected = JSON.parse(fs.readFileSync(path.join(dir, 'acts.json'), 'utf8'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const maxDiff = (a: ArrayLike<number>, b: number[]) => b.reduce((m, v, i) => Math.max(m, Math.abs(a[i] - v)), 0);

  test.each([
    ['acts.keras', 'keras3'],
    ['acts_k3.h5', 'keras3'],
    ['acts_k2.h5', 'keras2'],
  ] as const)('%s predicts like numpy (%s definitions) on TF.js and on the engine', async (file, version) => {
    const net = file.endsWith('.keras') ? await loadKeras3(path.join(dir, file)) : await loadKerasH5(path.join(dir, file));
    const x = tf.tensor(expected.x.values, expected.x.shape, 'float32');
    const p = net.predict(x) as tf.Tensor;
    expect(maxDiff(p.dataSync(), expected[version].values)).toBeLessThan(1e-5);
    // The other version's numbers differ enough to tell them apart.
    expect(maxDiff(p.dataSync(), expected[version === 'keras3' ? 'keras2' : 'keras3'].values)).toBeGreaterThan(1e-3);
    // The engine compiles every layer and gives the same logits.
    expect(ortUnsupportedReason(net)).toBe('');
    const m = new CnnModel(net, { name: file, preprocess: 'none' });
    const onEngine = logitsOf(m, x as tf.Tensor4D);
    setAccelEnabled(false);
    const onTfjs = logitsOf(m, x as tf.Tensor4D);
    setAccelEnabled(true);
    expect(maxDiff(onEngine.dataSync(), Array.from(onTfjs.dataSync()))).toBeLessThan(1e-5);
    tf.dispose([x, p, onEngine, onTfjs]);
    net.dispose();
  });
});
