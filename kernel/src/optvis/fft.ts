/**
 * Fast Fourier transforms of any length, in plain typed arrays (no TF.js): the Fourier
 * parameterization (param.ts) turns its spectra into images with them every optimization step.
 *
 * Why our own: the image sizes here are anything from 8 to 1024 pixels (150, 224, 227, 299, 17, …).
 * On npm, fft.js handles powers of two only, kissfft-js's complex inverse is broken (an undefined
 * `cpx`) and its heap views go stale when the wasm memory grows, and we found no maintained library
 * for arbitrary lengths.
 *
 * The algorithm is a mixed-radix Stockham autosort FFT (no bit reversal; each stage reads one buffer
 * and writes the other): the length is split into factors 4, 2, 3, 5, … (a dedicated butterfly for 2
 * and 4, 3 and 5, the symmetric DFT butterfly for every other odd factor). Lengths whose largest
 * prime factor is big (e.g. 1021) are done by Bluestein's algorithm instead: a chirp convolution
 * through power-of-two transforms, O(n log n) like the rest. Twiddle tables are made once per length
 * and kept.
 *
 * Transforms are unnormalized: forward X[k] = Σ_j x[j] e^{−2πi jk/n}, inverse x[j] = Σ_k X[k] e^{+2πi jk/n}
 * (no 1/n). Data are split real and imaginary Float64Arrays laid out [n][batch]: element j of sequence
 * b at index j·batch + b. So the columns of a row-major 2-D array are transformed in place as they lie
 * (batch = row length), and a whole batch of sequences runs through every stage together.
 */

/** One length's factors and twiddles. */
interface Plan {
  readonly n: number;
  /** Stage radices, in order (their product is n); empty when Bluestein is used. */
  readonly factors: number[];
  /** cos and sin of 2πj/n, j < n. */
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  readonly bluestein: Bluestein | null;
}

interface Bluestein {
  /** Power-of-two length of the convolution (≥ 2n − 1). */
  readonly m: number;
  /** Chirp w[j] = e^{iπ j²/n}, j < n (sign +: the inverse direction's chirp). */
  readonly wr: Float64Array;
  readonly wi: Float64Array;
  /** Forward transform (length m) of the conjugate-direction chirp, for each sign: index 0 = sign −1, 1 = sign +1. */
  readonly kernel: [Float64Array, Float64Array][];
}

/** Prime factors above this make the length use Bluestein's algorithm (an odd butterfly costs O(p²)). */
const MAX_DIRECT_FACTOR = 61;

const plans = new Map<number, Plan>();

/** Radices for n: 4s first, then one 2, then odd primes ascending. */
export function fftFactors(n: number): number[] {
  const f: number[] = [];
  let r = n;
  while (r % 4 === 0) {
    f.push(4);
    r /= 4;
  }
  if (r % 2 === 0) {
    f.push(2);
    r /= 2;
  }
  for (let p = 3; p * p <= r; p += 2) {
    while (r % p === 0) {
      f.push(p);
      r /= p;
    }
  }
  if (r > 1) f.push(r);
  return f;
}

function plan(n: number): Plan {
  let p = plans.get(n);
  if (p) return p;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT length must be a positive integer, got ${n}`);
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const a = (2 * Math.PI * j) / n;
    cos[j] = Math.cos(a);
    sin[j] = Math.sin(a);
  }
  const factors = fftFactors(n);
  const big = factors.some((f) => f > MAX_DIRECT_FACTOR);
  p = { n, factors: big ? [] : factors, cos, sin, bluestein: big ? makeBluestein(n) : null };
  plans.set(n, p);
  return p;
}

function makeBluestein(n: number): Bluestein {
  let m = 1;
  while (m < 2 * n - 1) m *= 2;
  const wr = new Float64Array(n);
  const wi = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    // j² mod 2n keeps the angle small and exact for large j.
    const a = (Math.PI * ((j * j) % (2 * n))) / n;
    wr[j] = Math.cos(a);
    wi[j] = Math.sin(a);
  }
  const kernel: [Float64Array, Float64Array][] = [];
  for (const sign of [-1, 1]) {
    // The convolution kernel is the chirp of the opposite sign to the one multiplied in.
    const kr = new Float64Array(m);
    const ki = new Float64Array(m);
    for (let j = 0; j < n; j++) {
      kr[j] = wr[j];
      ki[j] = -sign * wi[j];
      if (j > 0) {
        kr[m - j] = wr[j];
        ki[m - j] = -sign * wi[j];
      }
    }
    fft(kr, ki, m, 1, -1);
    kernel.push([kr, ki]);
  }
  return { m, wr, wi, kernel };
}

/** Scratch buffers, grown as needed and reused (the code is synchronous). */
let scratchRe = new Float64Array(0);
let scratchIm = new Float64Array(0);
function scratch(len: number): [Float64Array, Float64Array] {
  if (scratchRe.length < len) {
    scratchRe = new Float64Array(len);
    scratchIm = new Float64Array(len);
  }
  return [scratchRe, scratchIm];
}

/**
 * In-place complex FFT of `batch` sequences of length n, laid out [n][batch] in (re, im).
 * sign −1: forward; +1: inverse (unnormalized).
 */
export function fft(re: Float64Array, im: Float64Array, n: number, batch: number, sign: 1 | -1): void {
  if (re.length < n * batch || im.length < n * batch) throw new RangeError(`fft: buffers hold ${Math.min(re.length, im.length)} values, need ${n * batch}`);
  if (n === 1) return;
  const p = plan(n);
  if (p.bluestein) {
    bluestein(p, p.bluestein, re, im, batch, sign);
    return;
  }
  stockham(p, re, im, batch, sign);
}

function stockham(p: Plan, re: Float64Array, im: Float64Array, batch: number, sign: 1 | -1): void {
  const n = p.n;
  const total = n * batch;
  // The shared scratch: callers' buffers (Bluestein's included) are never the scratch itself.
  let [yr, yi] = scratch(total);
  let xr = re;
  let xi = im;
  let len = n;
  let s = batch;
  for (const radix of p.factors) {
    const m = len / radix;
    const step = n / len;
    if (radix === 2) stage2(xr, xi, yr, yi, m, s, step, p, sign);
    else if (radix === 4) stage4(xr, xi, yr, yi, m, s, step, p, sign);
    else if (radix === 3) stage3(xr, xi, yr, yi, m, s, step, p, sign);
    else if (radix === 5) stage5(xr, xi, yr, yi, m, s, step, p, sign);
    else stageOdd(xr, xi, yr, yi, radix, m, s, step, p, sign);
    len = m;
    s *= radix;
    [xr, yr] = [yr, xr];
    [xi, yi] = [yi, xi];
  }
  if (xr !== re) {
    re.set(xr.subarray(0, total));
    im.set(xi.subarray(0, total));
  }
}

function stage2(xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, m: number, s: number, step: number, p: Plan, sign: number): void {
  for (let q = 0; q < m; q++) {
    const t = q * step;
    const wr = p.cos[t];
    const wi = sign * p.sin[t];
    const a0 = s * q;
    const a1 = s * (q + m);
    const o0 = s * 2 * q;
    const o1 = o0 + s;
    for (let k = 0; k < s; k++) {
      const ar = xr[a0 + k], ai = xi[a0 + k];
      const br = xr[a1 + k], bi = xi[a1 + k];
      yr[o0 + k] = ar + br;
      yi[o0 + k] = ai + bi;
      const dr = ar - br, di = ai - bi;
      yr[o1 + k] = dr * wr - di * wi;
      yi[o1 + k] = dr * wi + di * wr;
    }
  }
}

function stage4(xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, m: number, s: number, step: number, p: Plan, sign: number): void {
  const n = p.n;
  for (let q = 0; q < m; q++) {
    const t1 = q * step;
    const w1r = p.cos[t1], w1i = sign * p.sin[t1];
    const t2 = (2 * t1) % n;
    const w2r = p.cos[t2], w2i = sign * p.sin[t2];
    const t3 = (3 * t1) % n;
    const w3r = p.cos[t3], w3i = sign * p.sin[t3];
    const a0 = s * q, a1 = s * (q + m), a2 = s * (q + 2 * m), a3 = s * (q + 3 * m);
    const o0 = s * 4 * q, o1 = o0 + s, o2 = o1 + s, o3 = o2 + s;
    for (let k = 0; k < s; k++) {
      const x0r = xr[a0 + k], x0i = xi[a0 + k];
      const x1r = xr[a1 + k], x1i = xi[a1 + k];
      const x2r = xr[a2 + k], x2i = xi[a2 + k];
      const x3r = xr[a3 + k], x3i = xi[a3 + k];
      const s02r = x0r + x2r, s02i = x0i + x2i;
      const d02r = x0r - x2r, d02i = x0i - x2i;
      const s13r = x1r + x3r, s13i = x1i + x3i;
      // (sign·i)·(x1 − x3)
      const j13r = -sign * (x1i - x3i), j13i = sign * (x1r - x3r);
      yr[o0 + k] = s02r + s13r;
      yi[o0 + k] = s02i + s13i;
      const b1r = d02r + j13r, b1i = d02i + j13i;
      yr[o1 + k] = b1r * w1r - b1i * w1i;
      yi[o1 + k] = b1r * w1i + b1i * w1r;
      const b2r = s02r - s13r, b2i = s02i - s13i;
      yr[o2 + k] = b2r * w2r - b2i * w2i;
      yi[o2 + k] = b2r * w2i + b2i * w2r;
      const b3r = d02r - j13r, b3i = d02i - j13i;
      yr[o3 + k] = b3r * w3r - b3i * w3i;
      yi[o3 + k] = b3r * w3i + b3i * w3r;
    }
  }
}

/** Radix 3: the odd butterfly (below) written out. */
function stage3(xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, m: number, s: number, step: number, p: Plan, sign: number): void {
  const n = p.n;
  const c1 = -0.5;
  const s1 = sign * Math.sqrt(3) / 2;
  for (let q = 0; q < m; q++) {
    const t1 = q * step;
    const w1r = p.cos[t1], w1i = sign * p.sin[t1];
    const t2 = (2 * t1) % n;
    const w2r = p.cos[t2], w2i = sign * p.sin[t2];
    const a0 = s * q, a1 = s * (q + m), a2 = s * (q + 2 * m);
    const o0 = s * 3 * q, o1 = o0 + s, o2 = o1 + s;
    for (let k = 0; k < s; k++) {
      const x0r = xr[a0 + k], x0i = xi[a0 + k];
      const x1r = xr[a1 + k], x1i = xi[a1 + k];
      const x2r = xr[a2 + k], x2i = xi[a2 + k];
      const sr = x1r + x2r, si = x1i + x2i;
      const dr = x1r - x2r, di = x1i - x2i;
      yr[o0 + k] = x0r + sr;
      yi[o0 + k] = x0i + si;
      const cr = x0r + c1 * sr, ci = x0i + c1 * si;
      // i·sin·d
      const jr = -s1 * di, ji = s1 * dr;
      const b1r = cr + jr, b1i = ci + ji;
      const b2r = cr - jr, b2i = ci - ji;
      yr[o1 + k] = b1r * w1r - b1i * w1i;
      yi[o1 + k] = b1r * w1i + b1i * w1r;
      yr[o2 + k] = b2r * w2r - b2i * w2i;
      yi[o2 + k] = b2r * w2i + b2i * w2r;
    }
  }
}

/** Radix 5: the odd butterfly (below) written out. */
function stage5(xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, m: number, s: number, step: number, p: Plan, sign: number): void {
  const n = p.n;
  const c1 = Math.cos((2 * Math.PI) / 5), c2 = Math.cos((4 * Math.PI) / 5);
  const s1 = sign * Math.sin((2 * Math.PI) / 5), s2 = sign * Math.sin((4 * Math.PI) / 5);
  for (let q = 0; q < m; q++) {
    const t1 = q * step;
    const w1r = p.cos[t1], w1i = sign * p.sin[t1];
    const t2 = (2 * t1) % n;
    const w2r = p.cos[t2], w2i = sign * p.sin[t2];
    const t3 = (3 * t1) % n;
    const w3r = p.cos[t3], w3i = sign * p.sin[t3];
    const t4 = (4 * t1) % n;
    const w4r = p.cos[t4], w4i = sign * p.sin[t4];
    const a0 = s * q, a1 = s * (q + m), a2 = s * (q + 2 * m), a3 = s * (q + 3 * m), a4 = s * (q + 4 * m);
    const o0 = s * 5 * q, o1 = o0 + s, o2 = o1 + s, o3 = o2 + s, o4 = o3 + s;
    for (let k = 0; k < s; k++) {
      const x0r = xr[a0 + k], x0i = xi[a0 + k];
      const x1r = xr[a1 + k], x1i = xi[a1 + k];
      const x2r = xr[a2 + k], x2i = xi[a2 + k];
      const x3r = xr[a3 + k], x3i = xi[a3 + k];
      const x4r = xr[a4 + k], x4i = xi[a4 + k];
      const s1r = x1r + x4r, s1i = x1i + x4i, d1r = x1r - x4r, d1i = x1i - x4i;
      const s2r = x2r + x3r, s2i = x2i + x3i, d2r = x2r - x3r, d2i = x2i - x3i;
      yr[o0 + k] = x0r + s1r + s2r;
      yi[o0 + k] = x0i + s1i + s2i;
      // t = 1: cos (c1, c2), sin (s1, s2); t = 2: cos (c2, c1), sin (s2, −s1).
      const ar = x0r + c1 * s1r + c2 * s2r, ai = x0i + c1 * s1i + c2 * s2i;
      const br = -(s1 * d1i + s2 * d2i), bi = s1 * d1r + s2 * d2r;
      const cr = x0r + c2 * s1r + c1 * s2r, ci = x0i + c2 * s1i + c1 * s2i;
      const dr = -(s2 * d1i - s1 * d2i), di = s2 * d1r - s1 * d2r;
      const b1r = ar + br, b1i = ai + bi, b4r = ar - br, b4i = ai - bi;
      const b2r = cr + dr, b2i = ci + di, b3r = cr - dr, b3i = ci - di;
      yr[o1 + k] = b1r * w1r - b1i * w1i;
      yi[o1 + k] = b1r * w1i + b1i * w1r;
      yr[o2 + k] = b2r * w2r - b2i * w2i;
      yi[o2 + k] = b2r * w2i + b2i * w2r;
      yr[o3 + k] = b3r * w3r - b3i * w3i;
      yi[o3 + k] = b3r * w3i + b3i * w3r;
      yr[o4 + k] = b4r * w4r - b4i * w4i;
      yi[o4 + k] = b4r * w4i + b4i * w4r;
    }
  }
}

/** Buffers of the odd butterfly, grown as needed. */
let oddBuf = new Float64Array(0);

/**
 * Odd radix r: b_t = a_0 + Σ_{j=1}^{h} (a_j + a_{r−j}) cos(2πjt/r) + i·sign·(a_j − a_{r−j}) sin(2πjt/r), h = (r−1)/2;
 * b_t and b_{r−t} share the sums (the sine terms change sign).
 */
function stageOdd(xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, r: number, m: number, s: number, step: number, p: Plan, sign: number): void {
  const n = p.n;
  const h = (r - 1) / 2;
  if (oddBuf.length < 4 * (h + 1) + 2 * r + r * r * 2) oddBuf = new Float64Array(4 * (h + 1) + 2 * r + r * r * 2);
  const buf = oddBuf;
  // Layout in buf: sums re/im, differences re/im (h+1 each), twiddles re/im (r each), then cos/sin of 2πjt/r.
  const sR = 0, sI = h + 1, dR = 2 * (h + 1), dI = 3 * (h + 1), wR = 4 * (h + 1), wI = wR + r, cT = wI + r, sT = cT + r * r;
  const unit = n / r;
  for (let j = 0; j < r; j++) {
    for (let t = 0; t < r; t++) {
      const idx = ((j * t) % r) * unit;
      buf[cT + j * r + t] = p.cos[idx];
      buf[sT + j * r + t] = sign * p.sin[idx];
    }
  }
  for (let q = 0; q < m; q++) {
    for (let t = 0; t < r; t++) {
      const idx = (q * step * t) % n;
      buf[wR + t] = p.cos[idx];
      buf[wI + t] = sign * p.sin[idx];
    }
    for (let k = 0; k < s; k++) {
      const base = k + s * q;
      const a0r = xr[base], a0i = xi[base];
      let totR = a0r, totI = a0i;
      for (let j = 1; j <= h; j++) {
        const u = base + s * m * j;
        const v = base + s * m * (r - j);
        const ur = xr[u], ui = xi[u], vr = xr[v], vi = xi[v];
        buf[sR + j] = ur + vr;
        buf[sI + j] = ui + vi;
        buf[dR + j] = ur - vr;
        buf[dI + j] = ui - vi;
        totR += ur + vr;
        totI += ui + vi;
      }
      const out = k + s * r * q;
      yr[out] = totR;
      yi[out] = totI;
      for (let t = 1; t <= h; t++) {
        let cr = a0r, ci = a0i, sr = 0, si = 0;
        for (let j = 1; j <= h; j++) {
          const c = buf[cT + j * r + t];
          const sn = buf[sT + j * r + t];
          cr += buf[sR + j] * c;
          ci += buf[sI + j] * c;
          // i·sin·d = (−sin·d_im) + i(sin·d_re); sign is in the table.
          sr -= buf[dI + j] * sn;
          si += buf[dR + j] * sn;
        }
        // b_t = c + s, b_{r−t} = c − s
        const btR = cr + sr, btI = ci + si;
        const bmR = cr - sr, bmI = ci - si;
        const o1 = out + s * t;
        const o2 = out + s * (r - t);
        const w1r = buf[wR + t], w1i = buf[wI + t];
        const w2r = buf[wR + r - t], w2i = buf[wI + r - t];
        yr[o1] = btR * w1r - btI * w1i;
        yi[o1] = btR * w1i + btI * w1r;
        yr[o2] = bmR * w2r - bmI * w2i;
        yi[o2] = bmR * w2i + bmI * w2r;
      }
    }
  }
}

/**
 * Bluestein: jk = (j² + k² − (k − j)²)/2, so with c[j] = e^{sign·iπ j²/n}
 *   X[k] = Σ_j x[j] e^{sign·2πi jk/n} = c[k] · Σ_j (x[j] c[j]) · c̄[k − j]:
 * a multiply, a cyclic convolution of length m ≥ 2n − 1 (two power-of-two transforms and the
 * kernel's, precomputed per sign), and a multiply.
 */
function bluestein(p: Plan, b: Bluestein, re: Float64Array, im: Float64Array, batch: number, sign: 1 | -1): void {
  const { m, wr, wi } = b;
  const n = p.n;
  const [kr, ki] = b.kernel[sign < 0 ? 0 : 1];
  const ar = new Float64Array(m * batch);
  const ai = new Float64Array(m * batch);
  // a[j] = x[j] · e^{sign·iπ j²/n}
  for (let j = 0; j < n; j++) {
    const cr = wr[j], ci = sign * wi[j];
    for (let k = 0; k < batch; k++) {
      const xr = re[j * batch + k], xi = im[j * batch + k];
      ar[j * batch + k] = xr * cr - xi * ci;
      ai[j * batch + k] = xr * ci + xi * cr;
    }
  }
  fft(ar, ai, m, batch, -1);
  for (let j = 0; j < m; j++) {
    const cr = kr[j], ci = ki[j];
    for (let k = 0; k < batch; k++) {
      const i = j * batch + k;
      const xr = ar[i], xi = ai[i];
      ar[i] = xr * cr - xi * ci;
      ai[i] = xr * ci + xi * cr;
    }
  }
  fft(ar, ai, m, batch, 1);
  const inv = 1 / m;
  for (let j = 0; j < n; j++) {
    const cr = wr[j] * inv, ci = sign * wi[j] * inv;
    for (let k = 0; k < batch; k++) {
      const i = j * batch + k;
      const xr = ar[i], xi = ai[i];
      re[i] = xr * cr - xi * ci;
      im[i] = xr * ci + xi * cr;
    }
  }
}

/** c_l of the half spectrum: 1 for the constant column and (even W) the Nyquist column, else 2. */
function columnWeight(l: number, w: number): number {
  return l === 0 || (w % 2 === 0 && l === w / 2) ? 1 : 2;
}

/**
 * The real inverse 2-D DFT of an H × (W/2+1) half spectrum X = Xr + i·Xi and its adjoint:
 *   x[n, m] = Σ_k Σ_l c_l · Re( X[k, l] · e^{2πi(kn/H + lm/W)} ),
 * c_l = 1 for l = 0 (and l = W/2 when W is even), 2 otherwise (the conjugate half of the spectrum).
 *
 * Inverse: complex transforms along H of the L = W/2+1 columns (in place, as laid out), then along
 * W of the rows, two rows at a time: the rows' spectra extended to Hermitian full rows (imaginary
 * parts of the constant and Nyquist entries dropped: they do not reach the real part) transform to
 * real rows, so row a + i·row b transforms to x_a + i·x_b.
 *
 * Adjoint (the gradient): d/dXr[k, l] = c_l·Re G[k, l], d/dXi[k, l] = c_l·Im G[k, l] with
 * G = Σ_n Σ_m g[n, m] e^{−2πi(kn/H + lm/W)}, the forward DFT of the real gradient g: rows two at a
 * time (split by the conjugate symmetry of real inputs' spectra), then columns.
 *
 * Buffers are kept per object; one object per size, used synchronously.
 */
export class RealDft2d {
  readonly L: number;
  private readonly pairs: number;
  private readonly colRe: Float64Array;
  private readonly colIm: Float64Array;
  private readonly rowRe: Float64Array;
  private readonly rowIm: Float64Array;

  constructor(readonly h: number, readonly w: number) {
    this.L = Math.floor(w / 2) + 1;
    this.pairs = Math.ceil(h / 2);
    this.colRe = new Float64Array(h * this.L);
    this.colIm = new Float64Array(h * this.L);
    this.rowRe = new Float64Array(w * this.pairs);
    this.rowIm = new Float64Array(w * this.pairs);
  }

  /**
   * x = inverse(X): re, im hold X as [H][L] from offset `inOff`, each value times scale[k·L + l] when
   * `scale` is given; out receives x as [H][W] from `outOff` with stride `outStride` between
   * neighbouring values (3 to write one colour of an [H, W, 3] image).
   */
  inverse(re: ArrayLike<number>, im: ArrayLike<number>, inOff: number, scale: ArrayLike<number> | null, out: Float32Array | Float64Array, outOff = 0, outStride = 1): void {
    const { h, w, L, pairs, colRe, colIm, rowRe, rowIm } = this;
    const hl = h * L;
    if (scale) {
      for (let i = 0; i < hl; i++) {
        colRe[i] = re[inOff + i] * scale[i];
        colIm[i] = im[inOff + i] * scale[i];
      }
    } else {
      for (let i = 0; i < hl; i++) {
        colRe[i] = re[inOff + i];
        colIm[i] = im[inOff + i];
      }
    }
    fft(colRe, colIm, h, L, 1);
    // Full Hermitian rows, pair p = rows 2p (real part) and 2p + 1 (imaginary part), laid out [W][pairs].
    const nyq = w % 2 === 0 ? w / 2 : -1;
    for (let p = 0; p < pairs; p++) {
      const a = 2 * p * L;
      const hasB = 2 * p + 1 < h;
      const b = a + L;
      for (let l = 0; l < L; l++) {
        const edge = l === 0 || l === nyq;
        const ar = colRe[a + l], ai = edge ? 0 : colIm[a + l];
        const br = hasB ? colRe[b + l] : 0, bi = hasB && !edge ? colIm[b + l] : 0;
        // Z[l] = A[l] + i·B[l]
        rowRe[l * pairs + p] = ar - bi;
        rowIm[l * pairs + p] = ai + br;
        if (!edge) {
          // Z[W − l] = conj(A[l]) + i·conj(B[l])
          const j = (w - l) * pairs + p;
          rowRe[j] = ar + bi;
          rowIm[j] = br - ai;
        }
      }
    }
    fft(rowRe, rowIm, w, pairs, 1);
    for (let p = 0; p < pairs; p++) {
      const oa = outOff + 2 * p * w * outStride;
      const ob = oa + w * outStride;
      const hasB = 2 * p + 1 < h;
      for (let m = 0; m < w; m++) {
        out[oa + m * outStride] = rowRe[m * pairs + p];
        if (hasB) out[ob + m * outStride] = rowIm[m * pairs + p];
      }
    }
  }

  /**
   * The adjoint of `inverse` (without its scale): g as [H][W] from `gOff` with stride `gStride`;
   * gRe, gIm receive [H][L] from `outOff`, times scale[k·L + l] when given.
   */
  adjoint(g: ArrayLike<number>, gOff: number, gStride: number, scale: ArrayLike<number> | null, gRe: Float32Array | Float64Array, gIm: Float32Array | Float64Array, outOff = 0): void {
    const { h, w, L, pairs, colRe, colIm, rowRe, rowIm } = this;
    for (let p = 0; p < pairs; p++) {
      const a = gOff + 2 * p * w * gStride;
      const b = a + w * gStride;
      const hasB = 2 * p + 1 < h;
      for (let m = 0; m < w; m++) {
        rowRe[m * pairs + p] = g[a + m * gStride];
        rowIm[m * pairs + p] = hasB ? g[b + m * gStride] : 0;
      }
    }
    fft(rowRe, rowIm, w, pairs, -1);
    // F = FFT(a + i·b): A[l] = (F[l] + conj F[−l]) / 2, B[l] = (F[l] − conj F[−l]) / 2i.
    for (let p = 0; p < pairs; p++) {
      const ca = 2 * p * L;
      const cb = ca + L;
      const hasB = 2 * p + 1 < h;
      for (let l = 0; l < L; l++) {
        const fr = rowRe[l * pairs + p], fi = rowIm[l * pairs + p];
        const j = ((w - l) % w) * pairs + p;
        const gr = rowRe[j], gi = -rowIm[j];
        colRe[ca + l] = 0.5 * (fr + gr);
        colIm[ca + l] = 0.5 * (fi + gi);
        if (hasB) {
          // (u)/(2i) with u = F − conj F[−l]: re = u_im/2, im = −u_re/2
          colRe[cb + l] = 0.5 * (fi - gi);
          colIm[cb + l] = -0.5 * (fr - gr);
        }
      }
    }
    fft(colRe, colIm, h, L, -1);
    for (let k = 0; k < h; k++) {
      for (let l = 0; l < L; l++) {
        const i = k * L + l;
        const c = columnWeight(l, w) * (scale ? scale[i] : 1);
        gRe[outOff + i] = c * colRe[i];
        gIm[outOff + i] = c * colIm[i];
      }
    }
  }
}

/** x [H, W] from the half spectrum re, im [H, W/2+1] (see RealDft2d). */
export function inverseRealDft2d(re: ArrayLike<number>, im: ArrayLike<number>, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  new RealDft2d(h, w).inverse(re, im, 0, null, out);
  return out;
}

/** The adjoint of inverseRealDft2d: the gradient [H, W] → gradients of re and im [H, W/2+1]. */
export function inverseRealDft2dAdjoint(g: ArrayLike<number>, h: number, w: number): { re: Float64Array; im: Float64Array } {
  const L = Math.floor(w / 2) + 1;
  const re = new Float64Array(h * L);
  const im = new Float64Array(h * L);
  new RealDft2d(h, w).adjoint(g, 0, 1, null, re, im);
  return { re, im };
}
