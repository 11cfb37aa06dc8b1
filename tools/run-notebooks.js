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
