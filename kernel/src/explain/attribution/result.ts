/**
 * AttributionResult: what every gradient-family method and occlusion return — raw per-pixel numbers
 * (signed where the method is signed), the per-channel attributions, the target and a picture.
 */
import { toRGBA } from '../../images/encode';
import { applyColormap } from '../../render/colormaps';
import { figure, FigurePanel } from '../../render/figure';
import { CLIP_PERCENTILE, clipValue, DisplayMode, gradientImage } from '../../render/gradient';
import { overlayHeatmap } from '../../render/overlay';
import { Map2D, RGBAImage } from '../../types';
import { MapResult, MapResultInit } from '../explainResult';
import { ExplainedClass } from '../targets';


/** What an attribution explains: a class (its score or probability: see ExplainedClass.basis) or one channel of a layer. */
export type AttributionTarget =
  | ({ kind: 'class' } & ExplainedClass)
  | { kind: 'channel'; layer: string; channel: number; reduce: 'sum' | 'max'; /** The channel's score for the image. */ value: number };

/** How the per-channel attributions become one map per pixel. */
export type ChannelReduction = 'absmax' | 'sum';

export interface AttributionResultInit extends MapResultInit {
  target: AttributionTarget;
  /** H × W map: signed (sum over channels) or unsigned (max |·| over channels). */
  map: Map2D;
  /** Per-channel attributions [H, W, C], row-major, raw values; null when the method has none. */
  channels: Float32Array | null;
  channelCount: number;
  reduction: ChannelReduction | 'none';
  signed: boolean;
  /** Show a third panel with the per-channel attributions as colours (guided backprop, deconvnet). */
  rgbPanel?: boolean;
  /** Method-specific numbers worth printing (steps, samples, completeness gap …). */
  details?: Record<string, number | string>;
  /** The map at the method's own resolution (occlusion grid), when it differs from the input's. */
  lowRes?: Map2D;
}

/** Percentile of |map| used for the colour range: a few extreme pixels would otherwise wash out the rest (render/gradient). */
const RANGE_PERCENTILE = CLIP_PERCENTILE;

/** The colour range of a map: [−m, m] when signed, [0, m] otherwise (m a high percentile of |map|). */
export function mapRange(map: Map2D, signed: boolean): { min: number; max: number } {
  const m = clipValue(map.data, RANGE_PERCENTILE) || 1;
  return signed ? { min: -m, max: m } : { min: 0, max: m };
}

export class AttributionResult extends MapResult {
  readonly kind = 'attribution';
  readonly target: AttributionTarget;
  /** Per-channel attributions [H, W, C] (raw), or null. The map (`map`) holds raw values, see `signed`. */
  readonly channels: Float32Array | null;
  readonly channelCount: number;
  readonly reduction: ChannelReduction | 'none';
  /** True when `map` has meaningful signs (drawn with a diverging colormap centred on 0). */
  readonly signed: boolean;
  readonly rgbPanel: boolean;
  readonly details: Record<string, number | string>;
  readonly lowRes: Map2D | null;

  constructor(init: AttributionResultInit) {
    super(init, init.signed ? 'coolwarm' : 'gray');
    this.target = init.target;
    this.channels = init.channels;
    this.channelCount = init.channelCount;
    this.reduction = init.reduction;
    this.signed = init.signed;
    this.rgbPanel = init.rgbPanel ?? false;
    this.details = init.details ?? {};
    this.lowRes = init.lowRes ?? null;
  }

  /** Sum of all per-channel attributions (for completeness checks), or of the map when there are none. */
  total(): number {
    const d = this.channels ?? this.map.data;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i];
    return s;
  }

  /** Where |map| is largest, in input pixels. */
  peak(): { x: number; y: number; value: number } {
    const d = this.map.data;
    let best = 0;
    for (let i = 1; i < d.length; i++) if (Math.abs(d[i]) > Math.abs(d[best])) best = i;
    return { x: best % this.map.width, y: Math.floor(best / this.map.width), value: d[best] };
  }

  /** The colour range of the picture: [−m, m] for signed maps, [0, m] otherwise (m a high percentile of |map|). */
  range(): { min: number; max: number } {
    return mapRange(this.map, this.signed);
  }

  /** The map in colour (diverging and centred on 0 when signed). */
  heatmap(colormap = this.colormap): RGBAImage {
    return toRGBA(applyColormap(this.map, colormap, this.range()));
  }

  /** |value| where the picture's colours saturate: the RANGE_PERCENTILE-th percentile of |map| (1 for an all-zero map). */
  clip(): number {
    return this.range().max;
  }

  /**
   * The per-channel attributions as an RGB picture — for guided backprop and the deconvnet, the gradient
   * image itself: 0.5 + (g − mean) / (2s) per channel, s the 99.5th percentile of |g − mean| (render/gradient).
   */
  rgb(): RGBAImage | null {
    const c = this.channels;
    if (!c || this.channelCount !== 3) return null;
    return gradientImage(c, this.map.width, this.map.height, RANGE_PERCENTILE);
  }

  text(): string {
    const t = this.target;
    const what =
      t.kind === 'class'
        ? `class ${t.index} '${t.label}' (p=${t.score.toFixed(4)}, ${t.scoreName} ${t.logit.toFixed(3)}; ${t.basis})`
        : `channel ${t.channel} of ${t.layer} (${t.reduce} ${t.value.toPrecision(4)})`;
    const p = this.peak();
    const extra = Object.entries(this.details)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
      .join(', ');
    const conv = this.convention !== 'cnnvis' ? `; ${this.convention} convention` : '';
    const where = this.warnings.length ? 'no peak (see the warning)' : `peak ${p.value.toPrecision(3)} at x=${p.x}, y=${p.y}`;
    return `${this.method} of ${this.meta.model} for ${what} on ${this.imageName}; ${this.signed ? 'signed' : 'unsigned'} map ` +
      `${this.map.width}×${this.map.height}, ${where}${extra ? `; ${extra}` : ''}${conv} ` +
      `[${this.meta.backend}, ${this.meta.timeMs} ms]${this.warnings.map((w) => `\nwarning: ${w}`).join('')}`;
  }

  /**
   * The picture under a title: `display` 'side-by-side' (default) input | map with a colour bar, 'map' the
   * map alone, 'overlay' the map over the input (opacity 0.6); then the gradient image for guided backprop
   * and the deconvnet. The colour bar's ends are labelled with the clip value (±clip() when signed), beyond
   * which the colours saturate. Small models' panels are enlarged by a whole factor to at least 224 px.
   */
  override image(options: { display?: DisplayMode } = {}): RGBAImage {
    const display = options.display ?? 'side-by-side';
    const r = this.range();
    const colorbar = { colormap: this.colormap, min: r.min, max: r.max, ends: true };
    const panels: FigurePanel[] =
      display === 'map'
        ? [{ image: this.heatmap(), colorbar }]
        : display === 'overlay'
          ? [{ image: overlayHeatmap(this.input, this.map, { alpha: 0.6, colormap: this.colormap, min: r.min, max: r.max }), colorbar }]
          : [{ image: this.input }, { image: this.heatmap(), colorbar }];
    const rgb = this.rgbPanel ? this.rgb() : null;
    if (rgb) panels.push({ image: rgb });
    const t = this.target;
    const what = t.kind === 'channel' ? `${t.layer}:${t.channel}` : `${t.label} (class ${t.index}, p=${t.score.toFixed(3)})`;
    return figure(`${this.method}: ${what}`, panels);
  }
}
