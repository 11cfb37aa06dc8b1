/**
 * display(x): shows anything that knows how to show itself (widgets, cnnvis results: objects with
 * a `mimeBundle()`), strings as text, other values as their inspected text.
 */
import * as util from 'util';
import { MimeBundle, displayBundle } from '../display/jupyter';

interface ShowsItself {
  mimeBundle(): MimeBundle;
}

function showsItself(x: unknown): x is ShowsItself {
  return typeof x === 'object' && x !== null && typeof (x as ShowsItself).mimeBundle === 'function';
}

/** Displays each value in the running cell's output (nothing happens outside a notebook). */
export function display(...values: unknown[]): void {
  // Returns nothing, like IPython's display(): a cell ending in display(w) prints no value after it.
  for (const x of values) {
    const bundle: MimeBundle = showsItself(x)
      ? x.mimeBundle()
      : { 'text/plain': typeof x === 'string' ? x : util.inspect(x, { depth: 4 }) };
    displayBundle(bundle);
  }
}
