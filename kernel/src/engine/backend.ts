/**
 * The compute engine: @tensorflow/tfjs-node where it is installed (native TensorFlow), else the
 * WebAssembly backend (SIMD, single-threaded in Node), else pure-JS cpu. CNNVIS_BACKEND overrides.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { engineFallbacks } from './onnx/net';
import { accelStatus } from './onnx/runtime';

export const BACKEND_CHOICES = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

const ALIASES: Record<string, BackendChoice> = {
  tensorflow: 'tensorflow',
  node: 'tensorflow',
  'tfjs-node': 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

let ready: Promise<string> | null = null;
/** Why a backend could not be used, for `backendReport()`. */
const skipped: Record<string, string> = {};

async function tryBackend(name: BackendChoice): Promise<boolean> {
  try {
    if (name === 'tensorflow') {
      // Registers the 'tensorflow' backend with the shared tfjs-core when its native binding loads.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-node');
    } else if (name === 'wasm') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-backend-wasm');
    }
    const ok = await tf.setBackend(name);
    if (!ok) {
      skipped[name] = 'it failed to initialize';
      return false;
    }
    await tf.ready();
    return true;
  } catch (e) {
    skipped[name] = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return false;
  }
}

/**
 * Picks and initializes the backend once; returns its name. `preferred` (or CNNVIS_BACKEND) forces one
 * and fails clearly when it cannot load.
 */
export function initBackend(preferred: string | undefined = process.env.CNNVIS_BACKEND): Promise<string> {
  if (ready) return ready;
  ready = (async () => {
    tf.env().set('IS_NODE', true);
    // Production mode: no debug checks, and no console advice from tfjs about tfjs-node — cnnvis says
    // itself which backend runs and why (backendReport()).
    tf.enableProdMode();
    if (preferred) {
      const choice = ALIASES[preferred.toLowerCase()];
      if (!choice) {
        throw new CnnvisError(
          `unknown backend '${preferred}' (CNNVIS_BACKEND); valid: ${BACKEND_CHOICES.join(', ')}`,
          BACKEND_CHOICES,
        );
      }
      if (!(await tryBackend(choice))) {
        throw new CnnvisError(`backend '${choice}' could not be loaded: ${skipped[choice]}`, BACKEND_CHOICES);
      }
      return choice;
    }
    for (const name of BACKEND_CHOICES) {
      if (await tryBackend(name)) return name;
    }
    throw new CnnvisError('no TensorFlow.js backend could be loaded: ' + JSON.stringify(skipped));
  })();
  ready.catch(() => {
    ready = null;
  });
  return ready;
}

/** The name of the backend that computes now (initializes it when needed). */
export async function backendName(): Promise<string> {
  await initBackend();
  return tf.getBackend();
}

/**
 * One line for users: which backend runs and why the faster ones did not, and which models run on
 * TF.js although the engine is available (a layer it does not compile, or a failure), with the reason.
 */
export async function backendReport(): Promise<string> {
  const name = await backendName();
  const why = Object.entries(skipped)
    .filter(([k]) => k !== name)
    .map(([k, v]) => `${k}: ${v}`);
  const tfjs = why.length ? `backend ${name} (not used: ${why.join('; ')})` : `backend ${name}`;
  const ort = accelStatus();
  if (!ort.startsWith('onnxruntime')) return `${tfjs}; onnxruntime ${ort}`;
  const off = engineFallbacks();
  return `${tfjs}; forward and gradient passes of the models it compiles on ${ort}${off.length ? `; ${off.join('; ')}` : ''}`;
}
