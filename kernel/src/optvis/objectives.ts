/**
 * Objectives for activation maximization: values that say what to make large. An objective maps the
 * activations of one forward pass (the engine's taps of every layer it needs) to one score per batch
 * item. Objectives compose: `a.add(b)`, `a.sub(b)`, `a.scale(w)`, `a.neg()`, `sum([...])`; the string
 * `'layer:channel'` is shorthand for `channel(layer, channel)`.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { CnnModel } from '../models/model';
import { parseLayerChannel } from '../explain/targets';
import { LOGITS } from '../engine';

/** The pseudo layer name under which objectives read the class scores (pre-softmax logits; see models/head.ts). */
export { LOGITS };

/** Reads a tapped layer's output, [B, ...shape] (or the logits [B, K] under LOGITS). */
export type ActivationGetter = (layer: string) => tf.Tensor;

/** Computes one score per batch item, [B]. Runs inside a tidy; needs no disposal of intermediates. */
type ScoreFn = (get: ActivationGetter) => tf.Tensor1D;

/** Checks that the objective fits a model (layers exist, channels in range); throws CnnvisError. */
type CheckFn = (model: CnnModel) => void;

export class Objective {
  /** Layer names the objective reads (LOGITS for class scores), without duplicates. */
  readonly layers: readonly string[];
  /** A readable form, e.g. `conv2:3 + 0.5·logit[7]`. */
  readonly description: string;
  /**
   * The score is a linear function of the activations it reads (a weighted sum of them, no constant
   * term), so its gradient at a layer does not depend on the image: the engine may then run the whole
   * forward and backward pass in one call. True for every built-in objective and their sums, weights
   * and negations; false (the safe default) for a score function given to the constructor.
   */
  readonly linear: boolean;
  private readonly score: ScoreFn;
  private readonly checks: readonly CheckFn[];

  constructor(layers: readonly string[], description: string, score: ScoreFn, checks: readonly CheckFn[] = [], linear = false) {
    this.layers = [...new Set(layers)];
    this.description = description;
    this.score = score;
    this.checks = checks;
    this.linear = linear;
  }

  /** One score per batch item, [B], from the activations of one forward pass. */
  scores(get: ActivationGetter): tf.Tensor1D {
    return tf.tidy(() => this.score(get));
  }

  /**
   * `scores` as one function value for the life of the objective: an engine may keep what it derived
   * from it (a linear objective's weights) between the steps of a run.
   */
  readonly scoreFunction = (get: ActivationGetter): tf.Tensor1D => this.scores(get);

  /** Throws a CnnvisError when a layer is missing from the model or a channel / class is out of range. */
  check(model: CnnModel): this {
    for (const c of this.checks) c(model);
    return this;
  }

  add(other: Objective | string): Objective {
    const o = toObjective(other);
    return new Objective([...this.layers, ...o.layers], `${this.description} + ${o.description}`, (g) => this.score(g).add(o.score(g)), [...this.checks, ...o.checks], this.linear && o.linear);
  }

  sub(other: Objective | string): Objective {
    const o = toObjective(other);
    return new Objective([...this.layers, ...o.layers], `${this.description} − ${wrap(o.description)}`, (g) => this.score(g).sub(o.score(g)), [...this.checks, ...o.checks], this.linear && o.linear);
  }

  scale(weight: number): Objective {
    if (!Number.isFinite(weight)) throw new CnnvisError(`objective weight must be a finite number, got ${weight}`);
    return new Objective(this.layers, `${weight}·${wrap(this.description)}`, (g) => this.score(g).mul(weight), this.checks, this.linear);
  }

  neg(): Objective {
    return new Objective(this.layers, `−${wrap(this.description)}`, (g) => this.score(g).neg(), this.checks, this.linear);
  }

  toString(): string {
    return this.description;
  }
}

function wrap(d: string): string {
  return /[ +−·]/.test(d) ? `(${d})` : d;
}

/** Per-channel layer output shape, with a clear error for unknown layers. */
function shapeOf(model: CnnModel, layer: string): number[] {
  return model.layerShape(layer);
}

function checkChannel(layer: string, n: number): CheckFn {
  return (model) => {
    const shape = shapeOf(model, layer);
    const c = shape[shape.length - 1];
    if (!Number.isInteger(n) || n < 0 || n >= c) {
      throw new CnnvisError(`channel ${n} is out of range for layer '${layer}' of model '${model.name}': it has ${c} channels, 0..${c - 1}`);
    }
  };
}

/** Mean over the spatial positions of each channel: [B, ...spatial, C] → [B, C]. */
function channelMeans(t: tf.Tensor): tf.Tensor2D {
  if (t.rank === 2) return t as tf.Tensor2D;
  const axes = Array.from({ length: t.rank - 2 }, (_, i) => i + 1);
  return t.mean(axes) as tf.Tensor2D;
}

/** The mean activation of one channel of a layer (for dense layers: one unit). */
export function channel(layer: string, n: number): Objective {
  return new Objective([layer], `${layer}:${n}`, (get) => channelMeans(get(layer)).slice([0, n], [-1, 1]).reshape([-1]) as tf.Tensor1D, [checkChannel(layer, n)], true);
}

/**
 * One channel per batch item: item i scores channel `list[i]` (the batch must have list.length items).
 * This is how many filters of one layer are optimized at once.
 */
export function channels(layer: string, list: readonly number[]): Objective {
  if (list.length === 0) throw new CnnvisError('channels() needs at least one channel');
  return new Objective(
    [layer],
    `${layer}:[${list.join(',')}]`,
    (get) => {
      const means = channelMeans(get(layer));
      const [b, c] = means.shape;
      if (b !== list.length) throw new CnnvisError(`objective ${layer}:[${list.join(',')}] needs a batch of ${list.length} images, got ${b}`);
      const pick = tf.oneHot(tf.tensor1d([...list], 'int32'), c).toFloat();
      return means.mul(pick).sum(1) as tf.Tensor1D;
    },
    list.map((n) => checkChannel(layer, n)),
    true,
  );
}

/** One unit at one spatial position (default: the centre) of a layer's channel. */
export function neuron(layer: string, n: number, at: { x?: number; y?: number } = {}): Objective {
  const desc = `${layer}:${n}@${at.x ?? 'c'},${at.y ?? 'c'}`;
  const pos = (shape: readonly number[]) => ({ y: at.y ?? Math.floor(shape[1] / 2), x: at.x ?? Math.floor(shape[2] / 2) });
  return new Objective(
    [layer],
    desc,
    (get) => {
      const t = get(layer);
      if (t.rank !== 4) throw new CnnvisError(`neuron() needs a spatial layer; '${layer}' has output rank ${t.rank - 1}`);
      const { x, y } = pos(t.shape);
      return t.slice([0, y, x, n], [-1, 1, 1, 1]).reshape([-1]) as tf.Tensor1D;
    },
    [
      checkChannel(layer, n),
      (model) => {
        const shape = shapeOf(model, layer);
        if (shape.length !== 3) throw new CnnvisError(`neuron() needs a spatial layer; '${layer}' has output shape [${shape.join(', ')}]`);
        const { x, y } = pos([0, ...shape]);
        if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= shape[1] || y >= shape[0]) {
          throw new CnnvisError(`neuron position (x ${x}, y ${y}) is outside layer '${layer}' (${shape[1]} wide, ${shape[0]} high)`);
        }
      },
    ],
    true,
  );
}

/**
 * The score of class k: its pre-softmax logit (for a one-sigmoid binary head the pre-sigmoid logit z
 * for class 1, −z for class 0; for a linear head the output).
 */
export function classLogit(k: number): Objective {
  return new Objective([LOGITS], `logit[${k}]`, (get) => get(LOGITS).slice([0, k], [-1, 1]).reshape([-1]) as tf.Tensor1D, [(model) => void model.checkClass(k)], true);
}

/** The mean of all of a layer's activations (every channel and position). */
export function layerMean(layer: string): Objective {
  return new Objective(
    [layer],
    `mean(${layer})`,
    (get) => {
      const t = get(layer);
      return t.reshape([t.shape[0], -1]).mean(1) as tf.Tensor1D;
    },
    [(model) => void model.layerName(layer)],
    true,
  );
}

/** The sum of several objectives. */
export function sum(list: readonly (Objective | string)[]): Objective {
  if (list.length === 0) throw new CnnvisError('sum() needs at least one objective');
  return list.map(toObjective).reduce((a, b) => a.add(b));
}

/** Parses `'layer:channel'` (the layer name may itself contain ':'; the channel is after the last one). */
export function parseObjective(text: string): Objective {
  const t = parseLayerChannel(text, 'objective', 'conv2d_1:7');
  return channel(t.layer, t.channel);
}

/** What maximize() accepts as a target. */
export type ObjectiveSpec = Objective | string | { layer: string; channel: number } | { classIndex: number };

export function toObjective(spec: ObjectiveSpec): Objective {
  if (spec instanceof Objective) return spec;
  if (typeof spec === 'string') return parseObjective(spec);
  if (spec && typeof spec === 'object') {
    if ('classIndex' in spec) return classLogit(spec.classIndex);
    if ('layer' in spec) return channel(spec.layer, spec.channel);
  }
  throw new CnnvisError(`unknown objective ${JSON.stringify(spec)}; give an Objective, 'layer:channel', {layer, channel} or {classIndex}`);
}

// ---------------------------------------------------------------------------------------------------
// Evaluation: one forward pass on the model's engine with every layer the objective needs.

/** Runs the model once on a preprocessed batch and returns the objective's scores [B]. */
export function objectiveScores(model: CnnModel, objective: Objective, batch: tf.Tensor4D): tf.Tensor1D {
  const names = objective.layers.filter((l) => l !== LOGITS);
  const { taps, logits } = model.engine.forward(batch, names);
  try {
    return tf.tidy(() =>
      objective.scores((layer) => {
        if (layer === LOGITS) return logits;
        const i = names.indexOf(layer);
        if (i < 0) throw new CnnvisError(`objective read layer '${layer}' that it did not declare`);
        return taps[i];
      }),
    );
  } finally {
    tf.dispose([...taps, logits]);
  }
}
