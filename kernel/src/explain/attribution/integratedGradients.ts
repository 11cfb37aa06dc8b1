/**
 * Integrated Gradients (Sundararajan, Taly & Yan 2017): (x − b) · ∫₀¹ ∂S/∂x(b + α(x − b)) dα, the
 * integral by a Riemann sum over `steps` intervals (trapezoid: α = k/m with half weights at the ends;
 * midpoint: α = (k + ½)/m), evaluated in batches. Completeness: the attributions sum to
 * S(x) − S(b); the gap is reported in the result's details ('delta').
 */
import * as tf from '@tensorflow/tfjs';
import { Progress } from '../../display/progress';
import { CnnvisError } from '../../errors';
import { CnnModel } from '../../models/model';
import { AttributionContext, attributionFunction, AttributionMethod, AttributionOptions, sumOverBatches } from './base';
import { Baseline, baselineFor } from './baselines';

export interface IntegratedGradientsOptions extends AttributionOptions {
  /** Riemann intervals (default 50). */
  steps?: number;
  /**
   * The reference input (default 'black'): 'black' (the black picture, preprocessed), 'zeros' (zeros
   * in the preprocessed space), 'blur' (the input blurred, σ = blurSigma), {image} or {tensor}
   * (already preprocessed, [1, H, W, C]).
   */
  baseline?: Baseline;
  /** Blur σ in pixels for the 'blur' baseline (default: input width / 16). */
  blurSigma?: number;
  /** 'trapezoid' (default) or 'midpoint'. */
  rule?: 'trapezoid' | 'midpoint';
}

/** The α points and weights of a rule (weights sum to 1). */
export function riemann(steps: number, rule: 'trapezoid' | 'midpoint'): { alphas: number[]; weights: number[] } {
  if (rule === 'midpoint') {
    return { alphas: Array.from({ length: steps }, (_, k) => (k + 0.5) / steps), weights: Array(steps).fill(1 / steps) };
  }
  if (rule === 'trapezoid') {
    const alphas = Array.from({ length: steps + 1 }, (_, k) => k / steps);
    return { alphas, weights: alphas.map((_, k) => (k === 0 || k === steps ? 0.5 : 1) / steps) };
  }
  throw new CnnvisError(`unknown Riemann rule '${String(rule)}'; valid: trapezoid, midpoint`, ['trapezoid', 'midpoint']);
}

export class IntegratedGradients extends AttributionMethod<IntegratedGradientsOptions> {
  readonly name = 'Integrated Gradients';
  readonly id = 'integrated-gradients';

  override checkOptions(o: IntegratedGradientsOptions, _model: CnnModel): void {
    const s = o.steps ?? 50;
    if (!Number.isInteger(s) || s < 1) throw new CnnvisError(`steps must be a positive integer, got ${s}`);
    riemann(1, o.rule ?? 'trapezoid');
  }

  attribute(ctx: AttributionContext, o: IntegratedGradientsOptions): tf.Tensor4D {
    const steps = o.steps ?? 50;
    const rule = o.rule ?? 'trapezoid';
    const { alphas, weights } = riemann(steps, rule);
    const x = ctx.batch;
    const b = baselineFor(ctx.model, x, o.baseline ?? 'black', o.blurSigma ?? ctx.model.inputWidth / 16);
    try {
      const diff = tf.sub(x, b) as tf.Tensor4D;
      const n = alphas.length;
      const progress = ctx.progress && n > ctx.batchSize ? new Progress('Integrated Gradients', n) : null;
      let last = 0;
      const sum = sumOverBatches(
        n,
        ctx.batchSize,
        (i0, i1) => tf.add(b, tf.mul(tf.tensor4d(alphas.slice(i0, i1), [i1 - i0, 1, 1, 1]), diff)) as tf.Tensor4D,
        (xb, i0, i1) => tf.sum(tf.mul(ctx.gradient(xb), tf.tensor4d(weights.slice(i0, i1), [i1 - i0, 1, 1, 1])), 0, true),
        (done) => {
          progress?.tick(done - last);
          last = done;
        },
      );
      progress?.done();
      const ig = tf.mul(diff, sum) as tf.Tensor4D;
      const total = tf.tidy(() => ig.sum().dataSync()[0]);
      const ends = tf.concat([x, b]) as tf.Tensor4D;
      const [fx, fb] = ctx.scores(ends);
      tf.dispose([diff, sum, ends]);
      Object.assign(ctx.details, {
        steps,
        rule,
        baseline: typeof o.baseline === 'string' || o.baseline === undefined ? o.baseline ?? 'black' : 'image' in o.baseline ? 'image' : 'tensor',
        'S(x)': fx,
        'S(baseline)': fb,
        'sum': total,
        delta: total - (fx - fb),
      });
      return ig;
    } finally {
      b.dispose();
    }
  }
}

export const integratedGradients = attributionFunction<IntegratedGradientsOptions>(new IntegratedGradients());
