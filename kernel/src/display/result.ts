/**
 * Result: what every cnnvis call returns. It keeps the raw numbers, knows how to show itself
 * (image/png + text/plain, plus text/html and vega-lite where there is a table or chart), and prints
 * a one-line summary instead of dumping arrays.
 */
import * as fs from 'fs';
import * as util from 'util';
import { encodePng } from '../images/encode';
import { RGBAImage } from '../types';
import { displayBundle, inNotebook, MimeBundle } from './jupyter';

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

  /** True once the result has been shown in a notebook. */
  private displayed = false;

  /** Shows the result in the notebook (nothing happens outside one); returns the result. */
  show(): this {
    const img = this.image();
    const metadata = img ? { 'image/png': { width: img.width, height: img.height } } : undefined;
    if (displayBundle(this.mimeBundle(), metadata ? { metadata } : {})) this.displayed = true;
    return this;
  }

  /** Writes the picture as PNG. */
  save(file: string): string {
    fs.writeFileSync(file, this.png());
    return file;
  }

  /** The full text, or one line when the result is already on screen (a cell's last value is printed too). */
  [util.inspect.custom](): string {
    return this.displayed ? `${this.kind} of ${this.meta.model} (shown above; .text() for the details)` : this.text();
  }
}

/** Shows a result when running in a notebook, unless the caller asked not to. */
export function autoShow<T extends Result>(result: T, display: boolean | undefined): T {
  if (display !== false && inNotebook()) result.show();
  return result;
}

/** Milliseconds since `t0` (performance.now based). */
export function since(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}
