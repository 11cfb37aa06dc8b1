/**
 * Keras layer classes that TF.js 4.22 lacks, or implements differently from Keras, registered with
 * `tf.serialization.registerClass` so that Keras and TF.js model files that use them load. Only their
 * inference behaviour matters here (cnnvis never trains):
 *
 * - Augmentation layers (RandomFlip, RandomRotation, RandomZoom, … and TF.js' own RandomHeight /
 *   RandomWidth, which TF.js applies even at inference) are the identity, as in Keras with
 *   `training=False`. So are SpatialDropout2D/3D, ActivityRegularization and Identity.
 * - RandomCrop at inference crops the largest centred box with the target aspect ratio and resizes it
 *   (Keras 2 and Keras 3 up to 3.9; Keras 3.10+ returns the input unchanged, which only works when it
 *   already has the target size, where both agree).
 * - Normalization: y = (x − mean) / max(√variance, 1e-7) (or the inverse), with mean and variance from
 *   the config or from the layer's weights (mean, variance, count).
 * - Resizing and CenterCrop replace TF.js' versions, which use corner-aligned sampling (Keras samples
 *   at pixel centres), and whose output shapes are wrong for batched inputs (Resizing) or whose crop is
 *   resampled instead of sliced (CenterCrop).
 * - Subtract (two inputs).
 * - ReLU with Keras' negative_slope and threshold (TF.js ignores both); GlobalAveragePooling2D and
 *   GlobalMaxPooling2D with keepdims (squeeze-excitation blocks of MobileNetV3); Maximum and Minimum
 *   whose gradients work with broadcast inputs.
 * - Keras activations TF.js lacks: silu, leaky_relu, hard_silu / hard_swish, exponential, celu,
 *   hard_tanh, log_sigmoid, tanh_shrink, soft_shrink, hard_shrink, squareplus, sparse_plus,
 *   sparse_sigmoid, and Keras 3's hard_sigmoid (see KERAS_ACTIVATIONS).
 *
 * Importing this module registers the classes; it is imported by the Keras and TF.js loaders.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';

type Shape = Array<number | null>;
type Config = tf.serialization.ConfigDict;
type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

/** Keras' backend epsilon, the floor of Normalization's standard deviation. */
const EPSILON = 1e-7;

const single = <T>(x: T | T[]): T => (Array.isArray(x) ? x[0] : x);

/** A config string in either Keras' snake_case or TF.js' camelCase form ('channels_last', 'channelsLast'). */
const same = (v: unknown, snake: string): boolean =>
  typeof v === 'string' && v.replace(/_/g, '').toLowerCase() === snake.replace(/_/g, '').toLowerCase();

function channelsLast(layer: string, cls: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== null && !same(dataFormat, 'channels_last')) {
    throw new CnnvisError(`layer '${layer}' (${cls}) uses data_format '${String(dataFormat)}'; cnnvis runs channels_last image models only`);
  }
}

/** The config of a layer minus the base-layer keys, kept so that getConfig gives back what it got. */
function ownConfig(args: Config): Config {
  const base = new Set(['name', 'trainable', 'dtype', 'inputShape', 'batchInputShape', 'batchSize', 'inputDType', 'weights']);
  const out: Config = {};
  for (const [k, v] of Object.entries(args)) if (!base.has(k)) out[k] = v;
  return out;
}

/** A layer that passes its input through unchanged at inference, keeping its own config. */
abstract class InferenceIdentity extends tf.layers.Layer {
  private readonly own: Config;
  constructor(args: Config) {
    super(args as LayerArgs);
    this.own = ownConfig(args);
    channelsLast(this.name, this.getClassName(), args.dataFormat);
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = single(inputs);
    return x.dtype === 'float32' ? tf.clone(x) : tf.cast(x, 'float32');
  }
  override getConfig(): Config {
    return { ...this.own, ...super.getConfig() };
  }
}

/** Names of the Keras (2 and 3) layers that are the identity at inference. */
export const IDENTITY_AT_INFERENCE = [
  'RandomFlip', 'RandomRotation', 'RandomZoom', 'RandomTranslation', 'RandomContrast', 'RandomBrightness',
  'RandomHeight', 'RandomWidth', 'RandomGrayscale', 'RandomHue', 'RandomSaturation', 'RandomSharpness',
  'RandomColorJitter', 'RandomColorDegeneration', 'RandomPosterization', 'RandomInvert', 'RandomErasing',
  'RandomGaussianBlur', 'RandomPerspective', 'RandomShear', 'RandomElasticTransform', 'Solarization',
  'AugMix', 'RandAugment', 'CutMix', 'MixUp', 'SpatialDropout2D', 'SpatialDropout3D', 'ActivityRegularization',
  'Identity',
] as const;

/**
 * Every layer class whose output is its input at inference: the ones above and TF.js' own dropout and
 * noise layers. The engine, the head walk and the in-model preprocessing check all read this one list.
 */
export const INFERENCE_IDENTITY: ReadonlySet<string> = new Set([
  ...IDENTITY_AT_INFERENCE, 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout',
]);

for (const name of IDENTITY_AT_INFERENCE) {
  // One class per Keras name, so that getClassName() and model summaries show the Keras name.
  const cls = { [name]: class extends InferenceIdentity {} }[name] as unknown as { className: string };
  cls.className = name;
  tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>);
}

// ---------------------------------------------------------------------------------------------------
// Image geometry shared by Resizing, CenterCrop and RandomCrop (NHWC or HWC tensors)

function spatial(x: tf.Tensor): [number, number] {
  return [x.shape[x.rank - 3], x.shape[x.rank - 2]];
}

function sliceHW(x: tf.Tensor, top: number, left: number, h: number, w: number): tf.Tensor {
  const begin = x.shape.map(() => 0);
  const size = x.shape.map(() => -1);
  begin[x.rank - 3] = top;
  begin[x.rank - 2] = left;
  size[x.rank - 3] = h;
  size[x.rank - 2] = w;
  return tf.slice(x, begin, size);
}

/** Resizes like tf.image.resize (pixel-centre sampling, no corner alignment). */
function resize(x: tf.Tensor, h: number, w: number, interpolation: 'bilinear' | 'nearest'): tf.Tensor {
  const [ih, iw] = spatial(x);
  if (ih === h && iw === w) return x.clone();
  const img = x as tf.Tensor3D | tf.Tensor4D;
  return interpolation === 'nearest'
    ? tf.image.resizeNearestNeighbor(img, [h, w], false, true)
    : tf.image.resizeBilinear(img, [h, w], false, true);
}

/** The largest centred box of the target aspect ratio (Keras' crop_to_aspect_ratio / smart_resize). */
function aspectCrop(x: tf.Tensor, h: number, w: number): tf.Tensor {
  const [ih, iw] = spatial(x);
  const ch = Math.max(Math.min(ih, Math.floor((iw * h) / w)), 1);
  const cw = Math.max(Math.min(iw, Math.floor((ih * w) / h)), 1);
  if (ch === ih && cw === iw) return x;
  return sliceHW(x, Math.floor((ih - ch) / 2), Math.floor((iw - cw) / 2), ch, cw);
}

/** Pads symmetrically (extra row/column at the end) to the target aspect ratio with `value`. */
function aspectPad(x: tf.Tensor, h: number, w: number, value: number): tf.Tensor {
  const [ih, iw] = spatial(x);
  const ph = Math.max(ih, Math.round((iw * h) / w));
  const pw = Math.max(iw, Math.round((ih * w) / h));
  if (ph === ih && pw === iw) return x;
  const pads: Array<[number, number]> = x.shape.map(() => [0, 0] as [number, number]);
  pads[x.rank - 3] = [Math.floor((ph - ih) / 2), ph - ih - Math.floor((ph - ih) / 2)];
  pads[x.rank - 2] = [Math.floor((pw - iw) / 2), pw - iw - Math.floor((pw - iw) / 2)];
  return tf.pad(x, pads, value);
}

function imageOutputShape(inputShape: Shape | Shape[], h: number, w: number): Shape {
  const s = [...(Array.isArray(inputShape[0]) || inputShape[0] === undefined ? (inputShape as Shape[])[0] ?? [] : (inputShape as Shape))];
  if (s.length < 3) throw new CnnvisError(`an image layer needs inputs of rank 3 or 4, got shape [${s.join(', ')}]`);
  s[s.length - 3] = h;
  s[s.length - 2] = w;
  return s;
}

function positiveInt(v: unknown, what: string, layer: string, cls: string): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new CnnvisError(`layer '${layer}' (${cls}): ${what} is ${JSON.stringify(v)}; it must be a whole number ≥ 1`);
  }
  return v as number;
}

const toFloat = (x: tf.Tensor) => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));

/**
 * A layer that outputs images of a fixed height × width (Resizing, CenterCrop, RandomCrop): the size and
 * channels-last checks, the output shape and the config they share.
 */
abstract class TargetSizeLayer extends tf.layers.Layer {
  protected readonly own: Config;
  readonly height: number;
  readonly width: number;
  constructor(args: Config, kind: string) {
    super(args as LayerArgs);
    this.own = ownConfig(args);
    this.height = positiveInt(args.height, 'height', this.name, kind);
    this.width = positiveInt(args.width, 'width', this.name, kind);
    channelsLast(this.name, kind, args.dataFormat);
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return imageOutputShape(inputShape, this.height, this.width);
  }
  override getConfig(): Config {
    return { ...this.own, height: this.height, width: this.width, ...super.getConfig() };
  }
}

/** Keras Resizing: optional crop or pad to the target aspect ratio, then bilinear / nearest resize. */
class Resizing extends TargetSizeLayer {
  static className = 'Resizing';
  readonly interpolation: 'bilinear' | 'nearest';
  readonly cropToAspectRatio: boolean;
  readonly padToAspectRatio: boolean;
  readonly fillValue: number;
  readonly antialias: boolean;
  constructor(args: Config) {
    super(args, 'Resizing');
    const interp = args.interpolation ?? 'bilinear';
    if (!same(interp, 'bilinear') && !same(interp, 'nearest')) {
      throw new CnnvisError(`layer '${this.name}' (Resizing) uses interpolation '${String(interp)}'; TF.js resizes with bilinear or nearest only`);
    }
    this.interpolation = same(interp, 'nearest') ? 'nearest' : 'bilinear';
    this.cropToAspectRatio = Boolean(args.cropToAspectRatio);
    this.padToAspectRatio = Boolean(args.padToAspectRatio);
    this.fillValue = typeof args.fillValue === 'number' ? args.fillValue : 0;
    this.antialias = Boolean(args.antialias);
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = toFloat(single(inputs));
      const [ih, iw] = spatial(x);
      if (this.antialias && (this.height < ih || this.width < iw)) {
        throw new CnnvisError(`layer '${this.name}' (Resizing) downsizes with antialias=True, which TF.js cannot do`);
      }
      if (this.cropToAspectRatio) x = aspectCrop(x, this.height, this.width);
      else if (this.padToAspectRatio) x = aspectPad(x, this.height, this.width, this.fillValue);
      return resize(x, this.height, this.width, this.interpolation);
    });
  }
  override getConfig(): Config {
    return { ...super.getConfig(), interpolation: this.interpolation, cropToAspectRatio: this.cropToAspectRatio };
  }
}

/** Keras CenterCrop: a centred slice when the input is large enough, else crop-to-aspect and resize. */
class CenterCrop extends TargetSizeLayer {
  static className = 'CenterCrop';
  constructor(args: Config) {
    super(args, 'CenterCrop');
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = toFloat(single(inputs));
      const [ih, iw] = spatial(x);
      if (ih >= this.height && iw >= this.width) {
        return sliceHW(x, Math.floor((ih - this.height) / 2), Math.floor((iw - this.width) / 2), this.height, this.width);
      }
      return resize(aspectCrop(x, this.height, this.width), this.height, this.width, 'bilinear');
    });
  }
}

/** Keras RandomCrop at inference: crop to the target aspect ratio, centred, and resize (bilinear). */
class RandomCrop extends TargetSizeLayer {
  static className = 'RandomCrop';
  constructor(args: Config) {
    super(args, 'RandomCrop');
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => resize(aspectCrop(toFloat(single(inputs)), this.height, this.width), this.height, this.width, 'bilinear'));
  }
}

type NumberTree = number | NumberTree[];

function treeShape(v: NumberTree): number[] {
  const s: number[] = [];
  let x: NumberTree = v;
  while (Array.isArray(x)) {
    s.push(x.length);
    x = x[0];
  }
  return s;
}

/**
 * Keras Normalization: (x − mean) / max(√variance, 1e-7), or x · max(√variance, 1e-7) + mean with
 * `invert`. mean/variance come from the config when given there (broadcast onto the kept axes, aligned
 * from the right), else from the weights mean, variance and count that `adapt` filled.
 */
class Normalization extends tf.layers.Layer {
  static className = 'Normalization';
  private readonly own: Config;
  readonly axis: number[];
  readonly invert: boolean;
  private readonly configMean: NumberTree | null;
  private readonly configVariance: NumberTree | null;
  private broadcastShape: number[] = [];
  private meanWeight?: tf.LayerVariable;
  private varianceWeight?: tf.LayerVariable;
  private constMean?: tf.Tensor;
  private constVariance?: tf.Tensor;

  constructor(args: Config) {
    super(args as LayerArgs);
    this.own = ownConfig(args);
    const axis = args.axis;
    this.axis = axis === null || axis === undefined ? [] : Array.isArray(axis) ? (axis as number[]) : [axis as number];
    if (axis === undefined) this.axis = [-1];
    if (!this.axis.every((a) => Number.isInteger(a))) {
      throw new CnnvisError(`layer '${this.name}' (Normalization): axis ${JSON.stringify(axis)} is not a list of whole numbers`);
    }
    this.invert = Boolean(args.invert);
    this.configMean = (args.mean ?? null) as NumberTree | null;
    this.configVariance = (args.variance ?? null) as NumberTree | null;
    if ((this.configMean === null) !== (this.configVariance === null)) {
      throw new CnnvisError(`layer '${this.name}' (Normalization) sets only one of mean and variance in its config`);
    }
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const ndim = shape.length;
    const keep = this.axis.map((a) => (a < 0 ? a + ndim : a)).sort((a, b) => a - b);
    if (keep.some((a) => a < 1 || a >= ndim)) {
      throw new CnnvisError(`layer '${this.name}' (Normalization): axis ${JSON.stringify(this.axis)} is out of range for inputs of rank ${ndim}`);
    }
    for (const d of keep) {
      if (shape[d] === null) throw new CnnvisError(`layer '${this.name}' (Normalization): axis ${d} of the input has no fixed size`);
    }
    this.broadcastShape = shape.map((d, i) => (keep.includes(i) ? (d as number) : 1));
    const statShape = keep.map((d) => shape[d] as number);
    if (this.configMean === null) {
      const zeros = tf.initializers.zeros();
      this.meanWeight = this.addWeight('mean', statShape, 'float32', zeros, undefined, false);
      this.varianceWeight = this.addWeight('variance', statShape, 'float32', tf.initializers.ones(), undefined, false);
      this.addWeight('count', [], 'float32', zeros, undefined, false);
    } else {
      this.constMean = this.constant(this.configMean, keep);
      this.constVariance = this.constant(this.configVariance as NumberTree, keep);
    }
    this.built = true;
  }

  /** A config mean/variance as a tensor of broadcastShape (scalar, or aligned right-to-left to the kept axes). */
  private constant(v: NumberTree, keep: number[]): tf.Tensor {
    return tf.tidy(() => {
      const s = treeShape(v);
      if (s.length > keep.length) {
        throw new CnnvisError(`layer '${this.name}' (Normalization): mean/variance of shape [${s}] has more dimensions than axis ${JSON.stringify(this.axis)}`);
      }
      const expanded = this.broadcastShape.map(() => 1);
      for (let i = 1; i <= s.length; i++) expanded[keep[keep.length - i]] = s[s.length - i];
      const t = tf.tensor(v as number[], s.length ? s : [], 'float32').reshape(expanded);
      return tf.keep(tf.broadcastTo(t, this.broadcastShape));
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = toFloat(single(inputs));
      const mean = this.constMean ?? this.meanWeight!.read().reshape(this.broadcastShape);
      const variance = this.constVariance ?? this.varianceWeight!.read().reshape(this.broadcastShape);
      const std = tf.maximum(tf.sqrt(variance), EPSILON);
      return this.invert ? tf.add(mean, tf.mul(x, std)) : tf.div(tf.sub(x, mean), std);
    });
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    const out = super.dispose();
    if (out.refCountAfterDispose === 0) tf.dispose([this.constMean, this.constVariance].filter((t): t is tf.Tensor => !!t));
    return out;
  }

  override getConfig(): Config {
    return {
      ...this.own,
      axis: this.axis,
      invert: this.invert,
      mean: this.configMean as Config[string],
      variance: this.configVariance as Config[string],
      ...super.getConfig(),
    };
  }
}

/**
 * Keras Subtract: inputs[0] − inputs[1], broadcast like TF.js' merge layers (an input of lower rank gets
 * size-1 axes after the batch axis; then sizes of 1 broadcast).
 */
class Subtract extends tf.layers.Layer {
  static className = 'Subtract';
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) {
      throw new CnnvisError(`layer '${this.name}' (Subtract) takes exactly two inputs`);
    }
    const [a, b] = (inputShape as Shape[]).map((s) => s.slice(1));
    const r = Math.max(a.length, b.length);
    const pad = (s: Shape) => [...new Array(r - s.length).fill(1), ...s] as Shape;
    const [pa, pb] = [pad(a), pad(b)];
    return [inputShape[0][0] as number | null, ...pa.map((d, i) => (d === 1 ? pb[i] : d))];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) throw new CnnvisError(`layer '${this.name}' (Subtract) takes exactly two inputs`);
    return tf.tidy(() => {
      const r = Math.max(inputs[0].rank, inputs[1].rank);
      const [a, b] = inputs.map((x) => (x.rank < r ? x.reshape([x.shape[0], ...new Array(r - x.rank).fill(1), ...x.shape.slice(1)]) : x));
      return tf.sub(a, b);
    });
  }
}

for (const cls of [Resizing, CenterCrop, RandomCrop, Normalization, Subtract]) {
  tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>);
}

/** The classes this module registers (Keras names). */
export const REGISTERED_LAYER_CLASSES: readonly string[] = [
  ...IDENTITY_AT_INFERENCE,
  'Resizing',
  'CenterCrop',
  'RandomCrop',
  'Normalization',
  'Subtract',
  'ReLU',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Maximum',
  'Minimum',
];

// ---------------------------------------------------------------------------------------------------
// Activation functions Keras has and TF.js 4.22 lacks (or computes differently)

/**
 * One Keras activation as a TF.js activation class. TF.js looks activations up by the camelCase form of
 * the name in the config ('hard_silu' → 'hardSilu'); `normalizeKerasConfig` renames Keras 3's
 * 'hard_sigmoid' to 'hardSigmoidKeras3', since TF.js' 'hardSigmoid' is Keras 2's.
 */
function activation(name: string, f: (x: tf.Tensor) => tf.Tensor): void {
  const cls = {
    [name]: class extends tf.serialization.Serializable {
      static className = name;
      apply(x: tf.Tensor): tf.Tensor {
        return tf.tidy(() => f(x));
      }
      getConfig(): Config {
        return {};
      }
    },
  }[name];
  tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
}

/** Keras 3's hard sigmoid: relu6(x + 3) / 6 (Keras 2's, TF.js' 'hardSigmoid', is clip(0.2·x + 0.5, 0, 1)). */
const hardSigmoid3 = (x: tf.Tensor) => tf.div(tf.relu6(tf.add(x, 3)), 6);

/**
 * The activations registered here (TF.js names) with their Keras definitions. Keras 2 and 3 agree on
 * every one of them; 'hardSigmoidKeras3' is what Keras 3 files' 'hard_sigmoid' becomes.
 */
export const KERAS_ACTIVATIONS: Readonly<Record<string, (x: tf.Tensor) => tf.Tensor>> = {
  // x·σ(x) (Keras 3 serializes 'swish' as 'silu'; TF.js knows 'swish' only).
  silu: (x) => tf.mul(tf.sigmoid(x), x),
  // Keras' leaky_relu activation has slope 0.2 (the LeakyReLU layer's default is 0.3).
  leakyRelu: (x) => tf.leakyRelu(x, 0.2),
  hardSigmoidKeras3: hardSigmoid3,
  hardSilu: (x) => tf.mul(x, hardSigmoid3(x)),
  hardSwish: (x) => tf.mul(x, hardSigmoid3(x)),
  exponential: (x) => tf.exp(x),
  // max(0, x) + min(0, α(exp(x/α) − 1)) with Keras' default α = 1: ELU.
  celu: (x) => tf.elu(x),
  hardTanh: (x) => tf.clipByValue(x, -1, 1),
  // −softplus(−x) (tf.logSigmoid's custom gradient loses its saved input inside a tidy).
  logSigmoid: (x) => tf.neg(tf.softplus(tf.neg(x))),
  tanhShrink: (x) => tf.sub(x, tf.tanh(x)),
  // Keras' default threshold 0.5.
  softShrink: (x) => tf.sub(x, tf.clipByValue(x, -0.5, 0.5)),
  // (Masks from tf.step, whose gradient is zero: TF.js has none for comparisons.)
  hardShrink: (x) => tf.mul(x, tf.step(tf.sub(tf.abs(x), 0.5))),
  // (x + √(x² + b)) / 2 with Keras' default b = 4.
  squareplus: (x) => tf.div(tf.add(x, tf.sqrt(tf.add(tf.square(x), 4))), 2),
  // 0 for x ≤ −1, (x + 1)²/4 for −1 < x < 1, x for x ≥ 1.
  sparsePlus: (x) => tf.add(tf.div(tf.square(tf.add(tf.clipByValue(x, -1, 1), 1)), 4), tf.relu(tf.sub(x, 1))),
  sparseSigmoid: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.5), 0.5), 0, 1),
};
for (const [name, f] of Object.entries(KERAS_ACTIVATIONS)) activation(name, f);

// ---------------------------------------------------------------------------------------------------
// ReLU and global pooling with Keras' settings

const num = (v: unknown, dflt: number): number => (typeof v === 'number' ? v : dflt);

/**
 * Keras ReLU: max_value, negative_slope and threshold (TF.js' ReLU reads max_value only and silently
 * ignores the other two). Without slope and threshold it computes exactly as TF.js' ReLU (relu, then
 * a clip at max_value), so gradients and the ReLU rules of guided backpropagation are unchanged.
 */
class ReLU extends tf.layers.Layer {
  static className = 'ReLU';
  readonly maxValue: number | null;
  readonly negativeSlope: number;
  readonly threshold: number;
  constructor(args: Config = {}) {
    super(args as LayerArgs);
    this.supportsMasking = true;
    this.maxValue = typeof args.maxValue === 'number' ? args.maxValue : null;
    this.negativeSlope = num(args.negativeSlope, 0);
    this.threshold = num(args.threshold, 0);
    if (this.maxValue !== null && this.maxValue < 0) throw new CnnvisError(`layer '${this.name}' (ReLU): max_value ${this.maxValue} is negative`);
    if (this.negativeSlope < 0) throw new CnnvisError(`layer '${this.name}' (ReLU): negative_slope ${this.negativeSlope} is negative`);
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const { maxValue, negativeSlope: slope, threshold } = this;
      if (slope === 0 && threshold === 0) {
        const y = tf.relu(x);
        return maxValue === null ? y : tf.clipByValue(y, 0, maxValue);
      }
      if (maxValue === null && threshold === 0) return tf.leakyRelu(x, slope);
      // Keras: x where x > threshold (else 0), clipped at max_value, minus slope·relu(threshold − x).
      let y = threshold !== 0 ? tf.mul(x, tf.step(tf.sub(x, threshold))) : tf.relu(x);
      if (maxValue !== null) y = tf.clipByValue(y, 0, maxValue);
      if (slope !== 0) y = tf.sub(y, tf.mul(tf.relu(tf.sub(threshold, x)), slope));
      return y;
    });
  }
  override getConfig(): Config {
    return { maxValue: this.maxValue, negativeSlope: this.negativeSlope, threshold: this.threshold, ...super.getConfig() };
  }
}

/** Keras GlobalAveragePooling2D / GlobalMaxPooling2D with `keepdims` (TF.js' versions drop H and W always). */
abstract class GlobalPooling2D extends tf.layers.Layer {
  readonly keepdims: boolean;
  readonly dataFormat = 'channelsLast';
  constructor(args: Config = {}) {
    super(args as LayerArgs);
    this.keepdims = Boolean(args.keepdims ?? args.keepDims);
    channelsLast(this.name, this.getClassName(), args.dataFormat);
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (s.length !== 4) throw new CnnvisError(`layer '${this.name}' (${this.getClassName()}) needs inputs of rank 4, got [${s.join(', ')}]`);
    return this.keepdims ? [s[0], 1, 1, s[3]] : [s[0], s[3]];
  }
  protected abstract reduce(x: tf.Tensor): tf.Tensor;
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.reduce(single(inputs)));
  }
  override getConfig(): Config {
    return { dataFormat: this.dataFormat, keepdims: this.keepdims, ...super.getConfig() };
  }
}
class GlobalAveragePooling2D extends GlobalPooling2D {
  static className = 'GlobalAveragePooling2D';
  protected reduce(x: tf.Tensor): tf.Tensor {
    return tf.mean(x, [1, 2], this.keepdims);
  }
}
class GlobalMaxPooling2D extends GlobalPooling2D {
  static className = 'GlobalMaxPooling2D';
  protected reduce(x: tf.Tensor): tf.Tensor {
    return tf.max(x, [1, 2], this.keepdims);
  }
}

/**
 * Maximum / Minimum: TF.js' merge layers compute them right but their gradient fails when an input is
 * broadcast (TF.js' maximum/minimum gradients do not sum over broadcast axes). These broadcast the
 * inputs explicitly first (tf.broadcastTo's gradient sums), then fold left to right as TF.js does.
 */
abstract class ElementwiseMerge extends tf.layers.Layer {
  protected abstract op(a: tf.Tensor, b: tf.Tensor): tf.Tensor;
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shapes = inputShape as Shape[];
    if (!Array.isArray(shapes[0]) || shapes.length < 2) throw new CnnvisError(`layer '${this.name}' (${this.getClassName()}) takes two or more inputs`);
    const r = Math.max(...shapes.map((s) => s.length));
    const padded = shapes.map((s) => [s[0], ...new Array(r - s.length).fill(1), ...s.slice(1)] as Shape);
    return padded[0].map((_, k) => (k === 0 ? padded[0][0] : padded.reduce<number | null>((m, s) => (s[k] === 1 ? m : s[k]), 1)));
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const xs = Array.isArray(inputs) ? inputs : [inputs];
    return tf.tidy(() => {
      const r = Math.max(...xs.map((x) => x.rank));
      const ex = xs.map((x) => (x.rank < r ? x.reshape([x.shape[0], ...new Array(r - x.rank).fill(1), ...x.shape.slice(1)]) : x));
      const shape = ex[0].shape.map((_, k) => Math.max(...ex.map((x) => x.shape[k])));
      const full = ex.map((x) => (x.shape.every((d, k) => d === shape[k]) ? x : tf.broadcastTo(x, shape)));
      let y = full[0];
      for (let i = 1; i < full.length; i++) y = this.op(y, full[i]);
      return y;
    });
  }
}
class Maximum extends ElementwiseMerge {
  static className = 'Maximum';
  protected op(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.maximum(a, b);
  }
}
class Minimum extends ElementwiseMerge {
  static className = 'Minimum';
  protected op(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.minimum(a, b);
  }
}

for (const cls of [ReLU, GlobalAveragePooling2D, GlobalMaxPooling2D, Maximum, Minimum]) {
  tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.layers.Layer>);
}
