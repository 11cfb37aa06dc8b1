/**
 * Faithfulness curves as vega-lite charts and as one displayable result: deletion / insertion (the
 * class probability against the fraction of pixels changed) and ROAD's MoRF / LeRF curves (the
 * probability against the fraction of pixels removed and imputed), one line per curve, the area under
 * each curve in the legend.
 */
import { Result, ResultMeta } from '../../display/result';

/** One line of a chart: y against x, named in the legend. */
export interface ChartCurve {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

/** A line chart (vega-lite v5) of curves sharing their axes. */
export function curvesChart(curves: readonly ChartCurve[], opts: { title?: string; x?: string; y?: string } = {}): object {
  const values: Array<{ curve: string; x: number; y: number }> = [];
  for (const c of curves) for (let i = 0; i < c.x.length; i++) values.push({ curve: c.name, x: c.x[i], y: c.y[i] });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: 320,
    height: 200,
    data: { values },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.x ?? 'fraction of pixels', scale: { domain: [0, 1] }, axis: { format: '%' } },
      y: { field: 'y', type: 'quantitative', title: opts.y ?? 'class probability', scale: { domain: [0, 1] } },
      color: { field: 'curve', type: 'nominal', title: null },
    },
  };
}

/** Any curve cnnvis computes: deletion / insertion (probabilities over fractions) or a ROAD curve. */
export interface CurveLike {
  kind: string;
  fractions: ArrayLike<number>;
  probabilities: ArrayLike<number>;
  auc: number;
}

/** Curves shown together: a chart (vega-lite) and one line of numbers per curve. */
export class CurvesResult extends Result {
  readonly kind = 'curves';
  readonly curves: readonly CurveLike[];
  readonly title: string;

  constructor(curves: readonly CurveLike[], opts: { title?: string; meta?: Partial<ResultMeta> } = {}) {
    super({ model: opts.meta?.model ?? '', backend: opts.meta?.backend ?? '', timeMs: opts.meta?.timeMs ?? 0 });
    this.curves = curves;
    this.title = opts.title ?? 'faithfulness curves';
  }

  text(): string {
    return [this.title, ...this.curves.map((c) => `${c.kind}: AUC ${c.auc.toPrecision(4)} over ${c.fractions.length} points`)].join('\n');
  }

  override vegaLite(): object {
    return curvesChart(
      this.curves.map((c) => ({ name: `${c.kind} (AUC ${c.auc.toFixed(3)})`, x: c.fractions, y: c.probabilities })),
      { title: this.title },
    );
  }
}

/** Deletion, insertion or ROAD curves as one displayable result with a chart. */
export function showCurves(curves: readonly CurveLike[], title?: string): CurvesResult {
  return new CurvesResult(curves, { title });
}
