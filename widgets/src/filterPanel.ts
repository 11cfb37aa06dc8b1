/**
 * The filter explorer's face, shared by the live view and the static renderer: a layer slider over
 * the conv layers, filter pages, a weights grid (RGB tiles, a row of grey tiles per filter for deeper
 * layers, one tile per channel for depthwise kernels; hover or arrow keys tell the filter, input
 * channel and norm) and, on demand, the activation-maximization patterns of the page. Under each grid,
 * one label per filter in the grid's columns: its L2 norm (and 'dead') under the weights, its pattern's
 * final objective value under the patterns.
 */
import type { FilterLayerInfo, FilterMode, FilterScaling } from 'cnnvis/dist/schema/explorers';
import { EXPLORER_COLORMAPS, tileColormap } from 'cnnvis/dist/schema/explorers';
import { el, field, ownKeys, paint, ProgressLine, select, setOptions, slider, type PanelStatus } from './dom';
import { blankPixels, blit, colorize, enlarge, Grid, Pixels, scaleFor, tileAtPoint, tileOrigin } from './pixels';

export interface FilterPanelState extends PanelStatus {
  layers: FilterLayerInfo[];
  layerIndex: number;
  shownLayer: number;
  page: number;
  pageCount: number;
  filters: number[];
  weights: Uint8Array;
  weightChannels: number;
  weightWidth: number;
  weightHeight: number;
  tilesPerFilter: number;
  norms: number[];
  /** Per filter on the page: dead (crossed out, and 'dead' in the hover text). */
  dead: boolean[];
  /** Scaling asked for, and the one the tiles use ('layer': bytes 0..255 are weightRange). */
  scaling: FilterScaling;
  weightScaling: 'layer' | 'tile';
  weightRange: [number, number];
  weightDiverging: boolean;
  /** Cells in use per tile (the rest of a pointwise tile is empty). */
  weightCells: number;
  colormap: string;
  mode: FilterMode;
  steps: number;
  patterns: Uint8Array;
  patternWidth: number;
  patternHeight: number;
  patternFilters: number[];
  patternValues: number[];
  /** Per pattern: flat (its objective stayed 0 from every start; the image is noise): marked in its label, counted in the caption. */
  patternFlat: boolean[];
}

export interface FilterPanelHandlers {
  layer(i: number): void;
  page(p: number): void;
  colormap(name: string): void;
  /** Absent in a saved result (the tiles are scaled in the kernel). */
  scaling?(s: FilterScaling): void;
  /** Absent in a saved result (patterns need the kernel). */
  mode?(m: FilterMode): void;
  steps?(n: number): void;
  cancel?(): void;
}

const GRID_TARGET = 384;
const STEP_CHOICES = [16, 32, 64, 128, 256];

/** A norm or objective value in a few characters (exponent for tiny ones). */
export function shortValue(v: number): string {
  const n = Number(v);
  return n !== 0 && Math.abs(n) < 1e-3 ? n.toExponential(2) : Math.abs(n) >= 1e4 ? n.toExponential(2) : n.toFixed(Math.abs(n) >= 100 ? 1 : 3);
}

/** Narrowest column that shows a whole label such as "12: ‖w‖ 1.23e-13 dead". */
const VALUE_COLUMN_PX = 104;

/** Label columns under a grid of `cols` tiles `tilePx` wide: the tiles' columns, or readable ones that fit the grid. */
export function labelColumns(cols: number, tilePx: number): { n: number; px: number } {
  const tile = Math.max(1, Math.round(tilePx));
  const columns = Math.max(1, cols);
  if (tile >= VALUE_COLUMN_PX) return { n: columns, px: tile };
  return { n: Math.max(1, Math.floor((columns * tile) / VALUE_COLUMN_PX)), px: VALUE_COLUMN_PX };
}

/**
 * Fills `list` with one label per filter (each names its filter, so they read in any layout): in
 * `cols` columns as wide as the grid's tiles when a tile is wide enough for a label, else in as many
 * columns of a readable width as the grid's width holds. The whole text is also the label's tooltip.
 */
function fillValues(list: HTMLElement, labels: Array<{ text: string; dead?: boolean }>, cols: number, tilePx: number): void {
  list.replaceChildren(
    ...labels.map((l) => {
      const item = el('li', l.dead ? 'cnnvis-filter-value cnnvis-dead' : 'cnnvis-filter-value', l.text);
      item.title = l.text;
      return item;
    }),
  );
  const fit = labelColumns(cols, tilePx);
  list.style.gridTemplateColumns = `repeat(${fit.n}, ${fit.px}px)`;
  list.hidden = labels.length === 0;
}

/** A grid with a fixed number of columns (a row per filter), or near-square. */
function layout(count: number, cols: number, tileWidth: number, tileHeight: number, pad = 1): Grid {
  const c = Math.max(1, Math.min(count, cols));
  const rows = Math.max(1, Math.ceil(count / c));
  return { width: pad + c * (tileWidth + pad), height: pad + rows * (tileHeight + pad), cols: c, tileWidth, tileHeight, pad, count };
}

export class FilterPanel {
  readonly node = el('div', 'cnnvis-explorer cnnvis-filters');
  readonly grid = el('canvas', 'cnnvis-canvas cnnvis-grid cnnvis-weights');
  readonly patternCanvas = el('canvas', 'cnnvis-canvas cnnvis-patterns');
  readonly layerSlider = slider(0, 0, 1, 0, 'layer');
  readonly layerName = el('output', 'cnnvis-layer-name');
  readonly prev = el('button', 'cnnvis-button', '◀');
  readonly next = el('button', 'cnnvis-button', '▶');
  readonly pageText = el('span', 'cnnvis-page');
  readonly patternsButton = el('button', 'cnnvis-button cnnvis-toggle', 'Activation maximization');
  readonly stepsSelect = select(STEP_CHOICES.map((n) => [String(n), `${n} steps`] as const), '64', 'optimization steps');
  readonly scalingSelect = select(
    [
      ['auto', 'auto (per layer for 1×1)'],
      ['layer', 'per layer'],
      ['tile', 'per tile'],
    ] as const,
    'auto',
    'weight scaling',
  );
  readonly weightCaption = el('figcaption', 'cnnvis-caption');
  readonly colormapSelect = select(EXPLORER_COLORMAPS.map((c) => [c, c] as const), 'gray', 'colormap');
  readonly info = el('div', 'cnnvis-info');
  readonly patternCaption = el('figcaption', 'cnnvis-caption');
  /** One label per filter under the weights (norm, dead) and under the patterns (objective value). */
  readonly weightValues = el('ol', 'cnnvis-filter-values');
  readonly patternValues = el('ol', 'cnnvis-filter-values');
  readonly progress: ProgressLine;
  private readonly title = el('div', 'cnnvis-title');
  private readonly patternFigure = el('figure', 'cnnvis-figure');
  private state: FilterPanelState | null = null;
  private grid_: Grid | null = null;
  private factor = 1;
  private focusTile = -1;

  constructor(private readonly handlers: FilterPanelHandlers) {
    this.progress = new ProgressLine(handlers.cancel ? () => handlers.cancel?.() : null);
    for (const b of [this.prev, this.next, this.patternsButton]) b.type = 'button';
    this.prev.setAttribute('aria-label', 'previous filters');
    this.next.setAttribute('aria-label', 'next filters');
    this.grid.tabIndex = 0;
    ownKeys(this.grid);
    this.grid.setAttribute('role', 'img');
    this.patternCanvas.setAttribute('role', 'img');
    this.info.setAttribute('aria-live', 'polite');
    const pager = el('div', 'cnnvis-pager');
    pager.append(this.prev, this.pageText, this.next);
    const layerRow = field('Layer', this.layerSlider);
    layerRow.append(this.layerName);
    const modeRow = el('div', 'cnnvis-field');
    modeRow.append(this.patternsButton, this.stepsSelect);
    const controls = el('div', 'cnnvis-controls');
    controls.append(layerRow, pager, modeRow, field('Scale', this.scalingSelect), field('Colormap', this.colormapSelect));
    this.patternFigure.append(this.patternCanvas, this.patternValues, this.patternCaption);
    this.patternFigure.hidden = true;
    const weights = el('figure', 'cnnvis-figure');
    weights.append(this.grid, this.weightValues, this.weightCaption);
    const body = el('div', 'cnnvis-body');
    body.append(weights, this.patternFigure);
    this.node.append(this.title, controls, this.info, body, this.progress.node);

    this.layerSlider.addEventListener('input', () => this.handlers.layer(Number(this.layerSlider.value)));
    this.prev.addEventListener('click', () => this.state && this.handlers.page(this.state.page - 1));
    this.next.addEventListener('click', () => this.state && this.handlers.page(this.state.page + 1));
    this.patternsButton.addEventListener('click', () => this.state && this.handlers.mode?.(this.state.mode === 'patterns' ? 'weights' : 'patterns'));
    this.stepsSelect.addEventListener('change', () => this.handlers.steps?.(Number(this.stepsSelect.value)));
    this.colormapSelect.addEventListener('change', () => this.handlers.colormap(this.colormapSelect.value));
    this.scalingSelect.addEventListener('change', () => this.handlers.scaling?.(this.scalingSelect.value as FilterScaling));
    this.grid.addEventListener('mousemove', (e) => this.hover(this.tileAtEvent(e)));
    this.grid.addEventListener('mouseleave', () => this.hover(-1));
    this.grid.addEventListener('keydown', (e) => this.key(e));
  }

  /** Text for a weight tile: its filter, input channel and the filter's norm. */
  describe(tile: number): string {
    const s = this.state;
    if (!s || tile < 0 || !this.grid_ || tile >= this.grid_.count) return '';
    const i = Math.floor(tile / s.tilesPerFilter);
    const f = s.filters[i];
    const view = s.layers[s.shownLayer]?.view;
    const where =
      view === 'per-input-channel' ? ` · input channel ${tile % s.tilesPerFilter}` : view === 'depthwise' ? ' (depthwise)' : view === 'pointwise' ? ' (1×1: a cell per input channel)' : ' (RGB)';
    const norm = Number(s.norms[i]);
    const p = s.mode === 'patterns' ? s.patternFilters.indexOf(f) : -1;
    const objective = p >= 0 && s.patternValues[p] !== undefined ? ` · pattern objective ${shortValue(s.patternValues[p])}${s.patternFlat[p] ? ' (flat: 0 from every start)' : ''}` : '';
    return `filter ${f}${where} · L2 norm ${norm !== 0 && Math.abs(norm) < 1e-3 ? norm.toExponential(2) : norm.toFixed(4)}${s.dead[i] ? ' · dead' : ''}${objective}`;
  }

  tileAtEvent(e: MouseEvent): number {
    if (!this.grid_) return -1;
    const rect = this.grid.getBoundingClientRect();
    const cssScale = rect.width > 0 ? this.grid.width / rect.width : 1;
    const x = ((e.clientX - rect.left) * cssScale) / this.factor;
    const y = ((e.clientY - rect.top) * cssScale) / this.factor;
    return tileAtPoint(this.grid_, Math.floor(x), Math.floor(y));
  }

  private hover(tile: number): void {
    this.focusTile = tile;
    this.info.textContent = this.describe(tile);
  }

  private key(e: KeyboardEvent): void {
    if (!this.grid_ || this.grid_.count === 0) return;
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: this.grid_.cols, ArrowUp: -this.grid_.cols };
    if (!(e.key in moves)) return;
    e.preventDefault();
    this.hover(this.focusTile < 0 ? 0 : Math.min(this.grid_.count - 1, Math.max(0, this.focusTile + moves[e.key])));
  }

  render(s: FilterPanelState): void {
    this.state = s;
    this.title.textContent = s.title;
    this.layerSlider.max = String(Math.max(0, s.layers.length - 1));
    this.layerSlider.value = String(s.layerIndex);
    const l = s.layers[s.layerIndex];
    const text = l ? `${l.name} [${l.shape.join('×')}] · ${l.view}` : '';
    this.layerName.textContent = text;
    this.layerName.title = text;
    this.layerSlider.setAttribute('aria-valuetext', text);
    const total = s.layers[s.shownLayer]?.filters ?? 0;
    this.pageText.textContent = s.filters.length ? `filters ${s.filters[0]}–${s.filters[s.filters.length - 1]} of ${total}` : '';
    const deadCount = s.dead.filter(Boolean).length;
    this.weightCaption.textContent =
      (s.weightScaling === 'layer'
        ? `weights on one scale for the layer, ${s.weightRange[0].toPrecision(3)} to ${s.weightRange[1].toPrecision(3)} (${this.tileColormap()})`
        : 'weights (each tile scaled to its own range)') + (deadCount ? `; ${deadCount} dead filter${deadCount > 1 ? 's' : ''} crossed out` : '');
    this.prev.disabled = s.page <= 0;
    this.next.disabled = s.page >= s.pageCount - 1;
    this.patternsButton.setAttribute('aria-pressed', String(s.mode === 'patterns'));
    this.patternsButton.disabled = !this.handlers.mode;
    // The explorer may have been opened with a count the menu does not list: offer it too, so the
    // menu never shows blank and never sends a value it was not given.
    // A saved view without a step count (weights only, or an older snapshot) hides the menu.
    const choices = STEP_CHOICES.includes(s.steps) || !(s.steps > 0) ? STEP_CHOICES : [...STEP_CHOICES, s.steps].sort((a, b) => a - b);
    setOptions(this.stepsSelect, choices.map((n) => [String(n), `${n} steps`] as const), String(s.steps > 0 ? s.steps : 64));
    this.stepsSelect.hidden = !(s.steps > 0);
    this.stepsSelect.disabled = !this.handlers.steps;
    this.colormapSelect.value = s.colormap;
    this.scalingSelect.value = s.scaling;
    this.scalingSelect.disabled = !this.handlers.scaling;
    this.progress.show(s.status, s.progress, s.message);
    this.drawWeights();
    this.drawPatterns();
    if (this.focusTile >= 0) this.info.textContent = this.describe(this.focusTile);
  }

  private weightTile(i: number): Pixels {
    const s = this.state as FilterPanelState;
    const n = s.weightWidth * s.weightHeight;
    const part = s.weights.subarray(i * n * s.weightChannels, (i + 1) * n * s.weightChannels);
    if (s.weightChannels === 4) return { width: s.weightWidth, height: s.weightHeight, data: Uint8ClampedArray.from(part) };
    const px = colorize(part, s.weightWidth, s.weightHeight, this.tileColormap(), 0, 255);
    // Unused cells of a pointwise tile stay background.
    for (let j = s.weightCells; j < n; j++) px.data.set([0, 0, 0, 255], j * 4);
    return px;
  }

  /** The colormap single-channel tiles are drawn with (a diverging one on a signed layer scale). */
  tileColormap(): string {
    const s = this.state as FilterPanelState;
    return tileColormap(s.colormap, s.weightDiverging);
  }

  /** A red cross over a dead filter's tile. */
  private cross(px: Pixels, x: number, y: number, w: number, h: number): void {
    const n = Math.max(w, h);
    for (let i = 0; i < n; i++) {
      const dx = Math.floor((i * w) / n);
      const dy = Math.floor((i * h) / n);
      for (const xx of [x + dx, x + w - 1 - dx]) px.data.set([255, 0, 0, 255], ((y + dy) * px.width + xx) * 4);
    }
  }

  private drawWeights(): void {
    const s = this.state as FilterPanelState;
    const n = s.weightWidth * s.weightHeight * s.weightChannels;
    const count = n ? Math.floor(s.weights.length / n) : 0;
    if (!count) {
      this.grid_ = null;
      paint(this.grid, blankPixels(1, 1));
      fillValues(this.weightValues, [], 1, 1);
      return;
    }
    const cols = s.tilesPerFilter > 1 ? s.tilesPerFilter : Math.ceil(Math.sqrt(count));
    const g = layout(count, cols, s.weightWidth, s.weightHeight);
    const px = blankPixels(g.width, g.height, [0, 0, 0, 255]);
    for (let i = 0; i < count; i++) {
      const [x, y] = tileOrigin(g, i);
      blit(px, this.weightTile(i), x, y);
    }
    this.grid_ = g;
    this.factor = scaleFor(Math.max(g.width, g.height), GRID_TARGET);
    const big = enlarge(px, this.factor);
    for (let i = 0; i < count; i++) {
      if (!s.dead[Math.floor(i / s.tilesPerFilter)]) continue;
      const [x, y] = tileOrigin(g, i);
      this.cross(big, x * this.factor, y * this.factor, s.weightWidth * this.factor, s.weightHeight * this.factor);
    }
    paint(this.grid, big);
    this.grid.setAttribute('aria-label', `weights of ${s.layers[s.shownLayer]?.name ?? ''}: ${this.pageText.textContent}; arrow keys pick a tile`);
    // A row of tiles per filter: one label per row; otherwise one per tile, in the grid's columns.
    const rows = s.tilesPerFilter > 1;
    fillValues(
      this.weightValues,
      s.filters.map((f, i) => ({ text: `${f}: ‖w‖ ${shortValue(s.norms[i])}${s.dead[i] ? ' dead' : ''}`, dead: s.dead[i] })),
      rows ? 1 : g.cols,
      rows ? g.width * this.factor : (s.weightWidth + g.pad) * this.factor,
    );
  }

  private drawPatterns(): void {
    const s = this.state as FilterPanelState;
    const count = s.patternFilters.length;
    this.patternFigure.hidden = s.mode !== 'patterns' || count === 0;
    if (this.patternFigure.hidden) return;
    const g = layout(count, Math.ceil(Math.sqrt(count)), s.patternWidth, s.patternHeight, 2);
    const px = blankPixels(g.width, g.height, [0, 0, 0, 255]);
    const area = s.patternWidth * s.patternHeight * 4;
    for (let i = 0; i < count; i++) {
      const [x, y] = tileOrigin(g, i);
      blit(px, { width: s.patternWidth, height: s.patternHeight, data: Uint8ClampedArray.from(s.patterns.subarray(i * area, (i + 1) * area)) }, x, y);
    }
    const factor = scaleFor(Math.max(g.width, g.height), GRID_TARGET);
    paint(this.patternCanvas, enlarge(px, factor));
    fillValues(
      this.patternValues,
      s.patternFilters.map((f, i) => ({ text: `${f}: ${shortValue(s.patternValues[i])}${s.patternFlat[i] ? ' flat' : ''}`, dead: s.dead[s.filters.indexOf(f)] || s.patternFlat[i] })),
      g.cols,
      (s.patternWidth + g.pad) * factor,
    );
    const mean = s.patternValues.reduce((a, b) => a + b, 0) / Math.max(1, s.patternValues.length);
    const flat = s.patternFilters.filter((_, i) => s.patternFlat[i]);
    const flatText = flat.length
      ? `; flat: filter${flat.length > 1 ? 's' : ''} ${flat.join(', ')} stayed at 0 from every start tried, so ${flat.length > 1 ? 'their images are' : 'its image is'} the start's noise, not a pattern (a dead filter, or one no input near grey reaches)`
      : '';
    this.patternCaption.textContent = `activation maximization of filters ${s.patternFilters[0]}–${s.patternFilters[count - 1]} (mean objective ${mean.toFixed(3)})${flatText}`;
    this.patternCanvas.setAttribute('aria-label', this.patternCaption.textContent);
  }
}
