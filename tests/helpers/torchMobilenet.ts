/**
 * The pretrained PyTorch MobileNet of notebook 09: tools/export_torch_mobilenet.py builds MobileNet v1 0.25 as
 * a torch nn.Module, loads Keras' ImageNet weights (the shared keras.h5) and exports it to ONNX in the test
 * model cache ($CNNVIS_HOME/models/pytorch/), once per jest run, on first use (about 6 s).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { MODELS } from './shared';

/** The Python with torch, onnx and h5py (Debian's; CNNVIS_TORCH_PYTHON overrides). */
export const PY = process.env.CNNVIS_TORCH_PYTHON ?? '/usr/bin/python3';
export const KERAS_MOBILENET_H5 = path.join(MODELS, 'keras_mobilenet_0.25_224_h5', 'keras.h5');
const SCRIPT = path.resolve(__dirname, '../../tools/export_torch_mobilenet.py');

/** Where the export lands (the path notebook 09 loads). */
export function torchMobilenetPath(): string {
  const home = process.env.CNNVIS_HOME;
  if (!home) throw new Error('CNNVIS_HOME is not set (tests/setup/globalSetup.js sets it)');
  return path.join(home, 'models', 'pytorch', 'mobilenet_v1_0.25_torch.onnx');
}

/** Why the model cannot be exported here (no torch / onnx / h5py, no weights), or null when it can. */
export function torchMobilenetUnavailable(): string | null {
  if (!fs.existsSync(KERAS_MOBILENET_H5)) return `the Keras MobileNet weights are missing (${KERAS_MOBILENET_H5})`;
  const r = spawnSync(PY, ['-c', 'import torch, onnx, h5py'], { stdio: 'ignore' });
  return r.status === 0 ? null : `${PY} cannot import torch, onnx and h5py (apt install python3-torch python3-onnx python3-h5py)`;
}

/** Exports the model unless it is already in the cache; returns its path. */
export function ensureTorchMobilenet(): string {
  const file = torchMobilenetPath();
  if (fs.existsSync(file)) return file;
  const r = spawnSync(PY, [SCRIPT, '--h5', KERAS_MOBILENET_H5, '--out', file], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`export_torch_mobilenet.py failed:\n${(r.stderr ?? '').slice(-2000)}`);
  return file;
}
