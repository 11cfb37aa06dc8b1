/**
 * Display bridge: sends rich Jupyter outputs (several MIME types in one bundle, display ids,
 * in-place updates) from TypeScript cells running in a tslab-based kernel.
 *
 * tslab's public `display` API sends one MIME type per output. Its `jupyter` module, however,
 * keeps the iopub writer of the running cell in `lastWriteDisplayData`; this module hands whole
 * bundles to that writer.
 *
 * Results that show themselves (`showResult`) go through the cnnvis kernel's cell display when it is
 * running a cell: the kernel shows such a result once, as the cell's `Out[n]` when the cell's value is
 * that result, else as a display_data where it was computed (see kernel/src/kernel/cellOutput.ts).
 *
 * Outside a notebook (CLI, tests, plain node) every function here is a no-op: `inNotebook()` is
 * false and `displayBundle()` returns false without sending anything. Invalid arguments (an update
 * without a display id, a value that cannot be encoded) throw a TypeError everywhere, so bugs show
 * up in tests too and not only in notebooks.
 */
import { randomBytes } from 'crypto';

/** A MIME bundle: MIME type -> content. Binary content (Uint8Array/Buffer) is base64-encoded when sent. */
export type MimeBundle = Record<string, string | Uint8Array | object>;

/** Per-MIME-type metadata, e.g. `{'image/png': {width: 64, height: 64}}`. */
export type MimeMetadata = Record<string, unknown>;

export interface DisplayOptions {
  metadata?: MimeMetadata;
  /** Display id to attach; a later call with the same id and `update: true` replaces this output. */
  displayId?: string;
  /** Send update_display_data (replace the output with `displayId`) instead of display_data. */
  update?: boolean;
}

/** Content of a display_data / update_display_data message, as the Jupyter protocol (5.1+) defines it. */
export interface DisplayMessage {
  data: Record<string, string | object>;
  metadata: MimeMetadata;
  transient: { display_id?: string };
}

/** Sends one display message; `update` selects update_display_data. */
export type DisplayWriter = (message: DisplayMessage, update: boolean) => void;

/** The shape of tslab's dist/jupyter module that this bridge relies on. */
interface TslabJupyterModule {
  lastWriteDisplayData?: unknown;
}

const TSLAB_JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

let writerOverride: DisplayWriter | null = null;

/**
 * Route displays to `writer` instead of a tslab kernel, or back to tslab with `null`.
 * Meant for hosts other than tslab (and for tests); returns the previous override.
 */
export function useDisplayWriter(writer: DisplayWriter | null): DisplayWriter | null {
  const previous = writerOverride;
  writerOverride = writer;
  return previous;
}

function writerOf(mod: NodeModule | undefined): DisplayWriter | null {
  const exported = mod?.exports as TslabJupyterModule | undefined;
  const write = exported?.lastWriteDisplayData;
  return typeof write === 'function' ? (write as DisplayWriter) : null;
}

/**
 * Finds the iopub display writer of the running tslab kernel, or null.
 *
 * The kernel process may have loaded a different tslab copy than the one cnnvis resolves (e.g. a
 * global tslab), so every loaded `.../tslab/dist/jupyter.js` is considered. Nothing is loaded here:
 * a tslab that the process has not loaded cannot be running a cell.
 */
function findTslabWriter(): DisplayWriter | null {
  const cache = require.cache;
  for (const key of Object.keys(cache)) {
    if (!TSLAB_JUPYTER_MODULE.test(key)) continue;
    const write = writerOf(cache[key]);
    if (write) return write;
  }
  try {
    return writerOf(cache[require.resolve('tslab/dist/jupyter')]);
  } catch {
    return null; // tslab is not resolvable from here
  }
}

function currentWriter(): DisplayWriter | null {
  return writerOverride ?? findTslabWriter();
}

/** True only while a tslab-based kernel (or a writer set with `useDisplayWriter`) can display. */
export function inNotebook(): boolean {
  return currentWriter() !== null;
}

/** A fresh display id, for `displayBundle(..., {displayId})` followed by updates. */
export function newDisplayId(): string {
  return `cnnvis-${randomBytes(8).toString('hex')}`;
}

function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || /\+json$/.test(mime);
}

/**
 * Converts a bundle to the wire form: binary content becomes base64 text, JSON MIME types keep
 * their objects, strings pass through (binary types given as strings must already be base64).
 */
export function encodeBundle(data: MimeBundle): Record<string, string | object> {
  const out: Record<string, string | object> = {};
  const mimes = Object.keys(data);
  if (mimes.length === 0) throw new TypeError('displayBundle: the bundle has no MIME types');
  for (const mime of mimes) {
    const value = data[mime];
    if (typeof value === 'string') {
      out[mime] = value;
    } else if (value instanceof Uint8Array) {
      out[mime] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    } else if (value !== null && typeof value === 'object' && isJsonMime(mime)) {
      out[mime] = value;
    } else {
      throw new TypeError(
        `displayBundle: ${mime} needs a string${isJsonMime(mime) ? ' or an object' : ' or bytes'}, got ${
          value === null ? 'null' : typeof value
        }`,
      );
    }
  }
  return out;
}

/**
 * Sends one display_data (or update_display_data with `update: true`) carrying every MIME type of
 * `data`. Returns true if it was sent, false outside a notebook.
 */
export function displayBundle(data: MimeBundle, opts: DisplayOptions = {}): boolean {
  if (opts.update && !opts.displayId) {
    throw new TypeError('displayBundle: update needs the displayId of the output to replace');
  }
  const encoded = encodeBundle(data);
  const write = currentWriter();
  if (!write) return false;
  const transient: DisplayMessage['transient'] = {};
  if (opts.displayId) transient.display_id = opts.displayId;
  write({ data: encoded, metadata: opts.metadata ?? {}, transient }, opts.update === true);
  return true;
}

/**
 * The running cnnvis kernel's cell display (installed process-wide by the kernel, so every copy of
 * cnnvis a notebook loads finds the same one).
 */
export interface CellDisplay {
  /** True while a cell is running: results offered now belong to it. */
  readonly active: boolean;
  /**
   * Shows `value` once in the running cell: as the cell's execute_result when it turns out to be the
   * cell's value, else as a display_data before the next output (or when the cell ends).
   */
  offer(value: object, message: DisplayMessage): void;
}

const CELL_DISPLAY_KEY = Symbol.for('cnnvis.kernel.cellDisplay');
type GlobalWithCellDisplay = typeof globalThis & { [CELL_DISPLAY_KEY]?: CellDisplay | null };

/** Installs (or removes, with null) the kernel's cell display; returns the previous one. */
export function installCellDisplay(display: CellDisplay | null): CellDisplay | null {
  const g = globalThis as GlobalWithCellDisplay;
  const previous = g[CELL_DISPLAY_KEY] ?? null;
  g[CELL_DISPLAY_KEY] = display;
  return previous;
}

function cellDisplay(): CellDisplay | null {
  const d = (globalThis as GlobalWithCellDisplay)[CELL_DISPLAY_KEY];
  return d && d.active ? d : null;
}

/**
 * Shows a cnnvis object (result, explorer) that displays itself when computed. In the cnnvis kernel
 * it is shown once per cell: as the cell's `Out[n]` when it is the cell's value, else as an output
 * where it was computed. Elsewhere (another tslab kernel, a writer set with useDisplayWriter) it is
 * sent at once like displayBundle. Returns true if it was (or will be) shown.
 */
export function showResult(value: object, data: MimeBundle, opts: { metadata?: MimeMetadata } = {}): boolean {
  const encoded = encodeBundle(data);
  const cell = writerOverride ? null : cellDisplay();
  if (cell) {
    cell.offer(value, { data: encoded, metadata: opts.metadata ?? {}, transient: {} });
    return true;
  }
  const write = currentWriter();
  if (!write) return false;
  write({ data: encoded, metadata: opts.metadata ?? {}, transient: {} }, false);
  return true;
}
