/**
 * Constant folding for the small shape computations exporters write around Reshape and Pad
 * (Shape → Gather → Unsqueeze → Concat → Reshape, ConstantOfShape → Slice → Transpose → Cast): every
 * shape in a converted model is known, so these run once at load time on plain arrays.
 */
import { CnnvisError } from '../../errors';
import { ConstTensor } from './read';

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

function stridesOf(dims: number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/**
 * Visits every flat index o of `dims` (row-major) with, for each stride list s (one stride per axis of
 * `dims`), the offset Σ idx_k · s[k] of that element in a source laid out with those strides.
 */
function forEachIndex(dims: number[], strides: number[][], visit: (o: number, offsets: number[]) => void): void {
  const so = stridesOf(dims);
  const n = size(dims);
  const offs = strides.map(() => 0);
  for (let o = 0; o < n; o++) {
    let rem = o;
    offs.fill(0);
    for (let k = 0; k < dims.length; k++) {
      const idx = Math.floor(rem / so[k]);
      rem -= idx * so[k];
      for (let j = 0; j < strides.length; j++) offs[j] += idx * strides[j][k];
    }
    visit(o, offs);
  }
}

export function constOf(dims: number[], data: ArrayLike<number>, integer: boolean): ConstTensor {
  return { dims, data: integer ? Array.from(data) : Float32Array.from(data), integer };
}

export const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Values of `c` in the order of dims permuted by `perm`. */
export function transpose(c: ConstTensor, perm?: number[]): ConstTensor {
  const r = c.dims.length;
  const p = perm && perm.length ? perm : [...Array(r).keys()].reverse();
  const dims = p.map((i) => c.dims[i]);
  const inStr = stridesOf(c.dims);
  const out = new Array<number>(size(dims));
  forEachIndex(dims, [p.map((i) => inStr[i])], (o, [src]) => (out[o] = c.data[src]));
  return constOf(dims, out, c.integer);
}

/** The elements of `c` at a multi-index (one value per element). */
function blockCopy(c: ConstTensor, axis: number, pick: (i: number) => number, count: number): ConstTensor {
  const outer = size(c.dims.slice(0, axis));
  const inner = size(c.dims.slice(axis + 1));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < count; i++) {
      const base = (o * c.dims[axis] + pick(i)) * inner;
      for (let k = 0; k < inner; k++) out.push(c.data[base + k]);
    }
  }
  const dims = [...c.dims];
  dims[axis] = count;
  return constOf(dims, out, c.integer);
}

export function gather(c: ConstTensor, idx: ConstTensor, axis = 0): ConstTensor {
  const a = normAxis(axis, c.dims.length);
  const ids = Array.from(idx.data).map((i) => (i < 0 ? i + c.dims[a] : i));
  const r = blockCopy(c, a, (i) => ids[i], ids.length);
  const dims = [...c.dims.slice(0, a), ...idx.dims, ...c.dims.slice(a + 1)];
  return { ...r, dims };
}

export function slice(c: ConstTensor, starts: number[], ends: number[], axes?: number[], steps?: number[]): ConstTensor {
  let out = c;
  const ax = axes ?? starts.map((_, i) => i);
  ax.forEach((axis0, k) => {
    const a = normAxis(axis0, out.dims.length);
    const d = out.dims[a];
    const step = steps?.[k] ?? 1;
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const picks: number[] = [];
    if (step > 0) {
      const s = clampIdx(starts[k], 0, d);
      const e = clampIdx(ends[k], 0, d);
      for (let i = s; i < e; i += step) picks.push(i);
    } else {
      const s = clampIdx(starts[k], -1, d - 1);
      const e = clampIdx(ends[k], -1, d - 1);
      for (let i = s; i > e; i += step) picks.push(i);
    }
    out = blockCopy(out, a, (i) => picks[i], picks.length);
  });
  return out;
}

export function concat(cs: ConstTensor[], axis: number): ConstTensor {
  const r = cs[0].dims.length;
  const a = normAxis(axis, r);
  const outer = size(cs[0].dims.slice(0, a));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const c of cs) {
      const chunk = size(c.dims.slice(a));
      for (let k = 0; k < chunk; k++) out.push(c.data[o * chunk + k]);
    }
  }
  const dims = [...cs[0].dims];
  dims[a] = cs.reduce((s, c) => s + c.dims[a], 0);
  return constOf(dims, out, cs.every((c) => c.integer));
}

/** Element-wise with numpy broadcasting. */
export function binary(a: ConstTensor, b: ConstTensor, f: (x: number, y: number) => number): ConstTensor {
  const r = Math.max(a.dims.length, b.dims.length);
  const da = [...Array(r - a.dims.length).fill(1), ...a.dims];
  const db = [...Array(r - b.dims.length).fill(1), ...b.dims];
  const dims = da.map((d, i) => {
    if (d !== db[i] && d !== 1 && db[i] !== 1) throw new CnnvisError(`constants of shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}] do not broadcast`);
    return Math.max(d, db[i]);
  });
  const sa = stridesOf(da).map((s, i) => (da[i] === 1 ? 0 : s));
  const sb = stridesOf(db).map((s, i) => (db[i] === 1 ? 0 : s));
  const out = new Array<number>(size(dims));
  forEachIndex(dims, [sa, sb], (o, [ia, ib]) => (out[o] = f(a.data[ia], b.data[ib])));
  return constOf(dims, out, a.integer && b.integer);
}

/** ONNX Reshape's target shape (0 copies the input's size, -1 takes the rest). */
export function reshapeDims(from: number[], to: number[], allowZero = false): number[] {
  const dims = to.map((d, i) => (d === 0 && !allowZero ? from[i] : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = size(from);
  return dims.map((d) => (d === -1 ? total / known : d));
}

export function unsqueezeDims(dims: number[], axes: number[]): number[] {
  const r = dims.length + axes.length;
  const ax = axes.map((a) => normAxis(a, r));
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < r; i++) out.push(ax.includes(i) ? 1 : dims[k++]);
  return out;
}

export function squeezeDims(dims: number[], axes?: number[]): number[] {
  const ax = axes?.length ? axes.map((a) => normAxis(a, dims.length)) : dims.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
  return dims.filter((_, i) => !ax.includes(i));
}
