/**
 * A thin, read-only HDF5 layer over jsfive (pure JS): open a file or bytes, walk groups, read
 * attributes with strings cleaned up (NUL padding removed, Keras' chunked list attributes joined),
 * and read float datasets into Float32Array with their shape.
 *
 * Limits (jsfive 0.4): no user block (superblock must be at byte 0), 64-bit offsets only, no compact
 * dataset storage, attributes only in the object header (not "dense" attribute storage). Files
 * written by h5py with its default settings, as Keras does, meet all of these.
 */
import * as fs from 'fs';
import * as jsfive from 'jsfive';
import { CnnvisError } from '../errors';

/** The 8 bytes every HDF5 file starts with (when it has no user block): \x89 H D F \r \n \x1a \n. */
export const HDF5_SIGNATURE: readonly number[] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** A file path, or the file's bytes. */
export type H5Source = string | Uint8Array | ArrayBuffer;

/** A cleaned-up attribute value. */
export type H5AttrValue = string | number | bigint | boolean | null | H5AttrValue[];

const DATA_LAYOUT_MSG = 0x0008;
const CONTIGUOUS = 1;

/** True when `bytes` has the HDF5 signature at `offset`. */
export function hasHdf5Signature(bytes: Uint8Array, offset = 0): boolean {
  if (bytes.byteLength < offset + HDF5_SIGNATURE.length) return false;
  return HDF5_SIGNATURE.every((b, i) => bytes[offset + i] === b);
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

function clean(v: unknown): H5AttrValue {
  if (typeof v === 'string') return v.replace(/\0+$/, '');
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === null) return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v).replace(/\0+$/, '');
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, clean);
  if (v === undefined) return null;
  return String(v);
}

/** Why bytes that are not HDF5 were given, when it is easy to guess. */
function notHdf5Hint(bytes: Uint8Array): string {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 4));
  if (head.startsWith('PK')) return ' (it is a zip archive; a Keras 3 .keras file must be re-saved as .h5)';
  if (head.trimStart().startsWith('{')) return ' (it looks like JSON; for a TF.js model.json use loadTfjsLayersModel)';
  return '';
}

/** A group (or the root of the file). Paths are relative to this group; '/' separates levels. */
export class H5Group {
  constructor(
    readonly file: H5File,
    /** @internal */ readonly raw: jsfive.Group,
  ) {}

  /** Absolute path inside the file, '/' for the root. */
  get path(): string {
    return this.raw.name;
  }

  /** Names of the direct children (groups and datasets), sorted. */
  keys(): string[] {
    return this.file.guard(`list ${this.path}`, () => this.raw.keys).sort();
  }

  /** Names of the attributes of this group. */
  attrNames(): string[] {
    return Object.keys(this.rawAttrs());
  }

  private rawAttrs(): Record<string, unknown> {
    return this.file.guard(`read the attributes of ${this.path}`, () => this.raw.attrs);
  }

  /** One attribute, cleaned (strings without NUL padding, arrays as plain arrays); undefined if absent. */
  attr(name: string): H5AttrValue | undefined {
    const attrs = this.rawAttrs();
    return name in attrs ? clean(attrs[name]) : undefined;
  }

  /** A string attribute (e.g. JSON); a one-element string list also counts. Undefined if absent. */
  stringAttr(name: string): string | undefined {
    const v = this.attr(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
    throw new CnnvisError(`${this.file.label}: attribute '${name}' of ${this.path} is not a string`);
  }

  /**
   * A list-of-strings attribute. Keras splits long lists over `name0`, `name1`, … when one attribute
   * would exceed HDF5's 64 KiB header limit; those chunks are joined. Undefined if absent.
   * An empty list saved by numpy (a float array of length 0) gives [].
   */
  stringListAttr(name: string): string[] | undefined {
    const attrs = this.rawAttrs();
    let parts: unknown[];
    if (name in attrs) {
      parts = [attrs[name]];
    } else if (`${name}0` in attrs) {
      parts = [];
      for (let i = 0; `${name}${i}` in attrs; i++) parts.push(attrs[`${name}${i}`]);
    } else {
      return undefined;
    }
    const out: string[] = [];
    for (const p of parts) {
      const v = clean(p);
      const items = Array.isArray(v) ? v : [v];
      for (const item of items) {
        if (typeof item !== 'string') {
          if (items.length === 0) continue;
          throw new CnnvisError(`${this.file.label}: attribute '${name}' of ${this.path} is not a list of strings`);
        }
        out.push(item);
      }
    }
    return out;
  }

  /** A JSON attribute parsed; undefined if absent. */
  jsonAttr(name: string): unknown {
    const s = this.stringAttr(name);
    if (s === undefined) return undefined;
    try {
      return JSON.parse(s);
    } catch (e) {
      throw new CnnvisError(`${this.file.label}: attribute '${name}' of ${this.path} is not valid JSON: ${errorText(e)}`);
    }
  }

  /** The child at `path` (a group or a dataset), or undefined when there is none. */
  child(path: string): H5Group | H5Dataset | undefined {
    let obj: jsfive.Group | jsfive.Dataset | null;
    try {
      obj = this.raw.get(path);
    } catch (e) {
      if (/not found in group/.test(errorText(e))) return undefined;
      throw new CnnvisError(`${this.file.label}: could not read '${path}' in ${this.path}: ${errorText(e)}`);
    }
    if (obj === null || obj === undefined) return undefined;
    if (obj instanceof jsfive.Dataset) return new H5Dataset(this.file, obj);
    return new H5Group(this.file, obj as jsfive.Group);
  }

  /** True when a child exists at `path`. */
  has(path: string): boolean {
    return this.child(path) !== undefined;
  }

  /** The group at `path`; a CnnvisError naming the existing children when absent. */
  group(path: string): H5Group {
    const c = this.child(path);
    if (c instanceof H5Group) return c;
    if (c) throw new CnnvisError(`${this.file.label}: ${c.path} is a dataset, not a group`);
    throw new CnnvisError(`${this.file.label}: no group '${path}' in ${this.path}; it has: ${this.keys().join(', ')}`);
  }

  /** The dataset at `path`; a CnnvisError naming the existing children when absent. */
  dataset(path: string): H5Dataset {
    const c = this.child(path);
    if (c instanceof H5Dataset) return c;
    if (c) throw new CnnvisError(`${this.file.label}: ${c.path} is a group, not a dataset`);
    throw new CnnvisError(`${this.file.label}: no dataset '${path}' in ${this.path}; it has: ${this.keys().join(', ')}`);
  }
}

/** A dataset: its shape, numpy-style dtype ('<f4', …) and values. */
export class H5Dataset {
  constructor(
    readonly file: H5File,
    /** @internal */ readonly raw: jsfive.Dataset,
  ) {}

  get path(): string {
    return this.raw.name;
  }

  get shape(): number[] {
    return this.file.guard(`read the shape of ${this.path}`, () => this.raw.shape.slice());
  }

  get dtype(): string {
    const d = this.file.guard(`read the type of ${this.path}`, () => this.raw.dtype);
    return typeof d === 'string' ? d : JSON.stringify(d);
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /**
   * The values as float32, row-major. Little-endian float32 data stored contiguously and unfiltered
   * (h5py's default, so every Keras file) is copied straight from the file bytes; anything else
   * (float64, float16, integers, chunked or compressed data) goes through jsfive's generic reader.
   */
  toFloat32(): Float32Array {
    const n = this.size;
    const fast = this.file.guard(`read ${this.path}`, () => this.contiguousF4Offset());
    if (fast !== undefined) {
      if (fast === null) return new Float32Array(n);
      if (fast + n * 4 > this.file.bytes.byteLength) {
        throw new CnnvisError(
          `${this.file.label}: dataset ${this.path} (${n} float32) runs past the end of the file; the file is truncated`,
        );
      }
      const start = this.file.bytes.byteOffset + fast;
      return new Float32Array(this.file.bytes.buffer.slice(start, start + n * 4));
    }
    const dtype = this.dtype;
    if (!/^[<>=|]?[fiu]\d+$/.test(dtype)) {
      throw new CnnvisError(`${this.file.label}: dataset ${this.path} has type ${dtype}, not numbers`);
    }
    const values = this.file.guard(`read ${this.path}`, () => this.raw.value);
    if (values.length !== n) {
      throw new CnnvisError(`${this.file.label}: dataset ${this.path} gave ${values.length} values for shape [${this.shape}]`);
    }
    return Float32Array.from(values as ArrayLike<number>, Number);
  }

  /** Byte offset of contiguous '<f4' data; null when no storage was allocated; undefined otherwise. */
  private contiguousF4Offset(): number | null | undefined {
    const dobj = this.raw._dataobjects;
    if (dobj.dtype !== '<f4' || (dobj.filter_pipeline && dobj.filter_pipeline.length)) return undefined;
    const msg = dobj.find_msg_type(DATA_LAYOUT_MSG)[0];
    if (!msg) return undefined;
    const props = dobj._get_data_message_properties(msg.get('offset_to_message') as number);
    if (props[2] !== CONTIGUOUS) return undefined;
    const b = this.file.bytes;
    const addr = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(props[3], true);
    if (addr === 0xffffffffffffffffn) return null;
    return Number(addr);
  }
}

/** An open HDF5 file; `root` is its root group. */
export class H5File {
  /** The root group '/'. */
  readonly root: H5Group;

  private constructor(
    /** The whole file. */
    readonly bytes: Uint8Array,
    /** How errors name the file: "'path'" or "the HDF5 bytes". */
    readonly label: string,
  ) {
    const raw = this.guard('open it', () => new jsfive.File(bytes.buffer as ArrayBuffer, label));
    this.root = new H5Group(this, raw);
  }

  /** Runs a jsfive call and turns its thrown strings into a CnnvisError that names the file. */
  guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof CnnvisError) throw e;
      throw new CnnvisError(`${this.label}: could not ${what} (HDF5 reader: ${errorText(e)})`);
    }
  }

  /** Opens a file path or bytes. Errors name the file and say why it is not readable HDF5. */
  static open(source: H5Source, name?: string): H5File {
    let bytes: Uint8Array;
    let label: string;
    if (typeof source === 'string') {
      label = `'${name ?? source}'`;
      if (!fs.existsSync(source)) throw new CnnvisError(`${label} does not exist`);
      if (fs.statSync(source).isDirectory()) throw new CnnvisError(`${label} is a folder, not an HDF5 file`);
      bytes = fs.readFileSync(source);
    } else {
      label = name ? `'${name}'` : 'the HDF5 bytes';
      bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    }
    if (!hasHdf5Signature(bytes)) {
      const at = [512, 1024, 2048, 4096].find((o) => hasHdf5Signature(bytes, o));
      if (at !== undefined) {
        throw new CnnvisError(`${label} is an HDF5 file with a ${at}-byte user block, which the HDF5 reader cannot read`);
      }
      throw new CnnvisError(
        `${label} is not an HDF5 file: it does not start with the HDF5 signature \\x89HDF\\r\\n\\x1a\\n${notHdf5Hint(bytes)}`,
      );
    }
    // jsfive wants a whole ArrayBuffer; share it when the bytes already span one, else copy once.
    const whole =
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes
        : new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return new H5File(whole, label);
  }
}

/** Opens an HDF5 file or bytes (see H5File.open). */
export function openH5(source: H5Source, name?: string): H5File {
  return H5File.open(source, name);
}
