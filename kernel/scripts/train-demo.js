#!/usr/bin/env node
/**
 * Trains the demo model and writes kernel/assets/demo/{model.json,weights.bin,training-log.json}.
 *   npx tsc -p kernel && node kernel/scripts/train-demo.js [--epochs 8] [--steps 60] [--batch 32] [--lr 3e-3] [--out DIR]
 * Uses the wasm backend (CNNVIS_BACKEND=cpu forces the much slower cpu backend).
 */
'use strict';
const { initBackend } = require('../dist/engine/backend');
const { trainDemo } = require('../dist/models/demoTraining');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

(async () => {
  const backend = await initBackend(process.env.CNNVIS_BACKEND || 'wasm');
  console.log(`training the demo model on backend ${backend}`);
  const opts = {};
  if (arg('epochs')) opts.epochs = Number(arg('epochs'));
  if (arg('steps')) opts.stepsPerEpoch = Number(arg('steps'));
  if (arg('batch')) opts.batchSize = Number(arg('batch'));
  if (arg('lr')) opts.learningRate = Number(arg('lr'));
  if (arg('out')) opts.outDir = arg('out');
  const result = await trainDemo(opts);
  console.log(JSON.stringify({ ...result, history: undefined }, null, 2));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
