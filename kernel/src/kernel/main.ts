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
  const executor = createExecutor(process.cwd(), converters, { log: console.log, error: console.error });
  const server = new KernelServer(conn, new CnnvisHandler(executor));
  registerWidgetTargets(server.comms);
  process.on('SIGINT', () => executor.interrupt());
  process.on('uncaughtException', (err) => logKernelError(`uncaught exception: ${err.stack ?? err}`));
  process.on('unhandledRejection', (reason) =>
    logKernelError(`unhandled promise rejection: ${reason instanceof Error ? reason.stack : String(reason)}`),
  );
  await server.start();
  return server;
}
