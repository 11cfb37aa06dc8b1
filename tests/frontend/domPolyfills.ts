/** What jsdom lacks and Lumino touches when its modules load (import this first). */
const g = globalThis as unknown as Record<string, unknown>;
if (typeof g.DragEvent === 'undefined') {
  g.DragEvent = class DragEvent extends MouseEvent {
    readonly dataTransfer = null;
  };
}
export {};
// The kernel-side explorers run in the same (jsdom) test process; Node's setImmediate is not there.
if (typeof g.setImmediate === 'undefined') {
  g.setImmediate = (fn: (...args: unknown[]) => void, ...args: unknown[]) => setTimeout(fn, 0, ...args);
}
// jsdom has no TextEncoder / TextDecoder; kernel code run in the same process may use them.
if (typeof g.TextEncoder === 'undefined' || typeof g.TextDecoder === 'undefined') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const util = require('util') as { TextEncoder: unknown; TextDecoder: unknown };
  g.TextEncoder ??= util.TextEncoder;
  g.TextDecoder ??= util.TextDecoder;
}
