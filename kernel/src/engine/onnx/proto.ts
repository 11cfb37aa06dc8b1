/**
 * The graphs cnnvis compiles, as plain data (nodes, initializers, typed inputs and outputs), and their
 * serialization to an ONNX ModelProto by onnx-proto (the ONNX schema compiled for protobufjs, the same
 * library the importer in models/onnx reads with). Initializer bytes are the caller's views: protobufjs
 * copies them once, into the finished buffer.
 */
import { onnx } from 'onnx-proto';

/** ONNX TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  name?: string;
}

export interface InitSpec {
  name: string;
  dims: number[];
  type: number;
  /** Little-endian raw bytes of the values (inline in the model). */
  raw: Uint8Array;
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

const AT = onnx.AttributeProto.AttributeType;

/** AttributeProto (int, float, string, ints, floats). Plain numbers are ints; use {float} for floats. */
function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  if (typeof v === 'number') return { name, type: AT.INT, i: v };
  if (typeof v === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if ('floats' in v) return { name, type: AT.FLOATS, floats: v.floats };
  return { name, type: AT.FLOAT, f: v.float };
}

/** ValueInfoProto with element type and shape; a string dimension is symbolic (e.g. the batch). */
function valueInfo(v: GraphSpec['inputs'][number]): onnx.IValueInfoProto {
  const dim = v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: v.type, shape: { dim } } } };
}

/** Serialized ModelProto (IR version 8, default opset 17). */
export function modelBytes(g: GraphSpec, opset = 17): Uint8Array {
  const graph: onnx.IGraphProto = {
    name: g.name,
    node: g.nodes.map((n) => ({
      input: n.inputs,
      output: n.outputs,
      ...(n.name ? { name: n.name } : {}),
      opType: n.op,
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    })),
    initializer: g.initializers.map((t) => ({ name: t.name, dims: t.dims, dataType: t.type, rawData: t.raw })),
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
  };
  return onnx.ModelProto.encode({ irVersion: 8, producerName: 'cnnvis', producerVersion: '0.1.0', graph, opsetImport: [{ domain: '', version: opset }] }).finish();
}
