/**
 * The transforms of one optimization step and the resize to the model's input as ONE bilinear
 * sampling, in plain typed arrays (no TF.js).
 *
 * A transform list of leading pads followed by transforms with a geometric form (transforms.ts
 * `geometry`: jitter, scale, rotate) is a map from each output pixel to a point of the padded canvas:
 * the resize's source point (half-pixel centres, clamped to the canvas, like resizeLinear), carried
 * back through the transforms' coordinate maps, last transform first. The canvas is periodic (a roll
 * wraps around, and so here do zooms and turns, which TF.js's `apply` clamps at the edges: only the
 * outermost pixels of a zoomed-in view differ). Each output pixel then reads 4 canvas pixels with
 * bilinear weights; a canvas pixel in the padding is a constant (no gradient) and goes into a bias.
 *
 * One interpolation instead of a chain of them (scale, then three shears, then the resize) gives
 * slightly sharper views, as PyTorch's reference does with one grid_sample.
 *
 * The random draws are the transforms' own (`geometry` draws what `apply` draws, in the same order),
 * one draw per step shared by the batch; the taps are made once per step (`draw`). A list that is not
 * of this form (a user's transform without geometry, a pad after another transform) gets no sampler
 * (`Sampler.from` returns null) and the render loop applies the transforms with TF.js.
 */
import { Rng } from './rng';
import { CoordMap, Transform } from './transforms';

/** The sampling of one step: 4 taps per output pixel. */
export interface SampleMap {
  readonly inHeight: number;
  readonly inWidth: number;
  readonly outHeight: number;
  readonly outWidth: number;
  /** Per output pixel p, taps 4p..4p+3: the image pixel (y·inWidth + x) read and its weight (0 for padding or an unused tap, whose index is then 0). */
  readonly index: Int32Array;
  readonly weight: Float32Array;
  /** Per output pixel: the padding's share of its value (weights times pad values). */
  readonly bias: Float32Array;
  /** images [B, inHeight, inWidth, 3] → [B, outHeight, outWidth, 3], into `out` when given (reused buffers are faster than fresh ones). */
  forward(images: Float32Array, batch: number, out?: Float32Array): Float32Array;
  /** The adjoint (transpose) of forward: d output → d images (scatter-add of the same taps), into `out` when given. */
  adjoint(d: Float32Array, batch: number, out?: Float32Array): Float32Array;
}

type GeometryFn = (h: number, w: number, rng: Rng) => CoordMap;

export class Sampler {
  private constructor(
    /** Leading pads, innermost first. */
    private readonly pads: readonly { pad: number; value: number }[],
    private readonly maps: readonly GeometryFn[],
    readonly inHeight: number,
    readonly inWidth: number,
    readonly outHeight: number,
    readonly outWidth: number,
  ) {}

  /**
   * The sampler of `list` for h × w images and an output of outH × outW (null: the transformed size),
   * or null when the list is not leading pads followed by geometric transforms.
   */
  static from(list: readonly Transform[], h: number, w: number, outH: number | null, outW: number | null): Sampler | null {
    const pads: { pad: number; value: number }[] = [];
    const maps: GeometryFn[] = [];
    for (const t of list) {
      const g = t.geometry;
      if (g === undefined) return null;
      if (typeof g === 'function') maps.push(g);
      else if (maps.length > 0) return null;
      else pads.push({ pad: g.pad, value: g.value });
    }
    const p = pads.reduce((a, b) => a + b.pad, 0);
    return new Sampler(pads, maps, h, w, outH ?? h + 2 * p, outW ?? w + 2 * p);
  }

  /** The taps of one step, drawing the transforms' random parameters from `rng`. */
  draw(rng: Rng): SampleMap {
    const { inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = this;
    const p = this.pads.reduce((a, b) => a + b.pad, 0);
    const hc = h + 2 * p;
    const wc = w + 2 * p;
    // Draw in list order; compose output → input, last first.
    const maps = this.maps.map((g) => g(hc, wc, rng)).reverse();
    const affine = composeAffine(maps);
    // Ring d (1 = next to the image) of the padding → its value: pads are innermost first.
    const ringValue = new Float64Array(p + 1);
    let d = 1;
    for (const pd of this.pads) for (let i = 0; i < pd.pad; i++) ringValue[d++] = pd.value;
    const index = new Int32Array(ho * wo * 4);
    const weight = new Float32Array(ho * wo * 4);
    const bias = new Float32Array(ho * wo);
    const sy = hc / ho;
    const sx = wc / wo;
    /** Sets tap t to image pixel (cy, cx) with weight wt, or returns its share of the padding. */
    const tap = (t: number, cy: number, cx: number, wt: number): number => {
      if (wt === 0) return 0;
      if (cy >= 0 && cy < h && cx >= 0 && cx < w) {
        index[t] = cy * w + cx;
        weight[t] = wt;
        return 0;
      }
      return wt * ringValue[Math.max(-cy, cy - h + 1, -cx, cx - w + 1)];
    };
    for (let i = 0; i < ho; i++) {
      const ry = Math.min(Math.max((i + 0.5) * sy - 0.5, 0), hc - 1);
      for (let j = 0; j < wo; j++) {
        const rx = Math.min(Math.max((j + 0.5) * sx - 0.5, 0), wc - 1);
        let y: number;
        let x: number;
        if (affine) {
          y = affine[0] * ry + affine[1] * rx + affine[2];
          x = affine[3] * ry + affine[4] * rx + affine[5];
        } else {
          [y, x] = [ry, rx];
          for (const m of maps) [y, x] = m(y, x);
        }
        const y0 = Math.floor(y);
        const x0 = Math.floor(x);
        const fy = y - y0;
        const fx = x - x0;
        // Canvas rows and columns of the 4 taps (periodic), then image coordinates.
        let ya = y0 % hc;
        if (ya < 0) ya += hc;
        const yb = (ya + 1 === hc ? 0 : ya + 1) - p;
        ya -= p;
        let xa = x0 % wc;
        if (xa < 0) xa += wc;
        const xb = (xa + 1 === wc ? 0 : xa + 1) - p;
        xa -= p;
        const o = i * wo + j;
        bias[o] =
          tap(o * 4, ya, xa, (1 - fy) * (1 - fx)) +
          tap(o * 4 + 1, ya, xb, (1 - fy) * fx) +
          tap(o * 4 + 2, yb, xa, fy * (1 - fx)) +
          tap(o * 4 + 3, yb, xb, fy * fx);
      }
    }
    const n = ho * wo;
    const hw = h * w;
    return {
      inHeight: h,
      inWidth: w,
      outHeight: ho,
      outWidth: wo,
      index,
      weight,
      bias,
      forward: (images, batch, into) => {
        if (images.length !== batch * hw * 3) throw new RangeError(`sampler: ${images.length} values for ${batch} images of ${h}×${w}×3`);
        const out = sized(into, batch * n * 3);
        for (let o = 0; o < n; o++) {
          const t = o * 4;
          const i0 = index[t] * 3, i1 = index[t + 1] * 3, i2 = index[t + 2] * 3, i3 = index[t + 3] * 3;
          const w0 = weight[t], w1 = weight[t + 1], w2 = weight[t + 2], w3 = weight[t + 3];
          const c = bias[o];
          for (let b = 0; b < batch; b++) {
            const ib = b * hw * 3;
            const q = (b * n + o) * 3;
            const a0 = ib + i0, a1 = ib + i1, a2 = ib + i2, a3 = ib + i3;
            out[q] = c + w0 * images[a0] + w1 * images[a1] + w2 * images[a2] + w3 * images[a3];
            out[q + 1] = c + w0 * images[a0 + 1] + w1 * images[a1 + 1] + w2 * images[a2 + 1] + w3 * images[a3 + 1];
            out[q + 2] = c + w0 * images[a0 + 2] + w1 * images[a1 + 2] + w2 * images[a2 + 2] + w3 * images[a3 + 2];
          }
        }
        return out;
      },
      adjoint: (dOut, batch, into) => {
        if (dOut.length !== batch * n * 3) throw new RangeError(`sampler: ${dOut.length} values for ${batch} views of ${ho}×${wo}×3`);
        const out = sized(into, batch * hw * 3);
        if (out === into) out.fill(0);
        for (let o = 0; o < n; o++) {
          const t = o * 4;
          const i0 = index[t] * 3, i1 = index[t + 1] * 3, i2 = index[t + 2] * 3, i3 = index[t + 3] * 3;
          const w0 = weight[t], w1 = weight[t + 1], w2 = weight[t + 2], w3 = weight[t + 3];
          for (let b = 0; b < batch; b++) {
            const ib = b * hw * 3;
            const q = (b * n + o) * 3;
            for (let c = 0; c < 3; c++) {
              const g = dOut[q + c];
              out[ib + i0 + c] += w0 * g;
              out[ib + i1 + c] += w1 * g;
              out[ib + i2 + c] += w2 * g;
              out[ib + i3 + c] += w3 * g;
            }
          }
        }
        return out;
      },
    };
  }
}

/** The composition of maps applied in order (first map first), as one affine matrix when every map is affine. */
function composeAffine(maps: readonly CoordMap[]): number[] | null {
  let [a, b, c, d, e, f] = [1, 0, 0, 0, 1, 0];
  for (const m of maps) {
    const t = m.affine;
    if (!t) return null;
    [a, b, c, d, e, f] = [
      t[0] * a + t[1] * d,
      t[0] * b + t[1] * e,
      t[0] * c + t[1] * f + t[2],
      t[3] * a + t[4] * d,
      t[3] * b + t[4] * e,
      t[3] * c + t[4] * f + t[5],
    ];
  }
  return [a, b, c, d, e, f];
}

/** `into` when it has exactly `len` values, else a new array. */
function sized(into: Float32Array | undefined, len: number): Float32Array {
  if (into === undefined) return new Float32Array(len);
  if (into.length !== len) throw new RangeError(`sampler: the output buffer holds ${into.length} values, need ${len}`);
  return into;
}

