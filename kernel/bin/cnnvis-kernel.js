#!/usr/bin/env node
/**
 * The "TypeScript (cnnvis)" Jupyter kernel process: tslab's TypeScript kernel, started from the
 * tslab that cnnvis depends on (never a global or notebook-local copy).
 *
 * Jupyter starts it as: node cnnvis-kernel.js --config-path <connection_file>
 */
'use strict';

function parseConfigPath(argv) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config-path' && i + 1 < argv.length) return argv[i + 1];
    if (arg.startsWith('--config-path=')) return arg.slice('--config-path='.length);
  }
  return null;
}

const configPath = parseConfigPath(process.argv.slice(2));
if (!configPath) {
  process.stderr.write('usage: cnnvis-kernel --config-path <jupyter connection file>\n');
  process.exit(2);
}

// The same tslab copy that startKernel uses (tslab/dist/main requires ./jupyter).
const tslabJupyter = require('tslab/dist/jupyter');
const { startKernel } = require('tslab/dist/main');

/**
 * Protocol fixes, made by wrapping tslab's handler (never by editing tslab):
 * - messaging protocol 5.x requires `status` in every reply; tslab 1.0.22 leaves it out of
 *   kernel_info_reply and shutdown_reply;
 * - an error execute_reply must carry ename / evalue / traceback; tslab sends only the status and
 *   writes the error to stderr, so evalue is the stderr text the failed cell wrote.
 */
function withStatusOk(proto, method) {
  const original = proto[method];
  if (typeof original !== 'function') return;
  proto[method] = function (...args) {
    const content = original.apply(this, args);
    return content && content.status === undefined ? { status: 'ok', ...content } : content;
  };
}
withStatusOk(tslabJupyter.JupyterHandlerImpl.prototype, 'handleKernel');
withStatusOk(tslabJupyter.JupyterHandlerImpl.prototype, 'handleShutdown');

const MAX_EVALUE_CHARS = 4000;
const handleExecute = tslabJupyter.JupyterHandlerImpl.prototype.handleExecute;
tslabJupyter.JupyterHandlerImpl.prototype.handleExecute = async function (req, writeStream, writeDisplayData) {
  let stderr = '';
  const recordingWriteStream = (name, text) => {
    if (name === 'stderr' && stderr.length < MAX_EVALUE_CHARS) stderr += text;
    writeStream(name, text);
  };
  const reply = await handleExecute.call(this, req, recordingWriteStream, writeDisplayData);
  if (reply && reply.status === 'error' && reply.ename === undefined) {
    const evalue = stderr.trim().slice(0, MAX_EVALUE_CHARS) || 'the cell failed';
    return { ...reply, ename: 'Error', evalue, traceback: [] };
  }
  return reply;
};

startKernel({ configPath, enableFindLocal: false, jsKernel: false });
