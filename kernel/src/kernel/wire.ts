/**
 * Jupyter messaging protocol 5.3 on the wire: the frames of one message on a ZeroMQ socket,
 * HMAC signatures, and headers. Binary buffers travel as extra frames after the content.
 *
 *   [identities..., '<IDS|MSG>', signature, header, parent_header, metadata, content, buffers...]
 *
 * The signature is the hex HMAC (from the connection file's key and signature_scheme) over the four
 * JSON frames; buffers are not signed. An empty key means unsigned messages.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'crypto';

export const PROTOCOL_VERSION = '5.3';
const DELIMITER = Buffer.from('<IDS|MSG>');

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export type JsonObject = { [key: string]: unknown };

/** One decoded message. `parent_header` is `{}` for messages without a parent. */
export interface Message<C extends JsonObject = JsonObject> {
  identities: Buffer[];
  header: Header;
  parent_header: Header | Record<string, never>;
  metadata: JsonObject;
  content: C;
  buffers: Buffer[];
}

/** A message that cannot be decoded (missing delimiter, bad signature, invalid JSON). */
export class WireError extends Error {
  override name = 'WireError';
}

export class Signer {
  private readonly algorithm: string | null;

  constructor(private readonly key: string, scheme = 'hmac-sha256') {
    if (!key) {
      this.algorithm = null;
      return;
    }
    const m = /^hmac-(.+)$/.exec(scheme);
    if (!m) throw new WireError(`unsupported signature_scheme ${JSON.stringify(scheme)}`);
    this.algorithm = m[1];
  }

  sign(frames: Array<Buffer | string>): string {
    if (this.algorithm === null) return '';
    const hmac = createHmac(this.algorithm, this.key);
    for (const f of frames) hmac.update(f);
    return hmac.digest('hex');
  }

  verify(signature: string, frames: Buffer[]): boolean {
    if (this.algorithm === null) return true;
    const expected = Buffer.from(this.sign(frames));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

function parseJsonObject(frame: Buffer, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(frame.toString('utf8'));
  } catch (e) {
    throw new WireError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WireError(`${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/** Decodes and verifies the frames of one received message; throws WireError when they are not one. */
export function decodeMessage(frames: Buffer[], signer: Signer): Message {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new WireError('message without the <IDS|MSG> delimiter');
  if (frames.length < at + 6) throw new WireError(`message has ${frames.length - at - 1} frames after the delimiter, needs 5`);
  const signature = frames[at + 1].toString('ascii');
  const signed = frames.slice(at + 2, at + 6);
  if (!signer.verify(signature, signed)) throw new WireError('message signature does not match');
  const header = parseJsonObject(signed[0], 'header');
  if (typeof header.msg_type !== 'string' || typeof header.msg_id !== 'string') {
    throw new WireError('header needs msg_type and msg_id strings');
  }
  return {
    identities: frames.slice(0, at),
    header: header as unknown as Header,
    parent_header: parseJsonObject(signed[1], 'parent_header') as Message['parent_header'],
    metadata: parseJsonObject(signed[2], 'metadata'),
    content: parseJsonObject(signed[3], 'content'),
    buffers: frames.slice(at + 6),
  };
}

/** The frames that send `msg`, signed. */
export function encodeMessage(msg: Message, signer: Signer): Buffer[] {
  const json = [msg.header, msg.parent_header, msg.metadata, msg.content].map((part) => Buffer.from(JSON.stringify(part)));
  return [...msg.identities, DELIMITER, Buffer.from(signer.sign(json)), ...json, ...msg.buffers];
}

export function newHeader(msgType: string, session: string): Header {
  return {
    msg_id: randomUUID(),
    session,
    username: 'cnnvis',
    date: new Date().toISOString(),
    msg_type: msgType,
    version: PROTOCOL_VERSION,
  };
}

/** Bytes of any binary view, without copying. */
export function toBuffer(view: ArrayBufferView | ArrayBuffer): Buffer {
  if (view instanceof ArrayBuffer) return Buffer.from(view);
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
