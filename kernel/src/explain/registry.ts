/**
 * Every explanation method by its CLI id, with one calling convention:
 * `(model, image, {classIndex?, label?, layer?, display?, …}) → Promise<ExplainResult-like Result>`.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource, InputOptions } from '../basics/input';
import { CnnvisError } from '../errors';
import { CnnModel } from '../models/model';
import { ATTRIBUTION_METHODS } from './attribution';
import { AttributionResult } from './attribution/result';
import { ExplainResult } from './explainResult';
import { Convention } from './cam/base';
import { ExplainedClass } from './targets';
import { CAM_METHODS } from './methods';

export interface ExplainOptions extends InputOptions {
  classIndex?: number;
  label?: string;
  layer?: string;
  display?: boolean;
  /** Score-CAM: only the N channels with the largest variance. */
  topN?: number;
  /** Gradient methods: one channel of a hidden layer instead of a class, 'layer:channel'. */
  target?: string;
  /** Integrated Gradients: number of steps. */
  steps?: number;
  /** SmoothGrad: number of noisy samples; RISE: number of masks. */
  samples?: number;
  /** Occlusion: patch size and stride in pixels. */
  patchSize?: number;
  stride?: number;
  /** Whose conventions to follow where the anchors differ (METHODS.md): 'cnnvis' (default), 'pytorch-grad-cam', 'captum'. */
  convention?: Convention;
}

export type ExplainFn = (model: CnnModel | tf.LayersModel, image: ImageSource, opts?: ExplainOptions) => Promise<ExplainResult | AttributionResult>;

export interface ExplainMethodInfo {
  id: string;
  name: string;
  run: ExplainFn;
}

const METHODS: ExplainMethodInfo[] = [
  ...CAM_METHODS.map((m): ExplainMethodInfo => ({ id: m.id, name: m.name, run: (model, image, opts) => m.explain(model, image, opts) })),
  ...ATTRIBUTION_METHODS.map((m): ExplainMethodInfo => ({ id: m.id, name: m.name, run: (model, image, opts) => m.explain(model, image, opts) })),
];

/** Adds a method (used by method families outside the CAM base). */
export function registerExplainMethod(info: ExplainMethodInfo): void {
  const i = METHODS.findIndex((m) => m.id === info.id);
  if (i >= 0) METHODS[i] = info;
  else METHODS.push(info);
}

export function explainMethodIds(): string[] {
  return METHODS.map((m) => m.id);
}

/** A method by id, forgiving about case and punctuation ('Grad-CAM++' finds gradcampp). */
export function explainMethod(name: string): ExplainMethodInfo {
  const key = (s: string) => s.toLowerCase().replace(/\+\+/g, 'pp').replace(/[^a-z0-9]/g, '');
  const m = METHODS.find((x) => key(x.id) === key(name) || key(x.name) === key(name));
  if (!m) throw new CnnvisError(`unknown method '${name}'; methods: ${explainMethodIds().join(', ')}`, explainMethodIds());
  return m;
}

/** What any explanation is about, in one shape (for the CLI's JSON and titles). */
function classOf(t: ExplainedClass): NonNullable<ReturnType<typeof explanationTarget>['class']> {
  return { index: t.index, label: t.label, score: t.score, logit: t.logit, scoreName: t.scoreName, basis: t.basis };
}

export function explanationTarget(r: ExplainResult | AttributionResult): {
  layer: string;
  /** score: the probability; logit: the class score named by scoreName; basis: what the map is computed from. */
  class?: { index: number; label: string; score: number; logit: number; scoreName: string; basis: string };
  channel?: { layer: string; channel: number; value: number };
  title: string;
} {
  if (r instanceof ExplainResult) {
    return { layer: r.layer, class: classOf(r.target), title: `${r.method} for ${r.target.label}` };
  }
  const t = r.target;
  const layer = typeof r.details.layer === 'string' ? r.details.layer : 'input';
  if (t.kind === 'channel') {
    return { layer, channel: { layer: t.layer, channel: t.channel, value: t.value }, title: `${r.method} for ${t.layer}:${t.channel}` };
  }
  return { layer, class: classOf(t), title: `${r.method} for ${t.label}` };
}
