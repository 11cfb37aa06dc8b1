/**
 * Reading an ONNX file (what `torch.onnx.export` writes): the protobuf is decoded by onnx-proto (the ONNX
 * schema compiled for protobufjs); this module turns its tensors into plain typed arrays, reads weights
 * kept in external data files beside the model, and says in one line what is wrong with a file that is
 * not a complete ONNX model.
 */
import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { CnnvisError } from '../../errors';

type Long = { toNumber(): number };
export const toNum = (v: number | Long | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

/** A tensor's values as numbers (float32 for floats, plain numbers for integer types). */
export interface ConstTensor {
  dims: number[];
  /** Float32Array for float tensors, a number array for integer and boolean ones. */
  data: Float32Array | number[];
  /** True for integer and boolean element types. */
  integer: boolean;
}

const ELEM = onnx.TensorProto.DataType;
const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ELEM).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `type ${t}`;
}

/** Parses the bytes of an ONNX file; a CnnvisError when they are not a complete ONNX model. */
export function parseOnnx(bytes: Uint8Array, label: string): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0].slice(0, 80) : 'unreadable';
    throw new CnnvisError(`${label} is not a complete ONNX model (the protobuf cannot be decoded: ${why}; a truncated download or a file that is no ONNX model): export it again with torch.onnx.export`);
  }
  if (!toNum(model.irVersion) || !model.graph || !model.graph.node?.length) {
    throw new CnnvisError(`${label} is not an ONNX model (no IR version or no graph): export it with torch.onnx.export(model, x, 'model.onnx')`);
  }
  return model;
}

function bytesOf(raw: Uint8Array): DataView {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Reads external data (weights kept beside the .onnx file) as bytes. */
function externalBytes(t: onnx.ITensorProto, dir: string, label: string): Uint8Array {
  const entry = (k: string) => t.externalData?.find((e) => e.key === k)?.value ?? undefined;
  const location = entry('location');
  if (!location) throw new CnnvisError(`${label}: weight '${t.name}' is stored externally but names no file`);
  const file = path.resolve(dir, location);
  if (!fs.existsSync(file)) {
    throw new CnnvisError(`${label} keeps its weights in the external file '${location}', which is not in ${dir}: put it beside the .onnx file (or export with the weights inside)`);
  }
  const offset = Number(entry('offset') ?? 0);
  const size = fs.statSync(file).size;
  const length = entry('length') !== undefined ? Number(entry('length')) : size - offset;
  if (offset + length > size) throw new CnnvisError(`${label}: the external weight file '${location}' is shorter than its weights need (truncated?)`);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, offset);
    return new Uint8Array(buf.buffer, buf.byteOffset, length);
  } finally {
    fs.closeSync(fd);
  }
}

/** The values of a TensorProto (an initializer or a Constant's value). */
export function tensorValues(t: onnx.ITensorProto, dir: string, label: string): ConstTensor {
  const dims = (t.dims ?? []).map(toNum);
  const n = dims.reduce((a, b) => a * b, 1);
  const type = t.dataType ?? 0;
  let raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) raw = externalBytes(t, dir, label);
  const bad = () => new CnnvisError(`${label}: tensor '${t.name}' holds ${raw ? raw.length + ' bytes' : 'no values'} for shape [${dims.join(', ')}] (${typeName(type)}); the file is damaged`);
  switch (type) {
    case ELEM.FLOAT:
    case ELEM.DOUBLE:
    case ELEM.FLOAT16: {
      const out = new Float32Array(n);
      if (raw) {
        const width = type === ELEM.DOUBLE ? 8 : type === ELEM.FLOAT ? 4 : 2;
        if (raw.length !== n * width) throw bad();
        const v = bytesOf(raw);
        for (let i = 0; i < n; i++) out[i] = width === 4 ? v.getFloat32(i * 4, true) : width === 8 ? v.getFloat64(i * 8, true) : half(v.getUint16(i * 2, true));
      } else {
        const src = type === ELEM.DOUBLE ? t.doubleData ?? [] : type === ELEM.FLOAT ? t.floatData ?? [] : (t.int32Data ?? []).map(half);
        if (src.length !== n) throw bad();
        out.set(src);
      }
      return { dims, data: out, integer: false };
    }
    case ELEM.INT64:
    case ELEM.INT32:
    case ELEM.INT8:
    case ELEM.UINT8:
    case ELEM.INT16:
    case ELEM.UINT16:
    case ELEM.BOOL: {
      const out: number[] = new Array(n);
      if (raw) {
        const width = type === ELEM.INT64 ? 8 : type === ELEM.INT32 ? 4 : type === ELEM.INT16 || type === ELEM.UINT16 ? 2 : 1;
        if (raw.length !== n * width) throw bad();
        const v = bytesOf(raw);
        for (let i = 0; i < n; i++) {
          out[i] =
            width === 8 ? Number(v.getBigInt64(i * 8, true)) : width === 4 ? v.getInt32(i * 4, true) : width === 2 ? (type === ELEM.INT16 ? v.getInt16(i * 2, true) : v.getUint16(i * 2, true)) : type === ELEM.INT8 ? v.getInt8(i) : v.getUint8(i);
        }
      } else {
        const src = type === ELEM.INT64 ? (t.int64Data ?? []).map(toNum) : t.int32Data ?? [];
        if (src.length !== n) throw bad();
        for (let i = 0; i < n; i++) out[i] = src[i];
      }
      return { dims, data: out, integer: true };
    }
    default:
      throw new CnnvisError(`${label}: tensor '${t.name}' has element type ${typeName(type)}; cnnvis reads float, double, float16 and integer tensors`);
  }
}

/** IEEE half-precision bits → number. */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Reads and parses an ONNX file. */
export function readOnnxFile(file: string): { model: onnx.ModelProto; dir: string; label: string } {
  const label = `'${file}'`;
  const bytes = fs.readFileSync(file);
  return { model: parseOnnx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), label), dir: path.dirname(file), label };
}

/** Cheap check of the first bytes: field 1 (ir_version, a small varint) first, as every exporter writes. */
export function looksLikeOnnx(head: Uint8Array): boolean {
  return head.length > 4 && head[0] === 0x08 && head[1] >= 3 && head[1] <= 15 && [0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a, 0x42].includes(head[2]);
}
