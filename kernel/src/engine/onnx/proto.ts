/**
 * A minimal protobuf writer for the parts of the ONNX format cnnvis emits (onnx.proto3): a model with
 * one graph of nodes, float/int64 initializers stored as raw little-endian bytes, and typed inputs and
 * outputs. Field numbers are onnx.proto's. Large weights are kept as the caller's byte views until the
 * final concatenation, so a 500 MB model is copied once.
 */

/** Length-delimited protobuf message under construction: a list of byte chunks. */
export class Msg {
  readonly parts: Uint8Array[] = [];
  length = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }

  private varintBytes(v: number | bigint): Uint8Array {
    let n = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let byte = Number(n & 0x7fn);
      n >>= 7n;
      if (n !== 0n) byte |= 0x80;
      out.push(byte);
    } while (n !== 0n);
    return Uint8Array.from(out);
  }

  private tag(field: number, wire: number): void {
    this.push(this.varintBytes((field << 3) | wire));
  }

  /** varint field (int32, int64, enum). */
  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.push(this.varintBytes(v));
    return this;
  }

  /** fixed32 float field. */
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.push(this.varintBytes(b.length));
    this.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, m: Msg): this {
    this.tag(field, 2);
    this.push(this.varintBytes(m.length));
    for (const p of m.parts) this.push(p);
    return this;
  }

  /** packed repeated int64 field. */
  packedInts(field: number, vs: readonly number[]): this {
    const inner = new Msg();
    for (const v of vs) inner.push(inner.varintBytes(v));
    return this.msg(field, inner);
  }

  /** packed repeated float field. */
  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** ONNX TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

/** AttributeProto (int, float, string, ints, floats). Plain numbers are ints; use {float} for floats. */
export function attribute(name: string, v: AttrValue): Msg {
  const m = new Msg().str(1, name);
  if (typeof v === 'number') return m.int(3, v).int(20, 2);
  if (typeof v === 'string') return m.str(4, v).int(20, 3);
  if (Array.isArray(v)) return m.packedInts(8, v).int(20, 7);
  if ('floats' in v) return m.packedFloats(7, v.floats).int(20, 6);
  return m.float(2, v.float).int(20, 1);
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  name?: string;
}

export function node(n: NodeSpec): Msg {
  const m = new Msg();
  for (const i of n.inputs) m.str(1, i);
  for (const o of n.outputs) m.str(2, o);
  if (n.name) m.str(3, n.name);
  m.str(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) m.msg(5, attribute(k, v));
  return m;
}

export interface InitSpec {
  name: string;
  dims: number[];
  type: number;
  /** Little-endian raw bytes of the values (inline in the model). */
  raw: Uint8Array;
}

export function tensorProto(t: InitSpec): Msg {
  const m = new Msg();
  if (t.dims.length) m.packedInts(1, t.dims);
  m.int(2, t.type).str(8, t.name);
  m.bytes(9, t.raw);
  return m;
}

/** ValueInfoProto with element type and shape; a string dimension is symbolic (e.g. the batch). */
export function valueInfo(name: string, type: number, dims: (number | string)[]): Msg {
  const shape = new Msg();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().str(2, d));
  const tensorType = new Msg().int(1, type).msg(2, shape);
  return new Msg().str(1, name).msg(2, new Msg().msg(1, tensorType));
}

export interface GraphSpec {
  name: string;
  /**
   * Float inputs (also listed in `inputs`) that the graph supplies itself on every run: large weights,
   * read where they live, because the runtime copies every initializer it is given.
   */
  bound?: Record<string, { dims: number[]; get: () => Float32Array }>;
  /** No heavy operator (convolution, matrix product): one thread is enough. */
  light?: boolean;
  nodes: NodeSpec[];
  initializers: InitSpec[];
  inputs: { name: string; type: number; dims: (number | string)[] }[];
  outputs: { name: string; type: number; dims: (number | string)[] }[];
}

/** Serialized ModelProto (IR version 8, default opset 17). */
export function modelBytes(g: GraphSpec, opset = 17): Uint8Array {
  const graph = new Msg();
  for (const n of g.nodes) graph.msg(1, node(n));
  graph.str(2, g.name);
  for (const t of g.initializers) graph.msg(5, tensorProto(t));
  for (const i of g.inputs) graph.msg(11, valueInfo(i.name, i.type, i.dims));
  for (const o of g.outputs) graph.msg(12, valueInfo(o.name, o.type, o.dims));
  const model = new Msg()
    .int(1, 8)
    .str(2, 'cnnvis')
    .str(3, '0.1.0')
    .msg(7, graph)
    .msg(8, new Msg().str(1, '').int(2, opset));
  return model.toBytes();
}
