/**
 * Integrated Gradients (Sundararajan, Taly & Yan 2017): (x − b) · ∫₀¹ ∂S/∂x(b + α(x − b)) dα, the
 * integral by a Riemann sum over `steps` intervals (trapezoid: α = k/m with half weights at the ends;
 * midpoint: α = (k + ½)/m), evaluated in batches. Completeness: the attributions sum to
 * S(x) − S(b); the gap is reported in the result's details ('delta').
 *
 * Captum's rules (convention 'captum', METHODS.md): its default 'gausslegendre' (n = steps Gauss–Legendre
 * nodes on [0, 1]) and its 'riemann_trapezoid' ('captum-trapezoid' here: n = steps points k/(n − 1)
 * with weights 1/n, halved at the ends, so they sum to (n − 1)/n: Captum's trapezoid result with n
 * steps is cnnvis' trapezoid with n − 1 intervals times (n − 1)/n).
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
  /** 'trapezoid' (default), 'midpoint', or Captum's 'gausslegendre' (default under convention 'captum') and 'captum-trapezoid'. */
  rule?: RiemannRule;
}

export type RiemannRule = 'trapezoid' | 'midpoint' | 'gausslegendre' | 'captum-trapezoid';
const RULES: readonly RiemannRule[] = ['trapezoid', 'midpoint', 'gausslegendre', 'captum-trapezoid'];

/** Gauss–Legendre nodes and weights on [−1, 1] (Newton's method on P_n, as numpy's leggauss gives them). */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      const pn = n === 0 ? 1 : p1;
      const pm = n === 1 ? 1 : p0;
      dp = (n * (x * pn - pm)) / (x * x - 1);
      const dx = pn / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    nodes.push(x);
    weights.push(2 / ((1 - x * x) * dp * dp));
  }
  // Ascending, as numpy.polynomial.legendre.leggauss.
  const order = nodes.map((_, i) => i).sort((a, b) => nodes[a] - nodes[b]);
  return { nodes: order.map((i) => nodes[i]), weights: order.map((i) => weights[i]) };
}

/** The α points and weights of a rule (weights sum to 1, except Captum's trapezoid: (n − 1)/n). */
export function riemann(steps: number, rule: RiemannRule): { alphas: number[]; weights: number[] } {
  if (rule === 'gausslegendre') {
    const { nodes, weights } = gaussLegendre(steps);
    return { alphas: nodes.map((x) => (x + 1) / 2), weights: weights.map((w) => w / 2) };
  }
  if (rule === 'captum-trapezoid') {
    if (steps < 2) throw new CnnvisError(`Captum's trapezoid rule needs steps ≥ 2, got ${steps}`);
    const alphas = Array.from({ length: steps }, (_, k) => k / (steps - 1));
    return { alphas, weights: alphas.map((_, k) => (k === 0 || k === steps - 1 ? 0.5 : 1) / steps) };
  }
  if (rule === 'midpoint') {
    return { alphas: Array.from({ length: steps }, (_, k) => (k + 0.5) / steps), weights: Array(steps).fill(1 / steps) };
  }
  if (rule === 'trapezoid') {
    const alphas = Array.from({ length: steps + 1 }, (_, k) => k / steps);
    return { alphas, weights: alphas.map((_, k) => (k === 0 || k === steps ? 0.5 : 1) / steps) };
  }
  throw new CnnvisError(`unknown Riemann rule '${String(rule)}'; valid: ${RULES.join(', ')}`, [...RULES]);
}

export class IntegratedGradients extends AttributionMethod<IntegratedGradientsOptions> {
  readonly name = 'Integrated Gradients';
  readonly id = 'integrated-gradients';
  override readonly conventions = ['cnnvis', 'captum'] as const;

  override checkOptions(o: IntegratedGradientsOptions, _model: CnnModel): void {
    const s = o.steps ?? 50;
    if (!Number.isInteger(s) || s < 1) throw new CnnvisError(`steps must be a positive integer, got ${s}`);
    riemann(Math.max(2, s), ruleOf(o));
  }

  attribute(ctx: AttributionContext, o: IntegratedGradientsOptions): tf.Tensor4D {
    const steps = o.steps ?? 50;
    const rule = ruleOf(o);
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

function ruleOf(o: IntegratedGradientsOptions): RiemannRule {
  return o.rule ?? (o.convention === 'captum' ? 'gausslegendre' : 'trapezoid');
}
