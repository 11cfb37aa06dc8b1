/**
 * The explanation results. MapResult holds what every explanation has (the method, the map at input
 * size, the picture it explains, colours, convention, warnings); ExplainResult is what every CAM
 * method returns — the map in [0, 1], the class, the layer and a picture. AttributionResult
 * (attribution/result.ts) is the other kind: raw, possibly signed maps.
 */
import { Result, ResultMeta } from '../display/result';
import { toRGBA } from '../images/encode';
import { applyColormap } from '../render/colormaps';
import { extent } from '../render/normalize';
import { overlayHeatmap } from '../render/overlay';
import { figure } from '../render/figure';
import { Map2D, RGBAImage, RGBImage } from '../types';
import { ExplainedClass } from './targets';

export interface MapResultInit {
  meta: ResultMeta;
  /** Method display name, e.g. 'Grad-CAM'. */
  method: string;
  /** The map at input size. */
  map: Map2D;
  /** The picture as the model saw it. */
  input: RGBImage;
  imageName: string;
  colormap?: string;
  /** The convention the map follows ('cnnvis' unless asked: METHODS.md). */
  convention?: string;
  /** Why the map may mean nothing (empty, constant, flat weights); empty when it has structure. */
  warnings?: string[];
}

export abstract class MapResult extends Result {
  readonly method: string;
  /** The map at input size (H × W, Float32). */
  readonly map: Map2D;
  readonly input: RGBImage;
  readonly imageName: string;
  readonly colormap: string;
  /** The convention the map follows: 'cnnvis' (default) or an anchor's (METHODS.md). */
  readonly convention: string;
  /** Why the map may mean nothing (empty, constant, flat weights); empty when it has structure. */
  readonly warnings: string[];

  constructor(init: MapResultInit, colormap: string) {
    super(init.meta);
    this.method = init.method;
    this.map = init.map;
    this.input = init.input;
    this.imageName = init.imageName;
    this.colormap = init.colormap ?? colormap;
    this.convention = init.convention ?? 'cnnvis';
    this.warnings = init.warnings ?? [];
  }
}

export interface ExplainResultInit extends MapResultInit {
  layer: string;
  target: ExplainedClass;
  /** The map at the layer's resolution, values in [0, 1]. */
  lowRes: Map2D;
  alpha?: number;
}

export class ExplainResult extends MapResult {
  readonly kind = 'explanation';
  readonly layer: string;
  /** The explained class: index, label, probability (`score`), its score (`logit`, named by `scoreName`) and what the map uses. */
  readonly target: ExplainedClass;
  /** Heatmap at the layer's own resolution, in [0, 1]. */
  readonly lowRes: Map2D;
  readonly alpha: number;

  constructor(init: ExplainResultInit) {
    super(init, 'jet');
    this.layer = init.layer;
    this.target = init.target;
    this.lowRes = init.lowRes;
    this.alpha = init.alpha ?? 0.5;
  }

  /** Where the map is highest, in input pixels. */
  peak(): { x: number; y: number; value: number } {
    const best = Math.max(0, extent(this.map.data).argMax);
    return { x: best % this.map.width, y: Math.floor(best / this.map.width), value: this.map.data[best] };
  }

  /** The heatmap blended over the input picture. */
  overlay(opts: { alpha?: number; colormap?: string; threshold?: number } = {}): RGBAImage {
    return overlayHeatmap(this.input, this.map, { min: 0, max: 1, alpha: opts.alpha ?? this.alpha, colormap: opts.colormap ?? this.colormap, threshold: opts.threshold });
  }

  /** The heatmap alone in colour. */
  heatmap(colormap = this.colormap): RGBAImage {
    return toRGBA(applyColormap(this.map, colormap, { min: 0, max: 1 }));
  }

  text(): string {
    const t = this.target;
    const p = this.peak();
    const where = this.warnings.length && !mapVaries(this.map.data) ? 'no peak (the map is flat)' : `peak at x=${p.x}, y=${p.y}`;
    const conv = this.convention !== 'cnnvis' ? `; ${this.convention} convention` : '';
    const warn = this.warnings.map((w) => `\nwarning: ${w}`).join('');
    return `${this.method} of ${this.meta.model} for class ${t.index} '${t.label}' (p=${t.score.toFixed(4)}, ${t.scoreName} ${t.logit.toFixed(3)}) ` +
      `at layer ${this.layer} (${this.lowRes.height}×${this.lowRes.width}) on ${this.imageName}; ${t.basis}${conv}; ${where} ` +
      `[${this.meta.backend}, ${this.meta.timeMs} ms]${warn}`;
  }

  /**
   * A title, overlay | map alone, and a colour bar (0 → 1) with its ticks under the map; small models'
   * panels enlarged by a whole factor so they are at least 224 px (see render/figure).
   */
  override image(): RGBAImage {
    return figure(`${this.method}: ${this.target.label} (class ${this.target.index}, p=${this.target.score.toFixed(3)}) at ${this.layer}`, [
      { image: this.overlay() },
      { image: this.heatmap(), colorbar: { colormap: this.colormap, min: 0, max: 1, ticks: 2 } },
    ]);
  }
}

/** True when a map has at least two different values. */
export function mapVaries(data: ArrayLike<number>): boolean {
  for (let i = 1; i < data.length; i++) if (data[i] !== data[0]) return true;
  return false;
}
