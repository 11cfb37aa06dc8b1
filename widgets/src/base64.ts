/**
 * Decoding the base64 arrays of saved snapshots in the browser (base64-js; the kernel encodes with
 * Node's Buffer, standard alphabet with padding). Float32 arrays travel as little-endian bytes.
 */
import { toByteArray } from 'base64-js';

/** Bytes of a base64 string (standard alphabet, padded); throws on any other character. */
export function base64ToBytes(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new TypeError(`not base64: ${text.length} characters${text.length > 40 ? '' : ` ${JSON.stringify(text)}`}`);
  }
  return toByteArray(text);
}

/** float32 values of a base64 string of little-endian bytes. */
export function base64ToFloats(text: string): Float32Array {
  const bytes = base64ToBytes(text);
  if (bytes.length % 4 !== 0) throw new TypeError(`float32 data has ${bytes.length} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
