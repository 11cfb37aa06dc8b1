/**
 * tslab's request handler (execute, complete, inspect, is_complete, kernel_info) with the protocol
 * fixes cnnvis needs, made by subclassing tslab's exported JupyterHandlerImpl:
 * - every reply carries `status` (tslab 1.0.22 leaves it out of kernel_info_reply and shutdown_reply);
 * - an error execute_reply carries ename / evalue / traceback (tslab sends only the status and
 *   writes the error to stderr, so evalue is the stderr text the failed cell wrote).
 */
import { JupyterHandlerImpl } from 'tslab/dist/jupyter';
import type { Executor } from 'tslab/dist/executor';

const MAX_EVALUE_CHARS = 4000;

type WriteStream = (name: string, text: string) => void;
type ExecuteReply = Awaited<ReturnType<JupyterHandlerImpl['handleExecute']>>;
type WriteDisplay = Parameters<JupyterHandlerImpl['handleExecute']>[2];

export class CnnvisHandler extends JupyterHandlerImpl {
  constructor(readonly tsExecutor: Executor) {
    super(tsExecutor, false);
  }

  override handleKernel(): ReturnType<JupyterHandlerImpl['handleKernel']> & { status: 'ok' } {
    const info = super.handleKernel();
    return { status: 'ok', ...info, implementation: 'cnnvis', banner: 'TypeScript (cnnvis): tslab with Jupyter comms and widgets' };
  }

  override handleShutdown(req: { restart: boolean }): { status: 'ok'; restart: boolean } {
    return { status: 'ok', restart: req.restart === true };
  }

  override async handleExecute(
    req: Parameters<JupyterHandlerImpl['handleExecute']>[0],
    writeStream: WriteStream,
    writeDisplayData: WriteDisplay,
  ): Promise<ExecuteReply & { ename?: string; evalue?: string; traceback?: string[] }> {
    let stderr = '';
    const recording: WriteStream = (name, text) => {
      if (name === 'stderr' && stderr.length < MAX_EVALUE_CHARS) stderr += text;
      writeStream(name, text);
    };
    const reply = await super.handleExecute(req, recording, writeDisplayData);
    if (reply.status === 'error') {
      const evalue = stderr.trim().slice(0, MAX_EVALUE_CHARS) || 'the cell failed';
      return { ...reply, ename: 'Error', evalue, traceback: [] };
    }
    return reply;
  }
}
