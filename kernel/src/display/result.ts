/**
 * Result: what every cnnvis call returns. It keeps the raw numbers, knows how to show itself
 * (image/png + text/plain, plus text/html and vega-lite where there is a table or chart), and prints
 * as one short line (toString, util.inspect) instead of dumping arrays.
 */
import * as fs from 'fs';
import * as util from 'util';
import { encodePng } from '../images/encode';
import { RGBAImage } from '../types';
import { displayBundle, inNotebook, MimeBundle, showResult } from './jupyter';

export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';

export interface ResultMeta {
  /** Model name. */
  model: string;
  /** Backend that computed the result. */
  backend: string;
  /** Wall time of the computation in milliseconds. */
  timeMs: number;
  /** The preprocessing the input got and why (image results). */
  preprocess?: string;
}

export abstract class Result {
  abstract readonly kind: string;
  readonly meta: ResultMeta;

  constructor(meta: ResultMeta) {
    this.meta = meta;
  }

  /** Short plain-text summary (also the text/plain of the display). */
  abstract text(): string;

  /** The main picture, or null for results without one. */
  image(): RGBAImage | null {
    return null;
  }

  /** An HTML rendering for results that are tables; must escape all model-supplied text. */
  html(): string | null {
    return null;
  }

  /** A vega-lite spec for results with a chart. */
  vegaLite(): object | null {
    return null;
  }

  /** The main picture as PNG bytes (throws when the result has no picture). */
  png(): Uint8Array {
    const img = this.image();
    if (!img) throw new Error(`${this.kind} result has no picture`);
    return encodePng(img);
  }

  /** Jupyter MIME bundle: image/png and text/plain always (when there is a picture), html and vega-lite where they apply. */
  mimeBundle(): MimeBundle {
    const bundle: MimeBundle = { 'text/plain': this.text() };
    const img = this.image();
    if (img) bundle['image/png'] = encodePng(img);
    const html = this.html();
    if (html) bundle['text/html'] = html;
    const spec = this.vegaLite();
    if (spec) bundle[VEGA_LITE_MIME] = spec;
    return bundle;
  }

  /** Shows the result in the notebook now (nothing happens outside one); returns the result. */
  show(): this {
    displayBundle(this.mimeBundle(), this.displayMetadata());
    return this;
  }

  /** Display metadata: the picture's size. */
  displayMetadata(): { metadata?: Record<string, unknown> } {
    const img = this.image();
    return img ? { metadata: { 'image/png': { width: img.width, height: img.height } } } : {};
  }

  /** Writes the picture as PNG. */
  save(file: string): string {
    fs.writeFileSync(file, this.png());
    return file;
  }

  /** One short line: the first line of text(), shortened (what `console.log(result)` prints). */
  toString(): string {
    return oneLine(this.text());
  }

  [util.inspect.custom](): string {
    return this.toString();
  }
}

/** The first line of `text`, at most `max` characters (an ellipsis marks a cut). */
export function oneLine(text: string, max = 160): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const first = lines[0] ?? '';
  const line = lines.length > 1 ? `${first} …` : first;
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/**
 * Shows a result when running in a notebook, unless the caller asked not to. In the cnnvis kernel
 * the result is shown once: as the cell's Out[n] when it is the cell's value (the last expression,
 * no trailing `;`), else where it was computed (an assignment such as `const cam = await ...`).
 */
export function autoShow<T extends Result>(result: T, display: boolean | undefined): T {
  if (display !== false && inNotebook()) showResult(result, result.mimeBundle(), result.displayMetadata());
  return result;
}

/**
 * A notebook function from a computing one: `compute` runs with `display: false` (it never shows
 * anything), and its result is then offered to the notebook once (autoShow), unless the caller said
 * `display: false`. Computing stays separate from showing; the notebook functions, the registry's
 * `run` and the explorers all compute through the same `compute`.
 */
export function showing<M, I, O extends { display?: boolean }, R extends Result>(
  compute: (model: M, input: I, opts: O) => Promise<R>,
): (model: M, input: I, opts?: O) => Promise<R> {
  return async (model, input, opts) => autoShow(await compute(model, input, { ...opts, display: false } as O), opts?.display);
}

/** Milliseconds since `t0` (performance.now based). */
export function since(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}
