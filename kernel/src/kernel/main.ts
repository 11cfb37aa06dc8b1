/**
 * Starts the cnnvis kernel: tslab's converters and executor (created through tslab's exports, as
 * tslab's own startKernel does), CnnvisHandler, and the KernelServer with the comm layer.
 */
import { createConverter } from 'tslab/dist/converter';
import type { Converter } from 'tslab/dist/converter';
import { createExecutor } from 'tslab/dist/executor';
import type { ConverterSet } from 'tslab/dist/executor';
import { CnnvisHandler } from './handler';
import { KernelServer, logKernelError, readConnectionFile } from './server';
import { registerWidgetTargets } from '../widgets/registry';
import { installCellDisplay } from '../display/jupyter';

/** Converters for TypeScript cells, built on first use. */
class LazyConverters implements ConverterSet {
  private nodeConv?: Converter;
  private browserConv?: Converter;
  get node(): Converter {
    return (this.nodeConv ??= createConverter({ isJS: false, isBrowser: false }));
  }
  get browser(): Converter {
    return (this.browserConv ??= createConverter({ isJS: false, isBrowser: true }));
  }
  close(): void {
    this.nodeConv?.close();
    this.browserConv?.close();
  }
}

export async function startKernel(configPath: string): Promise<KernelServer> {
  const conn = readConnectionFile(configPath);
  const converters = new LazyConverters();
  void converters.node; // warm the TypeScript converter before the first cell
  // The executor hands the cell's value and errors to the handler (tslab's own prints them).
  let handler: CnnvisHandler | undefined;
  const executor = createExecutor(process.cwd(), converters, CnnvisHandler.executorConsole(() => handler));
  handler = new CnnvisHandler(executor);
  installCellDisplay(handler.cell);
  const server = new KernelServer(conn, handler);
  registerWidgetTargets(server.comms);
  process.on('SIGINT', () => executor.interrupt());
  // A notebook's stray error never ends the kernel: it is logged and shown in the latest cell.
  // Libraries a cell loads may add handlers that rethrow (Emscripten's, in TF.js' wasm backend):
  // only the kernel's own stay, checked before and after every cell.
  const onException = (err: Error) => reportStray('uncaught exception', err);
  const onRejection = (reason: unknown) => reportStray('unhandled promise rejection', reason);
  const keepOwnHandlers = () => {
    for (const l of process.listeners('uncaughtException')) if (l !== onException) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (l !== onRejection) process.removeListener('unhandledRejection', l);
    if (!process.listeners('uncaughtException').includes(onException)) process.on('uncaughtException', onException);
    if (!process.listeners('unhandledRejection').includes(onRejection)) process.on('unhandledRejection', onRejection);
  };
  keepOwnHandlers();
  handler.onCellBoundary = keepOwnHandlers;
  await server.start();
  return server;
}

function reportStray(what: string, e: unknown): void {
  const text = e instanceof Error ? (e.name === 'CnnvisError' ? `${e.name}: ${e.message}` : e.stack ?? String(e)) : String(e);
  logKernelError(`${what}: ${text}`);
  try {
    process.stderr.write(`${what[0].toUpperCase()}${what.slice(1)}: ${text}\n`); // tslab routes stderr to the latest cell
  } catch {
    // nothing more to do
  }
}
