/**
 * ModelGraph: what methods may know about a model's structure — its named layers (nodes) with their
 * kind, output shape and inputs, each layer's weights as plain arrays, and the engine that computes it
 * (engine/engine.ts) — without saying which library holds the model. CnnModel (models/model.ts)
 * implements it over a flat TF.js layers model; a model imported from another format implements the
 * same accessors.
 */
import { Engine } from '../engine/engine';

/** One named layer of the model's (flat) graph. */
export interface ModelNode {
  name: string;
  /** The layer's kind, as Keras names it: 'Conv2D', 'BatchNormalization', 'ReLU', 'InputLayer', … */
  kind: string;
  /** Output shape without the batch dimension (−1 for an unknown size; the first output of a multi-output layer). */
  shape: number[];
  /** Names of the layers whose outputs this layer reads, in order. */
  inputs: string[];
  /** Number of weight values the layer holds. */
  params: number;
  /** The shapes of the layer's weights, in the layer's own order. */
  weightShapes: number[][];
  trainable: boolean;
  /** The activation the layer applies ('relu', 'softmax', …), or null. */
  activation: string | null;
  /** The layer's settings as Keras names them (useBias, epsilon, center, scale, strides, …). */
  settings: Readonly<Record<string, unknown>>;
}

/** One weight of a layer as a plain array, named as saved ('conv1/kernel': the last part says its role — kernel, bias, gamma, …). */
export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
  trainable: boolean;
}

export interface ModelGraph {
  /** The layers in graph order (inputs first). */
  readonly nodes: readonly ModelNode[];
  /** A layer by name (an alias or a nested path resolved), or a clear error listing the layers. */
  node(name: string): ModelNode;
  /** A layer's weights, copied out as plain arrays, in the layer's own order. */
  weights(layer: string): NamedWeight[];
  /** Weight counts: all of them, and the trainable ones. */
  readonly paramCounts: { total: number; trainable: number };
  /** The engine that computes the model, chosen once (engine/index.ts engineFor). */
  readonly engine: Engine;
}
