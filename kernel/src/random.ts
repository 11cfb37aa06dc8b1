/** Seeded pseudo-random numbers, so generated scenes, noise and optimization runs are repeatable. */

/** The small, fast 32-bit "mulberry32" generator: returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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
 * mulberry32(seed) by the Box–Muller transform (in plain JS: TF.js' randomNormal draws one at a time
 * through its own generator, several times slower).
 */
export function seededNormals(n: number, seed: number, std = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 − r() is in (0, 1]: the logarithm stays finite.
    const radius = std * Math.sqrt(-2 * Math.log(1 - r()));
    const angle = 2 * Math.PI * r();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}
