/**
 * Layer graphs joined into one graph per kind of pass, so a pass is one runtime call with no values
 * copied out between layers: the forward pass up to the logits (or up to a layer, with every value a
 * backward pass reads as an output), and the backward pass from one seed to one layer.
 */
import { Chain, Plan } from './plan';
import { Embed, Rule } from './layers';
import { DT, GraphSpec, InitSpec, NodeSpec } from './proto';
import { OrtGraph, OrtValue } from './runtime';
import { ruleValue, zeroRows } from './values';
import { Composed, WholeBackward, WholeForward, WholeSuffix } from './caches';

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

  /** One operator on whole-graph values; returns its output. */
  op(op: string, inputs: string[], attrs?: NodeSpec['attrs']): string {
    const out = `c${this.nodes.length}`;
    this.nodes.push({ op, inputs, outputs: [out], attrs });
    return out;
  }

  /** An int64 constant of the whole graph; returns its name. */
  constant(name: string, values: number[]): string {
    const raw = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
    this.initializers.push({ name: `k_${name}`, dims: [values.length], type: DT.INT64, raw });
    return `k_${name}`;
  }

  /** a + b, a new value. */
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }

  /** The compiled graph with the given outputs, and the constant feeds of its runs. */
  build(outputs: { name: string; value: string; dims: number[] }[]): { graph: OrtGraph; feeds: Record<string, OrtValue> } {
    // An output is its value renamed; only a value asked twice, or a graph input, gets an Identity
    // (an Identity per output made ONNX Runtime's basic optimizations drop a fused value that
    // another output still read: "Node input … is not a graph input" when loading MobileNet's taps).
    const made = new Set(this.nodes.flatMap((n) => n.outputs));
    const rename = new Map<string, string>();
    for (const o of outputs) {
      if (made.has(o.value) && !rename.has(o.value)) rename.set(o.value, o.name);
      else this.nodes.push({ op: 'Identity', inputs: [o.value], outputs: [o.name] });
    }
    const re = (v: string) => rename.get(v) ?? v;
    for (const n of this.nodes) {
      n.inputs = n.inputs.map(re);
      n.outputs = n.outputs.map(re);
    }
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

/**
 * The forward layer graphs up to node index `end` added to `c`, from the whole-graph value `x`: the
 * whole-graph value of each layer (chains that end by `end` run fused, as in the layer-by-layer pass,
 * and give only their end; identities alias).
 */
function forwardPart(c: Composer, plan: Plan, x: string, end: number, embed: Embed): Map<string, string> {
  const value = new Map<string, string>([[plan.inputName, x]]);
  layersPart(c, plan, value, 1, end, embed, (l) => value.get(l)!);
  return value;
}

/**
 * The forward graphs of nodes `start`…`end` added to `c`, each layer's whole-graph value set in `value`;
 * a layer's inputs come from `valueOf` (the values set so far, or graph inputs it makes).
 */
function layersPart(c: Composer, plan: Plan, value: Map<string, string>, start: number, end: number, embed: Embed, valueOf: (layer: string) => string): void {
  const { chains, inner } = plan.chainsUpTo(end);
  const fusedAt = new Map<string, Chain>(chains.map((ch) => [ch.members[0], ch]));
  for (const n of plan.nodes.slice(start, end + 1)) {
    if (inner.has(n.name)) continue;
    if (n.kernel.identity) {
      value.set(n.name, valueOf(n.inputs[0]));
      continue;
    }
    const ch = fusedAt.get(n.name);
    const kernel = (ch ?? n).kernel;
    const wire: Record<string, string> = {};
    n.inputs.forEach((l, i) => (wire[`x${i}`] = valueOf(l)));
    const out = c.part(kernel.forward!(embed), wire, (name) => kernel.feeds![name]);
    value.set(ch ? ch.end : n.name, out('y'));
  }
}

/** The graph's image input: NHWC (TF's layout, transposed in the graph) for images, else as the engine holds it. */
function imageInput(c: Composer, plan: Plan, nhwc: boolean): string {
  const dims = plan.dims(plan.inputName);
  if (!nhwc || dims.length !== 3) return c.input('x', dims);
  const [C, H, W] = dims;
  return c.op('Transpose', [c.input('x', [H, W, C])], { perm: [0, 3, 1, 2] });
}

/**
 * The model from its input to its logits (or to node index `end`) as one graph: every layer's (or
 * chain's) forward graph, renamed and wired together, weights as constants (the runtime pre-packs
 * kernels, fuses activations and picks its blocked layout, at the price of its own copy; large Dense
 * kernels stay fed, see converters/dense.ts). The logits-only graph also lets the runtime fold batch
 * norms into convolutions and takes images in TF's layout (NHWC). With `all`, every value a backward
 * pass reads is an output (chains give only their end; identities alias; `only` limits them to those
 * values), and batch norms stay apart from the kernels (Embed 'weights'), so those values, which feed
 * gradient masks, round as the layer graphs compute them.
 */
export function composeForward(plan: Plan, all: boolean, end: number, only?: ReadonlySet<string>): WholeForward {
  const c = new Composer();
  const value = forwardPart(c, plan, imageInput(c, plan, !all), end, all ? 'weights' : true);
  if (!all) return { ...c.build([{ name: 'logits', value: value.get(plan.logitsName)!, dims: plan.dims(plan.logitsName) }]), kept: [plan.logitsName] };
  // `only`: just these values leave the runtime (a pass that serves backward passes down to a layer).
  const kept = [...value.keys()].filter((name) => name !== plan.inputName && !plan.node(name).kernel.identity && (!only || only.has(name)));
  return { ...c.build(kept.map((name, k) => ({ name: `o${k}`, value: value.get(name)!, dims: plan.dims(name) }))), kept };
}

/**
 * The model up to node index `end` as one graph whose outputs are the values of `layers` (and the
 * logits when `end` is the last node): taps without a complete pass. Weights are constants but batch
 * norms stay apart from the kernels (Embed 'weights'), so a tap rounds as the same layer's value in a
 * complete pass (an explorer's map and the method's own are equal); images in TF's layout. Null when
 * an asked layer runs inside a fused chain (the layer-by-layer pass then runs that chain unfused).
 */
export function composeTaps(plan: Plan, end: number, layers: readonly string[]): WholeForward | null {
  const c = new Composer();
  const value = forwardPart(c, plan, imageInput(c, plan, true), end, 'weights');
  const kept = [...new Set(end === plan.nodes.length - 1 ? [...layers, plan.logitsName] : layers)];
  if (kept.some((name) => name === plan.inputName || !value.has(name))) return null;
  return { ...c.build(kept.map((name, k) => ({ name: `o${k}`, value: value.get(name)!, dims: plan.dims(name) }))), kept };
}

/**
 * The model from the output of layer `from` on to its logits as one graph (Ablation-CAM runs it on
 * copies of that output with channels set to a value): input `y`, the output of `from` (internal
 * layout), and `e{k}`, the values of earlier layers that a later layer reads (a skip connection
 * around `from`; `earlier` names them); output the raw logits. Weights are constants and batch norms
 * fold into the kernels, as in the logits graph. Null when `from` is the input, the logits, or a layer
 * inside a fused chain (its output exists only unfused).
 */
export function composeSuffix(plan: Plan, from: string): WholeSuffix | null {
  const i0 = plan.indexOf(from);
  const last = plan.nodes.length - 1;
  if (i0 <= 0 || i0 >= last) return null;
  const { chains } = plan.chainsUpTo(last);
  // A chain's end is its output; any other member's value exists only when the chain runs unfused.
  if (chains.some((ch) => ch.members.slice(0, -1).includes(from))) return null;
  const c = new Composer();
  const value = new Map<string, string>([[from, c.input('y', plan.dims(from))]]);
  const earlier: string[] = [];
  const valueOf = (l: string): string => {
    let v = value.get(l);
    if (v === undefined) {
      v = c.input(`e${earlier.length}`, plan.dims(l));
      earlier.push(l);
      value.set(l, v);
    }
    return v;
  };
  layersPart(c, plan, value, i0 + 1, last, true, valueOf);
  return { ...c.build([{ name: 'logits', value: value.get(plan.logitsName)!, dims: plan.dims(plan.logitsName) }]), earlier };
}

/** The spec of a layer's (or chain's) backward graph for `rule`. */
function backwardSpec(kernel: Chain['kernel'], rule: Rule, embed: boolean): GraphSpec {
  return kernel.backward!(kernel.usesRule ? rule : 'gradient', embed);
}

/**
 * The backward layer graphs from the gradients `seeds` (layer → whole-graph value) down to layer `to` added to `c`
 * (chains whole, gradients of a value used twice added), reading forward values through `valueOf`.
 * The whole-graph gradient at `to`, or null when none reaches it.
 */
function backwardPart(c: Composer, plan: Plan, seeds: Map<string, string>, to: string, rule: Rule, valueOf: (layer: string) => string, embed: boolean): string | null {
  const grads = plan.walkBack(seeds, plan.indexOf(to), (a, b) => c.add(a, b), {
    chain: (ch, g) => {
      const wire: Record<string, string> = { g };
      if (ch.kernel.saved.includes('y')) wire.y = valueOf(ch.end);
      return c.part(backwardSpec(ch.kernel, rule, embed), wire, (name) => ch.kernel.feeds![name])('gx0');
    },
    layer: (n, g) => {
      const wire: Record<string, string> = { g };
      for (const s of n.kernel.saved) {
        if (s === 'x') n.inputs.forEach((p, k) => (wire[`x${k}`] = valueOf(p)));
        else wire[n.kernel.both ? 'ys' : 'y'] = valueOf(n.name);
      }
      const spec = n.kernel.both ? n.kernel.both() : backwardSpec(n.kernel, rule, embed);
      // A Dense graph runs its backward half here: its gradient batch is the pass's, its forward half empty.
      const out = c.part(spec, wire, (name, dims) => (name === 'rule' ? ruleValue(rule) : zeroRows(dims)), n.kernel.both ? { b: 'none', bg: 'b' } : {});
      return n.inputs.map((_, k) => out(`gx${k}`));
    },
  });
  return grads.get(to) ?? null;
}

/**
 * The backward pass from `from` to `to` under `rule` as one graph composed from the layer graphs the
 * layer-by-layer loop would run: inputs the seed and the forward values they read (`v{k}`: the layers
 * in `values`), output the gradient at `to`. Null when no gradient reaches `to`.
 */
export function composeBackward(plan: Plan, from: string, to: string, rule: Rule): WholeBackward | null {
  const c = new Composer();
  const saved = new Map<string, string>();
  const valueOf = (layer: string) => {
    if (!saved.has(layer)) saved.set(layer, c.input(`v${saved.size}`, plan.dims(layer)));
    return saved.get(layer)!;
  };
  const g = backwardPart(c, plan, new Map([[from, c.input('seed', plan.dims(from))]]), to, rule, valueOf, false);
  return g ? { ...c.build([{ name: 'gx', value: g, dims: plan.dims(to) }]), values: [...saved.keys()] } : null;
}

/**
 * Forward and backward in one graph from an image batch (NHWC): the forward layer graphs up to the
 * deepest layer of `from`, then the backward layer graphs from a seed at each layer of `from` (graph
 * inputs `s0`, `s1`, … in the internal layout) down to the input under `rule`, reading the forward
 * values where they are computed, so no layer value leaves the runtime (the runtime plans their
 * memory). Weights are constants (pre-packed, blocked layout) but batch norms stay apart from the
 * kernels (Embed 'weights'), so every value, and every gradient mask read from it, rounds as in the
 * layer graphs. Null when no gradient reaches the input, or when the forward part runs fused a value
 * the seeds or the backward part need on its own (a seed inside a chain the forward part fuses).
 */
function composePass(plan: Plan, from: readonly string[], rule: Rule): { c: Composer; value: Map<string, string>; seeds: string[]; gx: string; heldBytes: number } | null {
  const c = new Composer();
  const end = Math.max(...from.map((l) => plan.indexOf(l)));
  const value = forwardPart(c, plan, imageInput(c, plan, true), end, 'weights');
  if (from.some((l) => !value.has(l))) return null;
  const seeds = from.map((l, k) => c.input(`s${k}`, plan.dims(l)));
  let missing = false;
  // The forward values the backward part reads (bytes per image, by value).
  const held = new Map<string, number>();
  const valueOf = (layer: string) => {
    const v = value.get(layer);
    if (v === undefined) missing = true;
    else held.set(v, plan.dims(layer).reduce((a, d) => a * d, 4));
    return v ?? '';
  };
  const g = backwardPart(c, plan, new Map(from.map((l, k) => [l, seeds[k]])), plan.inputName, rule, valueOf, true);
  if (!g || missing) return null;
  const dims = plan.dims(plan.inputName);
  const gx = dims.length === 3 ? c.op('Transpose', [g], { perm: [0, 2, 3, 1] }) : g;
  return { c, value, seeds, gx, heldBytes: [...held.values()].reduce((a, b) => a + b, 0) };
}

/** The graph's output for the input gradient: NHWC for images. */
function gxOutput(plan: Plan, gx: string): { name: string; value: string; dims: number[] } {
  const dims = plan.dims(plan.inputName);
  return { name: 'gx', value: gx, dims: dims.length === 3 ? [dims[1], dims[2], dims[0]] : dims };
}

/**
 * A class's input gradient in one graph (composePass from the logits): an image batch `x` (NHWC) and
 * the gradient `s0` at the logits in, the logits and the gradient at the input (`gx`, NHWC for images)
 * out. Null when no gradient reaches the input.
 */
export function composeInputGradient(plan: Plan, rule: Rule): Composed | null {
  const p = composePass(plan, [plan.logitsName], rule);
  if (!p) return null;
  return { ...p.c.build([{ name: 'logits', value: p.value.get(plan.logitsName)!, dims: plan.dims(plan.logitsName) }, gxOutput(plan, p.gx)]), heldBytes: p.heldBytes };
}

/**
 * The gradient of a score that is a weighted sum of layer outputs (a linear objective), in one graph
 * (composePass from the layers `from`): an image batch `x` (NHWC) and the weights — d score / d output
 * of each layer, `s{k}` — in; each image's score (`score`, [B]: Σ over the layers of seed · output) and
 * the gradient at the input (`gx`, NHWC) out. Null when composePass is.
 */
export function composeObjectiveGradient(plan: Plan, from: readonly string[], rule: Rule): Composed | null {
  const p = composePass(plan, from, rule);
  if (!p) return null;
  const { c } = p;
  const axis = c.constant('axes', [1]);
  const parts = from.map((l, k) => c.op('ReduceSum', [c.op('Flatten', [c.op('Mul', [p.seeds[k], p.value.get(l)!])], { axis: 1 }), axis], { keepdims: 0 }));
  const score = parts.reduce((a, b) => c.add(a, b));
  return { ...c.build([{ name: 'score', value: score, dims: [] }, gxOutput(plan, p.gx)]), heldBytes: p.heldBytes };
}
