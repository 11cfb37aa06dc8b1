#!/usr/bin/env node
/**
 * `npm pack -w kernel` / `npm publish -w kernel`: builds everything the package ships and puts the
 * repository's README and LICENSE beside package.json (npm packs them from there; `postpack` removes
 * the copies).
 *   dist/          the compiled kernel (tsc -b)
 *   labextension/  the prebuilt JupyterLab 4 extension (npm run build -w labextension, which builds
 *                  widgets/ and writes here)
 *   assets/        the bundled demo model (committed)
 *   node scripts/prepack.js --clean   removes the copied README and LICENSE (postpack)
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const pkg = path.resolve(__dirname, '..');
const root = path.resolve(pkg, '..');
const COPIED = ['README.md', 'LICENSE'];

if (process.argv.includes('--clean')) {
  for (const f of COPIED) fs.rmSync(path.join(pkg, f), { force: true });
  process.exit(0);
}

const npm = process.env.npm_execpath;
function run(what, cmd, args, cwd) {
  console.error(`prepack: ${what}`);
  // Build logs go to stderr: stdout is npm's (`npm pack --json`).
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 2, 2] });
}
// First, so the lab extension's bundled third-party-licenses.json finds cnnvis' license too.
for (const f of COPIED) fs.copyFileSync(path.join(root, f), path.join(pkg, f));
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
run('tsc -b kernel', process.execPath, [tsc, '-b', 'kernel'], root);
// npm's own JS when npm runs this script (npm_execpath), else the npm on PATH.
if (npm && npm.endsWith('.js')) run('npm run build -w labextension', process.execPath, [npm, 'run', 'build', '-w', 'labextension'], root);
else run('npm run build -w labextension', process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '-w', 'labextension'], root);
for (const f of ['dist/index.js', 'dist/cli/main.js', 'dist/kernel/main.js', 'assets/demo/model.json']) {
  if (!fs.existsSync(path.join(pkg, f))) throw new Error(`prepack: ${f} is missing after the build`);
}
const ext = JSON.parse(fs.readFileSync(path.join(pkg, 'labextension', 'package.json'), 'utf8'));
const load = ext.jupyterlab && ext.jupyterlab._build && ext.jupyterlab._build.load;
if (!load || !fs.existsSync(path.join(pkg, 'labextension', load))) throw new Error('prepack: the lab extension build has no entry point');
