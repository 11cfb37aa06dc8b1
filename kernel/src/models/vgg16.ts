/**
 * VGG16 (Simonyan & Zisserman 2014) built in code with Keras' layer names, so Keras' official
 * weights files (`vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5`) load onto it directly.
 *
 * Layers: input_1, block{1..5}_conv{1..2|3} (3×3, same, ReLU), block{1..5}_pool (2×2 max),
 * then flatten, fc1, fc2 (ReLU) and predictions with the top; or nothing / global pooling without it.
 * Preprocessing for the ImageNet weights ("caffe" mode): RGB→BGR, subtract [103.939, 116.779, 123.68].
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { H5Source, openH5 } from './hdf5';
import { assignKerasWeights, findKerasWeights, WeightsLoadReport } from './keras';

export interface Vgg16Options {
  /** [height, width, channels]; height and width at least 32. Default [224, 224, 3]. */
  inputShape?: [number, number, number];
  /** Output classes of `predictions`. Default 1000. */
  classes?: number;
  /** Flatten + fc1 + fc2 + predictions. Default true. */
  includeTop?: boolean;
  /** Activation of `predictions`. Default 'softmax'; 'linear' gives logits. */
  classifierActivation?: ClassifierActivation;
  /** Without the top: none (4-D feature maps), 'avg' or 'max' global pooling. */
  pooling?: 'avg' | 'max';
  /** Filters of the five conv blocks. Default [64, 128, 256, 512, 512] (smaller only for tests/experiments). */
  filters?: [number, number, number, number, number];
  /** Units of fc1 and fc2. Default 4096. */
  fcUnits?: number;
  /**
   * Initial weights. 'zeros' (default) is for loading weights next: it skips Keras' random
   * initializers, which are slow for a model of VGG16's size. 'random' uses Keras' defaults
   * (Glorot-uniform kernels, zero biases), like `VGG16(weights=None)`.
   */
  initWeights?: 'zeros' | 'random';
}

export const CLASSIFIER_ACTIVATIONS = ['softmax', 'linear', 'sigmoid'] as const;
export type ClassifierActivation = (typeof CLASSIFIER_ACTIVATIONS)[number];

/** Convolutions per block, as in Keras' VGG16. */
const BLOCK_CONVS = [2, 2, 3, 3, 3];

/** Names of the conv and pool layers, in order: block1_conv1 … block5_pool. */
export const VGG16_FEATURE_LAYERS: readonly string[] = BLOCK_CONVS.flatMap((n, b) => [
  ...Array.from({ length: n }, (_, i) => `block${b + 1}_conv${i + 1}`),
  `block${b + 1}_pool`,
]);

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new CnnvisError(`VGG16 ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Builds VGG16 with Keras' exact layer names (weights are randomly initialized). */
export function buildVgg16(options: Vgg16Options = {}): tf.LayersModel {
  const {
    inputShape = [224, 224, 3],
    classes = 1000,
    includeTop = true,
    classifierActivation = 'softmax',
    pooling,
    filters = [64, 128, 256, 512, 512],
    fcUnits = 4096,
    initWeights = 'zeros',
  } = options;
  if (!Array.isArray(inputShape) || inputShape.length !== 3) {
    throw new CnnvisError(`VGG16 inputShape must be [height, width, channels], got ${JSON.stringify(inputShape)}`);
  }
  const [h, w, c] = inputShape.map((d, i) => positiveInt(d, `inputShape[${i}]`));
  if (h < 32 || w < 32) {
    throw new CnnvisError(`VGG16 needs an input of at least 32×32 (five 2×2 poolings), got ${h}×${w}`);
  }
  positiveInt(classes, 'classes');
  positiveInt(fcUnits, 'fcUnits');
  if (!Array.isArray(filters) || filters.length !== 5) {
    throw new CnnvisError(`VGG16 filters must list 5 block widths, got ${JSON.stringify(filters)}`);
  }
  filters.forEach((f, i) => positiveInt(f, `filters[${i}]`));
  if (!(CLASSIFIER_ACTIVATIONS as readonly string[]).includes(classifierActivation)) {
    throw new CnnvisError(
      `unknown VGG16 classifierActivation '${classifierActivation}'; valid: ${CLASSIFIER_ACTIVATIONS.join(', ')}`,
      CLASSIFIER_ACTIVATIONS,
    );
  }
  if (pooling !== undefined && pooling !== 'avg' && pooling !== 'max') {
    throw new CnnvisError(`unknown VGG16 pooling '${String(pooling)}'; valid: avg, max (or none)`, ['avg', 'max']);
  }
  if (pooling && includeTop) throw new CnnvisError('VGG16 pooling applies only with includeTop: false');
  if (initWeights !== 'zeros' && initWeights !== 'random') {
    throw new CnnvisError(`unknown VGG16 initWeights '${String(initWeights)}'; valid: zeros, random`, ['zeros', 'random']);
  }
  /** Applies a layer; with 'zeros' its weights are created as zeros instead of running the initializers. */
  const apply = (layer: tf.layers.Layer, t: tf.SymbolicTensor): tf.SymbolicTensor => {
    if (initWeights === 'zeros') layer.setFastWeightInitDuringBuild(true);
    return layer.apply(t) as tf.SymbolicTensor;
  };

  const input = tf.input({ shape: [h, w, c], name: 'input_1' });
  let x: tf.SymbolicTensor = input;
  BLOCK_CONVS.forEach((n, b) => {
    for (let i = 0; i < n; i++) {
      x = apply(tf.layers
        .conv2d({ filters: filters[b], kernelSize: 3, padding: 'same', activation: 'relu', name: `block${b + 1}_conv${i + 1}` }), x);
    }
    x = apply(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }), x);
  });
  if (includeTop) {
    x = apply(tf.layers.flatten({ name: 'flatten' }), x);
    x = apply(tf.layers.dense({ units: fcUnits, activation: 'relu', name: 'fc1' }), x);
    x = apply(tf.layers.dense({ units: fcUnits, activation: 'relu', name: 'fc2' }), x);
    x = apply(tf.layers.dense({ units: classes, activation: classifierActivation, name: 'predictions' }), x);
  } else if (pooling === 'avg') {
    x = apply(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
  } else if (pooling === 'max') {
    x = apply(tf.layers.globalMaxPooling2d({ name: 'global_max_pooling2d' }), x);
  }
  return tf.model({ inputs: input, outputs: x, name: 'vgg16' });
}

/**
 * Loads Keras' VGG16 weights file (weights-only layout: root `layer_names`, one group per layer whose
 * `weight_names` are 'block1_conv1_W_1:0'-style in the official files or 'block1_conv1/kernel:0' in
 * newer saves; matched by order within each layer) onto a model from `buildVgg16`, by layer name.
 * A full-model VGG16 .h5 works too. The no-top file fits only `includeTop: false`.
 */
export async function loadVgg16Weights(model: tf.LayersModel, source: H5Source): Promise<WeightsLoadReport> {
  const file = openH5(source);
  const w = findKerasWeights(file);
  if (!w) {
    throw new CnnvisError(
      `${file.label} is an HDF5 file but not a Keras weights file: it has no layer_names attribute and no model_weights group`,
    );
  }
  const vggLayers = VGG16_FEATURE_LAYERS.filter((n) => n.includes('conv'));
  const missing = vggLayers.filter((n) => !w.layerNames.includes(n));
  if (missing.length) {
    throw new CnnvisError(
      `${file.label} is not a VGG16 weights file: it has no layers ${missing.join(', ')}; ` +
        `its layers are: ${w.layerNames.join(', ')}`,
    );
  }
  const modelHasTop = model.layers.some((l) => l.name === 'fc1');
  if (modelHasTop && !w.layerNames.includes('fc1')) {
    throw new CnnvisError(
      `${file.label} has no fc1/fc2/predictions weights (it is the no-top VGG16 file); ` +
        `build the model with buildVgg16({ includeTop: false })`,
    );
  }
  try {
    return assignKerasWeights(model, w, { byName: true });
  } catch (e) {
    const input = model.inputs[0]?.shape;
    if (e instanceof CnnvisError && /'fc1'/.test(e.message) && input && (input[1] !== 224 || input[2] !== 224)) {
      throw new CnnvisError(`${e.message} (the ImageNet fc1 weights need a 224×224 input; this model takes ${input[1]}×${input[2]})`);
    }
    throw e;
  }
}
