/** Small building blocks for the hand-made test networks: functional chains, seeded weights, a logit of a flat input. */
import * as tf from '@tensorflow/tfjs';
import { logitsOf } from '../../kernel/src/explain/gradients';
import { CnnModel } from '../../kernel/src/models/model';
import { seededFloats } from '../../kernel/src/random';

/** Applies layers one after another to a symbolic tensor: a functional chain. */
export function chain(x: tf.SymbolicTensor, layers: tf.layers.Layer[]): tf.SymbolicTensor {
  return layers.reduce((h, l) => l.apply(h) as tf.SymbolicTensor, x);
}

/** Sets every weight of the named layers uniform in [−scale, scale) from seededFloats (weight i of a layer: seed + i). */
export function seedLayers(net: tf.LayersModel, layers: ReadonlyArray<readonly [name: string, seed: number, scale: number]>): void {
  for (const [name, seed, scale] of layers) {
    const l = net.getLayer(name);
    l.setWeights(l.getWeights().map((w, i) => tf.tensor(seededFloats(w.size, seed + i, -scale, scale), w.shape)));
  }
}

/** The logit of class k for a preprocessed input given as a flat array of the model's input size. */
export function logitAt(model: CnnModel, v: Float32Array, k: number): number {
  const t = tf.tensor4d(v, [1, model.inputHeight, model.inputWidth, model.inputChannels]);
  const l = logitsOf(model, t);
  const r = l.dataSync()[k];
  tf.dispose([t, l]);
  return r;
}

/**
 * Every weight of the model uniform in [−0.5, 0.5) from seededFloats (seeds seed, seed + 1, … in layer
 * order); batch-norm weights and normalization variances |v| + 0.5 (positive).
 */
export function randomizeSigned(net: tf.LayersModel, seed: number): void {
  let k = seed;
  for (const layer of net.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    const name = layer.getClassName();
    layer.setWeights(
      ws.map((w, i) => {
        const v = seededFloats(w.size, k++, -0.5, 0.5);
        if (name === 'BatchNormalization' || (name === 'Normalization' && i === 1)) for (let j = 0; j < v.length; j++) v[j] = Math.abs(v[j]) + 0.5;
        return tf.tensor(v, w.shape);
      }),
    );
  }
}
