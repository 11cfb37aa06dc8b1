/**
 * Numeric checks shared by the tests: distances between arrays, tolerance checks that name what was
 * compared, central finite differences and the tensor-leak check.
 */
import * as tf from '@tensorflow/tfjs';

/** max |a − b|; Infinity when the lengths differ or a value of `a` is not finite (so no tolerance passes). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Number.isFinite(a[i]) ? Math.abs(a[i] - b[i]) : Infinity);
  return d;
}

/** max |a − b| / max(|b|, floor); Infinity as in maxAbsDiff. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let s = floor;
  for (let i = 0; i < b.length; i++) {
    if (!Number.isFinite(a[i])) return Infinity;
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

/** Fails with what was compared and the error (jest shows the message); NaN fails too. */
export function near(what: string, err: number, tol: number): void {
  if (!(err <= tol)) throw new Error(`${what}: error ${err.toExponential(3)} > ${tol}`);
}

/** Fails unless every value is finite and not all values are equal. */
export function finiteNonConstant(what: string, v: ArrayLike<number>): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new Error(`${what}: non-finite value at ${i}`);
    lo = Math.min(lo, v[i]);
    hi = Math.max(hi, v[i]);
  }
  if (!(hi > lo)) throw new Error(`${what}: constant map (${lo})`);
}

/** (f(v + eps·e_i) − f(v − eps·e_i)) / 2 eps; `v` is left unchanged. */
export function centralDifference(f: (v: Float32Array) => number, v: Float32Array, i: number, eps: number): number {
  const plus = Float32Array.from(v);
  const minus = Float32Array.from(v);
  plus[i] += eps;
  minus[i] -= eps;
  return (f(plus) - f(minus)) / (2 * eps);
}

/** The largest absolute value (0 for an empty array). */
export function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/**
 * Runs `step` once (caches and lazily built kernels may keep tensors), then `times` more times, and
 * expects the live tensor count to be what it was after the first run.
 */
export async function expectNoTensorLeak(step: () => unknown, times: number): Promise<void> {
  await step();
  const before = tf.memory().numTensors;
  for (let k = 0; k < times; k++) await step();
  expect(tf.memory().numTensors).toBe(before);
}
