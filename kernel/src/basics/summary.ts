/** Model anatomy like Keras: summary(), a layer's get_config() and get_weights(). */
import * as tf from '@tensorflow/tfjs';
import { escapeHtml } from '../display/progress';
import { autoShow, Result } from '../display/result';
import { asCnnModel, CnnModel } from '../models/model';

export interface LayerRow {
  name: string;
  className: string;
  /** Output shape without the batch dimension (-1 for unknown). */
  outputShape: number[];
  params: number;
  trainable: boolean;
  /** Activation function name where the layer has one. */
  activation: string | null;
  /** Names of the layers feeding this one. */
  inbound: string[];
  /** The models that enclose this layer in the file, outermost first (empty at the top level). */
  path: string[];
}

/** A model nested in the summarized one: its name, the models around it, and its class. */
export interface NestedModel {
  name: string;
  path: string[];
  className: string;
}

export class SummaryResult extends Result {
  readonly kind = 'summary';
  constructor(
    readonly modelName: string,
    readonly layers: LayerRow[],
    readonly totalParams: number,
    readonly trainableParams: number,
    readonly inputShape: number[],
    readonly preprocess: string,
    readonly labels: number,
    backend: string,
    /** Models inside the model (shown as indented groups, like Keras' expand_nested). */
    readonly nested: NestedModel[] = [],
    /** Notes on the input size and preprocessing. */
    readonly notes: string[] = [],
  ) {
    super({ model: modelName, backend, timeMs: 0 });
  }

  get nonTrainableParams(): number {
    return this.totalParams - this.trainableParams;
  }

  text(): string {
    const header = ['Layer (type)', 'Output shape', 'Param #', 'Activation'];
    // Layers of nested models are indented under a line naming their model, as Keras' expand_nested does.
    const cls = new Map(this.nested.map((m) => [[...m.path, m.name].join('/'), m.className]));
    const rows: string[][] = [];
    let prev: string[] = [];
    for (const l of this.layers) {
      for (let d = 0; d < l.path.length; d++) {
        if (prev[d] === l.path[d] && d < prev.length) continue;
        const key = l.path.slice(0, d + 1).join('/');
        rows.push([`${'  '.repeat(d)}▸ ${l.path[d]} (${cls.get(key) ?? 'Model'})`, '', '', '']);
        prev = l.path.slice(0, d + 1);
      }
      prev = l.path;
      const indent = '  '.repeat(l.path.length);
      rows.push([`${indent}${l.name} (${l.className})`, `(None, ${l.outputShape.map((d) => (d < 0 ? 'None' : d)).join(', ')})`, l.params.toLocaleString('en-US'), l.activation ?? '']);
    }
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    const rule = '─'.repeat(widths.reduce((a, b) => a + b + 2, -2));
    return [
      `Model: "${this.modelName}"  (input ${this.inputShape.join('×')}, preprocess ${this.preprocess}, ${this.labels} labels)`,
      ...this.notes.map((n) => `  ${n}`),
      rule,
      line(header),
      rule,
      ...rows.map(line),
      rule,
      `Total params: ${this.totalParams.toLocaleString('en-US')}`,
      `Trainable params: ${this.trainableParams.toLocaleString('en-US')}`,
      `Non-trainable params: ${this.nonTrainableParams.toLocaleString('en-US')}`,
    ].join('\n');
  }

  override html(): string {
    const rows = this.layers
      .map((l) => `<tr><td style="padding-left:${0.3 + 1.2 * l.path.length}em" title="${escapeHtml([...l.path, l.name].join(' ▸ '))}">${escapeHtml(l.name)}</td><td>${escapeHtml(l.className)}</td><td>(${l.outputShape.map((d) => (d < 0 ? 'None' : d)).join(', ')})</td>` +
        `<td style="text-align:right">${l.params.toLocaleString('en-US')}</td><td>${escapeHtml(l.activation ?? '')}</td></tr>`)
      .join('');
    return `<table class="cnnvis-summary"><caption>${escapeHtml(this.modelName)}: ${this.totalParams.toLocaleString('en-US')} params ` +
      `(${this.trainableParams.toLocaleString('en-US')} trainable)</caption><thead><tr><th>layer</th><th>type</th><th>output shape</th>` +
      `<th>params</th><th>activation</th></tr></thead><tbody>${rows}</tbody></table>`;
  }
}

export function summaryRows(model: CnnModel): LayerRow[] {
  return model.nodes.map((n) => ({
    name: n.name,
    className: n.kind,
    outputShape: [...n.shape],
    params: n.params,
    trainable: n.trainable,
    activation: n.activation,
    inbound: [...n.inputs],
    path: model.structure.layers.get(n.name)?.path ?? [],
  }));
}

export function summary(m: CnnModel | tf.LayersModel, opts: { display?: boolean } = {}): SummaryResult {
  const model = asCnnModel(m);
  const { total, trainable } = model.paramCounts;
  const result = new SummaryResult(model.name, summaryRows(model), total, trainable, [model.inputHeight, model.inputWidth, model.inputChannels],
    model.preprocess, model.labels?.names.length ?? 0, tf.getBackend(), model.structure.models,
    [`preprocess ${model.preprocessNote}`, ...(model.sizeNote ? [`input size: ${model.sizeNote}`] : [])]);
  return autoShow(result, opts.display);
}

/** camelCase keys to Keras' snake_case, recursively (values are kept). */
function pythonic(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pythonic);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), pythonic(x)]));
  }
  return v;
}

/** A layer's configuration with Keras' key names, as Keras get_config() returns it. */
export function layerConfig(m: CnnModel | tf.LayersModel, layer: string): Record<string, unknown> {
  return pythonic(asCnnModel(m).layer(layer).getConfig()) as Record<string, unknown>;
}

export interface LayerWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

/**
 * A layer's weights with their names and shapes, as Keras get_weights() (values copied out). The raw
 * values, NaN and Inf included: this is where bad weights are looked at and repaired (the methods that
 * compute from weights refuse them, naming the layer and weight).
 */
export function layerWeights(m: CnnModel | tf.LayersModel, layer: string): LayerWeight[] {
  return asCnnModel(m).weights(layer).map((w) => ({ name: w.name, shape: w.shape, values: w.data }));
}
