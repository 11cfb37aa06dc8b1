/**
 * The one table of explanation methods: id, display name, aliases, kind, the options it reads, a
 * one-line summary and how to run it. The CLI (flags and help), the explorers, the report and the
 * notebook functions all read it, and `findMethod` is the one lookup that forgives case and
 * punctuation ('Grad-CAM++' finds gradcampp, 'IG' finds integrated-gradients).
 *
 * Every method has one calling convention:
 * `(model, image, {classIndex?, label?, layer?, display?, …}) → Promise<ExplainResult | AttributionResult>`.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource, InputOptions } from '../basics/input';
import { showing } from '../display/result';
import { CnnvisError } from '../errors';
import { CnnModel } from '../models/model';
import { ATTRIBUTION_METHODS } from './attribution';
import { AttributionMethod, AttributionOptions } from './attribution/base';
import { AttributionResult } from './attribution/result';
import { ExplainResult } from './explainResult';
import { CamMethod, CamOptions, Convention } from './cam/base';
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
  /** Attribution and perturbation methods: a progress bar for long runs (default true). */
  progress?: boolean;
}

/** Computes the map and offers it to the notebook unless `display: false` (display/result.ts showing). */
export type ExplainFn = (model: CnnModel | tf.LayersModel, image: ImageSource, opts?: ExplainOptions) => Promise<ExplainResult | AttributionResult>;

/** cam: a weighted sum of a layer's feature maps; attribution: gradients at the input; perturbation: the score's change under masked inputs. */
export type MethodKind = 'cam' | 'attribution' | 'perturbation';
export const METHOD_KINDS: readonly MethodKind[] = ['cam', 'attribution', 'perturbation'];

/** The method-specific options of ExplainOptions (the class, layer, input and display options are common). */
export type MethodOption = 'target' | 'topN' | 'steps' | 'samples' | 'patchSize' | 'stride';

export interface ExplainMethodInfo {
  id: string;
  name: string;
  /** Other names the lookup accepts ('ig' for integrated-gradients). */
  aliases: readonly string[];
  kind: MethodKind;
  /** The method-specific options it reads. */
  options: readonly MethodOption[];
  /** One line: what the map shows. */
  summary: string;
  /** The conventions it can follow (METHODS.md); the first is the default. */
  conventions: readonly Convention[];
  run: ExplainFn;
}

/** What `registerExplainMethod` needs: an id, a name and run; the rest has defaults. */
export type ExplainMethodSpec = Pick<ExplainMethodInfo, 'id' | 'name' | 'run'> & Partial<ExplainMethodInfo>;

interface Described {
  summary: string;
  aliases?: readonly string[];
  kind?: MethodKind;
  options?: readonly MethodOption[];
}

/** Per built-in method: what it shows, other names, and the options beyond the common ones. */
const DESCRIPTIONS: Record<string, Described> = {
  gradcam: { summary: 'feature maps weighted by their mean gradient' },
  gradcampp: { summary: 'Grad-CAM with second-order weights that spread over several instances of the class' },
  xgradcam: { summary: 'feature maps weighted by their gradients averaged with the activation as weights' },
  layercam: { summary: 'every position weighted by its own positive gradient' },
  hirescam: { summary: 'gradients times activations position by position, summed over channels, then ReLU' },
  cam: { summary: 'the dense layer weights of the class after global average pooling (Zhou et al.)' },
  eigencam: { summary: 'first principal component of the feature maps (class-agnostic)' },
  scorecam: { summary: 'feature maps weighted by the class probability of the input masked by each map', options: ['topN'] },
  ablationcam: { summary: 'feature maps weighted by the score drop when each map is zeroed' },
  eigengradcam: { summary: 'first principal component of gradients times activations' },
  gradcamelementwise: { summary: 'each gradient × activation product rectified, then summed over channels' },
  kpcacam: { summary: 'first kernel principal component of the feature maps (class-agnostic)' },
  finercam: { summary: 'Grad-CAM of the class score contrasted with the most similar classes' },
  fem: { summary: 'feature maps weighted by how often they are k·σ above their mean (class-agnostic)' },
  saliency: { summary: 'absolute input gradient of the class score (Simonyan et al.)', options: ['target'] },
  gradxinput: { summary: 'input gradient times the input', aliases: ['gradient-x-input', 'grad-x-input'], options: ['target'] },
  'guided-backprop': { summary: 'input gradient passed only where the ReLU input and the gradient are both positive', aliases: ['guided'], options: ['target'] },
  deconvnet: { summary: 'input gradient passing the positive part of the backward signal at every ReLU', options: ['target'] },
  smoothgrad: { summary: 'input gradient averaged over noisy copies of the image', options: ['target', 'samples'] },
  'integrated-gradients': { summary: 'gradients integrated along a path from a baseline to the image', aliases: ['ig'], options: ['target', 'steps'] },
  'guided-gradcam': { summary: 'guided backpropagation times the Grad-CAM map' },
  occlusion: { summary: 'the class probability drop when a patch covers each place', kind: 'perturbation', options: ['target', 'patchSize', 'stride'] },
  fullgrad: { summary: 'input gradient and every bias gradient, each normalised and summed at input size' },
  rise: { summary: 'random masks weighted by the class probability of each masked image', kind: 'perturbation', options: ['samples'] },
};

function builtIn(m: CamMethod<CamOptions> | AttributionMethod<AttributionOptions>, kind: MethodKind): ExplainMethodInfo {
  const d = DESCRIPTIONS[m.id] ?? { summary: m.name };
  return {
    id: m.id,
    name: m.name,
    aliases: d.aliases ?? [],
    kind: d.kind ?? kind,
    options: d.options ?? [],
    summary: d.summary,
    conventions: m.conventions,
    run: showing((model, image, opts: ExplainOptions): Promise<ExplainResult | AttributionResult> => m.explain(model, image, opts)),
  };
}

/** Built lazily: the method families' own lookups (methods.ts, attribution/index.ts) import this module. */
let table: ExplainMethodInfo[] | null = null;

function methods(): ExplainMethodInfo[] {
  table ??= [...CAM_METHODS.map((m) => builtIn(m, 'cam')), ...ATTRIBUTION_METHODS.map((m) => builtIn(m, 'attribution'))];
  return table;
}

/** Adds (or replaces) a method; fields left out get defaults (kind attribution, no aliases or options). */
export function registerExplainMethod(spec: ExplainMethodSpec): void {
  const info: ExplainMethodInfo = { aliases: [], kind: 'attribution', options: [], summary: spec.name, conventions: ['cnnvis'], ...spec };
  const list = methods();
  const i = list.findIndex((m) => m.id === info.id);
  if (i >= 0) list[i] = info;
  else list.push(info);
}

/** Every method, or those of the given kinds, in registry order. */
export function explainMethods(kinds?: readonly MethodKind[]): readonly ExplainMethodInfo[] {
  return kinds ? methods().filter((m) => kinds.includes(m.kind)) : methods();
}

export function explainMethodIds(kinds?: readonly MethodKind[]): string[] {
  return explainMethods(kinds).map((m) => m.id);
}

/** How names are compared: case, spaces and punctuation do not matter, '++' reads as 'pp'. */
export function methodKey(name: string): string {
  return name.toLowerCase().replace(/\+\+/g, 'pp').replace(/[^a-z0-9]/g, '');
}

/**
 * The method a name means: its id, display name or an alias, compared with `methodKey`; only among
 * `kinds` when given. An unknown name is a CnnvisError listing the valid ids (`family` names the
 * list in the message, e.g. 'CAM method').
 */
export function findMethod(name: string, opts: { kinds?: readonly MethodKind[]; family?: string } = {}): ExplainMethodInfo {
  const list = explainMethods(opts.kinds);
  const k = methodKey(name);
  const m = list.find((x) => methodKey(x.id) === k || methodKey(x.name) === k || x.aliases.some((a) => methodKey(a) === k));
  if (!m) {
    const ids = list.map((x) => x.id);
    throw new CnnvisError(`unknown ${opts.family ?? 'method'} '${name}'; methods: ${ids.join(', ')}`, ids);
  }
  return m;
}

/** A method by id, display name or alias (any kind). */
export function explainMethod(name: string): ExplainMethodInfo {
  return findMethod(name);
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
