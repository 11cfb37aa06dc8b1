/**
 * The CAM explorer's face, shared by the live widget view and the static result renderer: the
 * overlay canvas with its colour bar, the class slider and search box, the top-k list and chart,
 * layer / method / colormap pickers and the opacity slider. It draws what it is given and reports
 * what the user asks for; it knows nothing of kernels.
 */
import type { ClassScore, MethodInfo } from 'cnnvis/dist/schema/explorers';
import { EXPLORER_COLORMAPS } from 'cnnvis/dist/schema/explorers';
import { drawChart, topChartSpec } from './chart';
import { el, field, paint, ProgressLine, select, setOptions, slider } from './dom';
import { colorbar, enlarge, overlay, scaleFor } from './pixels';

export interface CamChoice {
  index: number;
  label: string;
  probability?: number;
}

export interface CamPanelState {
  title: string;
  status: string;
  progress: number;
  message: string;
  image: Uint8Array;
  imageWidth: number;
  imageHeight: number;
  heatmap: Uint8Array;
  heatWidth: number;
  heatHeight: number;
  colormap: string;
  opacity: number;
  /** What the class slider moves over. */
  choices: CamChoice[];
  /** Slider position in `choices`. */
  position: number;
  /** What the picture shows, e.g. "class 281 · tabby · p=0.412". */
  caption: string;
  top: ClassScore[];
  layers: string[];
  layer: string;
  methods: MethodInfo[];
  method: string;
}

export interface CamPanelHandlers {
  position(i: number): void;
  layer?(name: string): void;
  method?(id: string): void;
  opacity(v: number): void;
  colormap(name: string): void;
  cancel?(): void;
}

/** Pixels on screen for the overlay's longer side. */
const TARGET_SIZE = 320;

export class CamPanel {
  readonly node = el('div', 'cnnvis-explorer cnnvis-cam');
  readonly canvas = el('canvas', 'cnnvis-canvas cnnvis-overlay');
  readonly colorbarCanvas = el('canvas', 'cnnvis-canvas cnnvis-colorbar');
  readonly classSlider = slider(0, 0, 1, 0, 'class');
  readonly search = el('input', 'cnnvis-search');
  readonly caption = el('div', 'cnnvis-caption');
  readonly topList = el('ol', 'cnnvis-top');
  readonly chart = el('div', 'cnnvis-chart');
  readonly layerSelect = select([], '', 'layer');
  readonly methodSelect = select([], '', 'method');
  readonly colormapSelect = select(EXPLORER_COLORMAPS.map((c) => [c, c] as const), 'jet', 'colormap');
  readonly opacitySlider = slider(0, 1, 0.05, 0.5, 'overlay opacity');
  readonly progress: ProgressLine;
  private readonly title = el('div', 'cnnvis-title');
  private readonly searchNote = el('div', 'cnnvis-note');
  private state: CamPanelState | null = null;
  private chartKey = '';

  constructor(private readonly handlers: CamPanelHandlers) {
    this.progress = new ProgressLine(handlers.cancel ? () => handlers.cancel?.() : null);
    this.search.type = 'search';
    this.search.placeholder = 'search classes';
    this.search.setAttribute('aria-label', 'search classes');
    const picture = el('div', 'cnnvis-picture');
    picture.append(this.canvas, this.colorbarCanvas);
    this.canvas.setAttribute('role', 'img');
    this.colorbarCanvas.setAttribute('aria-label', 'colour bar: low at the bottom, high at the top');
    const scale = el('div', 'cnnvis-colorbar-ticks');
    scale.append(el('span', '', '1'), el('span', '', '0'));
    picture.append(scale);
    const controls = el('div', 'cnnvis-controls');
    controls.append(
      field('Class', this.classSlider),
      field('Find', this.search),
      this.searchNote,
      field('Layer', this.layerSelect),
      field('Method', this.methodSelect),
      field('Colormap', this.colormapSelect),
      field('Opacity', this.opacitySlider),
    );
    const side = el('div', 'cnnvis-side');
    side.append(el('div', 'cnnvis-subtitle', 'Top classes'), this.topList, this.chart);
    const body = el('div', 'cnnvis-body');
    body.append(picture, controls, side);
    this.node.append(this.title, this.caption, body, this.progress.node);

    this.classSlider.addEventListener('input', () => this.handlers.position(Number(this.classSlider.value)));
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.pickSearch();
    });
    this.search.addEventListener('change', () => this.pickSearch());
    this.layerSelect.addEventListener('change', () => this.handlers.layer?.(this.layerSelect.value));
    this.methodSelect.addEventListener('change', () => this.handlers.method?.(this.methodSelect.value));
    this.colormapSelect.addEventListener('change', () => this.handlers.colormap(this.colormapSelect.value));
    this.opacitySlider.addEventListener('input', () => this.handlers.opacity(Number(this.opacitySlider.value)));
  }

  /** Matches for a search text: labels containing it (case-insensitive), exact matches first. */
  matches(text: string): CamChoice[] {
    const q = text.trim().toLowerCase().replace(/[_\s]+/g, ' ');
    if (!q || !this.state) return [];
    const norm = (s: string) => s.toLowerCase().replace(/[_\s]+/g, ' ');
    const hits = this.state.choices.filter((c) => norm(c.label).includes(q) || String(c.index) === q);
    return hits.sort((a, b) => Number(norm(b.label) === q) - Number(norm(a.label) === q));
  }

  private pickSearch(): void {
    const hits = this.matches(this.search.value);
    if (!this.state || hits.length === 0) {
      this.searchNote.textContent = this.search.value.trim() ? 'no class matches' : '';
      return;
    }
    this.searchNote.textContent = hits.length > 1 ? `${hits.length} matches; showing ${hits[0].label}` : '';
    this.handlers.position(this.state.choices.indexOf(hits[0]));
  }

  render(s: CamPanelState): void {
    this.state = s;
    this.title.textContent = s.title;
    this.caption.textContent = s.caption;
    this.classSlider.max = String(Math.max(0, s.choices.length - 1));
    this.classSlider.value = String(s.position);
    this.classSlider.setAttribute('aria-valuetext', s.choices[s.position]?.label ?? '');
    setOptions(this.layerSelect, s.layers.map((l) => [l, l] as const), s.layer);
    this.layerSelect.disabled = s.layers.length < 2 || !this.handlers.layer;
    setOptions(this.methodSelect, s.methods.map((m) => [m.id, m.name] as const), s.method);
    this.methodSelect.disabled = s.methods.length < 2 || !this.handlers.method;
    this.colormapSelect.value = s.colormap;
    this.opacitySlider.value = String(s.opacity);
    this.progress.show(s.status, s.progress, s.message);
    this.draw();
    this.renderTop(s);
  }

  /** Redraws the overlay and the colour bar from the current state. */
  draw(): void {
    const s = this.state;
    if (!s) return;
    const px = overlay(s.image, s.imageWidth, s.imageHeight, s.heatmap, s.heatWidth, s.heatHeight, s.colormap, s.opacity);
    const factor = scaleFor(Math.max(s.imageWidth, s.imageHeight), TARGET_SIZE);
    paint(this.canvas, enlarge(px, factor));
    this.canvas.setAttribute('aria-label', s.caption);
    paint(this.colorbarCanvas, colorbar(s.colormap, 12, s.imageHeight * factor));
  }

  private renderTop(s: CamPanelState): void {
    const chosen = s.choices[s.position]?.index ?? -1;
    this.topList.replaceChildren(
      ...s.top.map((t) => {
        const item = el('li');
        const b = el('button', 'cnnvis-button cnnvis-top-class', `${t.label} ${(t.probability * 100).toFixed(1)}%`);
        b.type = 'button';
        b.setAttribute('aria-pressed', String(t.index === chosen));
        b.addEventListener('click', () => {
          const i = s.choices.findIndex((c) => c.index === t.index);
          if (i >= 0) this.handlers.position(i);
        });
        item.append(b);
        return item;
      }),
    );
    const key = JSON.stringify([s.top, chosen]);
    if (key !== this.chartKey) {
      this.chartKey = key;
      void drawChart(this.chart, topChartSpec(s.top, chosen));
    }
  }
}
