/**
 * Forward passes: layer by layer (each layer's or chain's graph, values between them in JS memory), or
 * in one runtime call through a composed graph when nothing between layers is asked for.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { GraphCache, WholeForward, WholeSuffix } from './caches';
import { composeForward, composeSuffix, composeTaps } from './compose';
import { Plan } from './plan';
import { OrtValue } from './runtime';
import { Forward, joinRows, ruleValue, Saved } from './values';

export interface ForwardOptions {
  /** Layers whose outputs the pass returns (the logits always). */
  layers?: readonly string[];
  /** Keep every value a backward pass reads (a complete pass), not only `layers` and the logits. */
  complete?: boolean;
  /** A key (e.g. the input tensor) under which a complete pass is kept, and found again. */
  key?: unknown;
  /** The last layer to compute (default: the logits). */
  upTo?: string;
  /**
   * With `complete`: the pass serves only backward passes from the logits down to this layer, so only
   * the values those read leave the runtime (a one-image pass; a batch keeps everything).
   */
  downTo?: string;
}

/**
 * A complete pass of a batch runs as one graph up to this many bytes of layer values (see runForward):
 * the runtime holds every value until the run ends while JS keeps its copies.
 */
const WHOLE_PASS_BYTES = 48 << 20;

/** The composed forward graph up to node index `end` (`all`: every value as an output), cached. */
function wholeGraph(plan: Plan, cache: GraphCache, all: boolean, end: number, floor = 0): WholeForward {
  if (!all) return (cache.whole ??= composeForward(plan, false, end));
  return cache.inline.getOrSet(`all\u0000${end}:${floor}`, () => composeForward(plan, true, end, floor > 0 ? plan.backwardReads(floor) : undefined)) as WholeForward;
}

/** Runs the model on an NHWC batch (see ForwardOptions). */
export function runForward(plan: Plan, cache: GraphCache, x: tf.Tensor4D, opts: ForwardOptions = {}): Forward {
  const { layers = [], complete = false, key, upTo, downTo } = opts;
  const last = plan.nodes.length - 1;
  const end = upTo === undefined ? last : plan.indexOf(upTo);
  if (end < 0) throw new CnnvisError(`layer '${upTo}' is not on the path from the input to the logits`);
  const kept = cache.last;
  let floor = complete && downTo !== undefined && upTo === undefined ? Math.max(0, plan.indexOf(downTo)) : 0;
  // The same input at another layer (an explorer's layer slider): keep everything this time, so the
  // layers after it only run backward graphs.
  if (floor > 0 && key !== undefined && kept?.key === key && kept.fw.complete && kept.fw.floor !== floor) floor = 0;
  const need = complete && upTo ? [...layers, upTo] : layers;
  // A kept pass serves a complete one when it kept as much: everything, or the same floor.
  const serves = (fw: Forward) => !complete || (fw.complete && (fw.floor === 0 || fw.floor === floor));
  if (key !== undefined && kept?.key === key && serves(kept.fw) && kept.fw.reached >= end && need.every((k) => kept.fw.values.has(k))) return kept.fw;
  // A pass that will replace the kept one lets it go first (a complete pass of a batch of a large
  // model is hundreds of MB; batched methods would otherwise hold two).
  if (key !== undefined && complete) cache.last = null;
  // Chains run fused unless a member other than the last is asked for or the pass stops inside one.
  const asked = new Set(need);
  const { chains, inner } = plan.chainsUpTo(end);
  const fused = new Set<string>();
  for (const ch of chains) if (!ch.members.slice(0, -1).some((m) => asked.has(m))) for (const m of ch.members.slice(1)) fused.add(m);
  const B = x.shape[0];
  // The model in one runtime call: only the logits, or every value a backward pass reads up to `end`
  // while the pass is small (the runtime holds every value while they are copied out: twice the pass;
  // a large batch goes layer by layer).
  const whole = complete ? fused.size === inner.size && (B === 1 || B * plan.valueBytes(end) <= WHOLE_PASS_BYTES) : end === last && layers.every((k) => k === plan.logitsName);
  if (whole && !complete) {
    // The logits graph reads the batch in TF's layout (see composeForward).
    const w = wholeGraph(plan, cache, false, end);
    const logits = w.graph.run({ x: { data: x.dataSync() as Float32Array, dims: x.shape }, ...w.feeds }, ['logits']).logits;
    cache.runs.forward++;
    return new Forward(B, new Map([[plan.logitsName, { y: logits }]]), false, end);
  }
  if (!complete && layers.length > 0) {
    // Taps: one graph up to `end` with the asked layers (and the logits) as outputs, unless one of
    // them runs inside a fused chain; the values between them stay inside the runtime.
    const t = cache.inline.getOrSet(`taps\u0000${end}\u0000${layers.join('\u0000')}`, () => composeTaps(plan, end, layers)) as WholeForward | null;
    if (t) {
      const outs = t.graph.run({ x: { data: x.dataSync() as Float32Array, dims: x.shape }, ...t.feeds }, t.kept.map((_, k) => `o${k}`));
      cache.runs.forward++;
      return new Forward(B, new Map(t.kept.map((name, k) => [name, { y: outs[`o${k}`] }])), false, end);
    }
  }
  const input = tf.tidy(() => (x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : x));
  const values = new Map<string, Saved>();
  values.set(plan.inputName, { y: { data: input.dataSync() as Float32Array, dims: input.shape } });
  input.dispose();
  if (whole) {
    const w = wholeGraph(plan, cache, true, end, floor);
    const outs = w.graph.run({ x: values.get(plan.inputName)!.y, ...w.feeds }, w.kept.map((_, k) => `o${k}`));
    cache.runs.forward++;
    w.kept.forEach((name, k) => values.set(name, { y: outs[`o${k}`] }));
    for (const n of plan.nodes.slice(1, end + 1)) if (n.kernel.identity && values.has(n.inputs[0])) values.set(n.name, values.get(n.inputs[0])!);
    const fw = new Forward(B, values, true, end, floor);
    if (key !== undefined) cache.last = { key, fw };
    return fw;
  }
  const wanted = new Set(complete ? [] : [...layers, plan.logitsName]);
  const remaining = new Map<string, number>();
  for (const [k, v] of plan.consumers) remaining.set(k, v.length);
  for (const n of plan.nodes.slice(1, end + 1)) {
    if (fused.has(n.name)) continue; // computed with its chain's first layer
    const ins = n.inputs.map((p) => values.get(p)!.y);
    const ch = plan.chains.get(n.name);
    if (ch && fused.has(ch.members[1])) {
      const y = cache.graphs(ch.id, ch.kernel).forward().run({ x0: ins[0], ...ch.kernel.feeds }, ['y']).y;
      values.set(ch.end, { y });
      cache.runs.forward++;
    } else if (n.kernel.identity) {
      values.set(n.name, { y: ins[0] });
    } else {
      const feeds: Record<string, OrtValue> = {};
      ins.forEach((v, i) => (feeds[`x${i}`] = v));
      if (n.kernel.both) {
        // The both-directions graph with an empty backward half.
        const none = { data: new Float32Array(0), dims: [0, ...n.kernel.outDims] };
        feeds.g = none;
        if (n.kernel.saved.length) feeds.ys = none;
        if (n.kernel.usesRule) feeds.rule = ruleValue('gradient');
      }
      values.set(n.name, { y: cache.graphs(n.name, n.kernel).forward().run(feeds, ['y']).y });
      cache.runs.forward++;
    }
    if (!complete) {
      // Drop values nobody needs any more (a forward-only pass of a batch keeps little).
      for (const p of n.inputs) {
        const r = (remaining.get(p) ?? 1) - 1;
        remaining.set(p, r);
        if (r === 0 && !wanted.has(p)) values.delete(p);
      }
    }
  }
  const fw = new Forward(B, values, complete, end);
  if (key !== undefined && complete) cache.last = { key, fw };
  return fw;
}

/**
 * The raw logits of the model run on from layer `layer`'s output replaced by `y` ([n, ...], internal
 * layout) in one runtime call (composeSuffix); the earlier values a later layer reads (a skip
 * connection) come from a taps pass of `x` (one image, used for every row, or n), kept for the next
 * call with the same `x` and layer. Null when the layer's output exists only inside a fused chain, or
 * is the input or the logits.
 */
export function runSuffix(plan: Plan, cache: GraphCache, x: tf.Tensor4D, layer: string, y: OrtValue): OrtValue | null {
  const s = cache.inline.getOrSet(`suffix\u0000${layer}`, () => composeSuffix(plan, layer)) as WholeSuffix | null;
  if (!s) return null;
  const n = y.dims[0];
  const feeds: Record<string, OrtValue> = { y, ...s.feeds };
  if (s.earlier.length) {
    let e = cache.earlier;
    if (!e || e.key !== x || e.layer !== layer) {
      const deepest = s.earlier.reduce((a, b) => (plan.indexOf(a) >= plan.indexOf(b) ? a : b));
      const fw = runForward(plan, cache, x, { layers: s.earlier, upTo: deepest });
      cache.earlier = e = { key: x, layer, values: s.earlier.map((l) => fw.get(l)) };
    }
    e.values.forEach((v, k) => {
      if (v.dims[0] !== 1 && v.dims[0] !== n) throw new CnnvisError(`a batch of ${v.dims[0]} images for ${n} replaced outputs of layer '${layer}'`);
      feeds[`e${k}`] = v.dims[0] === n ? v : joinRows(Array<OrtValue>(n).fill(v));
    });
  }
  cache.runs.forward++;
  return s.graph.run(feeds, ['logits']).logits;
}

