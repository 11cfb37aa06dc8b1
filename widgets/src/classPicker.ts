/**
 * Picking a class: a slider over the choices, a search box (Enter picks the best match), the top-k
 * list as buttons and its vega-lite chart. Shared by the CAM, saliency and occlusion panels; it
 * reports a position in `choices` and knows nothing of kernels.
 */
import type { ClassScore } from 'cnnvis/dist/schema/explorers';
import { drawChart, topChartSpec } from './chart';
import { el, field, slider } from './dom';

export interface ClassChoice {
  index: number;
  label: string;
  probability?: number;
}

export class ClassPicker {
  readonly slider = slider(0, 0, 1, 0, 'class');
  readonly search = el('input', 'cnnvis-search');
  readonly note = el('div', 'cnnvis-note');
  readonly topList = el('ol', 'cnnvis-top');
  readonly chart = el('div', 'cnnvis-chart');
  /** Slider and search rows, for the panel's controls column. */
  readonly controls: HTMLElement[];
  /** The top list and chart, for the panel's side column. */
  readonly side = el('div', 'cnnvis-side');
  private choices: readonly ClassChoice[] = [];
  private chartKey = '';

  constructor(private readonly pick: (position: number) => void) {
    this.search.type = 'search';
    this.search.placeholder = 'search classes';
    this.search.setAttribute('aria-label', 'search classes');
    this.controls = [field('Class', this.slider), field('Find', this.search), this.note];
    this.side.append(el('div', 'cnnvis-subtitle', 'Top classes'), this.topList, this.chart);
    this.slider.addEventListener('input', () => this.pick(Number(this.slider.value)));
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.pickSearch();
    });
    this.search.addEventListener('change', () => this.pickSearch());
  }

  /** Matches for a search text: labels containing it (case-insensitive), exact matches first. */
  matches(text: string): ClassChoice[] {
    const q = text.trim().toLowerCase().replace(/[_\s]+/g, ' ');
    if (!q) return [];
    const norm = (s: string) => s.toLowerCase().replace(/[_\s]+/g, ' ');
    const hits = this.choices.filter((c) => norm(c.label).includes(q) || String(c.index) === q);
    return hits.sort((a, b) => Number(norm(b.label) === q) - Number(norm(a.label) === q));
  }

  private pickSearch(): void {
    const hits = this.matches(this.search.value);
    if (hits.length === 0) {
      this.note.textContent = this.search.value.trim() ? 'no class matches' : '';
      return;
    }
    this.note.textContent = hits.length > 1 ? `${hits.length} matches; showing ${hits[0].label}` : '';
    this.pick(this.choices.indexOf(hits[0]));
  }

  render(choices: readonly ClassChoice[], position: number, top: readonly ClassScore[]): void {
    this.choices = choices;
    this.slider.max = String(Math.max(0, choices.length - 1));
    this.slider.value = String(position);
    this.slider.setAttribute('aria-valuetext', choices[position]?.label ?? '');
    const chosen = choices[position]?.index ?? -1;
    this.topList.replaceChildren(
      ...top.map((t) => {
        const item = el('li');
        const b = el('button', 'cnnvis-button cnnvis-top-class', `${t.label} ${(t.probability * 100).toFixed(1)}%`);
        b.type = 'button';
        b.setAttribute('aria-pressed', String(t.index === chosen));
        b.addEventListener('click', () => {
          const i = this.choices.findIndex((c) => c.index === t.index);
          if (i >= 0) this.pick(i);
        });
        item.append(b);
        return item;
      }),
    );
    const key = JSON.stringify([top, chosen]);
    if (key !== this.chartKey) {
      this.chartKey = key;
      void drawChart(this.chart, topChartSpec(top, chosen));
    }
  }
}
