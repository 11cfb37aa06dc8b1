/**
 * A TF.js layers model run layer by layer on ONNX Runtime: forward passes (logits, any layers'
 * outputs) and backward passes from a seed at any layer (the logits for a class, or one feature map)
 * down to any earlier layer or the input, with the plain, guided or deconvnet ReLU rule.
 *
 * Each layer is compiled once into a forward graph and, on the first gradient request that reaches
 * it, a backward graph (engine/onnx/layers.ts); weights live once in each. Values between layers stay
 * in JS memory (NCHW), which is what makes the caching cheap: a forward pass of one image keeps every
 * layer's output, so a new class only runs the backward graphs above the chosen layer.
 *
 * The model's weights are watched (every weight variable's `assign`): after a change (setWeights,
 * training, cascading randomization) the graphs are rebuilt on next use.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { modelHead } from '../../models/head';
import { bnAffine, Fold, LayerKernel, layerKernel, reluLayerAct, Rule, Unsupported } from './layers';
import { DT, GraphSpec, InitSpec, NodeSpec } from './proto';
import { ortRuntime, OrtGraph, OrtValue } from './runtime';

interface PlanNode {
  name: string;
  layer: tf.layers.Layer;
  /** Producer layer names of the inputs. */
  inputs: string[];
  kernel: LayerKernel;
  fwd?: OrtGraph;
  /** Backward graphs by ReLU rule (only 'gradient' for layers whose gradient ignores the rule). */
  bwd?: Partial<Record<Rule, OrtGraph>>;
}

/**
 * A linear convolution followed by batch normalization and/or a ReLU layer, each the only consumer
 * of the one before: one forward graph (the affine map folded into the kernel) and one backward graph
 * for all of them, used whenever no member but the last is asked for.
 */
interface Chain {
  members: string[];
  end: string;
  /** What the first layer's graphs apply after the convolution. */
  fold: Fold;
  kernel: LayerKernel;
  fwd?: OrtGraph;
  bwd?: Partial<Record<Rule, OrtGraph>>;
}

/** A node's (or chain's) backward graph for `rule`, compiled on first use. */
function backwardGraph(n: { kernel: LayerKernel; bwd?: Partial<Record<Rule, OrtGraph>> }, rule: Rule): OrtGraph {
  const r = n.kernel.usesRule ? rule : 'gradient';
  n.bwd ??= {};
  return (n.bwd[r] ??= new OrtGraph(n.kernel.backward!(r)));
}

/** The `rule` input of Dense graphs (see layers.ts). */
const RULE_COEFFS: Record<Rule, Float32Array> = {
  gradient: Float32Array.of(1, 0, 0),
  guided: Float32Array.of(0, 1, 0),
  deconvnet: Float32Array.of(0, 0, 1),
};

/** One layer's forward value: its output. */
export interface Saved {
  y: OrtValue;
}

/** The outcome of a forward pass: every kept layer value, by layer name. */
export class Forward {
  constructor(
    readonly batch: number,
    readonly values: Map<string, Saved>,
    /** All values needed for backward passes are present. */
    readonly complete: boolean,
    /** Index of the last layer computed (the pass may stop early). */
    readonly reached: number,
  ) {}

  get(name: string): OrtValue {
    const v = this.values.get(name);
    if (!v) throw new Error(`cnnvis: forward value of layer '${name}' was not kept`);
    return v.y;
  }
}

/** a + b (same dims), a new value. */
export function sumValues(a: OrtValue, b: OrtValue): OrtValue {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  const sum = new Float32Array(x.length);
  for (let k = 0; k < sum.length; k++) sum[k] = x[k] + y[k];
  return { data: sum, dims: a.dims };
}

function size(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

const versions = new WeakMap<tf.LayersModel, { version: number }>();

/** A counter that changes whenever one of the model's weight variables is assigned. */
export function weightsVersion(net: tf.LayersModel): number {
  let v = versions.get(net);
  if (!v) {
    const box = { version: 0 };
    v = box;
    versions.set(net, box);
    for (const lv of net.weights) {
      const variable = (lv as unknown as { val?: tf.Variable }).val;
      if (!variable || typeof variable.assign !== 'function') continue;
      const assign = variable.assign.bind(variable);
      variable.assign = (x: tf.Tensor) => {
        box.version++;
        assign(x);
      };
    }
  }
  return v.version;
}

export class OrtNet {
  private readonly nodes: PlanNode[];
  private readonly index = new Map<string, number>();
  readonly inputName: string;
  readonly logitsName: string;
  /** Consumers of each layer within the plan. */
  private readonly consumers = new Map<string, string[]>();
  private last: { key: unknown; fw: Forward } | null = null;
  /**
   * Graph runs so far (forward: layer outputs computed; backward: layer gradients computed; cut: the
   * backward runs that took only a few channels of a convolution, see cutBackward).
   */
  readonly runs = { forward: 0, backward: 0, cut: 0 };
  /** Convolutions cut to a few output channels, by layer and channel list (the last few used). */
  private readonly cut = new Map<string, { kernel: LayerKernel; bwd?: Partial<Record<Rule, OrtGraph>> }>();
  /** The model up to its logits as one graph, with its constant feeds (see wholeGraph). */
  private whole?: { graph: OrtGraph; feeds: Record<string, OrtValue>; kept: string[] };
  /** The model up to a layer with every value as an output (a complete pass for backward passes), by last layer index. */
  private readonly wholeAll = new Map<number, { graph: OrtGraph; feeds: Record<string, OrtValue>; kept: string[] }>();
  /** Whole backward passes by seed layer, target layer and rule (the last few used; see wholeBackward). */
  private readonly wholeBack = new Map<string, { graph: OrtGraph; feeds: Record<string, OrtValue>; values: string[] } | null>();

  private readonly chains = new Map<string, Chain>();
  private readonly chainOf = new Map<string, Chain>();

  private constructor(readonly net: tf.LayersModel, nodes: PlanNode[], logitsName: string) {
    this.nodes = nodes;
    nodes.forEach((n, i) => this.index.set(n.name, i));
    this.inputName = nodes[0].name;
    this.logitsName = logitsName;
    for (const n of nodes) for (const p of n.inputs) this.consumers.set(p, [...(this.consumers.get(p) ?? []), n.name]);
    this.findChains();
  }

  private findChains(): void {
    const only = (name: string): PlanNode | null => {
      const c = this.consumers.get(name) ?? [];
      return c.length === 1 ? this.node(c[0]) : null;
    };
    for (const a of this.nodes) {
      const cls = a.layer.getClassName();
      const act = (a.layer as unknown as { activation?: { getClassName(): string } }).activation?.getClassName();
      if ((cls !== 'Conv2D' && cls !== 'DepthwiseConv2D') || act !== 'linear' || a.name === this.logitsName) continue;
      const members = [a];
      let next = only(a.name);
      let bn: PlanNode | null = null;
      if (next && next.layer.getClassName() === 'BatchNormalization' && next.kernel.outDims.length === 3) {
        bn = next;
        members.push(next);
        next = next.name === this.logitsName ? null : only(next.name);
      }
      const relu = next && reluLayerAct(next.layer) ? next : null;
      if (relu) members.push(relu);
      if (members.length < 2) continue;
      const fold: Fold = { bn: bn ? bnAffine(bn.layer) : undefined, act: relu ? reluLayerAct(relu.layer)! : 'linear' };
      const chain: Chain = { members: members.map((m) => m.name), end: members[members.length - 1].name, fold, kernel: layerKernel(a.layer, false, fold) };
      this.chains.set(a.name, chain);
      for (const m of members) this.chainOf.set(m.name, chain);
    }
  }

  /**
   * Compiles the model, or returns why it cannot run here (one line). Never throws: whatever it cannot
   * handle — a layer kind it does not compile, a graph it does not understand, a bug — is a reason,
   * and the model runs on TF.js.
   */
  static build(net: tf.LayersModel): OrtNet | string {
    try {
      if (!net.inputs?.length || !net.outputLayers?.length) throw new Unsupported('the model has no input or output layers yet (a Sequential model that was never built or called?)');
      if (net.inputs.length !== 1) throw new Unsupported(`${net.inputs.length} inputs`);
      const { logitsLayer, linear } = findLogits(net);
      // Layers on paths from the input to the logits layer, in graph order.
      const needed = new Set<string>();
      const stack = [logitsLayer];
      while (stack.length) {
        const l = stack.pop()!;
        if (needed.has(l.name)) continue;
        needed.add(l.name);
        if (l.inboundNodes.length !== 1) throw new Unsupported(`layer '${l.name}' is applied ${l.inboundNodes.length} times (a shared layer or a nested model)`);
        for (const p of l.inboundNodes[0].inboundLayers) stack.push(p);
      }
      const nodes: PlanNode[] = [];
      for (const layer of net.layers) {
        if (!needed.has(layer.name)) continue;
        if ((layer as unknown as { layers?: unknown }).layers) throw new Unsupported(`nested model '${layer.name}'`);
        const inputs = layer.getClassName() === 'InputLayer' ? [] : layer.inboundNodes[0].inboundLayers.map((l) => l.name);
        let kernel: LayerKernel;
        try {
          kernel = layerKernel(layer, linear && layer === logitsLayer);
        } catch (e) {
          if (e instanceof Unsupported) throw e;
          throw new Unsupported(`layer '${layer.name}' (${layer.getClassName()}) could not be compiled: ${oneLine(e)}`);
        }
        nodes.push({ name: layer.name, layer, inputs, kernel });
      }
      if (nodes[0]?.layer.getClassName() !== 'InputLayer') throw new Unsupported('the graph does not start at an input layer');
      return new OrtNet(net, nodes, logitsLayer.name);
    } catch (e) {
      if (e instanceof Unsupported) return oneLine(e);
      return `the engine could not compile the model: ${oneLine(e)}`;
    }
  }

  /** Position of a layer in the engine's order (−1 when it is not on the way to the logits). */
  indexOf(layer: string): number {
    return this.index.get(layer) ?? -1;
  }

  has(layer: string): boolean {
    return this.index.has(layer);
  }

  /** Internal dims (no batch) of a layer's output. */
  dims(layer: string): number[] {
    return this.node(layer).kernel.outDims;
  }

  private node(name: string): PlanNode {
    const i = this.index.get(name);
    if (i === undefined) throw new CnnvisError(`layer '${name}' is not on the path from the input to the logits`);
    return this.nodes[i];
  }

  /**
   * Runs the model on an NHWC batch. `keep`: layer names whose outputs are returned, or 'all' (every
   * value backward passes need). `key` (e.g. the input tensor) caches a complete pass for re-use.
   */
  forward(x: tf.Tensor4D, keep: readonly string[] | 'all', key?: unknown, upTo?: string, expose: readonly string[] = []): Forward {
    const end = upTo === undefined ? this.nodes.length - 1 : this.index.get(upTo);
    if (end === undefined) throw new CnnvisError(`layer '${upTo}' is not on the path from the input to the logits`);
    const need = keep === 'all' ? [...expose, ...(upTo ? [upTo] : [])] : keep;
    if (key !== undefined && this.last?.key === key && (keep !== 'all' || this.last.fw.complete) && this.last.fw.reached >= end) {
      const hit = this.last.fw;
      if (need.every((k) => hit.values.has(k))) return hit;
    }
    // A pass that will replace the kept one lets it go first (a VGG16 pass of four images keeps
    // 250 MB; batched methods would otherwise hold two).
    if (key !== undefined && keep === 'all') this.last = null;
    // Chains run fused unless a member other than the last is asked for or the pass stops inside one.
    const asked = new Set(need);
    const fused = new Set<string>();
    for (const ch of this.chains.values()) {
      const inner = ch.members.slice(0, -1);
      if (inner.some((m) => asked.has(m)) || this.index.get(ch.end)! > end) continue;
      for (const m of ch.members.slice(1)) fused.add(m);
    }
    const B = x.shape[0];
    const input = tf.tidy(() => (x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : x));
    const values = new Map<string, Saved>();
    values.set(this.inputName, { y: { data: input.dataSync() as Float32Array, dims: input.shape } });
    input.dispose();
    const inner = [...this.chains.values()].filter((ch) => this.index.get(ch.end)! <= end).reduce((a, ch) => a + ch.members.length - 1, 0);
    // The model in one runtime call: only the logits, or every value a backward pass reads up to `end`
    // for one image (for a batch, the runtime would hold every value while they are copied out:
    // 2 × 250 MB for four VGG16 images).
    if (keep === 'all' ? B === 1 && fused.size === inner : end === this.nodes.length - 1 && keep.every((k) => k === this.logitsName)) {
      const w = this.wholeGraph(keep === 'all', end);
      const outs = w.graph.run({ x: values.get(this.inputName)!.y, ...w.feeds }, keep === 'all' ? w.kept.map((_, k) => `o${k}`) : ['logits']);
      this.runs.forward++;
      if (keep !== 'all') return new Forward(B, new Map([[this.logitsName, { y: outs.logits }]]), false, end);
      w.kept.forEach((name, k) => values.set(name, { y: outs[`o${k}`] }));
      for (const n of this.nodes.slice(1, end + 1)) if (n.kernel.identity) values.set(n.name, values.get(n.inputs[0])!);
      const fw = new Forward(B, values, true, end);
      if (key !== undefined) this.last = { key, fw };
      return fw;
    }
    const all = keep === 'all';
    const wanted = new Set(all ? [] : [...keep, this.logitsName]);
    const remaining = new Map<string, number>();
    for (const [k, v] of this.consumers) remaining.set(k, v.length);
    for (const n of this.nodes.slice(1, end + 1)) {
      if (fused.has(n.name)) continue; // computed with its chain's first layer
      const ins = n.inputs.map((p) => values.get(p)!.y);
      const ch = this.chains.get(n.name);
      if (ch && fused.has(ch.members[1])) {
        ch.fwd ??= new OrtGraph(ch.kernel.forward!());
        values.set(ch.end, { y: ch.fwd.run({ x0: ins[0], ...ch.kernel.feeds }, ['y']).y });
        this.runs.forward++;
      } else if (n.kernel.identity) {
        values.set(n.name, { y: ins[0] });
      } else {
        n.fwd ??= new OrtGraph(n.kernel.both ? n.kernel.both() : n.kernel.forward!());
        const feeds: Record<string, OrtValue> = {};
        ins.forEach((v, i) => (feeds[`x${i}`] = v));
        if (n.kernel.both) {
          const none = { data: new Float32Array(0), dims: [0, ...n.kernel.outDims] };
          feeds.g = none;
          if (n.kernel.saved.length) feeds.ys = none;
          if (n.kernel.usesRule) feeds.rule = { data: RULE_COEFFS.gradient, dims: [3] };
        }
        const outs = n.fwd.run(feeds, ['y']);
        this.runs.forward++;
        values.set(n.name, { y: outs.y });
      }
      if (!all) {
        // Drop values nobody needs any more (a forward-only pass of a batch keeps little).
        for (const p of n.inputs) {
          const r = (remaining.get(p) ?? 1) - 1;
          remaining.set(p, r);
          if (r === 0 && !wanted.has(p)) values.delete(p);
        }
      }
    }
    const fw = new Forward(B, values, all, end);
    if (key !== undefined && all) this.last = { key, fw };
    return fw;
  }

  /**
   * Gradient of a seed at layer `from` (d score / d output of `from`, internal layout) with respect to
   * the output of layer `to` (or the input, `to` = the input layer's name). Needs a complete forward.
   */
  backward(fw: Forward, from: string, seed: OrtValue, to: string, rule: Rule = 'gradient'): OrtValue {
    return this.backwardFrom(fw, new Map([[from, seed]]), to, rule);
  }

  /** The same with seeds at several layers (their gradients add up where the paths meet). */
  backwardFrom(fw: Forward, seeds: Map<string, OrtValue>, to: string, rule: Rule = 'gradient'): OrtValue {
    if (!fw.complete) throw new Error('cnnvis: backward pass needs a complete forward pass');
    const i1 = this.index.get(to);
    for (const from of seeds.keys()) {
      const i = this.index.get(from);
      if (i === undefined || i1 === undefined || i1 > i) throw new CnnvisError(`no backward path from layer '${from}' to '${to}'`);
      if (i > fw.reached) throw new Error(`cnnvis: the forward pass stopped before layer '${from}'`);
    }
    if (i1 === undefined) throw new CnnvisError(`no backward path to layer '${to}'`);
    if (seeds.size === 1) {
      // One seed: the whole backward pass in one runtime call; a seed at a convolution that reaches only a
      // few of its channels first runs that layer cut to them (cutBackward).
      const [[from, seed]] = [...seeds];
      const ch = this.chainOf.get(from);
      const chain = ch && ch.end === from ? ch : undefined;
      const first = chain ? this.node(chain.members[0]) : this.node(from);
      const keep = this.cutChannels(first.layer, seed);
      if (keep) {
        // The seed's convolution on its few channels, then the rest of the pass from below it.
        if (this.index.get(first.name)! > i1 && first.inputs.length === 1) {
          const gx = this.cutBackward(first.layer, chain?.fold, seed, fw.get(from), rule, keep)!;
          return first.inputs[0] === to ? gx : this.backwardFrom(fw, new Map([[first.inputs[0], gx]]), to, rule);
        }
      } else {
        const w = this.wholeBackward(from, to, rule);
        if (!w) return { data: new Float32Array(size([fw.batch, ...this.dims(to)])), dims: [fw.batch, ...this.dims(to)] };
        const feeds: Record<string, OrtValue> = { seed, ...w.feeds };
        w.values.forEach((layer, k) => (feeds[`v${k}`] = fw.get(layer)));
        this.runs.backward++;
        return w.graph.run(feeds, ['gx']).gx;
      }
    }
    const grads = this.walkBack(seeds, i1, sumValues, {
      chain: (ch, g) => {
        const cut = this.cutBackward(this.node(ch.members[0]).layer, ch.fold, g, ch.kernel.saved.includes('y') ? fw.get(ch.end) : undefined, rule);
        if (cut) return cut;
        // The whole chain in one graph, from its output's gradient to its input's.
        const feeds: Record<string, OrtValue> = { g };
        if (ch.kernel.feeds) feeds.bn_s = ch.kernel.feeds.bn_s;
        if (ch.kernel.saved.includes('y')) feeds.y = fw.get(ch.end);
        this.runs.backward++;
        return backwardGraph(ch, rule).run(feeds, ['gx0']).gx0;
      },
      layer: (n, g) => {
        const cut = this.cutBackward(n.layer, undefined, g, n.kernel.saved.includes('y') ? fw.get(n.name) : undefined, rule);
        if (cut) return [cut];
        if (n.kernel.both) n.fwd ??= new OrtGraph(n.kernel.both());
        const graph = n.kernel.both ? n.fwd! : backwardGraph(n, rule);
        const feeds: Record<string, OrtValue> = { g };
        for (const s of n.kernel.saved) {
          if (s === 'x') n.inputs.forEach((p, k) => (feeds[`x${k}`] = fw.get(p)));
          else feeds[n.kernel.both ? 'ys' : 'y'] = fw.get(n.name);
        }
        if (n.kernel.both) {
          feeds.x0 = { data: new Float32Array(0), dims: [0, ...this.node(n.inputs[0]).kernel.outDims] };
          if (n.kernel.usesRule) feeds.rule = { data: RULE_COEFFS[rule], dims: [3] };
        }
        const outs = graph.run(feeds, n.inputs.map((_, k) => `gx${k}`));
        this.runs.backward++;
        return n.inputs.map((_, k) => outs[`gx${k}`]);
      },
    });
    const g = grads.get(to);
    if (!g) {
      // The seed does not depend on `to`: a zero gradient.
      const dims = [fw.batch, ...this.dims(to)];
      return { data: new Float32Array(size(dims)), dims };
    }
    return g;
  }

  /**
   * The model from its input to its logits as one ONNX graph: every layer's (or chain's) forward graph,
   * renamed and wired together, so a pass that keeps nothing but the logits (batched forward work:
   * occlusion, Score-CAM, predictions of several images) is one call with no values copied out between
   * layers. With `all`, every value a backward pass reads is an output too, and large weights stay fed
   * from where they live; the logits-only graph has its weights as constants (the runtime's own copy;
   * large Dense kernels stay fed, see converters/dense.ts).
   */
  private wholeGraph(all: boolean, end = this.nodes.length - 1): { graph: OrtGraph; feeds: Record<string, OrtValue>; kept: string[] } {
    const hit = all ? this.wholeAll.get(end) : this.whole;
    if (hit) return hit;
    const c = new Composer();
    const value = new Map<string, string>([[this.inputName, c.input('x', this.dims(this.inputName))]]);
    // Chains that end by `end` run fused, as in the layer-by-layer pass.
    const inner = new Set<string>();
    const fusedAt = new Map<string, Chain>();
    for (const ch of this.chains.values()) {
      if (this.index.get(ch.end)! > end) continue;
      fusedAt.set(ch.members[0], ch);
      for (const m of ch.members.slice(1)) inner.add(m);
    }
    for (const n of this.nodes.slice(1, end + 1)) {
      if (inner.has(n.name)) continue;
      if (n.kernel.identity) {
        value.set(n.name, value.get(n.inputs[0])!);
        continue;
      }
      const ch = fusedAt.get(n.name);
      const kernel = (ch ?? n).kernel;
      const wire: Record<string, string> = {};
      n.inputs.forEach((l, i) => (wire[`x${i}`] = value.get(l)!));
      // The logits-only graph embeds the weights: the runtime folds batch norms into convolutions, fuses
      // activations, pre-packs kernels and picks its blocked layout. Graphs whose values feed gradient
      // masks keep them fed, so those values round as the layer graphs (and TF.js) compute them.
      const out = c.part(kernel.forward!(!all), wire, (name) => kernel.feeds![name]);
      value.set(ch ? ch.end : n.name, out('y'));
    }
    if (!all) return (this.whole = { ...c.build([{ name: 'logits', value: value.get(this.logitsName)!, dims: this.dims(this.logitsName) }]), kept: [this.logitsName] });
    // Every layer value the layer-by-layer pass keeps (chains give only their end; identities alias).
    const kept = [...value.keys()].filter((name) => name !== this.inputName && !this.node(name).kernel.identity);
    const whole = { ...c.build(kept.map((name, k) => ({ name: `o${k}`, value: value.get(name)!, dims: this.dims(name) }))), kept };
    if (this.wholeAll.size >= 4) {
      const oldest = this.wholeAll.keys().next().value as number;
      this.wholeAll.get(oldest)!.graph.dispose();
      this.wholeAll.delete(oldest);
    }
    this.wholeAll.set(end, whole);
    return whole;
  }

  /**
   * The backward traversal shared by the layer-by-layer pass and the composed graph: from the seeds down
   * to layer index `i1`, each chain (whole, when it lies above `i1` and no inner member is a seed) or
   * layer turns its output's gradient into its inputs' gradients (`through`); gradients meeting at a
   * layer are added with `sum`. Returns the gradients left at `i1` and below.
   */
  private walkBack<V>(seeds: Map<string, V>, i1: number, sum: (a: V, b: V) => V, through: { chain(ch: Chain, g: V): V; layer(n: PlanNode, g: V): V[] }): Map<string, V> {
    const grads = new Map<string, V>();
    const add = (name: string, g: V) => grads.set(name, grads.has(name) ? sum(grads.get(name)!, g) : g);
    for (const [k, v] of seeds) add(k, v);
    const i0 = Math.max(...[...seeds.keys()].map((k) => this.index.get(k)!));
    for (let i = i0; i > i1; i--) {
      const n = this.nodes[i];
      const g = grads.get(n.name);
      if (g === undefined) continue;
      grads.delete(n.name);
      const ch = this.chainOf.get(n.name);
      if (ch && ch.end === n.name && ch.members.every((m) => m === ch.end || (this.index.get(m)! > i1 && !seeds.has(m)))) {
        add(this.node(ch.members[0]).inputs[0], through.chain(ch, g));
      } else if (n.kernel.identity || n.kernel.sumGradient) {
        for (const p of n.inputs) add(p, g);
      } else {
        const gx = through.layer(n, g);
        n.inputs.forEach((p, k) => add(p, gx[k]));
      }
    }
    return grads;
  }

  /**
   * The backward pass from `from` to `to` under `rule` as one graph composed from the layer graphs the
   * layer-by-layer loop would run (chains whole, gradients of a value used twice added): inputs the
   * seed and the forward values they read, output the gradient at `to`. Null when no gradient reaches `to`.
   */
  private wholeBackward(from: string, to: string, rule: Rule): { graph: OrtGraph; feeds: Record<string, OrtValue>; values: string[] } | null {
    const key = `${from}\u0000${to}\u0000${rule}`;
    if (this.wholeBack.has(key)) return this.wholeBack.get(key)!;
    const c = new Composer();
    const saved = new Map<string, string>();
    const valueOf = (layer: string) => {
      if (!saved.has(layer)) saved.set(layer, c.input(`v${saved.size}`, this.dims(layer)));
      return saved.get(layer)!;
    };
    const grads = this.walkBack(new Map([[from, c.input('seed', this.dims(from))]]), this.index.get(to)!, (a, b) => c.add(a, b), {
      chain: (ch, g) => {
        const wire: Record<string, string> = { g };
        if (ch.kernel.saved.includes('y')) wire.y = valueOf(ch.end);
        return c.part(backwardSpec(ch, rule), wire, (name) => ch.kernel.feeds![name])('gx0');
      },
      layer: (n, g) => {
        const wire: Record<string, string> = { g };
        for (const s of n.kernel.saved) {
          if (s === 'x') n.inputs.forEach((p, k) => (wire[`x${k}`] = valueOf(p)));
          else wire[n.kernel.both ? 'ys' : 'y'] = valueOf(n.name);
        }
        const spec = n.kernel.both ? n.kernel.both() : backwardSpec(n, rule);
        // A Dense graph runs its backward half here: its gradient batch is the pass's, its forward half empty.
        const out = c.part(spec, wire, (name, dims) => (name === 'rule' ? { data: RULE_COEFFS[rule], dims: [3] } : zeroRows(dims)), n.kernel.both ? { b: 'none', bg: 'b' } : {});
        return n.inputs.map((_, k) => out(`gx${k}`));
      },
    });
    const g = grads.get(to);
    const whole = g ? { ...c.build([{ name: 'gx', value: g, dims: this.dims(to) }]), values: [...saved.keys()] } : null;
    if (this.wholeBack.size >= 8) {
      const oldest = this.wholeBack.keys().next().value as string;
      this.wholeBack.get(oldest)?.graph.dispose();
      this.wholeBack.delete(oldest);
    }
    this.wholeBack.set(key, whole);
    return whole;
  }

  /** The few output channels of convolution `layer` that gradient `g` reaches, or null (not a convolution, or not that sparse). */
  private cutChannels(layer: tf.layers.Layer, g: OrtValue): number[] | null {
    // (Not a convolution whose activation's gradient reads its input: a cut pass is fed only its output.)
    if (layer.getClassName() !== 'Conv2D' || this.node(layer.name).kernel.saved.includes('x') || g.dims.length !== 4 || layer.name === this.logitsName || g.dims[1] < 16) return null;
    return activeChannels(g, g.dims[1] / 4);
  }

  /**
   * The input gradient of a convolution (alone or first in a chain) whose output gradient `g` is zero in
   * all but a few channels — an objective or target on one filter: its backward graph on just those
   * channels (`keep`, from cutChannels), a fraction of the work. Null when the layer is not a plain
   * convolution or `g` not that sparse.
   */
  private cutBackward(layer: tf.layers.Layer, fold: Fold | undefined, g: OrtValue, y: OrtValue | undefined, rule: Rule, keep = this.cutChannels(layer, g)): OrtValue | null {
    if (!keep) return null;
    const key = `${layer.name}\u0000${keep.join(',')}`;
    let k = this.cut.get(key);
    if (!k) {
      if (this.cut.size >= 8) {
        const oldest = this.cut.keys().next().value as string;
        for (const gr of Object.values(this.cut.get(oldest)!.bwd ?? {})) gr.dispose();
        this.cut.delete(oldest);
      }
      k = { kernel: layerKernel(layer, false, fold, keep) };
      this.cut.set(key, k);
    }
    const feeds: Record<string, OrtValue> = { g: pickChannels(g, keep) };
    if (k.kernel.feeds) feeds.bn_s = k.kernel.feeds.bn_s;
    if (k.kernel.saved.includes('y')) feeds.y = pickChannels(y!, keep);
    this.runs.backward++;
    this.runs.cut++;
    return backwardGraph(k, rule).run(feeds, ['gx0']).gx0;
  }

  /** Drops compiled graphs (weights changed) and cached passes. */
  dispose(): void {
    for (const n of [...this.nodes, ...this.chains.values()]) {
      n.fwd?.dispose();
      for (const g of Object.values(n.bwd ?? {})) g.dispose();
      n.fwd = undefined;
      n.bwd = undefined;
    }
    for (const k of this.cut.values()) for (const g of Object.values(k.bwd ?? {})) g.dispose();
    this.cut.clear();
    this.whole?.graph.dispose();
    this.whole = undefined;
    for (const w of this.wholeAll.values()) w.graph.dispose();
    this.wholeAll.clear();
    for (const w of this.wholeBack.values()) w?.graph.dispose();
    this.wholeBack.clear();
    this.last = null;
  }
}

/** The channels of a [B, C, H, W] value holding a nonzero anywhere in the batch, or null when more than `max` do. */
function activeChannels(v: OrtValue, max: number): number[] | null {
  const [B, C] = v.dims;
  const plane = v.dims[2] * v.dims[3];
  const d = v.data as Float32Array;
  const keep: number[] = [];
  for (let c = 0; c < C; c++) {
    search: for (let b = 0; b < B; b++) {
      const o = (b * C + c) * plane;
      for (let j = o; j < o + plane; j++) {
        if (d[j] !== 0) {
          keep.push(c);
          if (keep.length > max) return null;
          break search;
        }
      }
    }
  }
  return keep;
}

/** Channels `keep` of a [B, C, H, W] value, in that order. */
function pickChannels(v: OrtValue, keep: readonly number[]): OrtValue {
  const [B, C, H, W] = v.dims;
  const plane = H * W;
  const src = v.data as Float32Array;
  const out = new Float32Array(B * keep.length * plane);
  for (let b = 0; b < B; b++) keep.forEach((c, k) => out.set(src.subarray((b * C + c) * plane, (b * C + c + 1) * plane), (b * keep.length + k) * plane));
  return { data: out, dims: [B, keep.length, H, W] };
}

/**
 * The layer whose output is the raw (pre-softmax / pre-sigmoid) logits (models/head.ts), and whether
 * its activation is fused into it (compiled linear).
 */
function findLogits(net: tf.LayersModel): { logitsLayer: tf.layers.Layer; linear: boolean } {
  if (net.outputs.length !== 1) throw new Unsupported(`${net.outputs.length} outputs`);
  const head = modelHead(net);
  return { logitsLayer: head.logitsLayer, linear: head.fused };
}

const nets = new WeakMap<tf.LayersModel, { version: number; net: OrtNet | string }>();

/** One line of an error's message, without control characters (binary data never reaches users), at most 300 characters. */
function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // eslint-disable-next-line no-control-regex
  const line = (text.split('\n').find((l) => l.trim()) ?? '').replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line || (e instanceof Error ? e.name : 'unknown error');
}

/** A weak reference (ES2021; the project's TypeScript library is older). */
interface Weak<T> {
  deref(): T | undefined;
}
const WeakRefCtor = (globalThis as unknown as { WeakRef: new <T extends object>(target: T) => Weak<T> }).WeakRef;

/** Models that run on TF.js although the engine is available, and why (the last few, for backendReport()). */
const fallbacks: { net: Weak<tf.LayersModel>; name: string; reason: string }[] = [];

/** Models the engine failed on at run time (they stay on TF.js). */
const failed = new WeakMap<tf.LayersModel, string>();

function noteFallback(net: tf.LayersModel, reason: string | null): void {
  const i = fallbacks.findIndex((f) => f.net.deref() === net);
  if (i >= 0) fallbacks.splice(i, 1);
  if (reason === null) return;
  fallbacks.push({ net: new WeakRefCtor(net), name: net.name, reason });
  if (fallbacks.length > 8) fallbacks.shift();
}

/** 'model 'name' runs on TF.js: reason' for each live model the engine does not run, most recent last. */
export function engineFallbacks(): string[] {
  return fallbacks.filter((f) => f.net.deref() !== undefined).map((f) => `model '${f.name}' runs on TF.js: ${f.reason}`);
}

/** The compiled model (cached, rebuilt after weight changes), or null when it cannot run here. */
export function ortNet(net: tf.LayersModel): OrtNet | null {
  if (!ortRuntime() || failed.has(net)) return null;
  let version: number;
  try {
    version = weightsVersion(net);
  } catch (e) {
    version = -1;
    if (!nets.has(net)) {
      const reason = `the engine could not read the model's weights: ${oneLine(e)}`;
      nets.set(net, { version, net: reason });
      noteFallback(net, reason);
    }
  }
  const hit = nets.get(net);
  if (hit && hit.version === version) return typeof hit.net === 'string' ? null : hit.net;
  if (hit && typeof hit.net !== 'string') hit.net.dispose();
  const built = OrtNet.build(net);
  nets.set(net, { version, net: built });
  noteFallback(net, typeof built === 'string' ? built : null);
  return typeof built === 'string' ? null : built;
}

/**
 * Runs `fn` on the engine when the model runs there, and returns its value; undefined when the model
 * does not run on the engine, when `fn` returns undefined, or when the engine fails on it. A failure
 * (a graph the runtime refuses, a run that throws) moves the model to TF.js for good, with the reason
 * kept for ortUnsupportedReason() and backendReport(): the caller then computes the same thing on TF.js.
 * User errors (CnnvisError) pass through. Tensors `fn` made are freed when it fails.
 */
export function onEngine<T>(net: tf.LayersModel, fn: (ort: OrtNet) => T | undefined): T | undefined {
  const ort = ortNet(net);
  if (!ort) return undefined;
  const engine = tf.engine();
  engine.startScope();
  let value: T | undefined;
  try {
    value = fn(ort);
  } catch (e) {
    engine.endScope();
    if (e instanceof CnnvisError) throw e;
    engineFailed(net, e);
    return undefined;
  }
  engine.endScope(value as unknown as tf.TensorContainer);
  return value;
}

/** Moves a model to TF.js after the engine failed on it (see onEngine). */
export function engineFailed(net: tf.LayersModel, e: unknown): void {
  const hit = nets.get(net);
  if (hit && typeof hit.net !== 'string') hit.net.dispose();
  const reason = `the engine failed on it: ${oneLine(e)}`;
  nets.set(net, { version: hit?.version ?? -1, net: reason });
  failed.set(net, reason);
  noteFallback(net, reason);
}

/** Why a model does not run on ONNX Runtime ('' when it does). */
export function ortUnsupportedReason(net: tf.LayersModel): string {
  if (!ortRuntime()) return 'onnxruntime is not available';
  ortNet(net);
  if (failed.has(net)) return failed.get(net)!;
  const hit = nets.get(net);
  return hit && typeof hit.net === 'string' ? hit.net : '';
}

/** An internal-layout value as a TF tensor in TF's layout (NHWC for 4-d). */
export function toTensor(v: OrtValue): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(v.data as Float32Array, v.dims);
    return v.dims.length === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t;
  });
}

/** A TF tensor (NHWC for 4-d) in the internal layout. */
export function fromTensor(t: tf.Tensor): OrtValue {
  const u = t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
  const v = { data: u.dataSync() as Float32Array, dims: u.shape };
  if (u !== t) u.dispose();
  return v;
}


/** The engine a model's passes run on, for results: 'wasm', or 'wasm+onnxruntime'. */
export function engineLabel(backend: string, net: tf.LayersModel): string {
  return ortNet(net) ? `${backend}+onnxruntime` : backend;
}

/** A zero-row value for a graph input of dims [batch, ...] (the unused direction of a Dense graph). */
function zeroRows(dims: (number | string)[]): OrtValue {
  return { data: new Float32Array(0), dims: [0, ...(dims.slice(1) as number[])] };
}

/** The spec of a node's (or chain's) backward graph for `rule`. */
function backwardSpec(n: { kernel: LayerKernel }, rule: Rule): GraphSpec {
  return n.kernel.backward!(n.kernel.usesRule ? rule : 'gradient');
}

/**
 * Joins layer graphs into one: each part's values get their own prefix; its inputs are wired to values
 * of the whole graph or become inputs of the whole, fed on every run with constant values.
 */
class Composer {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: InitSpec[] = [];
  private readonly inputs: GraphSpec['inputs'] = [];
  private readonly bound: NonNullable<GraphSpec['bound']> = {};
  private readonly feeds: Record<string, OrtValue> = {};
  private parts = 0;

  /** An input of the whole graph fed by the caller (dims without the batch); returns its name. */
  input(name: string, dims: number[]): string {
    this.inputs.push({ name, type: DT.FLOAT, dims: ['b', ...dims] });
    return name;
  }

  /**
   * Adds a layer graph. `wire` gives whole-graph values for some of its inputs; its bound weights stay
   * bound; its other inputs are fed `constant(name, dims)`, their symbolic dims renamed by `batchDims`.
   * Returns the whole-graph name of its values.
   */
  part(spec: GraphSpec, wire: Record<string, string>, constant: (name: string, dims: (number | string)[]) => OrtValue, batchDims: Record<string, string> = {}): (name: string) => string {
    const p = `p${this.parts++}_`;
    const rename = new Map<string, string>(Object.entries(wire));
    for (const i of spec.inputs) {
      if (rename.has(i.name)) continue;
      rename.set(i.name, p + i.name);
      this.inputs.push({ ...i, name: p + i.name, dims: i.dims.map((d) => (typeof d === 'string' ? (batchDims[d] ?? d) : d)) });
      if (spec.bound?.[i.name]) this.bound[p + i.name] = spec.bound[i.name];
      else this.feeds[p + i.name] = constant(i.name, i.dims);
    }
    const re = (v: string) => (v === '' ? '' : (rename.get(v) ?? p + v));
    for (const t of spec.initializers) this.initializers.push({ ...t, name: re(t.name) });
    for (const nd of spec.nodes) this.nodes.push({ ...nd, inputs: nd.inputs.map(re), outputs: nd.outputs.map(re), name: undefined });
    return re;
  }

  /** a + b, a new value. */
  add(a: string, b: string): string {
    const out = `sum${this.nodes.length}`;
    this.nodes.push({ op: 'Add', inputs: [a, b], outputs: [out] });
    return out;
  }

  /** The compiled graph with the given outputs, and the constant feeds of its runs. */
  build(outputs: { name: string; value: string; dims: number[] }[]): { graph: OrtGraph; feeds: Record<string, OrtValue> } {
    for (const o of outputs) this.nodes.push({ op: 'Identity', inputs: [o.value], outputs: [o.name] });
    const graph = new OrtGraph({
      name: 'cnnvis-composed',
      bound: this.bound,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: outputs.map((o) => ({ name: o.name, type: DT.FLOAT, dims: ['b', ...o.dims] })),
    });
    return { graph, feeds: this.feeds };
  }
}
