/** Seeded pseudo-random numbers, so generated scenes, noise and optimization runs are repeatable. */

/** mulberry32's step: the state advances by this odd constant. */
const MULBERRY_STEP = 0x6d2b79f5;

/** mulberry32's output for state `a`: a 32-bit unsigned integer. */
function mulberryMix(a: number): number {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** The small, fast 32-bit "mulberry32" generator: returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + MULBERRY_STEP) >>> 0;
    return mulberryMix(a) / 4294967296;
  };
}

/** `n` floats uniform in [lo, hi) from mulberry32(seed). */
export function seededFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + r() * (hi - lo);
  return out;
}

/**
 * `n` floats from a normal distribution with mean 0 and standard deviation `std`, from
 * mulberry32(seed) by Marsaglia's polar method (a pair per accepted point in the unit disc, no
 * trigonometry; in plain JS, several times faster than TF.js' randomNormal).
 */
export function seededNormals(n: number, seed: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  fillNormals(out, seed, std);
  return out;
}

/**
 * Fills `out` with what seededNormals(out.length, seed, std) returns (the same numbers), in place: a
 * batch's noise goes into one buffer. It steps mulberry32's state itself (calling mulberry32's closure
 * per number made it take 1.5-2x as long).
 */
export function fillNormals(out: Float32Array, seed: number, std = 1): void {
  const n = out.length;
  let a = seed >>> 0;
  for (let i = 0; i < n; i += 2) {
    let u: number;
    let v: number;
    let s: number;
    do {
      a = (a + MULBERRY_STEP) >>> 0;
      u = (2 * mulberryMix(a)) / 4294967296 - 1;
      a = (a + MULBERRY_STEP) >>> 0;
      v = (2 * mulberryMix(a)) / 4294967296 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = std * Math.sqrt((-2 * Math.log(s)) / s);
    out[i] = u * f;
    if (i + 1 < n) out[i + 1] = v * f;
  }
}
