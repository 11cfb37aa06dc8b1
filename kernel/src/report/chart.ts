/**
 * Curves as an inline SVG line chart, for the report: the page is offline and runs no scripts (its
 * Content-Security-Policy forbids them), so the vega-lite spec a result offers for notebooks cannot be
 * rendered there. The chart draws the same points the result holds: both axes 0 … 1 (fraction of
 * pixels, class probability), one polyline with dots per curve, a legend naming each curve with its
 * area under the curve. Only our own text goes in, escaped.
 */
import { escapeHtml } from '../display/progress';
import type { CurveLike } from '../explain/eval/charts';

/** Colours of successive curves (Tableau 10, as vega-lite's default scheme). */
const COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#eeca3b'];

export interface SvgChartOptions {
  title: string;
  /** x-axis title (default 'fraction of pixels'). */
  x?: string;
  /** y-axis title (default 'class probability'). */
  y?: string;
}

const fmt = (v: number) => String(Number(v.toFixed(2)));

/** An SVG line chart of curves whose fractions and probabilities lie in [0, 1]. */
export function svgCurves(curves: readonly CurveLike[], opts: SvgChartOptions): string {
  const W = 470;
  const plotW = 300;
  const plotH = 200;
  const left = 48;
  const top = 30;
  const H = top + plotH + 46;
  const px = (x: number) => left + Math.max(0, Math.min(1, x)) * plotW;
  const py = (y: number) => top + (1 - Math.max(0, Math.min(1, y))) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(opts.title)}" font-family="system-ui,sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${left}" y="16" font-size="13" font-weight="600" fill="#222">${escapeHtml(opts.title)}</text>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${px(t)}" y1="${top}" x2="${px(t)}" y2="${top + plotH}" stroke="#eee"/>`);
    parts.push(`<line x1="${left}" y1="${py(t)}" x2="${left + plotW}" y2="${py(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${px(t)}" y="${top + plotH + 14}" text-anchor="middle" fill="#555">${Math.round(t * 100)}%</text>`);
    parts.push(`<text x="${left - 6}" y="${py(t) + 4}" text-anchor="end" fill="#555">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 32}" text-anchor="middle" fill="#333">${escapeHtml(opts.x ?? 'fraction of pixels')}</text>`);
  parts.push(`<text transform="translate(12 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${escapeHtml(opts.y ?? 'class probability')}</text>`);
  curves.forEach((c, k) => {
    const color = COLORS[k % COLORS.length];
    const pts: string[] = [];
    for (let i = 0; i < c.fractions.length; i++) pts.push(`${px(c.fractions[i]).toFixed(1)},${py(c.probabilities[i]).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    if (c.fractions.length <= 40) for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${color}"/>`);
    const ly = top + 8 + k * 34;
    parts.push(`<line x1="${left + plotW + 10}" y1="${ly}" x2="${left + plotW + 24}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${left + plotW + 28}" y="${ly + 4}" fill="#222">${escapeHtml(c.kind)}</text>`);
    parts.push(`<text x="${left + plotW + 28}" y="${ly + 16}" fill="#555">AUC ${escapeHtml(c.auc.toFixed(3))}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
