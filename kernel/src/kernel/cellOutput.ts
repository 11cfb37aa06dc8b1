/**
 * What a running cell shows, the way Jupyter's own kernels do it:
 *
 * - the cell's value (its last expression) is an `execute_result` numbered like the cell (`Out[n]`):
 *   an object that shows itself (cnnvis results, explorers, widgets: `mimeBundle()`) with its rich
 *   bundle, anything else as one plain-text form; a trailing `;` (or a silent request) suppresses it;
 * - a cnnvis result that shows itself when computed (`showResult`) is shown once per cell: it waits
 *   until the next output of the cell, the next turn of the event loop, or the end of the cell, and
 *   becomes the cell's `Out[n]` when it is the cell's value; otherwise it is a display_data in
 *   its place. So `await cnnvis.gradCam(m, img)` gives `Out[n]` with the picture, `const cam = await
 *   cnnvis.gradCam(m, img)` (or a trailing `;`) shows the picture without a number, and a result
 *   already shown in the cell is not shown again as its value.
 */
import { createRequire } from 'module';
import * as util from 'util';
import type * as TS from 'typescript';
import type { CellDisplay, DisplayMessage } from '../display/jupyter';
import type { JsonObject } from './wire';

/** Sends one iopub message with the running cell as parent. */
export type Publish = (msgType: string, content: JsonObject) => void;

/** Longest plain-text form of a value (util.inspect of a big array or object is cut here). */
export const MAX_PLAIN_CHARS = 4000;

interface ShowsItself {
  mimeBundle(): Record<string, unknown>;
}

function showsItself(x: unknown): x is ShowsItself {
  return typeof x === 'object' && x !== null && typeof (x as ShowsItself).mimeBundle === 'function';
}

/** util.inspect's form of a value, at most MAX_PLAIN_CHARS characters. */
export function plainText(value: unknown): string {
  if (value instanceof Promise) return 'Promise { … } (put await in front of the call for its value)';
  const text = typeof value === 'string' ? util.inspect(value) : util.inspect(value, { depth: 2, maxArrayLength: 20, maxStringLength: 200, breakLength: 100 });
  return text.length <= MAX_PLAIN_CHARS ? text : `${text.slice(0, MAX_PLAIN_CHARS - 1)}…`;
}

function encodeBase64(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return value;
}

/** The display bundle of a cell's value: its own bundle (binary parts base64) or its plain text. */
export function valueBundle(value: unknown): Record<string, unknown> {
  if (showsItself(value)) {
    try {
      const own = value.mimeBundle();
      const data: Record<string, unknown> = {};
      for (const [mime, v] of Object.entries(own)) data[mime] = encodeBase64(v);
      if (typeof data['text/plain'] !== 'string') data['text/plain'] = plainText(value);
      return data;
    } catch {
      // A broken mimeBundle shows the value as text rather than failing the cell after it ran.
    }
  }
  return { 'text/plain': plainText(value) };
}

let tsModule: typeof TS | null = null;
function typescript(): typeof TS {
  // The TypeScript that tslab compiles cells with (cnnvis does not depend on it directly).
  // tslab's own build of TypeScript (@tslab/typescript-for-tslab, its dependency): a plain 'typescript'
  // resolves only inside the repository, where it is a dev dependency.
  tsModule ??= createRequire(require.resolve('tslab/package.json'))('@tslab/typescript-for-tslab') as typeof TS;
  return tsModule;
}

/**
 * True when the cell's last statement is an expression ending in `;` (IPython's rule: the value is
 * then not shown). Comments after it do not count.
 */
export function endsWithSemicolon(code: string): boolean {
  const ts = typescript();
  const file = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const last = file.statements[file.statements.length - 1];
  if (!last) return false;
  return code.slice(last.getStart(file), last.end).trimEnd().endsWith(';');
}

interface Pending {
  value: object;
  message: DisplayMessage;
  timer: ReturnType<typeof setImmediate>;
}

/**
 * The output of one cell at a time: installed as the process' CellDisplay (display/jupyter.ts) by
 * the kernel. `begin` starts a cell, `beforeOutput` runs before any other output of the cell, `end`
 * sends the cell's value.
 */
export class CellOutput implements CellDisplay {
  private publish: Publish | null = null;
  private pending: Pending | null = null;
  /** Values shown in the running cell (never shown twice in one cell). */
  private shown = new WeakSet<object>();

  get active(): boolean {
    return this.publish !== null;
  }

  begin(publish: Publish): void {
    this.flush();
    this.publish = publish;
    this.shown = new WeakSet();
  }

  offer(value: object, message: DisplayMessage): void {
    if (!this.publish) return;
    if (this.shown.has(value)) return;
    this.flush();
    this.shown.add(value);
    // Shown by the next turn of the event loop at the latest: only a value that the cell returns at
    // once (its last expression) can still become the cell's Out[n].
    const timer = setImmediate(() => {
      if (this.pending?.timer === timer) this.flush();
    });
    this.pending = { value, message, timer };
  }

  /** Sends the waiting result as a display_data (before another output, or when the cell ends). */
  flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearImmediate(p.timer);
    this.publish?.('display_data', p.message as unknown as JsonObject);
  }

  /**
   * Ends the cell. `value` is its last expression's value (undefined when it has none or `;`
   * suppressed it); `count` its execution count.
   */
  end(value: unknown, count: number): void {
    const publish = this.publish;
    if (!publish) return;
    try {
      if (value === undefined || value === null) return;
      const p = this.pending;
      if (p && p.value === value) {
        this.pending = null;
        clearImmediate(p.timer);
        publish('execute_result', { execution_count: count, data: p.message.data, metadata: p.message.metadata } as unknown as JsonObject);
        return;
      }
      this.flush();
      if (typeof value === 'object' && this.shown.has(value)) return; // shown above in this cell
      publish('execute_result', { execution_count: count, data: valueBundle(value), metadata: {} } as JsonObject);
    } finally {
      this.flush();
      this.publish = null;
    }
  }
}
