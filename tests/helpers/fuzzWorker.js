/**
 * Worker thread for tests/fuzz.test.ts: runs one loader call per message against kernel/src (compiled
 * on the fly with TypeScript's transpiler) and answers how it ended. Running the cases here lets the
 * test stop a case that hangs (terminate the worker) instead of hanging itself.
 *
 * message in:  {id, kind: 'image' | 'tfjs' | 'h5', bytes?, json?, shards?: [{path, bytes}]}
 * message out: {id, ok: true} | {id, ok: false, cnnvis: boolean, name, message, stack}
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parentPort } = require('worker_threads');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true },
  });
  module._compile(out.outputText, filename);
};

const SRC = path.resolve(__dirname, '../../kernel/src');
const { CnnvisError } = require(path.join(SRC, 'errors.ts'));
const { initBackend } = require(path.join(SRC, 'engine/backend.ts'));
const { decodeImage } = require(path.join(SRC, 'images/decode.ts'));
const { loadTfjsLayersModel } = require(path.join(SRC, 'models/tfjs.ts'));
const { loadKerasH5 } = require(path.join(SRC, 'models/keras.ts'));

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-fuzz-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));

async function runCase(msg) {
  if (msg.kind === 'image') {
    decodeImage(msg.bytes, 'fuzz.bin');
    return;
  }
  if (msg.kind === 'h5') {
    const model = await loadKerasH5(msg.bytes);
    model.dispose();
    return;
  }
  if (msg.kind === 'tfjs') {
    const dir = path.join(scratch, `case-${msg.id}`);
    fs.mkdirSync(dir);
    try {
      fs.writeFileSync(path.join(dir, 'model.json'), msg.json);
      for (const s of msg.shards) fs.writeFileSync(path.join(dir, s.path), s.bytes);
      const model = await loadTfjsLayersModel(dir);
      model.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  throw new Error(`unknown case kind ${msg.kind}`);
}

const ready = initBackend();
parentPort.on('message', async (msg) => {
  await ready;
  try {
    await runCase(msg);
    parentPort.postMessage({ id: msg.id, ok: true });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    parentPort.postMessage({
      id: msg.id,
      ok: false,
      cnnvis: e instanceof CnnvisError,
      name: err.name,
      message: String(err.message),
      stack: String(err.stack || ''),
    });
  }
});
parentPort.postMessage({ ready: true });
