/**
 * The top-k chart: a vega-lite bar spec, drawn with vega-embed (loaded on first use so the views
 * render at once). Tests and hosts without vega can install their own drawer with setChartDrawer.
 */
import type { ClassScore } from 'cnnvis/dist/schema/explorers';

export type ChartDrawer = (host: HTMLElement, spec: Record<string, unknown>) => Promise<void>;

const defaultDrawer: ChartDrawer = async (host, spec) => {
  const { default: embed } = await import('vega-embed' as string);
  await embed(host, spec as never, { actions: false, renderer: 'svg' });
};

let drawer: ChartDrawer = defaultDrawer;

export function setChartDrawer(d: ChartDrawer | null): void {
  drawer = d ?? defaultDrawer;
}

/** Horizontal bars of the class probabilities, highest first; the chosen class highlighted. */
export function topChartSpec(top: readonly ClassScore[], chosen: number): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 220,
    height: { step: 16 },
    background: null,
    data: { values: top.map((t) => ({ label: t.label, probability: t.probability, index: t.index, chosen: t.index === chosen })) },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: '-x', title: null },
      x: { field: 'probability', type: 'quantitative', scale: { domain: [0, 1] }, title: 'probability' },
      color: { field: 'chosen', type: 'nominal', legend: null, scale: { domain: [false, true], range: ['#9ab', '#e45'] } },
      tooltip: [
        { field: 'label', type: 'nominal' },
        { field: 'probability', type: 'quantitative', format: '.3f' },
      ],
    },
    config: { view: { stroke: null } },
  };
}

export function drawChart(host: HTMLElement, spec: Record<string, unknown>): Promise<void> {
  return drawer(host, spec).catch((e: unknown) => {
    host.textContent = `chart unavailable: ${e instanceof Error ? e.message : String(e)}`;
  });
}
