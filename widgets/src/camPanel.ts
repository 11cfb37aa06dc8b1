/**
 * The face of the CAM and saliency explorers, shared by the live widget views and the static result
 * renderer: the overlay canvas with its colour bar, the class picker (slider, search box, top-k list
 * and chart), layer / method / colormap pickers and the opacity slider. It draws what it is given and reports
 * what the user asks for; it knows nothing of kernels.
 */
import type { ClassScore, MethodInfo } from 'cnnvis/dist/schema/explorers';
import { EXPLORER_COLORMAPS, EXPLORER_DISPLAYS, explorerScale } from 'cnnvis/dist/schema/explorers';
import { ClassChoice, ClassPicker } from './classPicker';
import { el, field, paint, ProgressLine, select, setOptions, slider, type PanelImage, type PanelStatus } from './dom';
import { colorbar, enlarge, overlay, Pixels } from './pixels';

/** A class the slider can show. */
export type CamChoice = ClassChoice;

export interface CamPanelState extends PanelStatus, PanelImage {
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
  /** Colour-bar tick labels, top and bottom (default '1' and '0'). */
  scale?: [string, string];
  /** Saliency only: map alone, over the photo, or photo | map (EXPLORER_DISPLAYS); absent: the overlay, no menu. */
  display?: string;
  /** The gradient image (RGBA, heatWidth × heatHeight) drawn after the map; empty or absent: none. */
  gradient?: Uint8Array;
  /** What the colour bar's ends mean, e.g. 'colours clipped at the 99.5th percentile of |map|'. */
  clipNote?: string;
}

/** Labels of the display menu. */
const DISPLAY_NAMES: Record<string, string> = { map: 'map only', overlay: 'overlay', 'side-by-side': 'side by side' };
/** Pixels between the pictures drawn side by side. */
const GAP = 6;

/** Pictures left to right, GAP pixels apart, on white. */
function besides(list: Pixels[]): Pixels {
  const width = list.reduce((a, p) => a + p.width, 0) + GAP * (list.length - 1);
  const height = Math.max(...list.map((p) => p.height));
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  let x0 = 0;
  for (const p of list) {
    for (let y = 0; y < p.height; y++) data.set(p.data.subarray(y * p.width * 4, (y + 1) * p.width * 4), (y * width + x0) * 4);
    x0 += p.width + GAP;
  }
  return { width, height, data };
}

/** An RGBA picture resampled to width × height (nearest, at pixel centres). */
function resampled(src: Uint8Array, sw: number, sh: number, width: number, height: number): Pixels {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / width));
      data.set(src.subarray((sy * sw + sx) * 4, (sy * sw + sx) * 4 + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

export interface CamPanelHandlers {
  position(i: number): void;
  layer?(name: string): void;
  method?(id: string): void;
  opacity(v: number): void;
  colormap(name: string): void;
  display?(mode: string): void;
  cancel?(): void;
}

/** Colour-bar tick labels of a saliency map: ±max when signed, max and 0 otherwise. */
export function saliencyScale(signed: boolean, max: number): [string, string] {
  const m = Number(max.toPrecision(2)).toString();
  return signed ? [`+${m}`, `−${m}`] : [m, '0'];
}

/** The note under a saliency colour bar: the ends are ± the clip value, larger values share the end colours. */
export function clipNote(percentile: number): string {
  return `colours clipped at the ${percentile}th percentile of |map|`;
}

export class CamPanel {
  readonly node = el('div', 'cnnvis-explorer cnnvis-cam');
  readonly canvas = el('canvas', 'cnnvis-canvas cnnvis-overlay');
  readonly colorbarCanvas = el('canvas', 'cnnvis-canvas cnnvis-colorbar');
  readonly classes: ClassPicker;
  readonly caption = el('div', 'cnnvis-caption');
  readonly layerSelect = select([], '', 'layer');
  readonly methodSelect = select([], '', 'method');
  readonly colormapSelect = select(EXPLORER_COLORMAPS.map((c) => [c, c] as const), 'jet', 'colormap');
  readonly opacitySlider = slider(0, 1, 0.05, 0.5, 'overlay opacity');
  readonly displaySelect = select(EXPLORER_DISPLAYS.map((d) => [d, DISPLAY_NAMES[d] ?? d] as const), 'overlay', 'display');
  readonly clipNote = el('div', 'cnnvis-clip');
  readonly progress: ProgressLine;
  private readonly title = el('div', 'cnnvis-title');
  private state: CamPanelState | null = null;
  private readonly ticks = [el('span', '', '1'), el('span', '', '0')];
  private readonly layerRow: HTMLElement;
  private readonly displayRow: HTMLElement;

  constructor(private readonly handlers: CamPanelHandlers) {
    this.progress = new ProgressLine(handlers.cancel ? () => handlers.cancel?.() : null);
    this.classes = new ClassPicker((i) => this.handlers.position(i));
    const picture = el('div', 'cnnvis-picture');
    picture.append(this.canvas, this.colorbarCanvas);
    this.canvas.setAttribute('role', 'img');
    this.colorbarCanvas.setAttribute('aria-label', 'colour bar: low at the bottom, high at the top');
    const scale = el('div', 'cnnvis-colorbar-ticks');
    scale.append(...this.ticks);
    picture.append(scale, this.clipNote);
    this.displayRow = field('Display', this.displaySelect);
    this.displayRow.hidden = true;
    const controls = el('div', 'cnnvis-controls');
    this.layerRow = field('Layer', this.layerSelect);
    controls.append(
      ...this.classes.controls,
      this.layerRow,
      field('Method', this.methodSelect),
      this.displayRow,
      field('Colormap', this.colormapSelect),
      field('Opacity', this.opacitySlider),
    );
    const body = el('div', 'cnnvis-body');
    body.append(picture, controls, this.classes.side);
    this.node.append(this.title, this.caption, body, this.progress.node);

    this.layerSelect.addEventListener('change', () => this.handlers.layer?.(this.layerSelect.value));
    this.methodSelect.addEventListener('change', () => this.handlers.method?.(this.methodSelect.value));
    this.colormapSelect.addEventListener('change', () => this.handlers.colormap(this.colormapSelect.value));
    this.displaySelect.addEventListener('change', () => this.handlers.display?.(this.displaySelect.value));
    this.opacitySlider.addEventListener('input', () => this.handlers.opacity(Number(this.opacitySlider.value)));
  }

  /** The class slider and search box (the class picker's). */
  get classSlider(): HTMLInputElement {
    return this.classes.slider;
  }
  get search(): HTMLInputElement {
    return this.classes.search;
  }

  render(s: CamPanelState): void {
    this.state = s;
    this.title.textContent = s.title;
    this.caption.textContent = s.caption;
    this.classes.render(s.choices, s.position, s.top);
    setOptions(this.layerSelect, s.layers.map((l) => [l, l] as const), s.layer);
    this.layerSelect.disabled = s.layers.length < 2 || !this.handlers.layer;
    this.layerRow.hidden = s.layers.length === 0;
    const [hi, lo] = s.scale ?? ['1', '0'];
    this.ticks[0].textContent = hi;
    this.ticks[1].textContent = lo;
    setOptions(this.methodSelect, s.methods.map((m) => [m.id, m.name] as const), s.method);
    this.methodSelect.disabled = s.methods.length < 2 || !this.handlers.method;
    this.colormapSelect.value = s.colormap;
    this.displayRow.hidden = s.display === undefined || !this.handlers.display;
    if (s.display !== undefined) this.displaySelect.value = s.display;
    this.clipNote.textContent = s.clipNote ?? '';
    this.clipNote.hidden = !s.clipNote;
    this.opacitySlider.value = String(s.opacity);
    this.progress.show(s.status, s.progress, s.message);
    this.draw();
  }

  /** Redraws the overlay and the colour bar from the current state. */
  draw(): void {
    const s = this.state;
    if (!s) return;
    const display = s.display ?? 'overlay';
    const hasMap = s.heatmap.length > 0 && s.heatmap.length === s.heatWidth * s.heatHeight;
    const px = overlay(s.image, s.imageWidth, s.imageHeight, s.heatmap, s.heatWidth, s.heatHeight, s.colormap, display === 'overlay' || !hasMap ? s.opacity : 1);
    const factor = explorerScale(s.imageWidth);
    const list: Pixels[] = [];
    if (display === 'side-by-side' && hasMap) list.push(enlarge({ width: s.imageWidth, height: s.imageHeight, data: Uint8ClampedArray.from(s.image) }, factor));
    list.push(enlarge(px, factor));
    const g = s.gradient;
    if (hasMap && g && g.length > 0 && g.length === s.heatWidth * s.heatHeight * 4) list.push(enlarge(resampled(g, s.heatWidth, s.heatHeight, s.imageWidth, s.imageHeight), factor));
    paint(this.canvas, list.length === 1 ? list[0] : besides(list));
    this.canvas.setAttribute('aria-label', s.caption);
    paint(this.colorbarCanvas, colorbar(s.colormap, 12, s.imageHeight * factor));
  }
}
