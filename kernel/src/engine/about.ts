/**
 * What computes, in words for people: the cnnvis version, the ONNX Runtime engine (or why it is not
 * used, with the one command that installs it), and TF.js with its backend. `cnnvis --version`, the
 * CLI's note when the engine is missing and the report's engine line all come from here.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { backendName } from './backend';
import { engineFallbacks } from './onnx/net';
import { accelStatus, ortRuntime } from './onnx/runtime';

/** The cnnvis package folder (holding package.json), from src/engine or dist/engine. */
export function packageRoot(): string {
  return path.resolve(__dirname, '..', '..');
}

interface PackageJson {
  version: string;
  optionalDependencies?: Record<string, string>;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** This package's version (package.json). */
export function cnnvisVersion(): string {
  return readJson<PackageJson>(path.join(packageRoot(), 'package.json'))?.version ?? 'unknown';
}

/** The version of an installed package as this package resolves it, or null when it is not installed. */
function installedVersion(name: string): string | null {
  try {
    const file = require.resolve(`${name}/package.json`, { paths: [packageRoot()] });
    return readJson<PackageJson>(file)?.version ?? null;
  } catch {
    return null;
  }
}

/**
 * The one shell command that installs the ONNX Runtime engine beside this cnnvis. The environment
 * variable skips onnxruntime-node's own install script, which would download CUDA libraries (npm 10
 * runs that script; npm 11 asks first): its CPU library ships inside the npm package.
 */
export function engineInstallCommand(): string {
  const root = packageRoot();
  const spec = `onnxruntime-node@${readJson<PackageJson>(path.join(root, 'package.json'))?.optionalDependencies?.['onnxruntime-node'] ?? 'latest'}`;
  const parent = path.dirname(root);
  // Installed as a package (<project>/node_modules/cnnvis): into that project. In a clone of the
  // repository (the package is its kernel/ folder): the workspace install.
  if (path.basename(parent) === 'node_modules') {
    const project = path.dirname(parent);
    return `ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix ${quote(project)} ${spec}`;
  }
  return `cd ${quote(parent)} && npm ci`;
}

function quote(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

export interface EngineInfo {
  /** 'onnxruntime' when the ONNX Runtime engine loads (and is not switched off), else 'tfjs'. */
  engine: 'onnxruntime' | 'tfjs';
  /** One line naming what computes, e.g. "ONNX Runtime 1.30.0 (2 threads) for the models it compiles; TF.js 4.22.0 on wasm for the rest". */
  line: string;
  /** When the engine is missing (not switched off): why, and the command that installs it. */
  missing?: { reason: string; command: string };
}

/** Which engine computes and why (initializes the TF.js backend). */
export async function engineInfo(): Promise<EngineInfo> {
  const backend = await backendName();
  const tfjs = `TF.js ${tf.version.tfjs} on ${backend}`;
  if (ortRuntime()) {
    const ort = installedVersion('onnxruntime-node');
    const status = accelStatus(); // 'onnxruntime (N threads)'
    const threads = /\((.+)\)/.exec(status)?.[1];
    const off = engineFallbacks();
    return {
      engine: 'onnxruntime',
      line: `ONNX Runtime${ort ? ' ' + ort : ''}${threads ? ` (${threads})` : ''} for the models it compiles; ${tfjs} for the rest${off.length ? `; ${off.join('; ')}` : ''}`,
    };
  }
  const status = accelStatus().replace(/^not used: /, '');
  if (/CNNVIS_ACCEL=off|setAccelEnabled/.test(status)) return { engine: 'tfjs', line: `${tfjs} only (the ONNX Runtime engine is ${status.replace(/ \((.+)\)$/, ': $1')})` };
  const installed = installedVersion('onnxruntime-node');
  const reason = installed ? `onnxruntime-node ${installed} is installed but did not load (${status.replace(/^onnxruntime-node did not load: /, '')})` : 'onnxruntime-node is not installed';
  return {
    engine: 'tfjs',
    line: `${tfjs} only: the ONNX Runtime engine is missing (${reason}), so everything runs 5–20× slower`,
    missing: { reason, command: engineInstallCommand() },
  };
}

/** `cnnvis --version`: the version, then the engine. */
export async function versionText(): Promise<string> {
  const info = await engineInfo();
  const lines = [`cnnvis ${cnnvisVersion()}`, `engine: ${info.line}`];
  if (info.missing) lines.push(`install the engine: ${info.missing.command}`);
  return lines.join('\n');
}
