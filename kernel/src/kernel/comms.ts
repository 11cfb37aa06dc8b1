/**
 * Jupyter comms (messaging protocol 5.3, "Custom messages"): long-lived channels between kernel-side
 * and front-end objects, opened by either side with comm_open, used with comm_msg, ended with
 * comm_close. Each comm has an id and a target name; a side opening a comm names a target that the
 * other side registered. Messages can carry binary buffers.
 *
 * The manager knows nothing of sockets: the kernel server feeds it received messages and gives it a
 * transport to send through. One manager serves the process; `commManager()` finds it from any copy
 * of cnnvis the notebook loaded.
 */
import { randomUUID } from 'crypto';
import { toBuffer } from './wire';
import type { JsonObject } from './wire';

export type CommMessageType = 'comm_open' | 'comm_msg' | 'comm_close';
export type BinaryData = ArrayBufferView | ArrayBuffer;

export interface CommSendOptions {
  metadata?: JsonObject;
  buffers?: BinaryData[];
  /**
   * Send with no parent request. A notebook executor (nbclient) records the widget state of the
   * comms its cells open into the saved notebook; an explorer's state is of no use there (no static
   * viewer can load its module, and it keeps its own snapshot), and when it is recorded nbconvert's
   * HTML shows the dead widget instead of the PNG beside it. Front ends handle comms whatever the parent.
   */
  unparented?: boolean;
}

/** A comm message as a handler sees it. */
export interface CommMessage {
  commId: string;
  data: JsonObject;
  metadata: JsonObject;
  buffers: Buffer[];
  /** msg_id of the protocol message that carried it (null for calls not from the wire). */
  msgId: string | null;
}

export type CommMessageHandler = (msg: CommMessage) => unknown;
/** Called when the front end opens a comm to a registered target; may attach handlers to `comm`. */
export type CommTargetHandler = (comm: Comm, open: CommMessage) => unknown;

/** Where the manager sends comm messages: the kernel's iopub socket, or a fake in tests. */
export interface CommTransport {
  send(msgType: CommMessageType, content: JsonObject, metadata: JsonObject, buffers: Buffer[], how?: { unparented?: boolean }): void;
  /** msg_id of the request whose outputs are being produced now (execute_request or comm_msg). */
  currentParentId?(): string | null;
}

/** A comm message that does not follow the protocol (missing comm_id, data not an object, ...). */
export class CommProtocolError extends Error {
  override name = 'CommProtocolError';
}

export class Comm {
  private msgHandlers: CommMessageHandler[] = [];
  private closeHandlers: CommMessageHandler[] = [];
  private isClosed = false;

  constructor(private readonly manager: CommManager, readonly commId: string, readonly targetName: string) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends a comm_msg; throws once the comm is closed. */
  send(data: JsonObject, opts: CommSendOptions = {}): void {
    if (this.isClosed) throw new Error(`comm ${this.commId} (${this.targetName}) is closed`);
    this.manager.sendRaw('comm_msg', { comm_id: this.commId, data }, opts);
  }

  /** Sends comm_close and forgets the comm; a no-op when already closed. */
  close(data: JsonObject = {}, opts: CommSendOptions = {}): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.manager.forget(this.commId);
    this.manager.sendRaw('comm_close', { comm_id: this.commId, data }, opts);
  }

  /** Handles comm_msg from the front end; returns a function that removes the handler. */
  onMsg(handler: CommMessageHandler): () => void {
    this.msgHandlers.push(handler);
    return () => (this.msgHandlers = this.msgHandlers.filter((h) => h !== handler));
  }

  /** Handles comm_close from the front end. */
  onClose(handler: CommMessageHandler): () => void {
    this.closeHandlers.push(handler);
    return () => (this.closeHandlers = this.closeHandlers.filter((h) => h !== handler));
  }

  /** @internal Runs the message handlers in order; returns their results that are promises. */
  deliver(msg: CommMessage): unknown {
    return runAll(this.msgHandlers, msg);
  }

  /** @internal The front end closed the comm. */
  closedRemotely(msg: CommMessage): unknown {
    this.isClosed = true;
    return runAll(this.closeHandlers, msg);
  }
}

/** Calls every handler (a throwing handler does not stop the others); rethrows the first error. */
function runAll(handlers: CommMessageHandler[], msg: CommMessage): unknown {
  const pending: Promise<unknown>[] = [];
  let error: { e: unknown } | null = null;
  for (const h of [...handlers]) {
    try {
      const r = h(msg);
      if (r instanceof Promise) pending.push(r);
    } catch (e) {
      error ??= { e };
    }
  }
  if (error) {
    for (const p of pending) p.catch(() => undefined);
    throw error.e;
  }
  if (pending.length === 0) return undefined;
  return Promise.all(pending);
}

function asObject(value: unknown, what: string): JsonObject {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CommProtocolError(`${what} must be an object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as JsonObject;
}

function commIdOf(content: JsonObject, msgType: string): string {
  const id = content.comm_id;
  if (typeof id !== 'string' || id === '') throw new CommProtocolError(`${msgType} without a comm_id string`);
  return id;
}

export class CommManager {
  private readonly comms = new Map<string, Comm>();
  private readonly targets = new Map<string, CommTargetHandler>();

  constructor(private transport: CommTransport | null = null) {}

  setTransport(transport: CommTransport | null): void {
    this.transport = transport;
  }

  /** True when messages reach a front end (the kernel is running), false for a detached manager. */
  get connected(): boolean {
    return this.transport !== null;
  }

  currentParentId(): string | null {
    return this.transport?.currentParentId?.() ?? null;
  }

  registerTarget(targetName: string, handler: CommTargetHandler): void {
    this.targets.set(targetName, handler);
  }

  unregisterTarget(targetName: string): void {
    this.targets.delete(targetName);
  }

  /** Opens a comm from the kernel side (comm_open to the front end's `targetName`). */
  open(targetName: string, data: JsonObject = {}, opts: CommSendOptions & { commId?: string } = {}): Comm {
    const commId = opts.commId ?? randomUUID().replace(/-/g, '');
    if (this.comms.has(commId)) throw new Error(`comm ${commId} is already open`);
    const comm = new Comm(this, commId, targetName);
    this.comms.set(commId, comm);
    this.sendRaw('comm_open', { comm_id: commId, target_name: targetName, data }, opts);
    return comm;
  }

  get(commId: string): Comm | undefined {
    return this.comms.get(commId);
  }

  /** The open comms, optionally only those of one target: the `comms` of a comm_info_reply. */
  commInfo(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const [id, comm] of this.comms) {
      if (targetName === undefined || comm.targetName === targetName) out[id] = { target_name: comm.targetName };
    }
    return out;
  }

  /**
   * Handles a received comm_open / comm_msg / comm_close. Returns what the handlers returned (a
   * promise when one is async). Throws CommProtocolError for malformed messages and whatever a
   * handler throws; an unknown target is answered with comm_close and reported as an error.
   */
  receive(msgType: CommMessageType, content: JsonObject, metadata: JsonObject, buffers: Buffer[], msgId: string | null): unknown {
    const commId = commIdOf(content, msgType);
    const msg: CommMessage = { commId, data: asObject(content.data, `${msgType} data`), metadata, buffers, msgId };
    switch (msgType) {
      case 'comm_open': {
        const target = content.target_name;
        if (typeof target !== 'string') throw new CommProtocolError('comm_open without a target_name string');
        const handler = this.targets.get(target);
        if (!handler) {
          this.sendRaw('comm_close', { comm_id: commId, data: {} }, {});
          throw new CommProtocolError(`comm_open for unknown target ${JSON.stringify(target)}: closed comm ${commId}`);
        }
        if (this.comms.has(commId)) throw new CommProtocolError(`comm_open for comm ${commId}, which is already open`);
        const comm = new Comm(this, commId, target);
        this.comms.set(commId, comm);
        return handler(comm, msg);
      }
      case 'comm_msg': {
        const comm = this.comms.get(commId);
        if (!comm) throw new CommProtocolError(`comm_msg for unknown comm ${commId}`);
        return comm.deliver(msg);
      }
      case 'comm_close': {
        const comm = this.comms.get(commId);
        if (!comm) throw new CommProtocolError(`comm_close for unknown comm ${commId}`);
        this.comms.delete(commId);
        return comm.closedRemotely(msg);
      }
    }
  }

  /** @internal */
  forget(commId: string): void {
    this.comms.delete(commId);
  }

  /** @internal Sends through the transport; without one (no kernel) the message is dropped. */
  sendRaw(msgType: CommMessageType, content: JsonObject, opts: CommSendOptions): void {
    const how = opts.unparented ? { unparented: true } : undefined;
    this.transport?.send(msgType, content, opts.metadata ?? {}, (opts.buffers ?? []).map(toBuffer), how);
  }
}

const GLOBAL_KEY = Symbol.for('cnnvis.kernel.commManager');
type GlobalWithComms = typeof globalThis & { [GLOBAL_KEY]?: CommManager };

/**
 * The process-wide comm manager. The kernel installs one connected to its sockets; elsewhere (CLI,
 * tests, plain node) a detached one is created on first use, so widgets work without sending.
 */
export function commManager(): CommManager {
  const g = globalThis as GlobalWithComms;
  g[GLOBAL_KEY] ??= new CommManager();
  return g[GLOBAL_KEY];
}

/** Replaces the process-wide comm manager (the kernel at start-up; tests); returns the previous one. */
export function installCommManager(manager: CommManager): CommManager | undefined {
  const g = globalThis as GlobalWithComms;
  const previous = g[GLOBAL_KEY];
  g[GLOBAL_KEY] = manager;
  return previous;
}
