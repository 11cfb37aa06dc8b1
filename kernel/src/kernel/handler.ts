/**
 * tslab's request handler (complete, inspect, is_complete, kernel_info) subclassed, with execution
 * done the way Jupyter's own kernels do it:
 * - `execute_input` on iopub when a cell starts, with its execution count; the count increases for
 *   every request that stores history and is on every reply and result;
 * - the cell's value as an `execute_result` (`Out[n]`), rich for objects that show themselves, `;`
 *   to suppress it; cnnvis results are shown once per cell (cellOutput.ts);
 * - a failed cell sends an `error` output (ename, evalue, traceback) and its reply carries the same;
 *   a CnnvisError (a user mistake) is one line without a stack; queued cells are aborted unless the
 *   request says `stop_on_error: false`;
 * - every reply carries `status` (tslab 1.0.22 leaves it out of kernel_info_reply and shutdown_reply).
 */
import * as util from 'util';
import { JupyterHandlerImpl } from 'tslab/dist/jupyter';
import type { Executor } from 'tslab/dist/executor';
import type { DisplayMessage } from '../display/jupyter';
import { CellOutput, endsWithSemicolon, Publish } from './cellOutput';
import type { JsonObject } from './wire';

const MAX_EVALUE_CHARS = 4000;

export interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  stop_on_error?: boolean;
}

export interface ExecuteReply {
  status: 'ok' | 'error' | 'aborted';
  execution_count: number;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  user_expressions?: JsonObject;
  payload?: JsonObject[];
}

/** Where a running cell's outputs go (the server routes them to the cell's parent). */
export interface CellIo {
  stream(name: string, text: string): void;
  display(message: DisplayMessage, update: boolean): void;
  publish: Publish;
}

/** The console tslab's executor writes the cell's value (log) and its errors (error) to. */
export interface ExecutorConsole {
  log(value: unknown): void;
  error(...args: unknown[]): void;
}

interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** A request queued behind a failed cell (stop_on_error). */
class Aborted extends Error {}

class CellFailed extends Error {
  constructor(readonly count: number, readonly error: CellError) {
    super(error.evalue);
  }
}

/** tslab's module that holds the running cell's display writer (read by display/jupyter.ts). */
interface TslabJupyterModule {
  lastWriteDisplayData: unknown;
}

const utf8 = new util.TextDecoder();

export class CnnvisHandler extends JupyterHandlerImpl {
  readonly cell = new CellOutput();
  private count = 0;
  /** Execute requests run one after the other; each waits for the previous one to settle. */
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  /** Requests up to this number are aborted (they were queued when a cell failed). */
  private abortThrough = 0;
  /** The running cell's value and error, as tslab's executor reports them. */
  private value: unknown = undefined;
  private errors: CellError[] = [];

  /** Called before and after every cell (the kernel keeps its process-level handlers here). */
  onCellBoundary: () => void = () => undefined;

  constructor(readonly tsExecutor: Executor) {
    super(tsExecutor, false);
  }

  /** The console to create tslab's executor with: it hands the cell's value and errors to this handler. */
  static executorConsole(handler: () => CnnvisHandler | undefined): ExecutorConsole {
    return {
      log: (value) => {
        const h = handler();
        if (h) h.value = value;
      },
      error: (...args) => handler()?.errors.push(describeError(args)),
    };
  }

  override handleKernel(): ReturnType<JupyterHandlerImpl['handleKernel']> & { status: 'ok' } {
    const info = super.handleKernel();
    return { status: 'ok', ...info, implementation: 'cnnvis', banner: 'TypeScript (cnnvis): tslab with Jupyter comms and widgets' };
  }

  override handleShutdown(req: { restart: boolean }): { status: 'ok'; restart: boolean } {
    return { status: 'ok', restart: req.restart === true };
  }

  /** Runs one execute request after those before it. */
  async execute(req: ExecuteRequest, io: CellIo): Promise<ExecuteReply> {
    try {
      const count = await this.enqueue(() => this.run(req, io));
      return { status: 'ok', execution_count: count, user_expressions: {}, payload: [] };
    } catch (e) {
      if (e instanceof Aborted) return { status: 'aborted', execution_count: this.count };
      const failed = e instanceof CellFailed ? e : new CellFailed(this.count, describeError([e]));
      // Like ipykernel: the requests already queued behind a failed cell are aborted (they were chained
      // to it); later ones run. With stop_on_error false nothing is aborted.
      if (req.stop_on_error !== false) this.abortThrough = this.queued;
      return { status: 'error', execution_count: failed.count, ...failed.error };
    }
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const ticket = ++this.queued;
    const run = this.tail.then(() => {
      if (ticket <= this.abortThrough) throw new Aborted();
      return task();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async run(req: ExecuteRequest, io: CellIo): Promise<number> {
    const silent = req.silent === true;
    if (!silent && req.store_history !== false) this.count++;
    const count = this.count;
    const code = String(req.code ?? '');
    const quiet: CellIo = silent ? { stream: () => undefined, display: () => undefined, publish: () => undefined } : io;
    quiet.publish('execute_input', { code, execution_count: count });
    // Outputs written after the cell (timers, late promises) still reach its front end, as in ipykernel.
    const cell = this.cell;
    process.stdout.write = this.writer('stdout', quiet);
    process.stderr.write = this.writer('stderr', quiet);
    (require('tslab/dist/jupyter') as TslabJupyterModule).lastWriteDisplayData = (message: DisplayMessage, update: boolean) => {
      cell.flush();
      quiet.display(message, update);
    };
    cell.begin((msgType, content) => {
      if (msgType !== 'display_data') cell.flush();
      quiet.publish(msgType, content);
    });
    this.value = undefined;
    this.errors = [];
    let ok = false;
    this.onCellBoundary();
    try {
      ok = await this.tsExecutor.execute(code);
    } catch (e) {
      this.errors.push(describeError([e]));
    } finally {
      this.onCellBoundary();
    }
    const value = this.value;
    // A promise left as the value: its failure is reported in the cell's output, not lost.
    if (isThenable(value)) value.then(undefined, (e: unknown) => process.stderr.write(`The cell's promise failed: ${describeError([e]).traceback.join('\n')}\n`));
    this.value = undefined;
    if (ok && this.errors.length > 0) {
      // tslab registers a module cell despite its compiler errors: they are warnings then.
      for (const e of this.errors) quiet.stream('stderr', `${e.evalue}\n`);
    } else if (!ok) {
      cell.end(undefined, count);
      const error = mergeErrors(this.errors);
      quiet.publish('error', error as unknown as JsonObject);
      throw new CellFailed(count, error);
    }
    cell.end(silent || endsWithSemicolon(code) ? undefined : value, count);
    return count;
  }

  private writer(name: string, io: CellIo): typeof process.stdout.write {
    const cell = this.cell;
    return ((chunk: string | Uint8Array, encodingOrCb?: unknown, cb?: unknown) => {
      cell.flush();
      io.stream(name, typeof chunk === 'string' ? chunk : utf8.decode(chunk));
      const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
      if (typeof done === 'function') done();
      return true;
    }) as typeof process.stdout.write;
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';
}

/** An error tslab's executor reported: a thrown value, or a compiler diagnostic (a format string). */
function describeError(args: unknown[]): CellError {
  const [first] = args;
  if (first instanceof Error || (typeof first === 'object' && first !== null && 'message' in first && 'name' in first)) {
    const e = first as Error;
    const ename = String(e.name || 'Error');
    const evalue = String(e.message).slice(0, MAX_EVALUE_CHARS);
    // A CnnvisError is a user's mistake: its one line says everything, a stack would only hide it.
    const traceback = ename === 'CnnvisError' || !e.stack ? [`${ename}: ${evalue}`] : e.stack.split('\n');
    return { ename, evalue, traceback };
  }
  if (args.length > 1 && typeof first === 'string') {
    const text = util.format(...(args as [string, ...unknown[]]));
    return { ename: 'TypeScript', evalue: text.slice(0, MAX_EVALUE_CHARS), traceback: [text] };
  }
  const text = typeof first === 'string' ? first : util.inspect(first);
  return { ename: 'Error', evalue: text.slice(0, MAX_EVALUE_CHARS), traceback: [`Error: ${text}`] };
}

/** One error of a failed cell: compiler diagnostics are listed together. */
function mergeErrors(errors: CellError[]): CellError {
  if (errors.length === 0) return { ename: 'Error', evalue: 'the cell failed', traceback: ['Error: the cell failed'] };
  if (errors.length === 1 || errors.some((e) => e.ename !== 'TypeScript')) return errors.find((e) => e.ename !== 'TypeScript') ?? errors[0];
  const lines = errors.map((e) => e.evalue);
  return { ename: 'TypeScript', evalue: lines.join('\n').slice(0, MAX_EVALUE_CHARS), traceback: lines };
}
