/**
 * Backward passes from seeds at any layers (the logits for a class, a feature map's channel) down to a
 * layer or the input, under a ReLU rule: one seed runs a composed graph in one runtime call; several
 * seeds, or a seed at a convolution that reaches only a few of its channels, go layer by layer.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { Composed, GraphCache } from './caches';
import { composeBackward, composeInputGradient, composeObjectiveGradient } from './compose';
import { Fold, layerKernel, Rule } from './layers';
import { Plan } from './plan';
import { OrtValue } from './runtime';
import { activeChannels, Forward, joinRows, pickChannels, rows, ruleValue, sumValues, zeros } from './values';

/** The few output channels of convolution `layer` that gradient `g` reaches, or null (not a convolution, or not that sparse). */
function cutChannels(plan: Plan, layer: tf.layers.Layer, g: OrtValue): number[] | null {
  // (Not a convolution whose activation's gradient reads its input: a cut pass is fed only its output.)
  if (layer.getClassName() !== 'Conv2D' || plan.node(layer.name).kernel.saved.includes('x') || g.dims.length !== 4 || layer.name === plan.logitsName || g.dims[1] < 16) return null;
  return activeChannels(g, g.dims[1] / 4);
}

/**
 * The input gradient of a convolution (alone or first in a chain) whose output gradient `g` is zero in
 * all but a few channels — an objective or target on one filter: its backward graph on just those
 * channels (`keep`, from cutChannels), a fraction of the work. Null when the layer is not a plain
 * convolution or `g` not that sparse.
 */
function cutBackward(plan: Plan, cache: GraphCache, layer: tf.layers.Layer, fold: Fold | undefined, g: OrtValue, y: OrtValue | undefined, rule: Rule, keep = cutChannels(plan, layer, g)): OrtValue | null {
  if (!keep) return null;
  // No channel reached: the input gradient is zero (a graph on zero channels would leave its output unwritten).
  if (keep.length === 0) return zeros([g.dims[0], ...plan.dims(plan.node(layer.name).inputs[0])]);
  const k = cache.cutGraphs(layer.name, keep, () => layerKernel(layer, false, fold, keep));
  const feeds: Record<string, OrtValue> = { g: pickChannels(g, keep) };
  if (k.kernel.feeds) feeds.bn_s = k.kernel.feeds.bn_s;
  if (k.kernel.saved.includes('y')) feeds.y = pickChannels(y!, keep);
  cache.runs.backward++;
  cache.runs.cut++;
  return k.backward(rule).run(feeds, ['gx0']).gx0;
}

/**
 * Gradient of the seeds (d score / d output of each seed's layer, internal layout; their gradients add
 * up where the paths meet) with respect to the output of layer `to` (or the input, `to` = the input
 * layer's name). Needs a complete forward pass.
 */
export function runBackward(plan: Plan, cache: GraphCache, fw: Forward, seeds: Map<string, OrtValue>, to: string, rule: Rule): OrtValue {
  if (!fw.complete) throw new Error('cnnvis: backward pass needs a complete forward pass');
  const i1 = plan.indexOf(to);
  for (const from of seeds.keys()) {
    const i = plan.indexOf(from);
    if (i < 0 || i1 < 0 || i1 > i) throw new CnnvisError(`no backward path from layer '${from}' to '${to}'`);
    if (i > fw.reached) throw new Error(`cnnvis: the forward pass stopped before layer '${from}'`);
  }
  if (i1 < 0) throw new CnnvisError(`no backward path to layer '${to}'`);
  if (fw.floor > 0 && (i1 !== fw.floor || seeds.size !== 1 || !seeds.has(plan.logitsName))) throw new Error(`cnnvis: the forward pass serves only gradients of the logits at layer '${plan.nodes[fw.floor].name}'`);
  if (seeds.size === 1) {
    // One seed: the whole backward pass in one runtime call; a seed at a convolution that reaches only a
    // few of its channels first runs that layer cut to them.
    const [[from, seed]] = [...seeds];
    const ch = plan.chainOf.get(from);
    const chain = ch && ch.end === from ? ch : undefined;
    const first = plan.node(chain ? chain.members[0] : from);
    const keep = cutChannels(plan, first.layer, seed);
    if (keep) {
      // The seed's convolution on its few channels, then the rest of the pass from below it.
      if (plan.indexOf(first.name) > i1 && first.inputs.length === 1) {
        const gx = cutBackward(plan, cache, first.layer, chain?.fold, seed, fw.get(from), rule, keep)!;
        return first.inputs[0] === to ? gx : runBackward(plan, cache, fw, new Map([[first.inputs[0], gx]]), to, rule);
      }
    } else {
      const key = `${from}\u0000${to}\u0000${rule}`;
      const w = cache.wholeBack.getOrSet(key, () => composeBackward(plan, from, to, rule));
      if (!w) return zeros([fw.batch, ...plan.dims(to)]);
      const feeds: Record<string, OrtValue> = { seed, ...w.feeds };
      w.values.forEach((layer, k) => (feeds[`v${k}`] = fw.get(layer)));
      cache.runs.backward++;
      return w.graph.run(feeds, ['gx']).gx;
    }
  }
  const grads = plan.walkBack(seeds, i1, sumValues, {
    chain: (ch, g) => {
      const cut = cutBackward(plan, cache, plan.node(ch.members[0]).layer, ch.fold, g, ch.kernel.saved.includes('y') ? fw.get(ch.end) : undefined, rule);
      if (cut) return cut;
      // The whole chain in one graph, from its output's gradient to its input's.
      const feeds: Record<string, OrtValue> = { g };
      if (ch.kernel.feeds) feeds.bn_s = ch.kernel.feeds.bn_s;
      if (ch.kernel.saved.includes('y')) feeds.y = fw.get(ch.end);
      cache.runs.backward++;
      return cache.graphs(ch.id, ch.kernel).backward(rule).run(feeds, ['gx0']).gx0;
    },
    layer: (n, g) => {
      const cut = cutBackward(plan, cache, n.layer, undefined, g, n.kernel.saved.includes('y') ? fw.get(n.name) : undefined, rule);
      if (cut) return [cut];
      const feeds: Record<string, OrtValue> = { g };
      for (const s of n.kernel.saved) {
        if (s === 'x') n.inputs.forEach((p, k) => (feeds[`x${k}`] = fw.get(p)));
        else feeds[n.kernel.both ? 'ys' : 'y'] = fw.get(n.name);
      }
      if (n.kernel.both) {
        // The both-directions graph with an empty forward half.
        feeds.x0 = { data: new Float32Array(0), dims: [0, ...plan.dims(n.inputs[0])] };
        if (n.kernel.usesRule) feeds.rule = ruleValue(rule);
      }
      const outs = cache.graphs(n.name, n.kernel).backward(rule).run(feeds, n.inputs.map((_, k) => `gx${k}`));
      cache.runs.backward++;
      return n.inputs.map((_, k) => outs[`gx${k}`]);
    },
  });
  // A seed that does not depend on `to`: a zero gradient.
  return grads.get(to) ?? zeros([fw.batch, ...plan.dims(to)]);
}

/**
 * The logits of an image batch `x` (NHWC) and the gradient of `seed` · logits with respect to the
 * input (NHWC) under `rule`, forward and backward in one runtime call (composeInputGradient): no layer
 * value leaves the runtime, and nothing is kept for later passes. Null when the model's input is not
 * an image or no gradient reaches it.
 */
export function runInputGradient(plan: Plan, cache: GraphCache, x: tf.Tensor4D, seed: OrtValue, rule: Rule): { logits: OrtValue; gx: OrtValue } | null {
  if (plan.dims(plan.inputName).length !== 3 || x.rank !== 4) return null;
  const w = cache.inline.getOrSet(`grad\u0000${rule}`, () => composeInputGradient(plan, rule));
  if (!w) return null;
  const xv: OrtValue = { data: x.dataSync() as Float32Array, dims: x.shape };
  const out = inParts(cache, w, x.shape[0], (i, n) => w.graph.run({ x: rows(xv, i, n), s0: rows(seed, i, n), ...w.feeds }, ['logits', 'gx']));
  return { logits: out.logits, gx: out.gx };
}

/**
 * For a score that is a weighted sum of layer outputs: each image's score and its gradient with
 * respect to the input (NHWC), in one runtime call (composeObjectiveGradient). `seeds` are the weights,
 * layer → [B, ...dims] in the internal layout. Null when the model's input is not an image or that
 * graph does not serve these layers.
 */
export function runObjectiveGradient(plan: Plan, cache: GraphCache, x: tf.Tensor4D, seeds: Map<string, OrtValue>, rule: Rule): { score: OrtValue; gx: OrtValue } | null {
  if (plan.dims(plan.inputName).length !== 3 || x.rank !== 4) return null;
  const from = [...seeds.keys()];
  const w = cache.inline.getOrSet(`objective\u0000${rule}\u0000${from.join('\u0000')}`, () => composeObjectiveGradient(plan, from, rule));
  if (!w) return null;
  const xv: OrtValue = { data: x.dataSync() as Float32Array, dims: x.shape };
  const out = inParts(cache, w, x.shape[0], (i, n) => {
    const feeds: Record<string, OrtValue> = { x: rows(xv, i, n), ...w.feeds };
    from.forEach((l, k) => (feeds[`s${k}`] = rows(seeds.get(l)!, i, n)));
    return w.graph.run(feeds, ['score', 'gx']);
  });
  return { score: out.score, gx: out.gx };
}

/**
 * A batch of `B` images split into the fewest parts of at most `budget / perImage` images (at least
 * one each), their sizes differing by at most one; [B] when it fits (an empty batch too).
 */
export function partSizes(B: number, perImage: number, budget: number): number[] {
  const most = Math.max(1, Math.floor(budget / Math.max(1, perImage)));
  const parts = Math.max(1, Math.ceil(B / most));
  return Array.from({ length: parts }, (_, k) => Math.floor(B / parts) + (k < B % parts ? 1 : 0));
}

/**
 * Runs a one-call gradient graph on a batch of `B` images, in equal parts when the forward values it
 * holds for its backward part would pass the budget (GraphCache.limits.passBytes); each part's
 * outputs joined along the batch. Images are independent, so the parts give the batch's values.
 */
function inParts(cache: GraphCache, w: Composed, B: number, run: (i: number, n: number) => Record<string, OrtValue>): Record<string, OrtValue> {
  const outs: Record<string, OrtValue>[] = [];
  let i = 0;
  for (const n of partSizes(B, w.heldBytes ?? 0, cache.limits.passBytes)) {
    outs.push(run(i, n));
    cache.runs.forward++;
    cache.runs.backward++;
    i += n;
  }
  if (outs.length === 1) return outs[0];
  return Object.fromEntries(Object.keys(outs[0]).map((k) => [k, joinRows(outs.map((o) => o[k]))]));
}
