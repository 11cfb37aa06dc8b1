/**
 * Maps as JSON at full float32 precision: every value is written with the fewest significant digits
 * (at most 9) that read back to the same float32, so 1e-8 stays 1e-8 and 0.1f stays 0.1 — no absolute
 * rounding. Non-finite values become null (JSON has no NaN / Infinity).
 */
import { Map2D } from '../types';

/** The shortest decimal number that reads back (as float32) to the float32 value of v. */
export function float32Value(v: number): number | null {
  if (!Number.isFinite(v)) return null;
  const f = Math.fround(v);
  if (f === 0) return 0;
  for (let p = 1; p < 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return s;
  }
  return Number(f.toPrecision(9));
}

/** A map as rows of float32-exact numbers (row-major, height rows of width values). */
export function float32Rows(map: Map2D): Array<Array<number | null>> {
  const { width, height, data } = map;
  return Array.from({ length: height }, (_, y) => Array.from(data.subarray(y * width, (y + 1) * width), float32Value));
}
