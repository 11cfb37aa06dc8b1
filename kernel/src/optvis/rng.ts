/** A small seeded random number generator (mulberry32), so optimization runs are repeatable. */
import { mulberry32 } from '../random';

export class Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;

  /** From a seed, or from a source of uniform numbers. */
  constructor(seed: number | (() => number)) {
    this.next = typeof seed === 'function' ? seed : mulberry32((Math.floor(seed) ^ 0x9e3779b9) >>> 0);
  }

  /**
   * A generator drawing from this one that remembers its draws, and `replay()`: a generator giving the
   * same draws again (to apply the same random transforms twice).
   */
  recording(): { rng: Rng; replay: () => Rng } {
    const draws: number[] = [];
    const rng = new Rng(() => {
      const v = this.next();
      draws.push(v);
      return v;
    });
    const replay = () => {
      let i = 0;
      return new Rng(() => {
        if (i >= draws.length) throw new Error('cnnvis: a replayed transform drew more random numbers than the first time');
        return draws[i++];
      });
    };
    return { rng, replay };
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
