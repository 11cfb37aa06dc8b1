/**
 * The feature-map explorer's face, shared by the live view and the static renderer: a layer slider,
 * channel pages, colormap and normalization pickers, a grid of channel tiles (hover or arrow keys
 * tell a tile's channel and mean activation, click or Enter enlarges it), and the top channel over
 * the picture.
 */
import type { LayerInfo, Normalization } from 'cnnvis/dist/schema/explorers';
import { EXPLORER_COLORMAPS, explorerScale, NORMALIZATIONS } from 'cnnvis/dist/schema/explorers';
import { el, field, ownKeys, paint, ProgressLine, select, slider, type PanelImage, type PanelStatus } from './dom';
import { blankPixels, blit, colorbar, colorize, enlarge, gridFor, Grid, overlay, rangeOf, scaleFor, tileAtPoint, tileOrigin } from './pixels';

export interface FeatureMapPanelState extends PanelStatus, PanelImage {
  layers: LayerInfo[];
  layerIndex: number;
  /** The layer the page data belongs to. */
  shownLayer: number;
  page: number;
  pageCount: number;
  channels: number[];
  /** Tile after tile, tileHeight × tileWidth each. */
  data: Float32Array;
  tileWidth: number;
  tileHeight: number;
  /** Mean activation by channel index. */
  means: ArrayLike<number>;
  layerMin: number;
  layerMax: number;
  colormap: string;
  normalization: Normalization;
  topChannel: number;
  topData: Float32Array;
  showTop: boolean;
}

export interface FeatureMapPanelHandlers {
  layer(i: number): void;
  page(p: number): void;
  colormap(name: string): void;
  normalization(n: Normalization): void;
  showTop(on: boolean): void;
  cancel?(): void;
}

const GRID_TARGET = 480;

export class FeatureMapPanel {
  readonly node = el('div', 'cnnvis-explorer cnnvis-featuremaps');
  readonly grid = el('canvas', 'cnnvis-canvas cnnvis-grid');
  readonly enlarged = el('canvas', 'cnnvis-canvas cnnvis-enlarged');
  readonly topCanvas = el('canvas', 'cnnvis-canvas cnnvis-topoverlay');
  readonly colorbarCanvas = el('canvas', 'cnnvis-canvas cnnvis-colorbar');
  readonly layerSlider = slider(0, 0, 1, 0, 'layer');
  readonly layerName = el('output', 'cnnvis-layer-name');
  readonly prev = el('button', 'cnnvis-button', '◀ channels');
  readonly next = el('button', 'cnnvis-button', 'channels ▶');
  readonly pageText = el('span', 'cnnvis-page');
  readonly colormapSelect = select(EXPLORER_COLORMAPS.map((c) => [c, c] as const), 'viridis', 'colormap');
  readonly normalizationSelect = select(NORMALIZATIONS.map((n) => [n, n === 'global' ? 'global (whole layer)' : 'per tile'] as const), 'per-tile', 'normalization');
  readonly topToggle = el('input', 'cnnvis-checkbox');
  readonly info = el('div', 'cnnvis-info');
  readonly progress: ProgressLine;
  private readonly title = el('div', 'cnnvis-title');
  private readonly zoom = el('figure', 'cnnvis-zoom');
  private readonly zoomCaption = el('figcaption', 'cnnvis-caption');
  private readonly topFigure = el('figure', 'cnnvis-top-figure');
  private readonly topCaption = el('figcaption', 'cnnvis-caption');
  private state: FeatureMapPanelState | null = null;
  private layout: Grid | null = null;
  private factor = 1;
  /** Tile chosen with the keyboard (or last hovered). */
  private focusTile = -1;
  private zoomTile = -1;

  constructor(private readonly handlers: FeatureMapPanelHandlers) {
    this.progress = new ProgressLine(handlers.cancel ? () => handlers.cancel?.() : null);
    this.prev.type = 'button';
    this.next.type = 'button';
    this.prev.setAttribute('aria-label', 'previous channels');
    this.next.setAttribute('aria-label', 'next channels');
    this.topToggle.type = 'checkbox';
    this.grid.tabIndex = 0;
    ownKeys(this.grid);
    this.grid.setAttribute('role', 'img');
    this.info.setAttribute('aria-live', 'polite');
    const close = el('button', 'cnnvis-button', 'Close');
    close.type = 'button';
    close.addEventListener('click', () => this.closeZoom());
    this.zoom.append(this.enlarged, this.zoomCaption, close);
    this.zoom.hidden = true;
    this.topFigure.append(this.topCanvas, this.topCaption);
    this.topFigure.hidden = true;
    const pager = el('div', 'cnnvis-pager');
    pager.append(this.prev, this.pageText, this.next);
    const controls = el('div', 'cnnvis-controls');
    const layerRow = field('Layer', this.layerSlider);
    layerRow.append(this.layerName);
    controls.append(
      layerRow,
      pager,
      field('Colormap', this.colormapSelect),
      field('Normalize', this.normalizationSelect),
      field('Top channel over the picture', this.topToggle),
    );
    const picture = el('div', 'cnnvis-picture');
    picture.append(this.grid, this.colorbarCanvas);
    const body = el('div', 'cnnvis-body');
    body.append(picture, this.zoom, this.topFigure);
    this.node.append(this.title, controls, this.info, body, this.progress.node);

    this.layerSlider.addEventListener('input', () => this.handlers.layer(Number(this.layerSlider.value)));
    this.prev.addEventListener('click', () => this.state && this.handlers.page(this.state.page - 1));
    this.next.addEventListener('click', () => this.state && this.handlers.page(this.state.page + 1));
    this.colormapSelect.addEventListener('change', () => this.handlers.colormap(this.colormapSelect.value));
    this.normalizationSelect.addEventListener('change', () => this.handlers.normalization(this.normalizationSelect.value as Normalization));
    this.topToggle.addEventListener('change', () => this.handlers.showTop(this.topToggle.checked));
    this.grid.addEventListener('mousemove', (e) => this.hover(this.tileAtEvent(e)));
    this.grid.addEventListener('mouseleave', () => this.hover(-1));
    this.grid.addEventListener('click', (e) => this.openZoom(this.tileAtEvent(e)));
    this.grid.addEventListener('keydown', (e) => this.key(e));
    this.zoom.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.closeZoom();
    });
  }

  /** The tile under a mouse event (grid canvas pixels are screen pixels / CSS scale). */
  tileAtEvent(e: MouseEvent): number {
    if (!this.layout) return -1;
    const rect = this.grid.getBoundingClientRect();
    const cssScale = rect.width > 0 ? this.grid.width / rect.width : 1;
    const x = ((e.clientX - rect.left) * cssScale) / this.factor;
    const y = ((e.clientY - rect.top) * cssScale) / this.factor;
    return tileAtPoint(this.layout, Math.floor(x), Math.floor(y));
  }

  /** Text for a tile: its channel and mean activation. */
  describe(tile: number): string {
    const s = this.state;
    if (!s || tile < 0 || tile >= s.channels.length) return '';
    const ch = s.channels[tile];
    return `channel ${ch} · mean activation ${Number(s.means[ch]).toFixed(4)}`;
  }

  private hover(tile: number): void {
    this.focusTile = tile;
    this.info.textContent = this.describe(tile);
  }

  private key(e: KeyboardEvent): void {
    const s = this.state;
    if (!s || !this.layout || s.channels.length === 0) return;
    const cols = this.layout.cols;
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols };
    if (e.key in moves) {
      e.preventDefault();
      const t = this.focusTile < 0 ? 0 : Math.min(s.channels.length - 1, Math.max(0, this.focusTile + moves[e.key]));
      this.hover(t);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.openZoom(this.focusTile < 0 ? 0 : this.focusTile);
    } else if (e.key === 'Escape') {
      this.closeZoom();
    }
  }

  private openZoom(tile: number): void {
    if (!this.state || tile < 0 || tile >= this.state.channels.length) return;
    this.zoomTile = tile;
    this.zoom.hidden = false;
    this.drawZoom();
  }

  private closeZoom(): void {
    this.zoomTile = -1;
    this.zoom.hidden = true;
    this.grid.focus();
  }

  private rangeFor(tile: number): [number, number] {
    const s = this.state as FeatureMapPanelState;
    if (s.normalization === 'global') return [s.layerMin, s.layerMax];
    const area = s.tileWidth * s.tileHeight;
    return rangeOf(s.data, tile * area, (tile + 1) * area);
  }

  private tilePixels(tile: number) {
    const s = this.state as FeatureMapPanelState;
    const area = s.tileWidth * s.tileHeight;
    const [lo, hi] = this.rangeFor(tile);
    return colorize(s.data.subarray(tile * area, (tile + 1) * area), s.tileWidth, s.tileHeight, s.colormap, lo, hi);
  }

  private drawZoom(): void {
    const s = this.state;
    if (!s || this.zoomTile < 0) return;
    if (this.zoomTile >= s.channels.length) return this.closeZoom();
    paint(this.enlarged, enlarge(this.tilePixels(this.zoomTile), scaleFor(Math.max(s.tileWidth, s.tileHeight), 256)));
    this.zoomCaption.textContent = this.describe(this.zoomTile);
    this.enlarged.setAttribute('aria-label', this.describe(this.zoomTile));
  }

  render(s: FeatureMapPanelState): void {
    this.state = s;
    this.title.textContent = s.title;
    this.layerSlider.max = String(Math.max(0, s.layers.length - 1));
    this.layerSlider.value = String(s.layerIndex);
    const l = s.layers[s.layerIndex];
    const text = l ? `${l.name} [${l.shape.join('×')}]` : '';
    this.layerName.textContent = text;
    this.layerName.title = text;
    this.layerSlider.setAttribute('aria-valuetext', text);
    const first = s.channels[0] ?? 0;
    const last = s.channels[s.channels.length - 1] ?? 0;
    const total = s.layers[s.shownLayer]?.shape[2] ?? 0;
    this.pageText.textContent = s.channels.length ? `channels ${first}–${last} of ${total}` : '';
    this.prev.disabled = s.page <= 0;
    this.next.disabled = s.page >= s.pageCount - 1;
    this.colormapSelect.value = s.colormap;
    this.normalizationSelect.value = s.normalization;
    this.topToggle.checked = s.showTop;
    this.progress.show(s.status, s.progress, s.message);
    this.drawGrid();
    this.drawZoom();
    this.drawTop();
    if (this.focusTile >= s.channels.length) this.hover(-1);
    else if (this.focusTile >= 0) this.info.textContent = this.describe(this.focusTile);
  }

  private drawGrid(): void {
    const s = this.state as FeatureMapPanelState;
    const n = s.channels.length;
    if (n === 0 || s.tileWidth === 0) {
      this.layout = null;
      paint(this.grid, blankPixels(1, 1));
      return;
    }
    const g = gridFor(n, s.tileWidth, s.tileHeight, 2);
    const px = blankPixels(g.width, g.height, [0, 0, 0, 255]);
    for (let i = 0; i < n; i++) {
      const [x, y] = tileOrigin(g, i);
      blit(px, this.tilePixels(i), x, y);
    }
    this.layout = g;
    this.factor = scaleFor(Math.max(g.width, g.height), GRID_TARGET);
    paint(this.grid, enlarge(px, this.factor));
    this.grid.setAttribute('aria-label', `${s.layers[s.shownLayer]?.name ?? ''}: ${this.pageText.textContent}; arrow keys pick a tile, Enter enlarges`);
    paint(this.colorbarCanvas, colorbar(s.colormap, 12, Math.min(256, g.height * this.factor)));
  }

  private drawTop(): void {
    const s = this.state as FeatureMapPanelState;
    this.topFigure.hidden = !s.showTop || s.topData.length === 0;
    if (this.topFigure.hidden) return;
    const [lo, hi] = rangeOf(s.topData);
    const bytes = Uint8Array.from(s.topData, (v) => (hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 0));
    const px = overlay(s.image, s.imageWidth, s.imageHeight, bytes, s.tileWidth, s.tileHeight, s.colormap, 0.6);
    paint(this.topCanvas, enlarge(px, explorerScale(s.imageWidth)));
    this.topCaption.textContent = `top channel ${s.topChannel} (largest mean activation) over the picture`;
  }
}
