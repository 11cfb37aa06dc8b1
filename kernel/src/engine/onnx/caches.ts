/**
 * What a compiled model keeps between calls: its layer and chain graphs (compiled on first use, a
 * backward graph per ReLU rule where the gradient depends on it), the composed whole-model graphs, the
 * convolution kernels cut to a few output channels, the last complete forward pass, and run counters.
 */
import { LayerKernel, Rule } from './layers';
import { OrtGraph, OrtValue } from './runtime';
import { Forward } from './values';

/** A composed graph and the constant values fed to it on every run. */
export interface Composed {
  graph: OrtGraph;
  feeds: Record<string, OrtValue>;
}

/** The forward graph of a whole model (or up to a layer): which layer each output `o{k}` is. */
export type WholeForward = Composed & { kept: string[] };
/** A composed backward pass: which layer's forward value each input `v{k}` is. */
export type WholeBackward = Composed & { values: string[] };

/** A map holding at most `size` entries: adding one more drops (and disposes) the oldest. */
export class Bounded<K, V> {
  private readonly map = new Map<K, V>();

  constructor(
    private readonly size: number,
    private readonly drop: (v: V) => void,
  ) {}

  has(k: K): boolean {
    return this.map.has(k);
  }

  get(k: K): V | undefined {
    return this.map.get(k);
  }

  set(k: K, v: V): V {
    if (!this.map.has(k) && this.map.size >= this.size) {
      const [oldest, old] = this.map.entries().next().value as [K, V];
      this.map.delete(oldest);
      this.drop(old);
    }
    this.map.set(k, v);
    return v;
  }

  clear(): void {
    for (const v of this.map.values()) this.drop(v);
    this.map.clear();
  }
}

/** A kernel's graphs: its forward graph (or both-directions graph) and its backward graphs by rule. */
class KernelGraphs {
  fwd?: OrtGraph;
  readonly bwd: Partial<Record<Rule, OrtGraph>> = {};

  constructor(readonly kernel: LayerKernel) {}

  /** The graph that computes the output: the forward graph, or the both-directions graph. */
  forward(): OrtGraph {
    return (this.fwd ??= new OrtGraph(this.kernel.both ? this.kernel.both() : this.kernel.forward!()));
  }

  /** The graph that computes input gradients under `rule` (the both-directions graph when there is one). */
  backward(rule: Rule): OrtGraph {
    if (this.kernel.both) return this.forward();
    const r = this.kernel.usesRule ? rule : 'gradient';
    return (this.bwd[r] ??= new OrtGraph(this.kernel.backward!(r)));
  }

  dispose(): void {
    this.fwd?.dispose();
    for (const g of Object.values(this.bwd)) g.dispose();
  }
}

export class GraphCache {
  /**
   * Graph runs so far (forward: layer outputs computed; backward: layer gradients computed; cut: the
   * backward runs that took only a few channels of a convolution).
   */
  readonly runs = { forward: 0, backward: 0, cut: 0 };
  /** The last complete forward pass and the key it was kept under (e.g. the input tensor). */
  last: { key: unknown; fw: Forward } | null = null;
  /** Graphs of layers and chains, by layer name or chain id. */
  private readonly kernels = new Map<string, KernelGraphs>();
  /** Convolutions cut to a few output channels, by layer and channel list (the last few used). */
  readonly cut = new Bounded<string, KernelGraphs>(8, (k) => k.dispose());
  /** The model up to its logits as one graph. */
  whole?: WholeForward;
  /** The model up to a layer with every value as an output (a complete pass for backward passes), by last layer index and floor (see Forward.floor). */
  readonly wholeAll = new Bounded<string, WholeForward>(2, (w) => w.graph.dispose());
  /**
   * Forward and backward to the input in one graph, by rule (null: no gradient reaches the input).
   * Graphs with the weights inline hold a copy of the convolution kernels each: a few are kept.
   */
  readonly wholeGrad = new Bounded<Rule, Composed | null>(2, (g) => g?.graph.dispose());
  /** Objective gradients in one call (composeObjectiveGradient), by rule and seed layers. */
  readonly wholeObjective = new Bounded<string, Composed | null>(2, (g) => g?.graph.dispose());
  /** Whole backward passes by seed layer, target layer and rule (null: no gradient reaches the target). */
  readonly wholeBack = new Bounded<string, WholeBackward | null>(8, (w) => w?.graph.dispose());

  /** The graphs of a layer or chain (`id`) with this kernel. */
  graphs(id: string, kernel: LayerKernel): KernelGraphs {
    let k = this.kernels.get(id);
    if (!k) this.kernels.set(id, (k = new KernelGraphs(kernel)));
    return k;
  }

  /** The graphs of convolution `layer` cut to output channels `keep`, made by `make` on first use. */
  cutGraphs(layer: string, keep: readonly number[], make: () => LayerKernel): KernelGraphs {
    const key = `${layer}\u0000${keep.join(',')}`;
    return this.cut.get(key) ?? this.cut.set(key, new KernelGraphs(make()));
  }

  /** Drops every graph and the kept pass. */
  dispose(): void {
    for (const k of this.kernels.values()) k.dispose();
    this.kernels.clear();
    this.cut.clear();
    this.whole?.graph.dispose();
    this.whole = undefined;
    this.wholeAll.clear();
    this.wholeBack.clear();
    this.wholeGrad.clear();
    this.wholeObjective.clear();
    this.last = null;
  }
}
