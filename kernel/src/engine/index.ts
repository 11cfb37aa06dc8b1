/**
 * The engine of a model (engine.ts): the one place that decides which library computes. Everything
 * outside kernel/src/engine asks `engineFor(net)` and uses the Engine interface.
 */
import * as tf from '@tensorflow/tfjs';
import { Engine } from './engine';
import { ortNet } from './onnx/net';
import { OrtEngine } from './ortEngine';
import { TfjsEngine } from './tfjs';

export * from './engine';
export { accelStatus, setAccelEnabled } from './onnx/runtime';
export { ortUnsupportedReason } from './onnx/net';

/** The engines of a model: the model's own, then its ONNX Runtime one once it compiles. */
interface Engines {
  tfjs: TfjsEngine;
  ort?: OrtEngine;
}
const engines = new WeakMap<tf.LayersModel, Engines>();

function enginesOf(net: tf.LayersModel): Engines {
  let e = engines.get(net);
  if (!e) {
    e = { tfjs: new TfjsEngine(net) };
    engines.set(net, e);
  }
  return e;
}

/**
 * The engine that runs a model: ONNX Runtime where it loads and compiles the model (engine/onnx), else
 * TF.js. The engine objects are made once per model. The choice follows the model: the ONNX Runtime
 * engine is left for TF.js when the runtime is switched off (setAccelEnabled) or failed on the model,
 * and its graphs are rebuilt after the model's weights change.
 */
export function engineFor(net: tf.LayersModel): Engine {
  const e = enginesOf(net);
  if (!ortNet(net)) return e.tfjs;
  return (e.ort ??= new OrtEngine(net, e.tfjs));
}
