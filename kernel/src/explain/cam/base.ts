/**
 * The shared CAM pipeline. A method only says how to weight the layer's activation A [h, w, c]:
 * one weight per channel ([c]) or one per position and channel ([h, w, c]). The base does the rest:
 * capture A (and dScore/dA when the method needs it) → weights → Σ_c weights·A → ReLU → normalize to
 * [0, 1] (min–max) → upsample (bilinear) to the input size → ExplainResult.
 *
 * Every method is called the same way: `await gradCam(model, image, {classIndex?, label?, layer?, display?})`.
 */
import { canonicalLayer } from '../../models/flatten';
import * as tf from '@tensorflow/tfjs';
import { engineLabel } from '../../engine/onnx/net';
import { ImageSource, InputOptions, modelFor, prepareInput } from '../../basics/input';
import { autoShow, since } from '../../display/result';
import { initBackend } from '../../engine/backend';
import { CnnvisError } from '../../errors';
import { asCnnModel, CnnModel } from '../../models/model';
import { upsampleBilinear } from '../../render/upsample';
import { Map2D } from '../../types';
import { ExplainResult } from '../explainResult';
import { activationAndLogits, layerGradients, ScoreTarget } from '../gradients';
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

  /** Checks that the method applies to this model and layer (throws a CnnvisError otherwise). */
  check(_model: CnnModel, _layer: string): void {}

  /** ReLU(Σ_c w·A) at the layer's resolution, before normalization. */
  rawMap(ctx: CamContext, opts: O): tf.Tensor2D {
    return tf.tidy(() => {
      const w = this.weights(ctx, opts);
      const [h, wd, c] = ctx.activation.shape;
      const ok = (w.rank === 1 && w.shape[0] === c) || (w.rank === 3 && w.shape[0] === h && w.shape[1] === wd && w.shape[2] === c);
      if (!ok) throw new Error(`${this.name}: weights of shape [${w.shape.join(', ')}] do not fit an activation [${h}, ${wd}, ${c}]`);
      return tf.relu(tf.sum(tf.mul(ctx.activation, w), -1)) as tf.Tensor2D;
    });
  }

  /** Explains one image: see the module comment. */
  async explain(m: CnnModel | tf.LayersModel, image: ImageSource, opts: O = {} as O): Promise<ExplainResult> {
    const backend = await initBackend();
    const model = modelFor(m, image);
    const layer = opts.layer !== undefined ? canonicalLayer(model.net, opts.layer) : this.defaultLayer(model);
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
        // Without a class, the top-1 score: the gradient of max(scores) is that of the argmax score.
        const target: ScoreTarget = explicit ?? ((l: tf.Tensor2D) => tf.max(l, 1).sum() as tf.Scalar);
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
      const raw = this.rawMap({ model, layer, classIndex, batch: input.batch, activation, gradient }, opts);
      const [h, w] = raw.shape;
      const rawData = raw.dataSync().slice() as Float32Array;
      raw.dispose();
      const lowRes = normalizeMap({ width: w, height: h, data: rawData });
      const map = upsampleBilinear(lowRes, model.inputWidth, model.inputHeight);
      const result = new ExplainResult({
        meta: { model: model.name, backend: engineLabel(backend, model.net), timeMs: since(t0), preprocess: model.preprocessNote },
        method: this.name,
        layer,
        target: explainedClass(model, classIndex, logits, this.basis),
        map,
        lowRes,
        input: input.image,
        imageName: input.name,
        colormap: opts.colormap,
        alpha: opts.alpha,
      });
      return autoShow(result, opts.display);
    } finally {
      input.batch.dispose();
      activation?.dispose();
      gradient?.dispose();
    }
  }
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
  return (model: CnnModel | tf.LayersModel, image: ImageSource, opts?: O): Promise<ExplainResult> => method.explain(model, image, opts);
}
