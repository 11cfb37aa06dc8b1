/**
 * Progress for long loops (optimisation steps, batches of images).
 *
 * In a notebook: one output (text/plain + text/html bar) updated in place through its display id; a
 * running loop may show a picture under the bar (`picture`), which the finished bar no longer holds.
 * In a terminal: a bar on stderr, only when stderr is a TTY or CNNVIS_PROGRESS=1; silent otherwise.
 * Updates are throttled (at most 10 per second in a notebook or a TTY); a change held back by the
 * throttle is sent when the interval ends, and `done()` always shows the final state.
 */
import * as util from 'util';
import { displayBundle, inNotebook, newDisplayId } from './jupyter';

/** Shortest time between two notebook / TTY updates (ms): at most 10 updates per second. */
export const MIN_UPDATE_INTERVAL_MS = 100;
/** Shortest time between two lines when stderr is not a TTY (forced with CNNVIS_PROGRESS=1). */
export const MIN_LOG_INTERVAL_MS = 1000;

const BAR_WIDTH = 30;

/** Lets queued I/O (notebook display messages, stderr, widget messages) go out between steps of a long loop. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A picture under the bar: the PNG inline (a data URI) and its caption, escaped. */
function figureHtml(png: Uint8Array, size: { width: number; height: number }, text: string): string {
  const src = `data:image/png;base64,${Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64')}`;
  const caption = escapeHtml(text);
  return (
    '<figure class="cnnvis-progress-picture" style="margin:0.3em 0">' +
    `<img src="${src}" width="${size.width}" height="${size.height}" alt="${caption}" style="image-rendering:pixelated">` +
    `<figcaption style="font-family:monospace">${caption}</figcaption></figure>`
  );
}

type Sink =
  | { kind: 'notebook'; displayId: string }
  | { kind: 'terminal'; stream: NodeJS.WriteStream; tty: boolean }
  | { kind: 'silent' };

function chooseSink(): Sink {
  if (inNotebook()) return { kind: 'notebook', displayId: newDisplayId() };
  const stream = process.stderr;
  const tty = stream.isTTY === true;
  if (tty || process.env.CNNVIS_PROGRESS === '1') return { kind: 'terminal', stream, tty };
  return { kind: 'silent' };
}

export class Progress {
  readonly label: string;
  readonly total: number;
  private count = 0;
  private finished = false;
  private readonly sink: Sink;
  private readonly interval: number;
  private lastShown = -Infinity;
  private pending: ReturnType<typeof setTimeout> | null = null;
  private shownOnce = false;
  /** The picture under the bar, as HTML (encoded once; ticks re-send it with the bar). */
  private figure: string | null = null;

  /** `total` is the number of steps expected; 0 means unknown (the bar then shows the count only). */
  constructor(label: string, total: number) {
    if (!Number.isFinite(total) || total < 0) {
      throw new RangeError(`Progress: total must be a finite number >= 0, got ${total}`);
    }
    // Control characters would garble a terminal line; the HTML form escapes the rest.
    this.label = String(label).replace(/[\u0000-\u001f\u007f]/g, ' ');
    this.total = total;
    this.sink = chooseSink();
    this.interval =
      this.sink.kind === 'terminal' && !this.sink.tty ? MIN_LOG_INTERVAL_MS : MIN_UPDATE_INTERVAL_MS;
    this.show();
  }

  /** Steps done so far. */
  get value(): number {
    return this.count;
  }

  tick(n = 1): void {
    if (this.finished) return;
    this.count += n;
    if (this.pending) return; // the scheduled update will show the new count
    const wait = this.lastShown + this.interval - Date.now();
    if (wait <= 0) {
      this.show();
    } else {
      this.pending = setTimeout(() => {
        this.pending = null;
        if (!this.finished) this.show();
      }, wait);
      this.pending.unref?.();
    }
  }

  /**
   * In a notebook: shows `png` (with a one-line caption) under the bar, at once, until the next picture;
   * `done()` drops it, so the finished output is the bar alone. Elsewhere it does nothing.
   */
  picture(png: Uint8Array, size: { width: number; height: number }, caption: string): void {
    if (this.finished || this.sink.kind !== 'notebook') return;
    this.figure = figureHtml(png, size, String(caption).replace(/[\u0000-\u001f\u007f]/g, ' '));
    this.show();
  }

  /** Shows the final state (unthrottled) and stops further updates. Calling it again does nothing. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.figure = null;
    if (this.pending) {
      clearTimeout(this.pending);
      this.pending = null;
    }
    this.show();
    if (this.sink.kind === 'terminal' && this.sink.tty) this.sink.stream.write('\n');
  }

  private fraction(): number {
    if (this.total === 0) return this.finished ? 1 : 0;
    return Math.min(1, Math.max(0, this.count / this.total));
  }

  /** One-line text form, e.g. `conv1 [#########.....................] 3/10 30%`. */
  text(): string {
    if (this.total === 0) return `${this.label} ${this.count}${this.finished ? ' done' : ''}`;
    const f = this.fraction();
    const filled = Math.round(f * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
    return `${this.label} [${bar}] ${this.count}/${this.total} ${Math.floor(f * 100)}%`;
  }

  /** One line: the text form (console.log and a cell's value). */
  [util.inspect.custom](): string {
    return this.text();
  }

  /** HTML form; every piece of text in it is escaped. */
  html(): string {
    const pct = (this.fraction() * 100).toFixed(1);
    const counts = this.total === 0 ? `${this.count}` : `${this.count}/${this.total}`;
    return (
      '<div class="cnnvis-progress" style="display:flex;align-items:center;gap:0.5em;font-family:monospace">' +
      `<span>${escapeHtml(this.label)}</span>` +
      '<div style="width:20em;height:0.9em;border:1px solid #999;border-radius:2px;background:#eee">' +
      `<div style="width:${pct}%;height:100%;background:${this.finished ? '#4a4' : '#48c'}"></div></div>` +
      `<span>${escapeHtml(counts)}</span></div>`
    );
  }

  private show(): void {
    this.lastShown = Date.now();
    const sink = this.sink;
    switch (sink.kind) {
      case 'notebook':
        displayBundle(
          { 'text/plain': this.text(), 'text/html': this.html() + (this.figure ?? '') },
          { displayId: sink.displayId, update: this.shownOnce },
        );
        this.shownOnce = true;
        return;
      case 'terminal':
        sink.stream.write(sink.tty ? `\r\x1b[2K${this.text()}` : `${this.text()}\n`);
        return;
      case 'silent':
        return;
    }
  }
}
