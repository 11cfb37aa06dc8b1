/** A small seeded random number generator (mulberry32), so optimization runs are repeatable. */
import { mulberry32 } from '../random';

export class Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;

  /** From a seed, or from a source of uniform numbers in [0, 1). */
  constructor(seed: number | (() => number)) {
    this.next = typeof seed === 'function' ? seed : mulberry32((Math.floor(seed) ^ 0x9e3779b9) >>> 0);
  }

  /**
   * A generator drawing from `source` and keeping what it drew; `replay()` gives a generator that returns
   * the same numbers again (then continues from `source`), so a step's random view can be taken twice.
   */
  static recording(source: Rng): { rng: Rng; replay: () => Rng } {
    const drawn: number[] = [];
    const more = () => {
      const v = source.next();
      drawn.push(v);
      return v;
    };
    return {
      rng: new Rng(more),
      replay: () => {
        let k = 0;
        return new Rng(() => (k < drawn.length ? drawn[k++] : (k++, more())));
      },
    };
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi] (both included). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
