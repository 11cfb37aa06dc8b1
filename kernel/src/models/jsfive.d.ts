/**
 * The parts of jsfive 0.4 (pure-JS HDF5 reader, CommonJS build at dist/cjs) that cnnvis uses.
 * jsfive throws plain strings, not Error objects; callers must catch `unknown`.
 */
declare module 'jsfive' {
  /** Attribute values: numbers, strings (fixed-length ones keep their NUL padding), or arrays of them. */
  export type AttrValue = unknown;

  /** Internal object-header reader; used for a fast path over contiguous float data. */
  export interface DataObjects {
    readonly offset: number;
    readonly shape: number[];
    readonly dtype: string | unknown[];
    readonly filter_pipeline: unknown[] | null;
    readonly is_dataset: boolean;
    find_msg_type(type: number): Array<Map<string, number>>;
    _get_data_message_properties(msgOffset: number): [number, number | undefined, number, number];
  }

  export class Group {
    readonly name: string;
    readonly parent: Group;
    readonly file: File;
    readonly keys: string[];
    readonly attrs: Record<string, AttrValue>;
    readonly _dataobjects: DataObjects;
    /** A child group or dataset by relative or absolute path; throws a string when absent. */
    get(path: string): Group | Dataset | null;
  }

  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
    readonly filename: string;
  }

  export class Dataset {
    readonly name: string;
    readonly parent: Group;
    readonly file: File;
    readonly shape: number[];
    /** numpy-style dtype string such as '<f4', or a descriptor array for strings/references. */
    readonly dtype: string | unknown[];
    readonly attrs: Record<string, AttrValue>;
    /** All values as a plain array (slow and large for big datasets). */
    readonly value: unknown[];
    readonly _dataobjects: DataObjects;
  }
}
