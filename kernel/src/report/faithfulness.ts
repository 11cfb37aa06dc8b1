/**
 * The report's faithfulness section for one map: how much the model's class probability depends on
 * the pixels the map ranks high. Deletion and insertion curves (Petsiuk et al. 2018), ROAD MoRF / LeRF
 * (Rong et al. 2022, noisy linear imputation; optional: it is slow on large inputs) and the drop /
 * increase in confidence when the image is seen through the map (Chattopadhyay et al. 2018), each
 * computed by the evaluation API with its defaults (METHODS.md), for the map's class. Every number
 * shown is a field of those results; the table keeps each one's full value in `data-value`.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource, InputOptions } from '../basics/input';
import { escapeHtml } from '../display/progress';
import { Result, ResultMeta, since } from '../display/result';
import { curvesChart, CurveLike } from '../explain/eval/charts';
import { averageDropIncrease, confidenceChange, ConfidenceChange } from '../explain/eval/confidence';
import { deletionCurve, insertionCurve, PerturbationCurve } from '../explain/eval/perturbation';
import { road, RoadResult } from '../explain/eval/road';
import { CnnModel } from '../models/model';
import { ExplainResult } from '../explain/explainResult';
import { svgCurves } from './chart';

export interface FaithfulnessParts {
  /** What the map is, e.g. 'Grad-CAM'. */
  method: string;
  classIndex: number;
  deletion: PerturbationCurve;
  insertion: PerturbationCurve;
  /** Null when ROAD was not computed; `roadNote` says why. */
  road: RoadResult | null;
  roadNote?: string;
  confidence: ConfidenceChange;
  average: ReturnType<typeof averageDropIncrease>;
}

interface Row {
  id: string;
  name: string;
  value: number;
  shown: string;
  better: string;
}

const p4 = (v: number) => v.toPrecision(4);

/** Faithfulness of one map: the numbers, a table and the curves as charts. */
export class FaithfulnessResult extends Result {
  readonly kind = 'faithfulness';
  readonly parts: FaithfulnessParts;

  constructor(meta: ResultMeta, parts: FaithfulnessParts) {
    super(meta);
    this.parts = parts;
  }

  /** Every number the section shows, with an id (the table's data-metric). */
  rows(): Row[] {
    const { deletion, insertion, road: r, confidence: c, average: a } = this.parts;
    const rows: Row[] = [
      { id: 'deletion-auc', name: 'Deletion AUC', value: deletion.auc, shown: p4(deletion.auc), better: 'lower' },
      { id: 'insertion-auc', name: 'Insertion AUC', value: insertion.auc, shown: p4(insertion.auc), better: 'higher' },
    ];
    if (r) {
      rows.push(
        { id: 'road-morf-auc', name: 'ROAD MoRF AUC', value: r.morf.auc, shown: p4(r.morf.auc), better: 'lower' },
        { id: 'road-morf-mean', name: 'ROAD MoRF mean', value: r.morf.mean, shown: p4(r.morf.mean), better: 'lower' },
        { id: 'road-lerf-auc', name: 'ROAD LeRF AUC', value: r.lerf.auc, shown: p4(r.lerf.auc), better: 'higher' },
        { id: 'road-lerf-mean', name: 'ROAD LeRF mean', value: r.lerf.mean, shown: p4(r.lerf.mean), better: 'higher' },
        { id: 'road-combined', name: 'ROAD combined, (mean LeRF − mean MoRF) / 2', value: r.combined, shown: p4(r.combined), better: 'higher' },
      );
    }
    rows.push(
      { id: 'confidence-original', name: 'Class probability Y of the image', value: c.original, shown: p4(c.original), better: '' },
      { id: 'confidence-explanation', name: 'Class probability O of map ⊙ image', value: c.explanation, shown: p4(c.explanation), better: '' },
      { id: 'average-drop', name: 'Average Drop, 100·max(0, Y − O)/Y (this image)', value: a.averageDrop, shown: `${p4(a.averageDrop)} %`, better: 'lower' },
      { id: 'absolute-drop', name: 'Drop in confidence, max(0, Y − O) (pytorch-grad-cam)', value: c.absoluteDrop, shown: p4(c.absoluteDrop), better: 'lower' },
      { id: 'increase-in-confidence', name: 'Increase in Confidence, 100·[O > Y] (this image)', value: a.increaseInConfidence, shown: `${p4(a.increaseInConfidence)} %`, better: 'higher' },
    );
    return rows;
  }

  private curveGroups(): Array<{ title: string; x: string; curves: CurveLike[] }> {
    const { deletion, insertion, road: r } = this.parts;
    const groups = [{ title: 'Deletion and insertion', x: 'fraction of pixels changed', curves: [deletion, insertion] as CurveLike[] }];
    if (r) groups.push({ title: 'ROAD (noisy linear imputation)', x: 'fraction of pixels removed', curves: [r.morf, r.lerf] });
    return groups;
  }

  text(): string {
    const lines = [`Faithfulness of the ${this.parts.method} map for class ${this.parts.classIndex}:`];
    for (const r of this.rows()) lines.push(`  ${r.name}: ${r.shown}${r.better ? ` (${r.better} is better)` : ''}`);
    if (!this.parts.road && this.parts.roadNote) lines.push(`  ${this.parts.roadNote}`);
    return lines.join('\n');
  }

  override html(): string {
    const rows = this.rows()
      .map((r) => `<tr><td>${escapeHtml(r.name)}</td><td data-metric="${r.id}" data-value="${r.value}">${escapeHtml(r.shown)}</td><td>${r.better ? `${r.better} is better` : ''}</td></tr>`)
      .join('');
    const table = `<table class="cnnvis-faithfulness"><tr><th>metric</th><th>value</th><th></th></tr>${rows}</table>`;
    const charts = this.curveGroups().map((g) => svgCurves(g.curves, { title: g.title, x: g.x }));
    const note = !this.parts.road && this.parts.roadNote ? `<p class="note">${escapeHtml(this.parts.roadNote)}</p>` : '';
    return `<div class="row">${charts.join('\n')}</div>\n${table}${note}`;
  }

  override vegaLite(): object {
    const curves = this.curveGroups().flatMap((g) => g.curves);
    return curvesChart(
      curves.map((c) => ({ name: `${c.kind} (AUC ${c.auc.toFixed(3)})`, x: c.fractions, y: c.probabilities })),
      { title: `Faithfulness of the ${this.parts.method} map` },
    );
  }
}

export interface FaithfulnessOptions extends InputOptions {
  /** Compute ROAD (slow on large inputs); when false, `roadNote` says how to get it. */
  road: boolean;
  roadNote?: string;
}

/** Deletion, insertion, confidence change and (optionally) ROAD of a CAM map for its class, each with the API's defaults. */
export async function faithfulness(model: CnnModel | tf.LayersModel, image: ImageSource, explained: ExplainResult, opts: FaithfulnessOptions): Promise<FaithfulnessResult> {
  const t0 = performance.now();
  const classIndex = explained.target.index;
  const o = { classIndex, resize: opts.resize };
  const map = explained.map;
  const deletion = await deletionCurve(model, image, map, o);
  const insertion = await insertionCurve(model, image, map, o);
  const confidence = await confidenceChange(model, image, map, o);
  const r = opts.road ? await road(model, image, map, o) : null;
  return new FaithfulnessResult(
    { model: explained.meta.model, backend: explained.meta.backend, timeMs: since(t0) },
    { method: explained.method, classIndex, deletion, insertion, road: r, roadNote: opts.roadNote, confidence, average: averageDropIncrease([confidence]) },
  );
}
