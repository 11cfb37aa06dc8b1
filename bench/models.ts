/**
 * The benchmark's architectures in TF.js layers, shaped like the torchvision models the Python
 * reference builds (bench/reference.py): VGG16 (kernel's Keras-named builder), ResNet50 (v1.5: the
 * stride of a down-sampling bottleneck sits in its 3×3 conv, convs without bias, batch norm) and
 * MobileNetV2 (width 1.0, ReLU6, inverted residuals). Layer names follow Keras' applications.
 *
 * Weights are random (He-uniform kernels, zero biases, identity batch norm), drawn from a small
 * seeded generator in JS: Keras' own initializers take minutes for VGG16 on wasm.
 */
import { buildVgg16, CnnModel, tf, writeLayerWeights } from 'cnnvis';

export const BENCH_MODELS = ['vgg16', 'resnet50', 'mobilenetv2'] as const;
export type BenchModelName = (typeof BENCH_MODELS)[number];

type Sym = tf.SymbolicTensor;

/** Applies a layer with zero weights created at build time (randomized afterwards). */
function ap(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
  layer.setFastWeightInitDuringBuild(true);
  return layer.apply(x) as Sym;
}

function bn(x: Sym, name: string): Sym {
  return ap(tf.layers.batchNormalization({ axis: 3, epsilon: 1e-5, name }), x);
}

function conv(x: Sym, filters: number, kernelSize: number, strides: number, name: string): Sym {
  return ap(tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, name }), x);
}

function relu(x: Sym, name: string): Sym {
  return ap(tf.layers.activation({ activation: 'relu', name }), x);
}

/** ResNet50 v1.5 with Keras' layer names (conv1_conv … conv5_block3_out, avg_pool, predictions). */
export function buildResNet50(classes = 1000): tf.LayersModel {
  const input = tf.input({ shape: [224, 224, 3], name: 'input_1' });
  let x = conv(input, 64, 7, 2, 'conv1_conv');
  x = relu(bn(x, 'conv1_bn'), 'conv1_relu');
  x = ap(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'pool1_pool' }), x);
  const stages: Array<[number, number, number]> = [
    [64, 3, 1],
    [128, 4, 2],
    [256, 6, 2],
    [512, 3, 2],
  ];
  stages.forEach(([width, blocks, stride], s) => {
    for (let b = 0; b < blocks; b++) {
      const name = `conv${s + 2}_block${b + 1}`;
      const st = b === 0 ? stride : 1;
      let shortcut = x;
      if (b === 0) shortcut = bn(conv(x, width * 4, 1, st, `${name}_0_conv`), `${name}_0_bn`);
      let y = relu(bn(conv(x, width, 1, 1, `${name}_1_conv`), `${name}_1_bn`), `${name}_1_relu`);
      y = relu(bn(conv(y, width, 3, st, `${name}_2_conv`), `${name}_2_bn`), `${name}_2_relu`);
      y = bn(conv(y, width * 4, 1, 1, `${name}_3_conv`), `${name}_3_bn`);
      x = relu(ap(tf.layers.add({ name: `${name}_add` }), [shortcut, y]), `${name}_out`);
    }
  });
  x = ap(tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), x);
  x = ap(tf.layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }), x);
  return tf.model({ inputs: input, outputs: x, name: 'resnet50' });
}

/** MobileNetV2 (α = 1) with Keras' layer names (Conv1 … block_16_project_BN, Conv_1, out_relu, predictions). */
export function buildMobileNetV2(classes = 1000): tf.LayersModel {
  const relu6 = (x: Sym, name: string) => ap(tf.layers.reLU({ maxValue: 6, name }), x);
  const input = tf.input({ shape: [224, 224, 3], name: 'input_1' });
  let x = relu6(bn(conv(input, 32, 3, 2, 'Conv1'), 'bn_Conv1'), 'Conv1_relu');
  // (expansion, output channels, repeats, first stride)
  const settings: Array<[number, number, number, number]> = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  let block = 0;
  let channels = 32;
  for (const [t, c, n, s] of settings) {
    for (let i = 0; i < n; i++) {
      const prefix = block === 0 ? 'expanded_conv_' : `block_${block}_`;
      const stride = i === 0 ? s : 1;
      let y = x;
      if (t !== 1) y = relu6(bn(conv(y, channels * t, 1, 1, `${prefix}expand`), `${prefix}expand_BN`), `${prefix}expand_relu`);
      y = ap(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, name: `${prefix}depthwise` }), y);
      y = relu6(bn(y, `${prefix}depthwise_BN`), `${prefix}depthwise_relu`);
      y = bn(conv(y, c, 1, 1, `${prefix}project`), `${prefix}project_BN`);
      x = stride === 1 && channels === c ? ap(tf.layers.add({ name: `${prefix}add` }), [x, y]) : y;
      channels = c;
      block++;
    }
  }
  x = relu6(bn(conv(x, 1280, 1, 1, 'Conv_1'), 'Conv_1_bn'), 'out_relu');
  x = ap(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
  x = ap(tf.layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }), x);
  return tf.model({ inputs: input, outputs: x, name: 'mobilenetv2' });
}

/** xorshift32 → uniform floats in [−1, 1). */
function uniformFill(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/**
 * He-uniform kernels (fan-in: kh·kw·cin for convs, kh·kw for depthwise, the input size for dense),
 * zero biases and betas, unit gammas and variances, zero means.
 */
export function randomizeWeights(net: tf.LayersModel, seed = 1): void {
  let k = 0;
  for (const layer of net.layers) {
    const cls = layer.getClassName();
    const values = layer.weights.map((v) => {
      const name = v.originalName ?? v.name;
      const shape = v.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      if (/kernel/.test(name)) {
        const fanIn = cls === 'DepthwiseConv2D' ? shape.slice(0, 2).reduce((a, b) => a * b, 1) : shape.slice(0, -1).reduce((a, b) => a * b, 1);
        const limit = Math.sqrt(6 / fanIn);
        const data = uniformFill(size, seed * 1000003 + ++k);
        for (let j = 0; j < data.length; j++) data[j] *= limit;
        return data;
      }
      return new Float32Array(size).fill(/gamma|moving_variance/.test(name) ? 1 : 0);
    });
    // Into the zero weights the model was built with: no second copy of VGG16's 528 MB.
    if (values.length) writeLayerWeights(layer, values);
  }
}

export interface BenchModel {
  model: CnnModel;
  /** The layer the CAM methods explain (the last conv block's output, ReLU applied). */
  camLayer: string;
  /** The layer activation maximization targets (channel 0). */
  maxLayer: string;
  /** Spatial layers the feature-map explorer switches between in the layer-change timing. */
  exploreLayers: string[];
  /** The convolution whose filters the activation-maximization page row optimizes (the filter explorer's layer). */
  pageLayer: string;
}

/** One benchmark model with random weights. */
export function benchModel(name: BenchModelName): BenchModel {
  if (name === 'vgg16') {
    const net = buildVgg16({ initWeights: 'zeros' });
    randomizeWeights(net);
    return {
      model: new CnnModel(net, { name: 'vgg16', preprocess: 'vgg16' }),
      camLayer: 'block5_conv3',
      maxLayer: 'block4_conv3',
      pageLayer: 'block4_conv3',
      exploreLayers: ['block1_conv2', 'block3_conv3', 'block5_conv3', 'block2_pool', 'block4_conv1'],
    };
  }
  if (name === 'resnet50') {
    const net = buildResNet50();
    randomizeWeights(net);
    return {
      model: new CnnModel(net, { name: 'resnet50', preprocess: 'vgg16' }),
      camLayer: 'conv5_block3_out',
      maxLayer: 'conv4_block6_out',
      pageLayer: 'conv4_block6_2_conv',
      exploreLayers: ['conv1_relu', 'conv2_block3_out', 'conv3_block4_out', 'conv4_block6_out', 'conv5_block3_out'],
    };
  }
  const net = buildMobileNetV2();
  randomizeWeights(net);
  return {
    model: new CnnModel(net, { name: 'mobilenetv2', preprocess: 'mobilenet' }),
    camLayer: 'out_relu',
    maxLayer: 'block_13_expand_relu',
    pageLayer: 'block_13_expand',
    exploreLayers: ['Conv1_relu', 'block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu', 'out_relu'],
  };
}
