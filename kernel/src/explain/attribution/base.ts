/**
 * The shared pipeline of the attribution methods (gradient family and occlusion), Captum-style: every
 * method is called the same way,
 *
 *   await saliency(model, image, {classIndex?, label?, target?: 'layer:channel', display?, ...})
 *
 * and only says how it computes per-pixel, per-channel attributions [1, H, W, C] for the prepared
 * input. The base resolves the target (class index, label, top-1 class, or one channel of a hidden
 * layer), prepares the input, hands the method a context with gradient and scoring helpers, reduces
 * the channels to one map (signed sum, or max |·| for saliency) and builds the AttributionResult.
 */
import * as tf from '@tensorflow/tfjs';
import { ReluRule } from '../../engine';
import { ImageSource, InputOptions, modelFor, prepareInput } from '../../basics/input';
import { showing, since } from '../../display/result';
import { initBackend } from '../../engine/backend';
import { CnnvisError } from '../../errors';
import { asCnnModel, CnnModel } from '../../models/model';
import { Map2D, RGBImage } from '../../types';
import { activationAndLogits, ChannelTarget, channelScores, checkChannelTarget, inputGradients, logitsOf } from '../gradients';
import { explainedClass, parseLayerChannel, resolveClass, ScoreBasis, TargetOptions } from '../targets';
import { checkConvention, Convention } from '../cam/base';
import { mapVaries } from '../explainResult';
import { AttributionResult, AttributionTarget, ChannelReduction } from './result';

export interface AttributionOptions extends TargetOptions, InputOptions {
  /**
   * One channel of a hidden layer instead of a class, as 'layer:channel' (e.g. 'conv_pw_13_relu:42'):
   * the attribution of that feature map's score (see `channelScore`) to the pixels.
   */
  target?: string;
  /** How a channel target is scored per image: 'sum' of the feature map (default) or its 'max'. */
  channelScore?: 'sum' | 'max';
  /** Show in the notebook (default: when running in one). */
  display?: boolean;
  /** Colormap of the picture (default 'coolwarm' for signed maps, 'gray' for unsigned ones). */
  colormap?: string;
  /** Images per forward/backward pass for methods that run many (default 16). */
  batchSize?: number;
  /** Show a progress bar for long runs (default true; silent outside notebooks and terminals). */
  progress?: boolean;
  /** Whose conventions to follow where the anchors differ (METHODS.md): 'cnnvis' (default), 'captum', 'pytorch-grad-cam'. */
  convention?: Convention;
}

/** What a method sees. Tensors belong to the pipeline (do not dispose them). */
export interface AttributionContext {
  model: CnnModel;
  /** Preprocessed input [1, H, W, C]. */
  batch: tf.Tensor4D;
  /** The picture as the model sees it (input size). */
  image: RGBImage;
  /** A class index (its score: models/head.ts) or a hidden channel. */
  target: number | ChannelTarget;
  /** The explained class, or null for a channel target. */
  classIndex: number | null;
  /** Images per pass. */
  batchSize: number;
  /** Whether to show progress. */
  progress: boolean;
  /**
   * d(score)/d(input) for a batch [B, H, W, C] of inputs, one gradient per image, optionally with a
   * modified ReLU backward rule. The caller disposes the result.
   */
  gradient(x: tf.Tensor4D, rule?: ReluRule): tf.Tensor4D;
  /** The per-image scores (the class's score, or the channel's score) of a batch of inputs. */
  scores(x: tf.Tensor4D): Float32Array;
  /** Method-specific numbers for the result (steps, completeness …). */
  details: Record<string, number | string>;
  /** The class scores of the image itself, [K], once a gradient of `batch` (not of a changed input) gave them. */
  imageLogits?: Float32Array;
  /** The map at the method's own resolution, when it has one (occlusion). */
  lowRes?: Map2D;
  /** Warnings a method adds (why its map may mean nothing). */
  warnings?: string[];
}

/** Parses 'layer:channel' and checks it against the model. */
export function parseChannelTarget(model: CnnModel, text: string, reduce: 'sum' | 'max' = 'sum'): ChannelTarget {
  const parts = parseLayerChannel(text, 'target', `${model.spatialLayers().slice(-1)[0] ?? 'conv1'}:0`);
  const t: ChannelTarget = { layer: model.canonicalLayer(parts.layer), channel: parts.channel, reduce };
  checkChannelTarget(model, t);
  return t;
}

/**
 * The context a method computes in, for a prepared input and a resolved target: the pipeline's, and
 * the saliency explorer's (which keeps its image's input and computes many targets on it).
 */
export function attributionContext(
  model: CnnModel,
  batch: tf.Tensor4D,
  image: RGBImage,
  target: number | ChannelTarget,
  classIndex: number | null,
  opts: { batchSize?: number; progress?: boolean } = {},
): AttributionContext {
  const ctx: AttributionContext = {
    model,
    batch,
    image,
    target,
    classIndex,
    batchSize: opts.batchSize ?? 16,
    progress: opts.progress ?? true,
    details: {},
    gradient: (x, rule = 'gradient') => {
      const g = inputGradients(model, x, target, rule);
      if (x === batch && !ctx.imageLogits) ctx.imageLogits = g.logits.dataSync().slice() as Float32Array;
      g.logits.dispose();
      if (rule !== 'gradient') ctx.details.reluSites = model.reluSiteCount();
      return g.gradient;
    },
    scores: (x) => scoresOf(model, x, target),
  };
  return ctx;
}

/** Runs `make(i0, i1)` → batch for each slice of [0, n) and sums `fn(batch)`'s results (tensors of one shape). */
export function sumOverBatches(
  n: number,
  batchSize: number,
  make: (i0: number, i1: number) => tf.Tensor4D,
  fn: (x: tf.Tensor4D, i0: number, i1: number) => tf.Tensor,
  onBatch?: (done: number) => void,
): tf.Tensor {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CnnvisError(`batchSize must be a positive integer, got ${batchSize}`);
  let acc: tf.Tensor | null = null;
  for (let i0 = 0; i0 < n; i0 += batchSize) {
    const i1 = Math.min(n, i0 + batchSize);
    const next: tf.Tensor = tf.tidy(() => {
      const part = fn(make(i0, i1), i0, i1);
      return acc ? tf.add(acc, part) : part.clone();
    });
    acc?.dispose();
    acc = next;
    onBatch?.(i1);
  }
  if (!acc) throw new CnnvisError('nothing to compute (0 inputs)');
  return acc;
}

export abstract class AttributionMethod<O extends AttributionOptions = AttributionOptions> {
  /** Display name, e.g. 'Integrated Gradients'. */
  abstract readonly name: string;
  /** Id for the CLI and registries, e.g. 'integrated-gradients'. */
  abstract readonly id: string;
  /** How channels become one map: signed 'sum' (default) or 'absmax' (saliency). */
  readonly reduction: ChannelReduction = 'sum';
  /** Show the per-channel attributions as colours too. */
  readonly rgbPanel: boolean = false;
  /** What the map is computed from for a class target (the class score, or its probability). */
  readonly basis: ScoreBasis = 'score';
  /** Whether the map has meaningful signs (default: when channels are summed). */
  readonly signedMap: boolean | undefined = undefined;
  /** The conventions the method knows; where the anchors agree with cnnvis, all of them. */
  readonly conventions: readonly Convention[] = ['cnnvis', 'captum', 'pytorch-grad-cam'];

  /** Checks the method's own options before any computation (throws CnnvisError). */
  checkOptions(_opts: O, _model: CnnModel): void {}

  /** Checks that the method applies to the target (e.g. guided Grad-CAM needs a class). */
  checkTarget(_target: number | ChannelTarget): void {}

  /** Attributions [1, H, W, C] for ctx.batch (a new tensor, disposed by the pipeline). */
  abstract attribute(ctx: AttributionContext, opts: O): tf.Tensor4D | Promise<tf.Tensor4D>;

  /** Explains one image (see the module comment); computes only, never shows (the notebook function shows). */
  async explain(m: CnnModel | tf.LayersModel, image: ImageSource, opts: O = {} as O): Promise<AttributionResult> {
    const backend = await initBackend();
    const model = modelFor(m, image);
    if (opts.target !== undefined && (opts.classIndex !== undefined || opts.label !== undefined)) {
      throw new CnnvisError(`give either a class (classIndex / label) or a channel target ('${opts.target}'), not both`);
    }
    const channel = opts.target !== undefined ? parseChannelTarget(model, opts.target, opts.channelScore ?? 'sum') : null;
    const explicit = channel || (opts.classIndex === undefined && opts.label === undefined) ? undefined : resolveClass(model, opts, null);
    const convention = checkConvention(opts.convention, this.conventions, this.name);
    this.checkOptions(opts, model);
    const t0 = performance.now();
    const input = prepareInput(model, image, opts);
    let attr: tf.Tensor4D | null = null;
    try {
      // The logits (top-1 class, probability) and the channel's value: one forward pass first when the
      // target depends on them; for a given class, the method's gradient of the image gives them (or
      // one forward pass after it).
      const imageLogits = (): Float32Array => {
        const l = logitsOf(model, input.batch);
        const out = l.dataSync().slice() as Float32Array;
        l.dispose();
        return out;
      };
      let logits: Float32Array | undefined;
      let channelValue = 0;
      if (channel) {
        const r = activationAndLogits(model, input.batch, channel.layer);
        const v = channelScores(r.activation, channel);
        channelValue = v.dataSync()[0];
        logits = r.logits.dataSync().slice() as Float32Array;
        tf.dispose([r.activation, r.logits, v]);
      } else if (explicit === undefined) {
        logits = imageLogits();
      }
      const classIndex = channel ? null : explicit ?? resolveClass(model, {}, logits!);
      const target: number | ChannelTarget = channel ?? (classIndex as number);
      this.checkTarget(target);
      const ctx = attributionContext(model, input.batch, input.image, target, classIndex, opts);
      attr = await this.attribute(ctx, opts);
      logits ??= ctx.imageLogits ?? imageLogits();
      const [, H, W, C] = attr.shape;
      if (H !== model.inputHeight || W !== model.inputWidth) {
        throw new Error(`${this.name}: attributions of shape [${attr.shape.join(', ')}] do not fit the input ${model.inputHeight}×${model.inputWidth}`);
      }
      const channels = attr.dataSync().slice() as Float32Array;
      const map = reduceChannels(channels, W, H, C, this.reduction);
      const tgt: AttributionTarget = channel
        ? { kind: 'channel', layer: channel.layer, channel: channel.channel, reduce: channel.reduce, value: channelValue }
        : { kind: 'class', ...explainedClass(model, classIndex as number, logits, this.basis) };
      const result = new AttributionResult({
        meta: { model: model.name, backend: model.engine.label(backend), timeMs: since(t0), preprocess: model.preprocessNote },
        method: this.name,
        target: tgt,
        map,
        channels,
        channelCount: C,
        reduction: this.reduction,
        signed: this.signedMap ?? this.reduction === 'sum',
        input: input.image,
        imageName: input.name,
        colormap: opts.colormap,
        rgbPanel: this.rgbPanel,
        details: ctx.details,
        lowRes: ctx.lowRes,
        convention,
        warnings: [...(ctx.warnings ?? []), ...(mapVaries(map.data) ? [] : [`${this.name}: the map is constant (${map.data[0]} everywhere), e.g. no gradient reaches the input; it ranks no pixel above another`])],
      });
      return result;
    } finally {
      input.batch.dispose();
      attr?.dispose();
    }
  }
}

/** Per-image scores of a batch: the class score (pre-softmax logit; binary heads ±z), or the channel's sum / max. */
export function scoresOf(model: CnnModel, x: tf.Tensor4D, target: number | ChannelTarget): Float32Array {
  if (typeof target === 'number') {
    const l = logitsOf(model, x);
    const v = tf.tidy(() => l.slice([0, target], [-1, 1]).reshape([-1]));
    const out = v.dataSync().slice() as Float32Array;
    tf.dispose([l, v]);
    return out;
  }
  const r = activationAndLogits(model, x, target.layer);
  const v = channelScores(r.activation, target);
  const out = v.dataSync().slice() as Float32Array;
  tf.dispose([r.activation, r.logits, v]);
  return out;
}

/** [H, W, C] → H × W: Σ_c (signed) or max_c |·|. */
export function reduceChannels(data: Float32Array, width: number, height: number, c: number, how: ChannelReduction): Map2D {
  const n = width * height;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = how === 'sum' ? 0 : -Infinity;
    for (let k = 0; k < c; k++) {
      const a = data[i * c + k];
      v = how === 'sum' ? v + a : Math.max(v, Math.abs(a));
    }
    out[i] = v;
  }
  return { width, height, data: out };
}

/**
 * The user-facing function of a method: `(model, image, options) => Promise<AttributionResult>`; it
 * computes with `explain` (which never shows) and offers the result to the notebook (display/result showing).
 */
export function attributionFunction<O extends AttributionOptions>(method: AttributionMethod<O>) {
  return showing((model: CnnModel | tf.LayersModel, image: ImageSource, opts: O): Promise<AttributionResult> => method.explain(model, image, opts));
}
