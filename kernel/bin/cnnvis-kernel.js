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

const { startKernel } = require('tslab/dist/main');
startKernel({ configPath, enableFindLocal: false, jsKernel: false });
