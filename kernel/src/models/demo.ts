/**
 * The `demo` model: a small VGG-style CNN trained by this project on generated shape scenes
 * (see ../data/shapes.ts and assets/demo/TRAINING.md). Three conv blocks, global average pooling and one
 * dense softmax layer — the class activation map (CAM) structure, so CAM and Grad-CAM agree on it.
 * Input: [64, 64, 3] RGB in [0, 1] ('unit' preprocessing).
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SHAPE_CLASSES } from '../data/shapes';
import type { PreprocessName } from '../types';
import { loadTfjsLayersModel } from './tfjs';

export const DEMO_CLASSES: readonly string[] = SHAPE_CLASSES;
export const DEMO_INPUT_SIZE = 64;
export const DEMO_PREPROCESS: PreprocessName = 'unit';
/** The last convolution: the natural target layer for CAM-style methods. */
export const DEMO_LAST_CONV = 'block3_conv2';
/** Folder of the committed model.json + weights.bin (same relative path from kernel/src and kernel/dist). */
export const DEMO_ASSET_DIR = path.resolve(__dirname, '../../assets/demo');

/** Filters per block; blocks 1 and 2 end with 2x2 max pooling, block 3 keeps a 16x16 map for CAMs. */
/** `bn`: whether the training form normalizes this block (block 1 trains well without, and BN is dear there). */
const BLOCKS: ReadonlyArray<{ filters: number; pool: boolean; bn: boolean }> = [
  { filters: 16, pool: true, bn: false },
  { filters: 32, pool: true, bn: true },
  { filters: 64, pool: false, bn: true },
];

export interface BuildDemoOptions {
  /** Seeds the initializers (deterministic weights). */
  seed?: number;
  /**
   * Training form: each convolution of blocks 2 and 3 is linear and followed by `<conv>_bn` (batch
   * normalization) and `<conv>_relu`. After training the normalization is folded into the convolution (see
   * demoTraining.ts), which gives exactly the plain form: convolutions with a ReLU activation.
   */
  batchNorm?: boolean;
}

/** The untrained architecture. */
export function buildDemoModel(options: BuildDemoOptions = {}): tf.LayersModel {
  const { seed, batchNorm = false } = options;
  const init = (k: number): ReturnType<typeof tf.initializers.heNormal> =>
    tf.initializers.heNormal(seed === undefined ? {} : { seed: seed + k });
  const input = tf.input({ shape: [DEMO_INPUT_SIZE, DEMO_INPUT_SIZE, 3], name: 'input_image' });
  let x: tf.SymbolicTensor = input;
  let k = 0;
  BLOCKS.forEach((b, i) => {
    for (let c = 1; c <= 2; c++) {
      const name = `block${i + 1}_conv${c}`;
      const bn = batchNorm && b.bn;
      x = tf.layers
        .conv2d({
          name,
          filters: b.filters,
          kernelSize: 3,
          padding: 'same',
          activation: bn ? 'linear' : 'relu',
          kernelInitializer: init(k++),
        })
        .apply(x) as tf.SymbolicTensor;
      if (bn) {
        x = tf.layers.batchNormalization({ name: `${name}_bn`, axis: -1 }).apply(x) as tf.SymbolicTensor;
        x = tf.layers.activation({ name: `${name}_relu`, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
      }
    }
    if (b.pool) {
      x = tf.layers.maxPooling2d({ name: `block${i + 1}_pool`, poolSize: 2, strides: 2 }).apply(x) as tf.SymbolicTensor;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      name: 'predictions',
      units: DEMO_CLASSES.length,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + k }),
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'cnnvis_demo' });
}

/** Loads the trained demo model committed under kernel/assets/demo (or from `dir`). */
export function loadDemoModel(dir: string = DEMO_ASSET_DIR): Promise<tf.LayersModel> {
  return loadTfjsLayersModel(dir);
}
