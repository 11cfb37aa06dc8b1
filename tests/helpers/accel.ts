/** The two compute paths every conformance test runs: the engine (default) and the pure TF.js path (CNNVIS_ACCEL=off). */
import { setAccelEnabled } from '../../kernel/src/index';

export const PATHS = ['engine', 'tfjs'] as const;
export type PathName = (typeof PATHS)[number];

/** Runs fn on one path, then turns the engine back on. */
export async function onPath<T>(p: PathName, fn: () => Promise<T> | T): Promise<T> {
  setAccelEnabled(p === 'engine');
  try {
    return await fn();
  } finally {
    setAccelEnabled(true);
  }
}

/** Both paths, the engine first. */
export async function both<T>(fn: () => Promise<T> | T): Promise<{ engine: T; tfjs: T }> {
  const engine = await onPath('engine', fn);
  const tfjs = await onPath('tfjs', fn);
  return { engine, tfjs };
}

/** The same synchronous computation on the engine, then on TF.js. */
export function bothSync<T>(fn: () => T): { engine: T; tfjs: T } {
  setAccelEnabled(true);
  const engine = fn();
  setAccelEnabled(false);
  try {
    return { engine, tfjs: fn() };
  } finally {
    setAccelEnabled(true);
  }
}
