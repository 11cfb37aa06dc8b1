#!/usr/bin/env node
/**
 * The "TypeScript (cnnvis)" Jupyter kernel process: tslab's TypeScript executor with the Jupyter comm
 * layer and the ipywidgets protocol (kernel/src/kernel, compiled to kernel/dist/kernel).
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

// A notebook in any folder imports cnnvis: its folder's packages first, then this cnnvis' own.
require('../dist/cli/kernelModules').resolveOwnPackages();

require('../dist/kernel/main')
  .startKernel(configPath)
  .catch((err) => {
    process.stderr.write(`cnnvis kernel failed to start: ${(err && err.stack) || err}\n`);
    process.exit(1);
  });
