#!/usr/bin/env node
/**
 * `npm run notebooks [-- names...]`: re-executes the notebooks in notebooks/ in place with nbconvert on
 * the cnnvis kernel (installed into a temporary Jupyter prefix), so their committed outputs are current.
 * Fails on the first cell error. Uses $CNNVIS_HOME and $CNNVIS_DATA as they are set.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { installKernelSpec } = require(path.join(root, 'kernel/dist/cli/install.js'));
const jupyter = process.env.CNNVIS_JUPYTER || (fs.existsSync('/usr/bin/jupyter') ? '/usr/bin/jupyter' : 'jupyter');

const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-nb-'));
installKernelSpec({ prefix, jupyter: false });
const env = { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') };
const dir = path.join(root, 'notebooks');
const wanted = process.argv.slice(2);
const notebooks = fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb') && (!wanted.length || wanted.includes(f))).sort();
let failed = 0;
// Notebook 09 loads a PyTorch model from the model cache: tools/export_torch_mobilenet.py writes it there
// (torch, onnx and h5py in Python; Keras' MobileNet 0.25 weights, by default the shared test data's keras.h5).
const TORCH_NOTEBOOK = '09-pytorch-models.ipynb';
if (notebooks.includes(TORCH_NOTEBOOK)) {
  const home = (process.env.CNNVIS_HOME || '').trim() || path.join(os.homedir(), '.cache', 'cnnvis');
  const file = path.join(home, 'models', 'pytorch', 'mobilenet_v1_0.25_torch.onnx');
  const python = process.env.CNNVIS_PYTHON || (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  if (!fs.existsSync(file)) {
    const r = spawnSync(python, [path.join(root, 'tools', 'export_torch_mobilenet.py'), '--out', file], { encoding: 'utf8', env: { ...process.env, CNNVIS_HOME: home } });
    if (r.status !== 0) {
      failed++;
      notebooks.splice(notebooks.indexOf(TORCH_NOTEBOOK), 1);
      console.error(`FAILED ${TORCH_NOTEBOOK}: tools/export_torch_mobilenet.py could not write ${file}\n${(r.stderr || r.error || '').toString().split('\n').slice(-10).join('\n')}`);
    }
  }
}
for (const nb of notebooks) {
  const t0 = Date.now();
  const r = spawnSync(jupyter, ['nbconvert', '--to', 'notebook', '--execute', '--inplace', '--ExecutePreprocessor.kernel_name=cnnvis', '--ExecutePreprocessor.timeout=1800', nb], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) {
    failed++;
    console.error(`FAILED ${nb}\n${(r.stderr || '').split('\n').slice(-30).join('\n')}`);
  } else {
    console.log(`ok ${nb} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}
fs.rmSync(prefix, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
