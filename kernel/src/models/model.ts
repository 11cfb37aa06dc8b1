/**
 * CnnModel: a TF.js layers model together with what cnnvis needs to know about it — its name, where it
 * came from, its preprocessing, its labels and whether it ends in softmax.
 */
import * as util from 'util';
import * as tf from '@tensorflow/tfjs';
import { Engine } from '../engine/engine';
import { engineFor } from '../engine/index';
import { reluSites } from '../engine/reluRules';
import { CnnvisError, listChoices } from '../errors';
import { getLayer, layerOutputShape, spatialLayerNames } from '../taps';
import { PreprocessName } from '../types';
import { assertFiniteWeights } from './finite';
import { canonicalLayer, FlatLayerInfo, Flattened, flattenModel, registerAliases } from './flatten';
import { ModelGraph, ModelNode, NamedWeight } from './graph';
import { findHead, Head, modelHead } from './head';
import { LabelSet } from './labels';
import { inModelPreprocessing, preprocessFromName } from './preprocess';

export interface CnnModelInit {
  name?: string;
  source?: string;
  preprocess?: PreprocessName;
  /** Class names, as a list or a LabelSet. */
  labels?: LabelSet | string[] | null;
  labelsNote?: string;
  /** Why this preprocessing was chosen (shown with results). */
  preprocessNote?: string;
  /** Preprocessing suggested by the file's name, used when the model does not scale its own input. */
  preprocessHint?: PreprocessName;
  /** Input [height, width] for a model whose input size is unknown (default: its Resizing layer's size, else each image's own). */
  size?: [number, number];
  /** Why `size` was chosen (default: "chosen"). */
  sizeNote?: string;
}

/** Flat versions of models passed in as plain tf.LayersModels, so each is rebuilt once. */
const flatCache = new WeakMap<tf.LayersModel, Map<string, Flattened>>();

function flatten(net: tf.LayersModel, size: [number, number] | undefined): Flattened {
  const key = size ? size.join('x') : '';
  let per = flatCache.get(net);
  if (!per) flatCache.set(net, (per = new Map()));
  let hit = per.get(key);
  if (!hit) {
    hit = flattenModel(net, { size });
    registerAliases(hit);
    per.set(key, hit);
  }
  return hit;
}

/** The input size to use for a model whose input height or width is unknown (`image`: decided per image). */
function defaultSize(net: tf.LayersModel): { size: [number, number]; note: string; image?: boolean } | undefined {
  const shape = net.inputs[0]?.shape ?? [];
  if (shape.length !== 4 || (shape[1] !== null && shape[2] !== null)) return undefined;
  const walk = (m: tf.LayersModel): tf.layers.Layer[] => m.layers.flatMap((l) => (Array.isArray((l as unknown as { layers?: unknown }).layers) ? walk(l as tf.LayersModel) : [l]));
  const resizing = walk(net).find((l) => l.getClassName() === 'Resizing');
  if (resizing) {
    const cfg = resizing.getConfig() as { height?: number; width?: number };
    if (cfg.height && cfg.width) return { size: [cfg.height, cfg.width], note: `the model takes any size and resizes to ${cfg.height}×${cfg.width} itself (layer '${resizing.name}')` };
  }
  return { size: [224, 224], note: "the model takes any size; images run at their own size (at most 1024 px a side), 224×224 where there is no image (choose one size with the size option / --size W×H)", image: true };
}

/** True when the model's (first) output is produced by a softmax, possibly followed by reshapes (models/head.ts). */
export function endsInSoftmax(model: tf.LayersModel): boolean {
  return findHead(model).kind === 'softmax';
}

/** The activation a layer applies: its `activation` setting, or the layer itself for ReLU and Softmax layers. */
function activationName(layer: tf.layers.Layer): string | null {
  const cfg = layer.getConfig() as { activation?: unknown };
  if (typeof cfg.activation === 'string') return cfg.activation;
  if (layer.getClassName() === 'ReLU') return 'relu';
  if (layer.getClassName() === 'Softmax') return 'softmax';
  return null;
}

/**
 * A model and what cnnvis knows about it (ModelGraph: nodes, weights, engine). Methods use the
 * ModelGraph accessors, the engine and the layer-name helpers; `net` and `original` (the TF.js models)
 * are for models/ and engine/, and for handing the TF.js model to a user who asks for it.
 */
export class CnnModel implements ModelGraph {
  /** The model as one flat functional graph (Sequential and nested models rebuilt; weights shared with `original`). */
  readonly net: tf.LayersModel;
  /** The model as it was given. */
  readonly original: tf.LayersModel;
  /** Where each layer of `net` came from, nested models, and other names layers answer to. */
  readonly structure: Flattened;
  readonly name: string;
  readonly source: string;
  readonly preprocess: PreprocessName;
  readonly labels: LabelSet | null;
  /** Why labels are missing, when they are. */
  readonly labelsNote?: string;
  /** Why `preprocess` was chosen. */
  readonly preprocessNote: string;
  /** Set when the model's input size is unknown: what size cnnvis runs it at and why. */
  readonly sizeNote?: string;
  /** The model takes any input size and none was chosen: image methods run it at each image's own size (see atSize). */
  readonly anySize: boolean;
  private readonly init: CnnModelInit;
  private nodeList?: ModelNode[];
  private readonly sized = new Map<string, CnnModel>();
  readonly softmax: boolean;
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly inputChannels: number;

  constructor(net: tf.LayersModel, init: CnnModelInit = {}) {
    this.original = net;
    this.init = init;
    const sized = init.size ? { size: init.size, note: init.sizeNote ?? `input size ${init.size[0]}×${init.size[1]} (chosen)` } : defaultSize(net);
    if (sized) this.sizeNote = sized.note;
    this.anySize = !init.size && sized?.image === true;
    this.structure = flatten(net, sized?.size);
    net = this.structure.net;
    this.net = net;
    this.name = init.name ?? this.original.name;
    this.source = init.source ?? 'memory';
    const inside = inModelPreprocessing(net);
    if (init.preprocess) {
      this.preprocess = init.preprocess;
      this.preprocessNote = init.preprocessNote ?? (inside && init.preprocess !== 'none' ? `${init.preprocess} (as asked, although ${inside.note})` : `${init.preprocess} (as asked)`);
    } else if (inside) {
      this.preprocess = 'none';
      this.preprocessNote = `none: ${inside.note}`;
    } else {
      const byName = init.preprocessHint ?? preprocessFromName(this.name) ?? preprocessFromName(this.original.name);
      this.preprocess = byName ?? 'unit';
      this.preprocessNote = byName ? `${byName} (from the model's name)` : 'unit: pixels / 255 (the default; choose with the preprocess option)';
    }
    let labels: LabelSet | null = Array.isArray(init.labels) ? { names: [...init.labels], source: 'options' } : init.labels ?? null;
    let labelsNote = init.labelsNote;
    const classes = modelHead(this.net).numClasses;
    if (labels && labels.names.length !== classes) {
      const what = `${labels.names.length} labels (${labels.source}) for ${classes} classes`;
      if (labels.source === 'options') {
        throw new CnnvisError(`model '${this.name}' has ${classes} classes but ${labels.names.length} labels were given; give one label per class${classes === 2 && modelHead(this.net).kind === 'binary' ? ' (a one-sigmoid model has two: class 0 = negative, class 1 = positive)' : ''}`);
      }
      labelsNote = `${what}: not used`;
      labels = null;
    }
    this.labels = labels;
    if (labelsNote) this.labelsNote = labelsNote;
    this.softmax = modelHead(this.net).kind === 'softmax';
    const shape = net.inputs[0].shape;
    if (shape.length !== 4) {
      throw new CnnvisError(`model '${this.name}' takes input of shape [${shape.join(', ')}]; cnnvis needs images [batch, height, width, channels]`);
    }
    const [, h, w, c] = shape;
    if (c !== 3 && c !== 1) {
      throw new CnnvisError(`model '${this.name}' takes ${c} input channels; cnnvis supports RGB (3) or grayscale (1) images`);
    }
    this.inputHeight = h ?? 224;
    this.inputWidth = w ?? 224;
    this.inputChannels = c;
  }

  /** Number of classes: one per output unit; 2 for a one-sigmoid (binary) head. */
  get numClasses(): number {
    return modelHead(this.net).numClasses;
  }

  /** What the model's output means: softmax, binary (one sigmoid unit), multi-label or linear (models/head.ts). */
  get head(): Head {
    return modelHead(this.net);
  }

  /** The engine that computes the model (engine/index.ts engineFor: ONNX Runtime where it runs the model, else TF.js). */
  get engine(): Engine {
    return engineFor(this.net);
  }

  /** The layers of the flat graph, in graph order (ModelGraph). */
  get nodes(): readonly ModelNode[] {
    return (this.nodeList ??= this.net.layers.map((l) => ({
      name: l.name,
      kind: l.getClassName(),
      shape: layerOutputShape(l),
      inputs: l.inboundNodes.flatMap((n) => n.inboundLayers.map((x) => x.name)),
      params: l.countParams(),
      weightShapes: l.weights.map((w) => [...(w.shape as number[])]),
      trainable: l.trainable,
      activation: activationName(l),
      settings: l.getConfig() as Record<string, unknown>,
    })));
  }

  /** A layer by name, nested path or alias, or a clear error listing the layers. */
  node(name: string): ModelNode {
    const flat = this.layer(name).name;
    return this.nodes.find((n) => n.name === flat) as ModelNode;
  }

  /** A layer's weights as plain arrays (copies), in the layer's own order. */
  weights(layer: string): NamedWeight[] {
    return this.layer(layer).weights.map((w) => {
      const v = w.read();
      return { name: w.originalName ?? w.name, shape: [...v.shape], data: (v.dataSync() as Float32Array).slice(), trainable: w.trainable };
    });
  }

  /**
   * Replaces a layer's weights (the count and shapes of `weights(layer)`, as plain arrays or tensors, which
   * stay the caller's). The engine follows the change.
   */
  setWeights(layer: string, weights: readonly (tf.Tensor | { shape: number[]; data: Float32Array })[]): void {
    const made: tf.Tensor[] = [];
    const ts = weights.map((w) => (w instanceof tf.Tensor ? w : made[made.push(tf.tensor(w.data, w.shape, 'float32')) - 1]));
    try {
      this.layer(layer).setWeights(ts);
    } finally {
      made.forEach((t) => t.dispose());
    }
  }

  /** Weight counts: all, and the trainable ones. */
  get paramCounts(): { total: number; trainable: number } {
    return { total: this.net.countParams(), trainable: this.net.trainableWeights.reduce((a, w) => a + (w.shape as number[]).reduce((x, y) => x * y, 1), 0) };
  }

  /** Number of places where a ReLU rule (guided backpropagation, deconvnet) applies. */
  reluSiteCount(): number {
    return reluSites(this.net).length;
  }

  /** A CnnvisError naming the layers whose weights hold NaN or Inf (every output would be NaN). */
  assertFiniteWeights(): void {
    assertFiniteWeights(this.net, this.name);
  }

  /** A layer name as the flat model knows it: an alias resolved, any other name unchanged (no check). */
  canonicalLayer(name: string): string {
    return canonicalLayer(this.net, name);
  }

  /** The input size the model fixes, [height, width] (null where it takes any size). */
  get fixedInputSize(): [number | null, number | null] {
    const [, h, w] = this.net.inputs[0].shape;
    return [h ?? null, w ?? null];
  }

  /** The label of class i, or `class i` when the model has no labels. */
  label(i: number): string {
    return this.labels?.names[i] ?? `class ${i}`;
  }

  layerNames(): string[] {
    return this.net.layers.map((l) => l.name);
  }

  /** Layers with a spatial [H, W, C] output, in graph order. */
  spatialLayers(): string[] {
    return spatialLayerNames(this.net);
  }

  layer(name: string): tf.layers.Layer {
    return getLayer(this.net, name, this.name);
  }

  /** The layer's name in the flat model for a name, a qualified path (`base/conv1`) or a nested model's name. */
  layerName(name: string): string {
    return this.layer(name).name;
  }

  /**
   * This model at input size height × width (a model that takes any size; cached, weights shared). Models of
   * a fixed size return themselves.
   */
  atSize(height: number, width: number, why = 'the image\'s own size'): CnnModel {
    if (!this.anySize || (height === this.inputHeight && width === this.inputWidth)) return this;
    const key = `${height}x${width}`;
    let m = this.sized.get(key);
    if (!m) {
      m = new CnnModel(this.original, { ...this.init, name: this.name, source: this.source, preprocess: this.preprocess, preprocessNote: this.preprocessNote, labels: this.labels, size: [height, width], sizeNote: `the model takes any size; it runs at ${height}×${width}, ${why}` });
      if (this.sized.size >= 8) this.sized.delete(this.sized.keys().next().value as string);
      this.sized.set(key, m);
    }
    return m;
  }

  /** Where a layer came from: its enclosing models (outermost first) and its own name there. */
  layerInfo(name: string): FlatLayerInfo {
    const layer = this.layer(name);
    return this.structure.layers.get(layer.name) ?? { path: [], original: layer.name };
  }

  /** Output shape of a layer without the batch dimension. */
  layerShape(name: string): number[] {
    return layerOutputShape(this.layer(name));
  }

  /** Checks a class index, with a clear error naming the valid range. */
  checkClass(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.numClasses) {
      // Suggest the nearest valid indices, with their labels when the model has them.
      const near = Number.isFinite(index) ? [Math.floor(index), Math.ceil(index)] : [0, this.numClasses - 1];
      const picks = [...new Set(near.map((i) => Math.min(this.numClasses - 1, Math.max(0, i))))];
      const named = this.labels ? `; nearest: ${picks.map((i) => `${i} (${this.label(i)})`).join(', ')}` : '';
      throw new CnnvisError(`class index ${index} is out of range; model '${this.name}' has classes 0..${this.numClasses - 1}${named}`);
    }
    return index;
  }

  /** A spatial layer by name, or a clear error listing the spatial layers. */
  spatialLayer(name: string): tf.layers.Layer {
    const layer = this.layer(name);
    const spatial = this.spatialLayers();
    if (!spatial.includes(layer.name)) {
      throw new CnnvisError(
        `layer '${name}' has output shape [${layerOutputShape(layer).join(', ')}], not a spatial map; ` +
          `layers with spatial output: ${listChoices(spatial, 200)}`,
        spatial,
      );
    }
    return layer;
  }

  [util.inspect.custom](): string {
    return `CnnModel ${this.name} (${this.net.layers.length} layers${this.structure.models.length ? ` in ${this.structure.models.length + 1} nested models` : ''}, ${this.net.countParams().toLocaleString('en-US')} params, ` +
      `input ${this.inputHeight}×${this.inputWidth}×${this.inputChannels}, preprocess ${this.preprocess}, ` +
      `${this.labels ? `${this.labels.names.length} labels` : 'no labels'})`;
  }
}

/** Wraps a plain tf.LayersModel; passes a CnnModel through. */
export function asCnnModel(m: CnnModel | tf.LayersModel): CnnModel {
  return m instanceof CnnModel ? m : new CnnModel(m);
}
