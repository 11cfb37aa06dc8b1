/**
 * The shared CAM pipeline. A method only says how to weight the layer's activation A [h, w, c]:
 * one weight per channel ([c]) or one per position and channel ([h, w, c]). The base does the rest:
 * capture A (and dScore/dA when the method needs it) → weights → Σ_c weights·A → ReLU → normalize to
 * [0, 1] (min–max) → upsample (bilinear) to the input size → ExplainResult. A method whose map is not
 * a weighted sum of channels (Eigen-Grad-CAM, KPCA-CAM, Grad-CAM element-wise) overrides `camImage`.
 *
 * `convention: 'pytorch-grad-cam'` follows that library where it differs (METHODS.md): the map is
 * min–max'd with its 1e-7 guard at the layer's resolution and again after upsampling, and methods read
 * the option for their own differences (Grad-CAM++ ε, Eigen-CAM centring, Score-CAM on logits).
 * A map that comes out empty (ReLU leaves nothing) or constant carries a warning saying why.
 *
 * Every method is called the same way: `await gradCam(model, image, {classIndex?, label?, layer?, display?})`.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource, InputOptions, modelFor, prepareInput } from '../../basics/input';
import { showing, since } from '../../display/result';
import { initBackend } from '../../engine/backend';
import { CnnvisError } from '../../errors';
import { asCnnModel, CnnModel } from '../../models/model';
import { upsampleBilinear } from '../../render/upsample';
import { Map2D } from '../../types';
import { ExplainResult } from '../explainResult';
import { activationAndLogits, layerGradients, logitsOf, ScoreTarget } from '../gradients';
import { explainedClass, resolveClass, ScoreBasis, TargetOptions } from '../targets';

export interface CamOptions extends TargetOptions, InputOptions {
  /** Layer to explain (default: the method's default, usually the last layer with spatial output). */
  layer?: string;
  /** Show in the notebook (default: when running in one). */
  display?: boolean;
  /** Colormap of the picture (default 'jet'). */
  colormap?: string;
  /** Heatmap opacity in the overlay (default 0.5). */
  alpha?: number;
  /** Whose conventions to follow where the anchors differ: 'cnnvis' (default) or 'pytorch-grad-cam' (METHODS.md). */
  convention?: Convention;
}

/** The conventions a method can follow where the reference libraries differ (METHODS.md). */
export type Convention = 'cnnvis' | 'pytorch-grad-cam' | 'captum';
export const CONVENTIONS: readonly Convention[] = ['cnnvis', 'pytorch-grad-cam', 'captum'];

/** Checks a convention against the ones a method knows (a clear error otherwise); the default is 'cnnvis'. */
export function checkConvention(c: unknown, valid: readonly Convention[], method: string): Convention {
  if (c === undefined) return 'cnnvis';
  if (typeof c !== 'string' || !(CONVENTIONS as readonly string[]).includes(c)) {
    throw new CnnvisError(`unknown convention '${String(c)}'; valid: ${CONVENTIONS.join(', ')}`, [...CONVENTIONS]);
  }
  if (!valid.includes(c as Convention)) throw new CnnvisError(`${method} has no '${c}' convention; valid for it: ${valid.join(', ')}`, [...valid]);
  return c as Convention;
}

/** What a method sees when it computes its weights. Tensors belong to the pipeline (do not dispose). */
export interface CamContext {
  model: CnnModel;
  layer: string;
  classIndex: number;
  /** Preprocessed input [1, H, W, C]. */
  batch: tf.Tensor4D;
  /** Layer activation A [h, w, c]. */
  activation: tf.Tensor3D;
  /** dScore/dA [h, w, c] for the class's score (models/head.ts), or null for gradient-free methods. */
  gradient: tf.Tensor3D | null;
  /** The class scores of the image (pre-softmax logits; models/head.ts), when the pipeline has them. */
  scores?: Float32Array;
  /** Why a map may come out empty: methods add a line (e.g. 'all 64 channel weights ≤ 0'). */
  notes?: string[];
}

/** The part every activation/gradient pair method needs: A and dScore/dA, both [h, w, c]. */
export type CamTensors = Pick<CamContext, 'activation' | 'gradient'>;

export abstract class CamMethod<O extends CamOptions = CamOptions> {
  /** Display name, e.g. 'Grad-CAM'. */
  abstract readonly name: string;
  /** Short id for the CLI and registries, e.g. 'gradcam'. */
  abstract readonly id: string;
  /** Whether the method needs dScore/dA (false: one forward pass only). */
  readonly usesGradients: boolean = true;
  /** What the map is computed from (the class score, its probability, or nothing class-specific). */
  readonly basis: ScoreBasis = 'score';

  /**
   * Channel weights [c] or per-position weights [h, w, c] for the activation. Runs inside tf.tidy;
   * return a new tensor.
   */
  abstract weights(ctx: CamContext, opts: O): tf.Tensor;

  /** The default layer for a model: the last layer with spatial output. */
  defaultLayer(model: CnnModel): string {
    const spatial = model.spatialLayers();
    if (!spatial.length) throw new CnnvisError(`model '${model.name}' has no layer with a spatial output; ${this.name} needs one`);
    return spatial[spatial.length - 1];
  }

  /** The conventions the method knows (checked before any computation). */
  readonly conventions: readonly Convention[] = ['cnnvis', 'pytorch-grad-cam'];
  /** Whether `scoreTarget` needs the image's class scores (one forward pass before the gradient). */
  readonly targetUsesScores: boolean = false;

  /** Checks that the method applies to this model and layer (throws a CnnvisError otherwise). */
  check(_model: CnnModel, _layer: string): void {}

  /** Checks the method's own options before any computation (throws a CnnvisError). */
  checkOptions(_opts: O): void {}

  /** What the gradient is taken of: the class's score (default), or e.g. Finer-CAM's contrast with similar classes. */
  scoreTarget(classIndex: number, _scores: Float32Array | undefined, _opts: O): ScoreTarget {
    return classIndex;
  }

  /** What the map is computed from, when the class's score alone does not say it (Finer-CAM, Ablation-CAM). */
  basisText(_classIndex: number, _scores: Float32Array, _opts: O): string | undefined {
    return undefined;
  }

  /** The map before the ReLU, at the layer's resolution: Σ_c w·A by default. Runs inside tf.tidy. */
  camImage(ctx: CamContext, opts: O): tf.Tensor2D {
    const w = this.weights(ctx, opts);
    const [h, wd, c] = ctx.activation.shape;
    const ok = (w.rank === 1 && w.shape[0] === c) || (w.rank === 3 && w.shape[0] === h && w.shape[1] === wd && w.shape[2] === c);
    if (!ok) throw new Error(`${this.name}: weights of shape [${w.shape.join(', ')}] do not fit an activation [${h}, ${wd}, ${c}]`);
    if (w.rank === 1 && ctx.notes) {
      const wd1 = w.dataSync();
      let pos = 0;
      for (const v of wd1) if (v > 0) pos++;
      if (pos === 0) ctx.notes.push(`all ${c} channel weights are ≤ 0`);
    }
    return tf.sum(tf.mul(ctx.activation, w), -1) as tf.Tensor2D;
  }

  /** ReLU(camImage) at the layer's resolution, before normalization. */
  rawMap(ctx: CamContext, opts: O): tf.Tensor2D {
    return tf.tidy(() => tf.relu(this.camImage(ctx, opts)) as tf.Tensor2D);
  }

  /** Explains one image (see the module comment); computes only, never shows (the notebook function shows). */
  async explain(m: CnnModel | tf.LayersModel, image: ImageSource, opts: O = {} as O): Promise<ExplainResult> {
    const backend = await initBackend();
    const model = modelFor(m, image);
    const convention = checkConvention(opts.convention, this.conventions, this.name);
    this.checkOptions(opts);
    const layer = opts.layer !== undefined ? model.canonicalLayer(opts.layer) : this.defaultLayer(model);
    model.spatialLayer(layer);
    this.check(model, layer);
    // An explicit class is checked before any computation.
    const explicit = opts.classIndex !== undefined || opts.label !== undefined ? resolveClass(model, opts, null) : undefined;
    const t0 = performance.now();
    const input = prepareInput(model, image, opts);
    let activation: tf.Tensor3D | undefined;
    let gradient: tf.Tensor3D | null = null;
    let logits: Float32Array;
    try {
      if (this.usesGradients) {
        let target: ScoreTarget;
        if (this.targetUsesScores) {
          // One forward pass first: the target is built from the image's class scores.
          const l = logitsOf(model, input.batch);
          const scores = l.dataSync().slice() as Float32Array;
          l.dispose();
          target = this.scoreTarget(explicit ?? resolveClass(model, {}, scores), scores, opts);
        } else {
          // Without a class, the top-1 score: the gradient of max(scores) is that of the argmax score.
          target = explicit !== undefined ? this.scoreTarget(explicit, undefined, opts) : (l: tf.Tensor2D) => tf.max(l, 1).sum() as tf.Scalar;
        }
        const g = layerGradients(model, input.batch, layer, target);
        activation = tf.tidy(() => g.activation.squeeze([0]) as tf.Tensor3D);
        gradient = tf.tidy(() => g.gradient.squeeze([0]) as tf.Tensor3D);
        logits = g.logits.dataSync().slice() as Float32Array;
        g.activation.dispose();
        g.gradient.dispose();
        g.logits.dispose();
      } else {
        const r = activationAndLogits(model, input.batch, layer);
        activation = tf.tidy(() => r.activation.squeeze([0]) as tf.Tensor3D);
        logits = r.logits.dataSync().slice() as Float32Array;
        r.activation.dispose();
        r.logits.dispose();
      }
      const classIndex = explicit ?? resolveClass(model, {}, logits);
      const notes: string[] = [];
      const ctx: CamContext = { model, layer, classIndex, batch: input.batch, activation, gradient, scores: logits, notes };
      const pre = tf.tidy(() => this.camImage(ctx, opts));
      const [h, w] = pre.shape;
      const preData = pre.dataSync().slice() as Float32Array;
      pre.dispose();
      const rawData = preData.map((v) => (v > 0 ? v : 0));
      const { lowRes, map } = camMaps({ width: w, height: h, data: rawData }, model.inputWidth, model.inputHeight, convention);
      const result = new ExplainResult({
        meta: { model: model.name, backend: model.engine.label(backend), timeMs: since(t0), preprocess: model.preprocessNote },
        method: this.name,
        layer,
        target: { ...explainedClass(model, classIndex, logits, this.basis), ...basisOf(this.basisText(classIndex, logits, opts)) },
        map,
        lowRes,
        input: input.image,
        imageName: input.name,
        colormap: opts.colormap,
        alpha: opts.alpha,
        convention,
        warnings: camWarnings(this.name, preData, notes),
      });
      return result;
    } finally {
      input.batch.dispose();
      activation?.dispose();
      gradient?.dispose();
    }
  }
}

/**
 * The normalized maps from ReLU'd values at the layer's resolution. 'cnnvis': min–max at the layer's
 * resolution, then bilinear upsampling. 'pytorch-grad-cam' (its scale_cam_image twice): (v − min) /
 * (max − min + 1e-7) at the layer's resolution, bilinear upsampling, and the same scaling again.
 */
export function camMaps(raw: Map2D, width: number, height: number, convention: Convention = 'cnnvis'): { lowRes: Map2D; map: Map2D } {
  if (convention === 'pytorch-grad-cam') {
    const lowRes = scaleCamImage(raw);
    return { lowRes, map: scaleCamImage(upsampleBilinear(lowRes, width, height)) };
  }
  const lowRes = normalizeMap(raw);
  return { lowRes, map: upsampleBilinear(lowRes, width, height) };
}

/** pytorch-grad-cam's scale_cam_image: (v − min) / (max(v − min) + 1e-7). */
export function scaleCamImage(map: Map2D, eps = 1e-7): Map2D {
  let lo = Infinity;
  for (const v of map.data) if (v < lo) lo = v;
  let hi = -Infinity;
  for (const v of map.data) if (v - lo > hi) hi = v - lo;
  const data = new Float32Array(map.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (map.data[i] - lo) / (hi + eps);
  return { width: map.width, height: map.height, data };
}

/**
 * Warnings for a CAM map from its values before the ReLU: empty (ReLU leaves nothing) or constant,
 * with the method's own reasons (`notes`). Empty list when the map has structure.
 */
export function camWarnings(method: string, pre: ArrayLike<number>, notes: readonly string[] = []): string[] {
  let lo = Infinity;
  let hi = -Infinity;
  let finite = true;
  for (let i = 0; i < pre.length; i++) {
    const v = pre[i];
    if (!Number.isFinite(v)) finite = false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const why = notes.length ? ` (${notes.map((n) => n.replace(/^!/, '')).join('; ')})` : '';
  if (!finite) return [`${method}: the map has non-finite values${why}; it shows nothing`];
  if (hi <= 0) {
    return [`${method}: the map is empty — the weighted sum is ≤ 0 everywhere (largest value ${hi.toPrecision(3)}), so the ReLU leaves nothing${why}; the picture and its peak mean nothing`];
  }
  if (!(hi > lo) || (lo > 0 && (hi - lo) / hi < 1e-6)) {
    return [`${method}: the map is constant (${hi.toPrecision(3)} everywhere)${why}; it ranks no pixel above another`];
  }
  return notes.length && notes.some((n) => n.startsWith('!')) ? notes.filter((n) => n.startsWith('!')).map((n) => `${method}: ${n.slice(1)}`) : [];
}

function basisOf(text: string | undefined): { basis?: string } {
  return text === undefined ? {} : { basis: text };
}

/** Min–max scaling to [0, 1]; a constant map becomes all zeros. */
export function normalizeMap(map: Map2D): Map2D {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  const data = new Float32Array(map.data.length);
  if (span > 0 && Number.isFinite(span)) for (let i = 0; i < data.length; i++) data[i] = (map.data[i] - lo) / span;
  return { width: map.width, height: map.height, data };
}

/** The gradient of a context, or a clear internal error when a gradient method got none. */
export function needGradient(ctx: CamTensors, method: string): tf.Tensor3D {
  if (!ctx.gradient) throw new Error(`${method} needs dScore/dA but the pipeline gave none`);
  return ctx.gradient;
}

/** The user-facing function of a method: `(model, image, options) => Promise<ExplainResult>`. */
export function camFunction<O extends CamOptions>(method: CamMethod<O>) {
  return showing((model: CnnModel | tf.LayersModel, image: ImageSource, opts: O): Promise<ExplainResult> => method.explain(model, image, opts));
}
