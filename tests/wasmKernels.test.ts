/** The kernels cnnvis adds to or fixes in the wasm backend agree with the cpu backend. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { ensureInputGradients } from '../kernel/src/engine/wasmGradients';

beforeAll(async () => {
  await initBackend();
});

async function onBoth(f: () => Float32Array): Promise<{ wasm: Float32Array; cpu: Float32Array }> {
  const was = tf.getBackend();
  expect(was).toBe('wasm');
  ensureInputGradients();
  const wasm = f();
  await tf.setBackend('cpu');
  try {
    return { wasm, cpu: f() };
  } finally {
    await tf.setBackend(was);
  }
}

test('MaxPoolGrad routes gradients of windows whose maximum is <= 0 (after a ReLU: all-zero windows)', async () => {
  const { wasm, cpu } = await onBoth(() => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid').sum())(tf.zeros([1, 4, 4, 1])).dataSync() as Float32Array).slice());
  expect(Array.from(cpu)).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
  expect(Array.from(wasm)).toEqual(Array.from(cpu));
});

test('MaxPoolGrad with overlapping windows, same padding and negative values matches cpu', async () => {
  const x = Array.from({ length: 2 * 7 * 9 * 3 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
  const w = Array.from({ length: 2 * 4 * 5 * 3 }, (_, i) => Math.cos(i * 78.233) * 12345.678 % 1);
  const f = () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'same').mul(tf.tensor4d(w, [2, 4, 5, 3])).sum())(tf.tensor4d(x, [2, 7, 9, 3])).dataSync() as Float32Array).slice();
  const { wasm, cpu } = await onBoth(f);
  let diff = 0;
  for (let i = 0; i < cpu.length; i++) diff = Math.max(diff, Math.abs(cpu[i] - wasm[i]));
  expect(diff).toBeLessThan(1e-6);
  expect(cpu.some((v) => v !== 0)).toBe(true);
});
