/**
 * Comparing two maps: Pearson correlation, Spearman rank correlation (ties get their average rank),
 * largest absolute difference, and the trapezoid rule for curves.
 */
import { CnnvisError } from '../../errors';

type Values = ArrayLike<number>;

function sameLength(a: Values, b: Values, what: string): void {
  if (a.length !== b.length) throw new CnnvisError(`${what}: the two maps have ${a.length} and ${b.length} values; they must have the same size`);
  if (a.length < 2) throw new CnnvisError(`${what} needs at least 2 values, got ${a.length}`);
}

/**
 * Pearson correlation of two equally long value lists. NaN when one of them is constant (no
 * correlation is defined then); callers that compare maps decide what a constant map means.
 */
export function pearson(a: Values, b: Values): number {
  sameLength(a, b, 'pearson');
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** 1-based ranks; tied values share the mean of the ranks they span. */
export function ranks(v: Values): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => v[i] - v[j] || i - j);
  const r = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && v[order[end]] === v[order[start]]) end++;
    const mean = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) r[order[k]] = mean;
    start = end;
  }
  return r;
}

/** Spearman rank correlation: the Pearson correlation of the ranks (ties averaged). */
export function spearman(a: Values, b: Values): number {
  sameLength(a, b, 'spearman');
  return pearson(ranks(a), ranks(b));
}

/** The largest |a_i − b_i|. */
export function maxAbsDiff(a: Values, b: Values): number {
  sameLength(a, b, 'maxAbsDiff');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** ∫ y dx by the trapezoid rule over the points (x_i, y_i); x must be non-decreasing. */
export function trapezoid(y: Values, x: Values): number {
  if (y.length !== x.length) throw new CnnvisError(`trapezoid: ${y.length} values but ${x.length} positions`);
  let s = 0;
  for (let i = 1; i < y.length; i++) {
    const dx = x[i] - x[i - 1];
    if (dx < 0) throw new CnnvisError(`trapezoid: positions must not decrease (x[${i}] = ${x[i]} < x[${i - 1}] = ${x[i - 1]})`);
    s += (dx * (y[i] + y[i - 1])) / 2;
  }
  return s;
}
