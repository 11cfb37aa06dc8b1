/**
 * The Jupyter widget protocol as the kernel side speaks it: version 2.1.0 (ipywidgets 8,
 * @jupyter-widgets/base 2.0, @jupyter-widgets/controls 2.0, jupyterlab-manager 5), module names and
 * versions, and the state encoding (widget references, binary buffers and their buffer_paths).
 *
 * Model modules and versions are explicit so saved notebooks keep rendering with the same front-end
 * classes.
 */
import type { JsonObject } from '../kernel/wire';

export const WIDGET_PROTOCOL_VERSION = '2.1.0';
export const WIDGET_TARGET = 'jupyter.widget';
export const CONTROL_TARGET = 'jupyter.widget.control';
export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';
export const VIEW_VERSION = { version_major: 2, version_minor: 0 } as const;

export const BASE_MODULE = '@jupyter-widgets/base';
export const BASE_VERSION = '2.0.0';
export const CONTROLS_MODULE = '@jupyter-widgets/controls';
export const CONTROLS_VERSION = '2.0.0';
export const OUTPUT_MODULE = '@jupyter-widgets/output';
export const OUTPUT_VERSION = '1.0.0';

/** The immutable identity of a model: which front-end model and view classes render it. */
export interface ModelSpec {
  _model_name: string;
  _model_module: string;
  _model_module_version: string;
  _view_name: string | null;
  _view_module: string | null;
  _view_module_version: string;
}

export function controlsModel(model: string, view: string | null): ModelSpec {
  return {
    _model_name: model,
    _model_module: CONTROLS_MODULE,
    _model_module_version: CONTROLS_VERSION,
    _view_name: view,
    _view_module: CONTROLS_MODULE,
    _view_module_version: CONTROLS_VERSION,
  };
}

/** Style models live in controls; their view is base's StyleView. */
export function styleModel(model: string): ModelSpec {
  return {
    _model_name: model,
    _model_module: CONTROLS_MODULE,
    _model_module_version: CONTROLS_VERSION,
    _view_name: 'StyleView',
    _view_module: BASE_MODULE,
    _view_module_version: BASE_VERSION,
  };
}

export const REF_PREFIX = 'IPY_MODEL_';
export type BufferPath = Array<string | number>;

/** Anything with a model id that state can reference as 'IPY_MODEL_<id>'. */
export interface ModelRef {
  readonly modelId: string;
}
const REF_MARK = Symbol.for('cnnvis.widgets.ref');
export function markAsRef(obj: object): void {
  Object.defineProperty(obj, REF_MARK, { value: true });
}
export function isRef(value: unknown): value is ModelRef {
  return typeof value === 'object' && value !== null && (value as { [REF_MARK]?: boolean })[REF_MARK] === true;
}

function isBinary(value: unknown): value is ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function toBytes(value: ArrayBufferView | ArrayBuffer): Buffer {
  return value instanceof ArrayBuffer ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export interface EncodedState {
  state: JsonObject;
  buffer_paths: BufferPath[];
  buffers: Buffer[];
}

/**
 * Encodes state for the wire: widgets become 'IPY_MODEL_<id>', binary values are taken out into
 * buffers (removed from objects, null in arrays) with their paths, everything else is JSON.
 */
export function encodeState(state: Record<string, unknown>): EncodedState {
  const buffer_paths: BufferPath[] = [];
  const buffers: Buffer[] = [];
  const walk = (value: unknown, path: BufferPath): unknown => {
    if (isRef(value)) return REF_PREFIX + value.modelId;
    if (isBinary(value)) {
      buffer_paths.push(path);
      buffers.push(toBytes(value));
      return undefined;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]) ?? null);
    if (value !== null && typeof value === 'object') {
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(value)) {
        const w = walk(v, [...path, k]);
        if (w !== undefined) out[k] = w;
      }
      return out;
    }
    return value;
  };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(state)) {
    const w = walk(v, [k]);
    if (w !== undefined) out[k] = w;
  }
  return { state: out, buffer_paths, buffers };
}

/** Puts received buffers back into `state` at their paths (as Uint8Array views of the frames). */
export function insertBuffers(state: JsonObject, paths: unknown, buffers: Buffer[]): JsonObject {
  if (paths === undefined) return state;
  if (!Array.isArray(paths)) throw new TypeError('buffer_paths must be an array of paths');
  if (paths.length > buffers.length) {
    throw new TypeError(`buffer_paths names ${paths.length} buffers but the message has ${buffers.length}`);
  }
  paths.forEach((path, i) => {
    if (!Array.isArray(path) || path.length === 0 || !path.every((p) => typeof p === 'string' || typeof p === 'number')) {
      throw new TypeError(`buffer path ${JSON.stringify(path)} is not a non-empty list of keys and indices`);
    }
    // Own keys only: a path through '__proto__' or 'constructor' must not reach shared prototypes.
    if (path.some((p) => p === '__proto__')) throw new TypeError(`buffer path ${JSON.stringify(path)} is not a path in the state`);
    let obj: unknown = state;
    for (const key of path.slice(0, -1)) {
      const owner = obj as Record<string | number, unknown>;
      obj = Object.prototype.hasOwnProperty.call(owner, key) ? owner[key] : undefined;
      if (obj === null || typeof obj !== 'object') throw new TypeError(`buffer path ${JSON.stringify(path)} does not exist in the state`);
    }
    const b = buffers[i];
    (obj as Record<string | number, unknown>)[path[path.length - 1]] = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  });
  return state;
}

/** Structural equality of state values (bytes by content, widgets by identity). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (isBinary(a) && isBinary(b)) return toBytes(a).equals(toBytes(b));
  if (isRef(a) || isRef(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => sameValue((a as JsonObject)[k], (b as JsonObject)[k]));
  }
  return false;
}
