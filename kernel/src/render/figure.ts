/**
 * Figures: a title over panels side by side (overlay | map with its colour bar | …), readable at any
 * model input size. Panels of small models are enlarged by one integer factor (nearest neighbour), the
 * title wraps to the figure's width, and colour-bar labels are placed so they never overlap.
 */
import type { RGBA } from '../images/pixels';
import type { RGBAImage, RGBImage } from '../types';
import { colorbarLegend, TickLabel } from './colorbar';
import { blank, blit, displayScale, MIN_DISPLAY_SIZE, scaleNearest } from './compose';
import { textBlock } from './text';

export interface FigurePanel {
  image: RGBImage | RGBAImage;
  /** A colour bar under the panel, for the value range the panel's colours stand for. */
  colorbar?: { colormap: string; min: number; max: number; ticks?: number; /** Label the ends with their exact values (see colorbarLegend). */ ends?: boolean };
}

export interface FigureOptions {
  /** Pixels between panels. Default 6. */
  gap?: number;
  /** Default opaque white. */
  background?: RGBA;
  /** Panels are enlarged until their longer side reaches this. Default MIN_DISPLAY_SIZE (224). */
  minSize?: number;
  /** Title lines at most (the last one ends in an ellipsis when cut). Default 3. */
  maxTitleLines?: number;
  /** Text scale. Default 1. */
  textScale?: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FigureLayout {
  /** The integer factor the panels were enlarged by. */
  scale: number;
  title: Rect & { lines: string[] };
  /** Each panel as drawn (after enlarging). */
  panels: Rect[];
  /** Colour-bar tick labels in figure pixels, with the panel they belong to. */
  labels: (Rect & TickLabel & { panel: number })[];
}

/**
 * A title block over the panels placed left to right. All panels are enlarged by the same integer
 * factor, chosen from the largest panel (displayScale); a panel with `colorbar` gets a legend as wide as
 * the panel under it. The result carries its layout.
 */
export function figure(title: string, panels: readonly FigurePanel[], options: FigureOptions = {}): RGBAImage & { layout: FigureLayout } {
  const gap = options.gap ?? 6;
  const background = options.background ?? [255, 255, 255, 255];
  const textScale = options.textScale ?? 1;
  const scale = displayScale(
    Math.max(...panels.map((p) => p.image.width)),
    Math.max(...panels.map((p) => p.image.height)),
    options.minSize ?? MIN_DISPLAY_SIZE,
  );
  const drawn = panels.map((p) => scaleNearest(p.image, scale));
  const legends = panels.map((p, i) =>
    p.colorbar
      ? colorbarLegend(p.colorbar.colormap, { width: drawn[i].width, min: p.colorbar.min, max: p.colorbar.max, ticks: p.colorbar.ticks, ends: p.colorbar.ends, scale: textScale, background })
      : null,
  );
  const bodyWidth = drawn.reduce((s, im) => s + im.width, 0) + gap * (drawn.length - 1);
  const bodyHeight = Math.max(...drawn.map((im, i) => im.height + (legends[i] ? 2 + legends[i]!.height : 0)));
  const head = textBlock(title, bodyWidth, { background, padding: 3, scale: textScale, maxLines: options.maxTitleLines ?? 3 });
  const out = blank(bodyWidth, head.height + bodyHeight, background);
  blit(out, head, 0, 0);
  const layout: FigureLayout = { scale, title: { x: 0, y: 0, width: head.width, height: head.height, lines: head.lines }, panels: [], labels: [] };
  let x = 0;
  drawn.forEach((im, i) => {
    const y = head.height;
    blit(out, im, x, y);
    layout.panels.push({ x, y, width: im.width, height: im.height });
    const legend = legends[i];
    if (legend) {
      const ly = y + im.height + 2;
      blit(out, legend, x, ly);
      for (const l of legend.labels) {
        layout.labels.push({ ...l, panel: i, center: x + l.center, x: x + l.x, y: ly + legend.labelTop, height: legend.height - legend.labelTop });
      }
    }
    x += im.width + gap;
  });
  return { ...out, layout };
}
