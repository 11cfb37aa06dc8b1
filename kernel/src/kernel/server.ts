/**
 * The cnnvis kernel process: ZeroMQ sockets of the Jupyter messaging protocol 5.3 around tslab's
 * executor (through CnnvisHandler) plus the comm layer.
 *
 * - shell and control requests are dispatched as they arrive; execute requests queue in tslab's
 *   handler, everything else (comms included) is handled at once, so a cell awaiting long work does
 *   not hold back comm messages, which are handled in arrival order;
 * - every request is framed by busy / idle status messages whose parent is the request; a comm
 *   message is idle once its handlers have applied it and started any long work (which goes on in
 *   the background, showing progress through widget state, under the message as parent), so a front
 *   end's next update is not held back;
 * - outputs (stream, display_data, error) go out with the request that produced them as parent: the
 *   running cell, or the comm message whose handler is running (also after it awaits), so a front
 *   end can route them (an Output widget captures by parent msg_id);
 * - a malformed message or a throwing comm handler is reported (kernel stderr, and an `error` output
 *   with the message as parent) and the kernel carries on.
 */
import { AsyncLocalStorage } from 'async_hooks';
import * as fs from 'fs';
import { createRequire } from 'module';
import { randomUUID } from 'crypto';
import type * as Zmq from 'zeromq';
import { CommManager, CommMessageType, installCommManager } from './comms';
import { CellIo, CnnvisHandler, ExecuteRequest } from './handler';
import { Header, JsonObject, Message, Signer, WireError, decodeMessage, encodeMessage, newHeader } from './wire';

export interface ConnectionInfo {
  transport: string;
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
}

export function readConnectionFile(path: string): ConnectionInfo {
  return JSON.parse(fs.readFileSync(path, 'utf8')) as ConnectionInfo;
}

/** What produced the outputs being written now. */
interface OutputContext {
  parent: Message;
  kind: 'execute' | 'comm' | 'other';
  /** false once an execute request has been answered: late outputs then go to the latest cell. */
  active: boolean;
}

type Sendable = { send(frames: Buffer[]): Promise<void> };

/** Serializes sends on one socket (zeromq.js allows one send in flight per socket), in order. */
class Outbox {
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly socket: Sendable, private readonly onError: (e: unknown) => void) {}
  push(frames: Buffer[]): void {
    this.chain = this.chain.then(() => this.socket.send(frames)).catch(this.onError);
  }
  flushed(): Promise<void> {
    return this.chain;
  }
}

/** The kernel's own stderr, kept before tslab redirects process.stderr to the running cell. */
const kernelStderr = process.stderr.write.bind(process.stderr);
export function logKernelError(text: string): void {
  kernelStderr(`[cnnvis kernel] ${text.endsWith('\n') ? text : text + '\n'}`);
}

function loadZeromq(): typeof Zmq {
  // The zeromq that tslab depends on (cnnvis does not depend on it directly).
  const fromTslab = createRequire(require.resolve('tslab/package.json'));
  return fromTslab('zeromq') as typeof Zmq;
}

function errorText(e: unknown): { ename: string; evalue: string; traceback: string[] } {
  if (e instanceof Error) return { ename: e.name, evalue: e.message, traceback: (e.stack ?? `${e.name}: ${e.message}`).split('\n') };
  return { ename: 'Error', evalue: String(e), traceback: [String(e)] };
}

export class KernelServer {
  readonly session = randomUUID();
  readonly comms: CommManager;
  private readonly signer: Signer;
  private readonly outputs = new AsyncLocalStorage<OutputContext>();
  private latestExecute: OutputContext | null = null;
  private sockets!: { iopub: Zmq.Publisher; shell: Zmq.Router; control: Zmq.Router; stdin: Zmq.Router; hb: Zmq.Reply };
  private outboxes = new Map<object, Outbox>();
  private closed = false;

  constructor(private readonly conn: ConnectionInfo, private readonly handler: CnnvisHandler) {
    this.signer = new Signer(conn.key, conn.signature_scheme);
    this.comms = new CommManager({
      // A comm opened `unparented` belongs to no request (see CommSendOptions.unparented).
      send: (msgType, content, metadata, buffers, how) =>
        this.publish(msgType, content, how?.unparented ? null : this.outputParent(), { metadata, buffers }),
      currentParentId: () => this.outputParent()?.header.msg_id ?? null,
    });
    installCommManager(this.comms);
  }

  async start(): Promise<void> {
    const zmq = loadZeromq();
    this.sockets = {
      // No high-water mark on iopub: a burst of widget updates (each with busy, echo and idle messages)
      // must queue, not be dropped, while a slow front end catches up.
      iopub: new zmq.Publisher({ sendHighWaterMark: 0 }),
      shell: new zmq.Router(),
      control: new zmq.Router(),
      stdin: new zmq.Router(),
      hb: new zmq.Reply(),
    };
    const { transport, ip } = this.conn;
    const s = this.sockets;
    await Promise.all([
      s.iopub.bind(`${transport}://${ip}:${this.conn.iopub_port}`),
      s.shell.bind(`${transport}://${ip}:${this.conn.shell_port}`),
      s.control.bind(`${transport}://${ip}:${this.conn.control_port}`),
      s.stdin.bind(`${transport}://${ip}:${this.conn.stdin_port}`),
      s.hb.bind(`${transport}://${ip}:${this.conn.hb_port}`),
    ]);
    void this.serve(s.shell);
    void this.serve(s.control);
    void this.heartbeat();
  }

  private outbox(socket: Sendable): Outbox {
    let box = this.outboxes.get(socket);
    if (!box) {
      box = new Outbox(socket, (e) => logKernelError(`send failed: ${(e as Error).message ?? e}`));
      this.outboxes.set(socket, box);
    }
    return box;
  }

  private async heartbeat(): Promise<void> {
    try {
      for await (const frames of this.sockets.hb) await this.sockets.hb.send(frames);
    } catch (e) {
      if (!this.closed) logKernelError(`heartbeat stopped: ${(e as Error).message}`);
    }
  }

  private async serve(socket: Zmq.Router): Promise<void> {
    try {
      for await (const frames of socket) {
        // Not awaited: an execute request waiting in tslab's queue must not hold back comm messages.
        void this.dispatch(socket, frames);
      }
    } catch (e) {
      if (!this.closed) logKernelError(`socket loop stopped: ${(e as Error).message}`);
    }
  }

  /** Where an output produced now belongs: the running comm handler, else the running (or latest) cell. */
  private outputParent(): Message | null {
    const ctx = this.outputs.getStore();
    if (ctx && (ctx.kind !== 'execute' || ctx.active)) return ctx.parent;
    return this.latestExecute?.parent ?? ctx?.parent ?? null;
  }

  publish(msgType: string, content: JsonObject, parent: Message | null, opts: { metadata?: JsonObject; buffers?: Buffer[] } = {}): void {
    if (this.closed) return;
    const msg: Message = {
      identities: [Buffer.from(`kernel.${this.session}.${msgType}`)],
      header: newHeader(msgType, this.session),
      parent_header: parent ? parent.header : {},
      metadata: opts.metadata ?? {},
      content,
      buffers: opts.buffers ?? [],
    };
    this.outbox(this.sockets.iopub).push(encodeMessage(msg, this.signer));
  }

  private reply(socket: Sendable, request: Message, msgType: string, content: JsonObject): void {
    if (this.closed) return;
    const msg: Message = {
      identities: request.identities,
      header: newHeader(msgType, this.session),
      parent_header: request.header,
      metadata: {},
      content,
      buffers: [],
    };
    this.outbox(socket).push(encodeMessage(msg, this.signer));
  }

  /** Reports a failure while handling `parent`: on the kernel's stderr and as an error output. */
  private reportError(what: string, e: unknown, parent: Message | null): void {
    const err = errorText(e);
    logKernelError(`${what}: ${err.ename}: ${err.evalue}`);
    if (parent) this.publish('error', { ...err, evalue: `${what}: ${err.evalue}` }, parent);
  }

  private async dispatch(socket: Zmq.Router, frames: Buffer[]): Promise<void> {
    let msg: Message;
    try {
      msg = decodeMessage(frames, this.signer);
    } catch (e) {
      logKernelError(`dropped a message that cannot be decoded: ${(e as Error).message}`);
      return;
    }
    const msgType = msg.header.msg_type;
    this.publish('status', { execution_state: 'busy' }, msg);
    let shutdown = false;
    try {
      switch (msgType) {
        case 'kernel_info_request':
          this.reply(socket, msg, 'kernel_info_reply', this.handler.handleKernel() as unknown as JsonObject);
          break;
        case 'execute_request':
          await this.execute(socket, msg);
          break;
        case 'complete_request':
          this.replyWith(socket, msg, 'complete_reply', () => this.handler.handleComplete(msg.content as never));
          break;
        case 'inspect_request':
          this.replyWith(socket, msg, 'inspect_reply', () => this.handler.handleInspect(msg.content as never));
          break;
        case 'is_complete_request':
          this.replyWith(socket, msg, 'is_complete_reply', () => this.handler.handleIsComplete(msg.content as never));
          break;
        case 'history_request':
          this.reply(socket, msg, 'history_reply', { status: 'ok', history: [] });
          break;
        case 'comm_info_request': {
          const target = msg.content.target_name;
          const comms = this.comms.commInfo(typeof target === 'string' ? target : undefined);
          this.reply(socket, msg, 'comm_info_reply', { status: 'ok', comms });
          break;
        }
        case 'comm_open':
        case 'comm_msg':
        case 'comm_close':
          await this.handleComm(msgType, msg);
          break;
        case 'interrupt_request':
          this.handler.tsExecutor.interrupt();
          this.reply(socket, msg, 'interrupt_reply', { status: 'ok' });
          break;
        case 'shutdown_request':
          this.reply(socket, msg, 'shutdown_reply', this.handler.handleShutdown(msg.content as { restart: boolean }));
          shutdown = true;
          break;
        default:
          logKernelError(`unsupported message type ${JSON.stringify(msgType)} (ignored)`);
      }
    } catch (e) {
      this.reportError(`handling ${msgType}`, e, msg);
    } finally {
      this.publish('status', { execution_state: 'idle' }, msg);
    }
    if (shutdown) await this.close();
  }

  private replyWith(socket: Sendable, msg: Message, msgType: string, make: () => object): void {
    let content: JsonObject;
    try {
      content = make() as JsonObject;
    } catch (e) {
      const err = errorText(e);
      logKernelError(`${msg.header.msg_type} failed: ${err.evalue}`);
      content = { status: 'error', ...err };
    }
    this.reply(socket, msg, msgType, content);
  }

  private async execute(socket: Sendable, msg: Message): Promise<void> {
    const ctx: OutputContext = { parent: msg, kind: 'execute', active: true };
    const parentNow = () => this.outputParent() ?? msg;
    const io: CellIo = {
      stream: (name, text) => this.publish('stream', { name, text }, parentNow()),
      display: (data, update) => this.publish(update ? 'update_display_data' : 'display_data', data as unknown as JsonObject, parentNow()),
      publish: (msgType, content) => this.publish(msgType, content, parentNow()),
    };
    // The context flows into the execute queue and on into the cell's own async work.
    const reply = await this.outputs.run(ctx, () => {
      this.latestExecute = ctx;
      return this.handler.execute(msg.content as unknown as ExecuteRequest, io);
    });
    ctx.active = false;
    this.reply(socket, msg, 'execute_reply', reply as unknown as JsonObject);
  }

  /**
   * Runs the comm handlers and returns once their work has gone as far as it can without the event
   * loop (state applied, long work started): the request's idle goes out then, not when their
   * promises settle. The @jupyter-widgets front end holds a widget's next update until it sees the
   * idle of the previous one, so waiting for an observer's long work (activation maximization) would
   * keep a slider move in the browser until the work ended. Work that finishes within promise
   * callbacks (an Output widget's capture resetting its msg_id) is done before the idle. Longer work
   * goes on in the background under this message's output context; a failure in it is reported like
   * a synchronous one (kernel stderr and an error output with this parent).
   */
  private async handleComm(msgType: CommMessageType, msg: Message): Promise<void> {
    const ctx: OutputContext = { parent: msg, kind: 'comm', active: true };
    const what = `${msgType} ${String(msg.content.comm_id ?? '')}`.trim();
    try {
      const result = this.outputs.run(ctx, () =>
        this.comms.receive(msgType, msg.content, msg.metadata, msg.buffers, msg.header.msg_id),
      );
      if (result instanceof Promise) {
        const settled = result.then(
          () => undefined,
          (e: unknown) => this.reportError(what, e, msg),
        );
        // Pending promise callbacks all run before a setImmediate callback; timers and I/O do not.
        await Promise.race([settled, new Promise<void>((resolve) => setImmediate(resolve))]);
      }
    } catch (e) {
      this.reportError(what, e, msg);
    } finally {
      ctx.active = false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.race([Promise.all([...this.outboxes.values()].map((b) => b.flushed())), new Promise((r) => setTimeout(r, 500))]);
    this.closed = true;
    this.handler.close();
    for (const s of Object.values(this.sockets)) s.close();
  }
}

export type { Header };
