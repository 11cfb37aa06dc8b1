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
  /**
   * Bytes per image of the forward values the graph holds until its backward part reads them (graphs
   * that run forward and backward in one call; see GraphCache.limits.passBytes).
   */
  heldBytes?: number;
}

/** The forward graph of a whole model (or up to a layer): which layer each output `o{k}` is. */
export type WholeForward = Composed & { kept: string[] };
/**
 * The model from a layer's output on to its logits: input `y` (that output) and, for a later layer
 * that reads an earlier value (a skip connection), inputs `e{k}` (which layer each is).
 */
export type WholeSuffix = Composed & { earlier: string[] };
/** A composed backward pass: which layer's forward value each input `v{k}` is. */
export type WholeBackward = Composed & { values: string[] };

/**
 * How many composed graphs with inline weights a model keeps (a ResNet50's forward and backward
 * kernels are ~200 MB in each, and the runtime's copies of them more).
 */
const INLINE_GRAPHS = 2;

/**
 * The most bytes of forward values a one-call gradient graph (forward and backward in one run) may
 * hold for its backward part in one run: a larger batch runs in equal parts of independent images.
 * (VGG16 holds 52 MB per 224×224 image: its filter explorer's page of 8 ran at 0.65 GB over the model.)
 */
const PASS_BYTES = 256 << 20;

/** A map holding at most `size` entries: adding one more drops (and disposes) the one used longest ago. */
export class Bounded<K, V> {
  private readonly map = new Map<K, V>();

  constructor(
    private readonly size: number,
    private readonly drop: (v: V) => void,
  ) {}

  has(k: K): boolean {
    return this.map.has(k);
  }

  /** The entry, now the most recently used. */
  get(k: K): V | undefined {
    if (!this.map.has(k)) return undefined;
    const v = this.map.get(k)!;
    this.map.delete(k);
    this.map.set(k, v);
    return v;
  }

  /** The entry (the most recently used), made by `make` and added when missing. */
  getOrSet(k: K, make: () => V): V {
    return this.has(k) ? this.get(k)! : this.set(k, make());
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
  /** Limits of one run: `passBytes`, see PASS_BYTES. */
  readonly limits = { passBytes: PASS_BYTES };
  /** The last complete forward pass and the key it was kept under (e.g. the input tensor). */
  last: { key: unknown; fw: Forward } | null = null;
  /**
   * The earlier values a suffix graph last read (see runSuffix), by input tensor and layer: Ablation-CAM
   * runs the same image's suffix once per batch of channels.
   */
  earlier: { key: unknown; layer: string; values: OrtValue[] } | null = null;
  /** Graphs of layers and chains, by layer name or chain id. */
  private readonly kernels = new Map<string, KernelGraphs>();
  /** Convolutions cut to a few output channels, by layer and channel list (the last few used). */
  readonly cut = new Bounded<string, KernelGraphs>(8, (k) => k.dispose());
  /** The model up to its logits as one graph. */
  whole?: WholeForward;
  /**
   * Composed graphs with the weights inline, each holding its own copy of the kernels (the model up to
   * a layer with every value an output, by last layer index and floor, see Forward.floor; forward and
   * backward to the input in one graph, by rule; objective gradients, by rule and seed layers; null:
   * no gradient reaches the input): the few used last are kept, whatever their kind.
   */
  readonly inline = new Bounded<string, Composed | null>(INLINE_GRAPHS, (g) => g?.graph.dispose());
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
    this.inline.clear();
    this.wholeBack.clear();
    this.last = null;
    this.earlier = null;
  }
}
