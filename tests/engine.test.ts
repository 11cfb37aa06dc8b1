/**
 * The engine interface (kernel/src/engine): which engine a model gets, and the interface's own
 * calls — a backward pass from a channel to a layer, under each ReLU rule — against numbers written
 * down from the weights, on ONNX Runtime and on TF.js.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { engineFor, INPUT, LOGITS, setAccelEnabled } from '../kernel/src/engine';
import { ortRuntime } from '../kernel/src/engine/onnx/runtime';
import { logitsModel } from '../kernel/src/engine/tfjs';
import { seededFloats } from '../kernel/src/random';

beforeAll(async () => {
  await initBackend();
});

type L = tf.SymbolicTensor;

/**
 * img [6, 6, 2] → a (3×3 conv, 4 filters, linear) → r (ReLU) → m (1×1 conv, 3 filters, linear) →
 * global average → dense softmax (2 classes). With the 1×1 conv linear, d(sum of channel c of m)/d r
 * is m's weight W[k, c] at every position, and d/d a is that times [a > 0] (plain and guided with a
 * positive W) or max(W, 0) everywhere (deconvnet).
 */
function model(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2], name: 'img' });
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'a' }).apply(input) as L;
  const r = tf.layers.reLU({ name: 'r' }).apply(a) as L;
  const m = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'm' }).apply(r) as L;
  const g = tf.layers.globalAveragePooling2d({ name: 'g' }).apply(m) as L;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(g) as L;
  const net = tf.model({ inputs: input, outputs: out, name: 'engine_probe' });
  let k = 7;
  for (const layer of net.layers) {
    const ws = layer.getWeights();
    if (ws.length) layer.setWeights(ws.map((w) => tf.tensor(seededFloats(w.size, k++, -0.8, 0.8), w.shape)));
  }
  // The TF.js engine's linear copy of the softmax layer (kept with the model) made before tensors are counted.
  logitsModel(net);
  return net;
}

function input(): tf.Tensor4D {
  return tf.tensor4d(seededFloats(2 * 6 * 6 * 2, 3, -1, 1), [2, 6, 6, 2]);
}

/** Runs `fn` on ONNX Runtime (where it loads) and on TF.js. */
function onBoth(fn: (label: string) => void): void {
  if (ortRuntime()) fn('onnxruntime');
  setAccelEnabled(false);
  try {
    fn('tfjs');
  } finally {
    setAccelEnabled(true);
  }
}

test('a model gets one engine object per library, ONNX Runtime where it runs, TF.js when switched off', () => {
  const net = model();
  const e = engineFor(net);
  expect(engineFor(net)).toBe(e);
  if (ortRuntime()) {
    expect(e.kind).toBe('onnxruntime');
    expect(e.label('wasm')).toBe('wasm+onnxruntime');
  }
  setAccelEnabled(false);
  try {
    const t = engineFor(net);
    expect(t.kind).toBe('tfjs');
    expect(t.label('wasm')).toBe('wasm');
    expect(engineFor(net)).toBe(t);
  } finally {
    setAccelEnabled(true);
  }
});

test('backward from a channel to a layer: the 1×1 weights, gated by the ReLU rule', () => {
  const net = model();
  const x = input();
  const W = net.getLayer('m').getWeights()[0].dataSync(); // [1, 1, 4, 3]
  const channel = 2;
  const before = tf.memory().numTensors;
  onBoth((label) => {
    const e = engineFor(net);
    // At r: W[k, c] everywhere, for both images; the score is the channel's sum.
    const atR = e.backward(x, { layer: 'm', channel, reduce: 'sum' }, 'r');
    const gr = atR.gradient.dataSync();
    expect([label, atR.gradient.shape]).toEqual([label, [2, 6, 6, 4]]);
    for (let i = 0; i < gr.length; i++) expect(gr[i]).toBeCloseTo(W[(i % 4) * 3 + channel], 5);
    const m = tf.tidy(() => (tf.model({ inputs: net.inputs, outputs: net.getLayer('m').output as L }).predict(x) as tf.Tensor).slice([0, 0, 0, channel], [-1, -1, -1, 1]).sum().dataSync()[0]);
    expect(atR.score).toBeCloseTo(m, 4);
    // At a, under each rule.
    const a = tf.tidy(() => (tf.model({ inputs: net.inputs, outputs: net.getLayer('a').output as L }).predict(x) as tf.Tensor).dataSync());
    for (const rule of ['gradient', 'guided', 'deconvnet'] as const) {
      const g = e.backward(x, { layer: 'm', channel, reduce: 'sum' }, 'a', rule);
      const d = g.gradient.dataSync();
      for (let i = 0; i < d.length; i++) {
        const w = W[(i % 4) * 3 + channel];
        const want = rule === 'deconvnet' ? Math.max(w, 0) : a[i] > 0 && (rule === 'gradient' || w > 0) ? w : 0;
        if (Math.abs(d[i] - want) > 1e-5) throw new Error(`${label} ${rule}: gradient[${i}] = ${d[i]}, want ${want}`);
      }
      expect(Array.from(g.activation!.dataSync()).every((v, i) => Math.abs(v - a[i]) < 1e-5)).toBe(true);
      tf.dispose([g.gradient, g.activation!, g.logits]);
    }
    tf.dispose([atR.gradient, atR.activation!, atR.logits]);
  });
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
});

test('forward taps, class scores, input gradients and objective gradients agree between the engines', () => {
  const net = model();
  const x = input();
  const before = tf.memory().numTensors;
  const results: Record<string, Float32Array[]> = {};
  onBoth((label) => {
    const e = engineFor(net);
    const f = e.forward(x, ['r', 'm']);
    const grad = e.backward(x, 1, INPUT, 'guided');
    const obj = e.objectiveGradient(x, ['m', LOGITS], (get) => tf.tidy(() => get('m').mean([1, 2]).slice([0, 0], [-1, 1]).reshape([-1]).add(get(LOGITS).slice([0, 1], [-1, 1]).reshape([-1]))) as tf.Tensor1D);
    results[label] = [f.taps[0], f.taps[1], f.logits, grad.gradient, obj.dx].map((t) => t.dataSync() as Float32Array);
    results[label].push(obj.scores);
    // The class scores are the logits: the softmax of them is the model's output.
    const p = tf.tidy(() => (net.predict(x) as tf.Tensor).dataSync());
    const q = tf.tidy(() => tf.softmax(f.logits).dataSync());
    for (let i = 0; i < p.length; i++) expect(q[i]).toBeCloseTo(p[i], 5);
    tf.dispose([...f.taps, f.logits, grad.gradient, grad.logits, obj.dx]);
  });
  if (results.onnxruntime) {
    results.tfjs.forEach((want, k) => {
      const got = results.onnxruntime[k];
      const scale = Math.max(...Array.from(want).map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      const diff = Math.max(...Array.from(want).map((v, i) => Math.abs(v - got[i])));
      expect([k, diff / scale < 1e-4]).toEqual([k, true]);
    });
  }
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
});
