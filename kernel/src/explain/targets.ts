/**
 * What an explanation (or an objective) is about: a class index, a label text (forgiving: case, '_'
 * and '-' do not matter, a whole word is enough when it picks one label), one channel of a hidden
 * layer ('layer:channel') or, by default, the top-1 class. `Target` is the one type for all of them
 * and `parseLayerChannel` the one reader of 'layer:channel'.
 */
import { CnnvisError, listChoices } from '../errors';
import { CnnModel } from '../models/model';
import { extent } from '../render/normalize';

export interface TargetOptions {
  /** Class index (0-based). */
  classIndex?: number;
  /** Label text, e.g. 'tiger_cat', 'tiger cat' or 'mastiff' when that names one class. */
  label?: string;
}

/** One channel of a layer. */
export interface LayerChannel {
  layer: string;
  channel: number;
}

/** What an explanation or objective is about: a class (by index or label), or one channel of a layer. */
export type Target = { kind: 'class'; index: number } | { kind: 'label'; label: string } | ({ kind: 'channel' } & LayerChannel);

/** Every way a target may be written: a class index, a Target, {classIndex}, {label}, {layer, channel} or 'layer:channel'. */
export type TargetSpec = number | string | Target | { classIndex: number } | { label: string } | LayerChannel;

/**
 * Reads 'layer:channel' (the layer name may itself contain ':'; the channel is the whole number after
 * the last one). `what` and `example` word the error, e.g. ('objective', 'conv2d_1:7').
 */
export function parseLayerChannel(text: string, what = 'target', example = 'conv1:0'): LayerChannel {
  const i = text.lastIndexOf(':');
  const layer = i > 0 ? text.slice(0, i).trim() : '';
  const ch = i > 0 ? text.slice(i + 1).trim() : '';
  if (!layer || !/^\d+$/.test(ch)) {
    throw new CnnvisError(`${what} '${text}' is not 'layer:channel' (e.g. '${example}'); give a layer name and a channel number`);
  }
  return { layer, channel: Number(ch) };
}

/** Any written target as a Target; a string is read as 'layer:channel'. */
export function toTarget(spec: TargetSpec): Target {
  if (typeof spec === 'number') return { kind: 'class', index: spec };
  if (typeof spec === 'string') return { kind: 'channel', ...parseLayerChannel(spec) };
  if (spec && typeof spec === 'object') {
    if ('kind' in spec) return spec;
    if ('classIndex' in spec) return { kind: 'class', index: spec.classIndex };
    if ('label' in spec) return { kind: 'label', label: spec.label };
    if ('layer' in spec && 'channel' in spec) return { kind: 'channel', layer: spec.layer, channel: spec.channel };
  }
  throw new CnnvisError(`unknown target ${JSON.stringify(spec)}; give a class index, {label}, 'layer:channel' or {layer, channel}`);
}

/** The class an explanation is computed for. */
export interface ExplainedClass {
  index: number;
  label: string;
  /** Probability of the class for the image (as the model's head defines it: models/head.ts). */
  score: number;
  /** The class's score (what gradients are taken of): see `scoreName`. */
  logit: number;
  /** What `logit` is: 'pre-softmax logit', 'pre-sigmoid logit z', '−z (negated pre-sigmoid logit)', 'output (linear head)'. */
  scoreName: string;
  /** What the map is computed from, e.g. 'differentiates the pre-softmax logit of class 3'. */
  basis: string;
}

/**
 * What a method's map is computed from: the class score ('score': gradients, CAM weights), the
 * class probability ('probability': occlusion, Score-CAM) or neither ('none': class-agnostic).
 */
export type ScoreBasis = 'score' | 'probability' | 'none';

/** The explained class k from one image's class scores (see explain/gradients.ts logitsOf). */
export function explainedClass(model: CnnModel, k: number, scores: Float32Array, basis: ScoreBasis = 'score'): ExplainedClass {
  const head = model.head;
  const probs = head.probabilitiesData(scores);
  const text =
    basis === 'score'
      ? head.describe(k)
      : basis === 'probability'
        ? `measures the probability of class ${k} (${head.probabilityNote})`
        : 'class-agnostic (the class is shown, not used)';
  return { index: k, label: model.label(k), score: probs[k], logit: scores[k], scoreName: head.scoreName(k), basis: text };
}

function norm(s: string): string {
  return s.toLowerCase().replace(/[_\-\s]+/g, ' ').trim();
}

/** Levenshtein distance (small strings only). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/**
 * The class index a label text names. Exact match (ignoring case, '_', '-') first; then labels that
 * contain the text as whole words; then labels that contain it anywhere. One hit wins; several are an
 * error listing them; none is an error suggesting the closest labels.
 */
export function findLabel(names: readonly string[], text: string, modelName = 'model'): number {
  const q = norm(text);
  if (!q) throw new CnnvisError(`label must be a non-empty text`);
  const normed = names.map(norm);
  const words = new RegExp(`(^| )${q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`);
  for (const test of [(n: string) => n === q, (n: string) => words.test(n), (n: string) => n.includes(q)]) {
    const hits = normed.flatMap((n, i) => (test(n) ? [i] : []));
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) {
      const list = hits.map((i) => `${names[i]} (${i})`);
      throw new CnnvisError(`label '${text}' is ambiguous in ${modelName}; it matches: ${listChoices(list, 30)}`, hits.map((i) => names[i]));
    }
  }
  const near = normed
    .map((n, i) => ({ i, d: Math.min(editDistance(q, n), ...n.split(' ').map((w) => editDistance(q, w) + 1)) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, 5)
    .map(({ i }) => `${names[i]} (${i})`);
  throw new CnnvisError(`unknown label '${text}' in ${modelName}; did you mean: ${near.join(', ')}?`, near);
}

/**
 * The class index for the options: classIndex (checked against the model), label (looked up), or
 * the highest of `logits` when neither is given. Giving both is fine when they agree.
 */
export function resolveClass(model: CnnModel, opts: TargetOptions, logits: Float32Array | null): number {
  let fromLabel: number | undefined;
  if (opts.label !== undefined) {
    if (!model.labels) {
      throw new CnnvisError(`model '${model.name}' has no labels${model.labelsNote ? ` (${model.labelsNote})` : ''}; give classIndex instead of label`);
    }
    fromLabel = findLabel(model.labels.names, opts.label, `model '${model.name}'`);
  }
  if (opts.classIndex !== undefined) {
    const i = model.checkClass(opts.classIndex);
    if (fromLabel !== undefined && fromLabel !== i) {
      throw new CnnvisError(`classIndex ${i} (${model.label(i)}) and label '${opts.label}' (class ${fromLabel}) disagree; give one of them`);
    }
    return i;
  }
  if (fromLabel !== undefined) return fromLabel;
  if (!logits) throw new CnnvisError('no class given and no model output to take the top-1 class from');
  return Math.max(0, extent(logits).argMax);
}
