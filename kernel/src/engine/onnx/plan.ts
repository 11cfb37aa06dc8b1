/**
 * The plan of a compiled model: the layers on the way from its input to its logits in graph order, each
 * with its kernel (layers.ts), who consumes each value, and the chains that run fused (a linear
 * convolution followed by batch normalization and/or a ReLU layer). Also the backward traversal order
 * shared by the layer-by-layer pass and the composed backward graph.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { modelHead } from '../../models/head';
import { bnAffine, Fold, LayerKernel, layerKernel, reluLayerAct, Unsupported } from './layers';

export interface PlanNode {
  name: string;
  layer: tf.layers.Layer;
  /** Producer layer names of the inputs. */
  inputs: string[];
  kernel: LayerKernel;
}

/**
 * A linear convolution followed by batch normalization and/or a ReLU layer, each the only consumer
 * of the one before: one forward graph (the affine map applied after the convolution) and one backward
 * graph for all of them, used whenever no member but the last is asked for.
 */
export interface Chain {
  /** Graph cache key (see caches.ts). */
  id: string;
  members: string[];
  end: string;
  /** What the first layer's graphs apply after the convolution. */
  fold: Fold;
  kernel: LayerKernel;
}

/** One line of an error's message, without control characters (binary data never reaches users), at most 300 characters. */
export function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // eslint-disable-next-line no-control-regex
  const line = (text.split('\n').find((l) => l.trim()) ?? '').replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '?').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line || (e instanceof Error ? e.name : 'unknown error');
}

export class Plan {
  readonly nodes: PlanNode[];
  private readonly index = new Map<string, number>();
  readonly inputName: string;
  readonly logitsName: string;
  /** Consumers of each layer within the plan. */
  readonly consumers = new Map<string, string[]>();
  /** Chains by their first layer, and by each member. */
  readonly chains = new Map<string, Chain>();
  readonly chainOf = new Map<string, Chain>();

  private constructor(
    readonly net: tf.LayersModel,
    nodes: PlanNode[],
    logitsName: string,
  ) {
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
      const chain: Chain = { id: `chain\u0000${a.name}`, members: members.map((m) => m.name), end: members[members.length - 1].name, fold, kernel: layerKernel(a.layer, false, fold) };
      this.chains.set(a.name, chain);
      for (const m of members) this.chainOf.set(m.name, chain);
    }
  }

  /**
   * Compiles the model, or returns why it cannot run here (one line). Never throws: whatever it cannot
   * handle — a layer kind it does not compile, a graph it does not understand, a bug — is a reason,
   * and the model runs on TF.js.
   */
  static build(net: tf.LayersModel): Plan | string {
    try {
      if (!net.inputs?.length || !net.outputLayers?.length) throw new Unsupported('the model has no input or output layers yet (a Sequential model that was never built or called?)');
      if (net.inputs.length !== 1) throw new Unsupported(`${net.inputs.length} inputs`);
      if (net.outputs.length !== 1) throw new Unsupported(`${net.outputs.length} outputs`);
      // The layer whose output is the raw (pre-softmax / pre-sigmoid) logits, and whether its activation
      // is fused into it (compiled linear).
      const head = modelHead(net);
      const logitsLayer = head.logitsLayer;
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
          kernel = layerKernel(layer, head.fused && layer === logitsLayer);
        } catch (e) {
          if (e instanceof Unsupported) throw e;
          throw new Unsupported(`layer '${layer.name}' (${layer.getClassName()}) could not be compiled: ${oneLine(e)}`);
        }
        nodes.push({ name: layer.name, layer, inputs, kernel });
      }
      if (nodes[0]?.layer.getClassName() !== 'InputLayer') throw new Unsupported('the graph does not start at an input layer');
      return new Plan(net, nodes, logitsLayer.name);
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

  node(name: string): PlanNode {
    const i = this.index.get(name);
    if (i === undefined) throw new CnnvisError(`layer '${name}' is not on the path from the input to the logits`);
    return this.nodes[i];
  }

  /** Bytes of the values of one image's forward pass up to node index `end` (float32). */
  valueBytes(end: number): number {
    let n = 0;
    for (const node of this.nodes.slice(0, end + 1)) if (!node.kernel.identity) n += node.kernel.outDims.reduce((a, d) => a * d, 4);
    return n;
  }

  /** Chains ending by node index `end`, and their members run inside them (all but the first). */
  chainsUpTo(end: number): { chains: Chain[]; inner: Set<string> } {
    const chains = [...this.chains.values()].filter((ch) => this.index.get(ch.end)! <= end);
    return { chains, inner: new Set(chains.flatMap((ch) => ch.members.slice(1))) };
  }

  /**
   * The forward values a backward pass from the logits down to node index `i1` reads (the saved inputs
   * and outputs of the layers and chains it runs through), with the logits and node `i1`'s own value.
   */
  backwardReads(i1: number): Set<string> {
    const reads = new Set<string>();
    // An identity layer's value is its input's.
    const add = (name: string) => {
      let n = this.node(name);
      reads.add(n.name);
      while (n.kernel.identity && n.inputs.length) reads.add((n = this.node(n.inputs[0])).name);
    };
    add(this.logitsName);
    add(this.nodes[i1].name);
    this.walkBack(new Map([[this.logitsName, 0]]), i1, () => 0, {
      chain: (ch) => {
        if (ch.kernel.saved.includes('y')) add(ch.end);
        return 0;
      },
      layer: (n) => {
        for (const s of n.kernel.saved) {
          if (s === 'x') n.inputs.forEach(add);
          else add(n.name);
        }
        return n.inputs.map(() => 0);
      },
    });
    return reads;
  }

  /**
   * The backward traversal shared by the layer-by-layer pass and the composed graph: from the seeds down
   * to layer index `i1`, each chain (whole, when it lies above `i1` and no inner member is a seed) or
   * layer turns its output's gradient into its inputs' gradients (`through`); gradients meeting at a
   * layer are added with `sum`. Returns the gradients left at `i1` and below.
   */
  walkBack<V>(seeds: Map<string, V>, i1: number, sum: (a: V, b: V) => V, through: { chain(ch: Chain, g: V): V; layer(n: PlanNode, g: V): V[] }): Map<string, V> {
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
}
