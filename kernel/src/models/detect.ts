/**
 * What kind of model file a path is, decided by its content (magic bytes), never by its extension:
 *
 * - a zip ("PK\x03\x04") → a Keras 3 `.keras` archive (readKerasArchive then says what else it is);
 * - the HDF5 signature → a Keras HDF5 file (`.h5`, or HDF5 saved under a `.keras` name);
 * - JSON → a TF.js model.json; a folder → a TF.js model folder (or a Teachable Machine Keras export
 *   folder holding keras_model.h5);
 * - an ONNX model (PyTorch's torch.onnx.export): protobuf has no magic bytes, so a `.onnx` name or a
 *   first field that is a small ir_version; models/onnx/read.ts then says whether it parses.
 *
 * Anything else is refused with one line that says what the file looks like and what is needed.
 * File contents never appear in messages.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CnnvisError } from '../errors';
import { hasHdf5Signature } from './hdf5';
import { isZip } from './keras3';
import { looksLikeOnnx } from './onnx/read';

export type ModelFileKind = 'keras3' | 'keras-h5' | 'tfjs' | 'onnx';

export interface ModelFile {
  kind: ModelFileKind;
  /** The file (or folder, for TF.js) to load. */
  path: string;
}

const HEAD_BYTES = 4096;

function readHead(file: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const n = fs.readSync(fd, head, 0, HEAD_BYTES, 0);
    return new Uint8Array(head.buffer, head.byteOffset, n);
  } finally {
    fs.closeSync(fd);
  }
}

const WHAT_WORKS = 'cnnvis loads a Keras .keras archive, a Keras .h5 file, a TF.js model.json (with its weight files) or an ONNX file exported from PyTorch';

/** A TF.js model.json beside `file` that lists it as a weight shard, if any. */
function shardOf(file: string): string | undefined {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return undefined;
  }
  for (const n of names) {
    const p = path.join(dir, n);
    try {
      if (fs.statSync(p).size > 64 * 1024 * 1024) continue;
      const json = JSON.parse(fs.readFileSync(p, 'utf8')) as { weightsManifest?: Array<{ paths?: unknown[] }> };
      if (json.weightsManifest?.some((g) => g.paths?.some((s) => typeof s === 'string' && path.basename(s) === base))) return p;
    } catch {
      /* not a model.json */
    }
  }
  return undefined;
}

/** What binary bytes are, when their signature says so. */
function binaryKind(head: Uint8Array): string | undefined {
  const at = (off: number, text: string) => [...text].every((c, i) => head[off + i] === c.charCodeAt(0));
  if (head[0] === 0x1f && head[1] === 0x8b) return 'a gzip-compressed file: decompress it first';
  if (at(4, 'TFL3')) return 'a TensorFlow Lite model, which cnnvis cannot read: use the Keras model it was converted from';
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return "a Python pickle (e.g. an old PyTorch checkpoint), not a model file: export the model with torch.onnx.export(model, x, 'model.onnx')";
  if (at(0, '\x89PNG') || (head[0] === 0xff && head[1] === 0xd8)) return 'an image, not a model';
  if (at(0, '7z') || at(0, 'Rar!') || at(257, 'ustar')) return 'an archive (7z, rar or tar): unpack it first';
  return undefined;
}

function looksLikeText(head: Uint8Array): boolean {
  for (const b of head) if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  return true;
}

/** Decides how to load `source` (an existing path); a CnnvisError when it is no model cnnvis reads. */
export function detectModelFile(source: string): ModelFile {
  const label = `'${source}'`;
  const st = fs.statSync(source);
  if (st.isDirectory()) {
    if (fs.existsSync(path.join(source, 'model.json'))) return { kind: 'tfjs', path: source };
    const tmKeras = path.join(source, 'keras_model.h5');
    if (fs.existsSync(tmKeras)) return { kind: 'keras-h5', path: tmKeras };
    if (fs.existsSync(path.join(source, 'saved_model.pb'))) {
      throw new CnnvisError(`${label} is a TensorFlow SavedModel folder, which cnnvis cannot read: load it in Keras and save it with model.save('model.keras')`);
    }
    throw new CnnvisError(`folder ${label} has no model.json; ${WHAT_WORKS}: pass the model file itself or a TF.js model folder`);
  }
  if (st.size === 0) throw new CnnvisError(`${label} is an empty file; ${WHAT_WORKS}`);
  const head = readHead(source);
  if (isZip(head)) return { kind: 'keras3', path: source };
  if (hasHdf5Signature(head)) return { kind: 'keras-h5', path: source };
  if (/\.onnx$/i.test(source) || looksLikeOnnx(head)) return { kind: 'onnx', path: source };
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  if (head[i] === 0x7b /* { */) return { kind: 'tfjs', path: source };
  if ([512, 1024, 2048].some((o) => hasHdf5Signature(head, o))) return { kind: 'keras-h5', path: source };
  const modelJson = shardOf(source);
  if (modelJson) {
    throw new CnnvisError(`${label} is a weight file of the TF.js model ${`'${modelJson}'`}: pass that model.json or its folder`);
  }
  const kind = binaryKind(head);
  if (kind) throw new CnnvisError(`${label} is ${kind}; ${WHAT_WORKS}`);
  if (looksLikeText(head)) throw new CnnvisError(`${label} is a text file, not a model; ${WHAT_WORKS}`);
  throw new CnnvisError(
    `${label} is not a model file cnnvis recognizes (not a zip, not HDF5, not JSON` +
      `${/\.bin$/i.test(source) ? '; a TF.js weights .bin is loaded through its model.json' : ''}); ${WHAT_WORKS}`,
  );
}
