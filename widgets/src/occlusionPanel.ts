/**
 * The occlusion explorer's face, shared by the live view and the static renderer: the occlusion map
 * over the picture with its colour bar, the thresholded mask and the masked picture, the class
 * picker, patch size / stride / threshold / opacity sliders and a colormap picker. The mask is
 * made here from the map (relativeMask, the kernel's rule), so the threshold needs no kernel.
 */
import type { ClassScore } from 'cnnvis/dist/schema/explorers';
import { EXPLORER_COLORMAPS, explorerScale, relativeMask } from 'cnnvis/dist/schema/explorers';
import { ClassChoice, ClassPicker } from './classPicker';
import { el, field, paint, ProgressLine, select, slider, type PanelImage, type PanelStatus } from './dom';
import { colorbar, enlarge, overlay, Pixels } from './pixels';

export interface OcclusionPanelState extends PanelStatus, PanelImage {
  /** Probability drop per pixel, mapWidth × mapHeight. */
  map: Float32Array;
  mapWidth: number;
  mapHeight: number;
  colormap: string;
  opacity: number;
  threshold: number;
  patchSize: number;
  stride: number;
  choices: ClassChoice[];
  position: number;
  caption: string;
  top: ClassScore[];
}

export interface OcclusionPanelHandlers {
  position(i: number): void;
  patchSize?(v: number): void;
  stride?(v: number): void;
  threshold(v: number): void;
  opacity(v: number): void;
  colormap(name: string): void;
  cancel?(): void;
}

export class OcclusionPanel {
  readonly node = el('div', 'cnnvis-explorer cnnvis-occlusion');
  readonly canvas = el('canvas', 'cnnvis-canvas cnnvis-overlay');
  readonly maskCanvas = el('canvas', 'cnnvis-canvas cnnvis-mask');
  readonly maskedCanvas = el('canvas', 'cnnvis-canvas cnnvis-masked');
  readonly colorbarCanvas = el('canvas', 'cnnvis-canvas cnnvis-colorbar');
  readonly classes: ClassPicker;
  readonly caption = el('div', 'cnnvis-caption');
  readonly info = el('div', 'cnnvis-info');
  readonly patchSlider = slider(1, 1, 1, 1, 'patch size');
  readonly strideSlider = slider(1, 1, 1, 1, 'stride');
  readonly thresholdSlider = slider(0, 1, 0.05, 0.5, 'mask threshold');
  readonly opacitySlider = slider(0, 1, 0.05, 0.5, 'overlay opacity');
  readonly colormapSelect = select(EXPLORER_COLORMAPS.map((c) => [c, c] as const), 'jet', 'colormap');
  readonly progress: ProgressLine;
  private readonly title = el('div', 'cnnvis-title');
  private readonly patchText = el('output', 'cnnvis-value');
  private readonly strideText = el('output', 'cnnvis-value');
  private readonly thresholdText = el('output', 'cnnvis-value');
  private readonly ticks = [el('span', '', ''), el('span', '', '0')];
  private state: OcclusionPanelState | null = null;

  constructor(private readonly handlers: OcclusionPanelHandlers) {
    this.progress = new ProgressLine(handlers.cancel ? () => handlers.cancel?.() : null);
    this.classes = new ClassPicker((i) => this.handlers.position(i));
    this.canvas.setAttribute('role', 'img');
    this.maskCanvas.setAttribute('role', 'img');
    this.maskedCanvas.setAttribute('role', 'img');
    this.colorbarCanvas.setAttribute('aria-label', 'colour bar: probability drop, none at the bottom, the largest at the top');
    this.info.setAttribute('aria-live', 'polite');
    const scale = el('div', 'cnnvis-colorbar-ticks');
    scale.append(...this.ticks);
    const figure = (canvas: HTMLCanvasElement, text: string) => {
      const f = el('figure', 'cnnvis-figure');
      f.append(canvas, el('figcaption', 'cnnvis-caption', text));
      return f;
    };
    const picture = el('div', 'cnnvis-picture');
    picture.append(figure(this.canvas, 'probability drop'), this.colorbarCanvas, scale, figure(this.maskCanvas, 'mask'), figure(this.maskedCanvas, 'masked picture'));
    const row = (label: string, control: HTMLElement, value: HTMLElement) => {
      const r = field(label, control);
      r.append(value);
      return r;
    };
    const controls = el('div', 'cnnvis-controls');
    controls.append(
      ...this.classes.controls,
      row('Patch', this.patchSlider, this.patchText),
      row('Stride', this.strideSlider, this.strideText),
      row('Threshold', this.thresholdSlider, this.thresholdText),
      field('Opacity', this.opacitySlider),
      field('Colormap', this.colormapSelect),
    );
    const body = el('div', 'cnnvis-body');
    body.append(picture, controls, this.classes.side);
    this.node.append(this.title, this.caption, body, this.info, this.progress.node);

    this.patchSlider.addEventListener('input', () => this.handlers.patchSize?.(Number(this.patchSlider.value)));
    this.strideSlider.addEventListener('input', () => this.handlers.stride?.(Number(this.strideSlider.value)));
    this.thresholdSlider.addEventListener('input', () => this.handlers.threshold(Number(this.thresholdSlider.value)));
    this.opacitySlider.addEventListener('input', () => this.handlers.opacity(Number(this.opacitySlider.value)));
    this.colormapSelect.addEventListener('change', () => this.handlers.colormap(this.colormapSelect.value));
  }

  render(s: OcclusionPanelState): void {
    this.state = s;
    this.title.textContent = s.title;
    this.caption.textContent = s.caption;
    this.classes.render(s.choices, s.position, s.top);
    const side = Math.max(1, Math.min(s.imageWidth, s.imageHeight));
    for (const [input, value, text, live] of [
      [this.patchSlider, s.patchSize, this.patchText, !!this.handlers.patchSize],
      [this.strideSlider, s.stride, this.strideText, !!this.handlers.stride],
    ] as const) {
      input.max = String(side);
      input.value = String(value);
      input.disabled = !live;
      input.setAttribute('aria-valuetext', `${value} px`);
      text.textContent = `${value} px`;
    }
    this.thresholdSlider.value = String(s.threshold);
    this.thresholdText.textContent = s.threshold.toFixed(2);
    this.opacitySlider.value = String(s.opacity);
    this.colormapSelect.value = s.colormap;
    this.progress.show(s.status, s.progress, s.message);
    this.draw();
  }

  /** Redraws the map, the mask and the masked picture from the state. */
  draw(): void {
    const s = this.state;
    if (!s) return;
    let max = 0;
    for (const v of s.map) if (v > max) max = v;
    const heat = Uint8Array.from(s.map, (v) => (max > 0 ? Math.round(Math.min(1, Math.max(0, v / max)) * 255) : 0));
    const factor = explorerScale(s.imageWidth);
    paint(this.canvas, enlarge(overlay(s.image, s.imageWidth, s.imageHeight, heat, s.mapWidth, s.mapHeight, s.colormap, s.opacity), factor));
    paint(this.colorbarCanvas, colorbar(s.colormap, 12, s.imageHeight * factor));
    this.ticks[0].textContent = max > 0 ? max.toPrecision(2) : '';
    this.canvas.setAttribute('aria-label', `occlusion map: ${s.caption}`);
    const mask = s.map.length === s.mapWidth * s.mapHeight && s.map.length > 0 ? relativeMask(s.map, s.threshold) : new Uint8Array(0);
    let kept = 0;
    mask.forEach((m) => (kept += m));
    // The mask at the picture's pixels, so the three pictures share one size and scale.
    const maskPx: Pixels = { width: s.imageWidth, height: s.imageHeight, data: new Uint8ClampedArray(s.imageWidth * s.imageHeight * 4) };
    const masked: Pixels = { width: s.imageWidth, height: s.imageHeight, data: new Uint8ClampedArray(s.imageWidth * s.imageHeight * 4) };
    for (let y = 0; y < s.imageHeight; y++) {
      const my = Math.min(s.mapHeight - 1, Math.floor(((y + 0.5) * s.mapHeight) / s.imageHeight));
      for (let x = 0; x < s.imageWidth; x++) {
        const mx = Math.min(s.mapWidth - 1, Math.floor(((x + 0.5) * s.mapWidth) / s.imageWidth));
        const o = (y * s.imageWidth + x) * 4;
        const on = mask.length > 0 && mask[my * s.mapWidth + mx] === 1;
        for (let c = 0; c < 3; c++) masked.data[o + c] = on ? s.image[o + c] : 0;
        masked.data[o + 3] = 255;
        maskPx.data.fill(on ? 255 : 0, o, o + 3);
        maskPx.data[o + 3] = 255;
      }
    }
    if (mask.length) paint(this.maskCanvas, enlarge(maskPx, factor));
    paint(this.maskedCanvas, enlarge(masked, factor));
    const percent = mask.length ? ((100 * kept) / mask.length).toFixed(1) : '0';
    this.info.textContent = mask.length ? `threshold ${s.threshold.toFixed(2)} × largest drop ${max.toPrecision(3)}: keeps ${percent}% of the pixels` : '';
    this.maskCanvas.setAttribute('aria-label', `mask: ${percent}% of the pixels kept`);
    this.maskedCanvas.setAttribute('aria-label', 'the picture where the mask is on');
  }
}
