/** Top-k predictions with labels and probabilities, as a table and a vega-lite bar chart. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { logitsOf } from '../explain/gradients';
import { CnnvisError } from '../errors';
import { escapeHtml } from '../display/progress';
import { autoShow, Result, ResultMeta, since } from '../display/result';
import { blank, hconcat, thumbnail } from '../render/compose';
import { drawText, fitText } from '../render/text';
import { asCnnModel, CnnModel } from '../models/model';
import { RGBAImage, RGBImage } from '../types';
import { ImageSource, InputOptions, modelFor, prepareInput } from './input';

export interface Prediction {
  index: number;
  label: string;
  /** Probability of the class (how it is computed depends on the head: PredictionResult.note). */
  probability: number;
}

export interface PredictOptions extends InputOptions {
  /** How many classes to return (default 5). */
  top?: number;
  /** Show in the notebook (default true when running in one). */
  display?: boolean;
}

export class PredictionResult extends Result {
  readonly kind = 'predictions';
  constructor(
    meta: ResultMeta,
    readonly predictions: Prediction[],
    /** Probabilities of every class. */
    readonly probabilities: Float32Array,
    readonly input: RGBImage,
    readonly imageName: string,
    /** How the probabilities were computed from the model's output (models/head.ts). */
    readonly note = '',
  ) {
    super(meta);
  }

  text(): string {
    const w = Math.max(5, ...this.predictions.map((p) => p.label.length));
    const rows = this.predictions.map(
      (p, i) => `${String(i + 1).padStart(2)}. ${p.label.padEnd(w)}  ${(p.probability * 100).toFixed(2).padStart(6)}%  (class ${p.index})`,
    );
    const how = this.note ? `; probabilities: ${this.note}` : '';
    const input = this.meta.preprocess ? [`   preprocessing: ${this.meta.preprocess}`] : [];
    return [`Top-${this.predictions.length} predictions of ${this.meta.model} for ${this.imageName} (${this.meta.backend}, ${this.meta.timeMs} ms${how}):`, ...rows, ...input].join('\n');
  }

  /** The input (as the model saw it) beside a bar chart of the top classes, labels drawn as pixels. */
  override image(): RGBAImage {
    return predictionPicture(this.input, this.predictions);
  }

  override html(): string {
    const rows = this.predictions
      .map(
        (p) =>
          `<tr><td>${p.index}</td><td>${escapeHtml(p.label)}</td><td style="text-align:right">${(p.probability * 100).toFixed(2)}%</td>` +
          `<td><div style="background:#4c78a8;height:0.8em;width:${Math.max(1, Math.round(p.probability * 200))}px"></div></td></tr>`,
      )
      .join('');
    const how = this.note ? `<br><small>probabilities: ${escapeHtml(this.note)}</small>` : '';
    return `<table class="cnnvis-predictions"><caption>${escapeHtml(this.meta.model)} on ${escapeHtml(this.imageName)}${how}</caption>` +
      `<thead><tr><th>class</th><th>label</th><th>probability</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
  }

  override vegaLite(): object {
    return predictionChart(this.predictions, `${this.meta.model}: top-${this.predictions.length}`);
  }
}

const BAR = { label: 150, bar: 160, value: 52, row: 16, thumb: 112 };

/** The input thumbnail and a horizontal bar per prediction with its label and probability. */
export function predictionPicture(input: RGBImage, predictions: Prediction[]): RGBAImage {
  const thumb = thumbnail(input, BAR.thumb); // a 28×28 input drawn ×4 with crisp pixels, a 224×224 one shrunk to 112
  const width = BAR.label + BAR.bar + BAR.value;
  const chart = blank(width, Math.max(1, predictions.length) * BAR.row + 4, [255, 255, 255, 255]);
  predictions.forEach((p, i) => {
    const y = 2 + i * BAR.row;
    drawText(chart, fitText(p.label, BAR.label - 6), 2, y + 3, [0, 0, 0, 255]);
    const len = Math.max(1, Math.round(p.probability * BAR.bar));
    for (let yy = y + 2; yy < y + BAR.row - 2; yy++) {
      for (let xx = BAR.label; xx < BAR.label + len; xx++) chart.data.set([76, 120, 168, 255], (yy * width + xx) * 4);
    }
    drawText(chart, `${(p.probability * 100).toFixed(1)}%`, BAR.label + BAR.bar + 4, y + 3, [0, 0, 0, 255]);
  });
  return hconcat([thumb, chart], 8, { background: [255, 255, 255, 255] });
}

/** A horizontal bar chart of predictions (vega-lite v5). */
export function predictionChart(predictions: Prediction[], title: string): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 320,
    data: { values: predictions.map((p) => ({ label: p.label, index: p.index, probability: p.probability })) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: '-x', title: null },
      x: { field: 'probability', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '%' } },
    },
  };
}

/** Top-k of a probability vector. */
export function topK(probs: Float32Array, k: number, label: (i: number) => string): Prediction[] {
  const idx = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
  return idx.slice(0, k).map((i) => ({ index: i, label: label(i), probability: probs[i] }));
}

/**
 * Class probabilities for a preprocessed batch of one image, as the model's head defines them
 * (models/head.ts): softmax; [1 − p, p] for one sigmoid unit; one sigmoid per class (multi-label);
 * the softmax of a linear head's outputs.
 */
export function classProbabilities(model: CnnModel, batch: tf.Tensor4D): Float32Array {
  const head = model.head;
  // The class scores through the head (on ONNX Runtime the engine keeps a one-image pass for a
  // gradient of the same input).
  return tf.tidy(() => head.probabilities(logitsOf(model, batch)).dataSync() as Float32Array).slice();
}

/** How the probabilities are computed, for heads other than a plain softmax (which needs no note). */
function headNote(model: CnnModel): string {
  const head = model.head;
  return head.kind === 'softmax' ? '' : head.probabilityNote;
}

export async function predict(m: CnnModel | tf.LayersModel, image: ImageSource, opts: PredictOptions = {}): Promise<PredictionResult> {
  const backend = await initBackend();
  const model = modelFor(m, image);
  const top = opts.top ?? 5;
  if (!Number.isInteger(top) || top < 1) throw new CnnvisError(`top must be a positive whole number, got ${top}`);
  const t0 = performance.now();
  const input = prepareInput(model, image, opts);
  let probs: Float32Array;
  try {
    probs = classProbabilities(model, input.batch);
  } finally {
    input.batch.dispose();
  }
  if (probs.some((p) => !Number.isFinite(p))) {
    throw new CnnvisError(`model '${model.name}' produced NaN or Inf outputs for ${input.name}; check its weights and the input`);
  }
  const predictions = topK(probs, Math.min(top, probs.length), (i) => model.label(i));
  const result = new PredictionResult({ model: model.name, backend: model.engine.label(backend), timeMs: since(t0), preprocess: model.preprocessNote }, predictions, probs, input.image, input.name, headNote(model));
  return autoShow(result, opts.display);
}
