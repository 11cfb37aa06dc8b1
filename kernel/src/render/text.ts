/**
 * Text in pictures (layer names, labels, tick values), so PNG-only viewers (GitHub, nbviewer) see them.
 * Glyphs come from the "Seven plus" pixel font of the js-pixel-fonts package (MIT): 7 px tall, printable
 * ASCII. Characters outside it are drawn as '?'. Text is only ever drawn as pixels, never as markup.
 */
import { RGBA } from '../images/pixels';
import { RGBAImage } from '../types';
import { blank } from './compose';

interface Glyph {
  offset: number;
  pixels: number[][];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const FONT = require('js-pixel-fonts/data/seven-plus.json') as { lineHeight: number; glyphs: Record<string, Glyph> };

/** Height of one line of text at scale 1, in pixels (glyphs with descenders use one more row). */
export const LINE_HEIGHT = FONT.lineHeight + 2;

/** Stand-ins for common non-ASCII characters the pixel font lacks. */
const SUBSTITUTES: Record<string, string> = { '×': 'x', '−': '-', '–': '-', '—': '-', '·': '.', '…': '.', '’': "'", '‘': "'", '“': '"', '”': '"', 'µ': 'u', '°': 'o' };

function glyph(ch: string): Glyph {
  return FONT.glyphs[ch] ?? FONT.glyphs[SUBSTITUTES[ch] ?? '?'] ?? FONT.glyphs['?'];
}

function glyphWidth(g: Glyph): number {
  return g.pixels.reduce((w, row) => Math.max(w, row.length), 0);
}

/** Width in pixels of one line of text at `scale`. */
export function measureText(text: string, scale = 1): number {
  let w = 0;
  for (const ch of text) w += glyphWidth(glyph(ch)) + 1;
  return Math.max(0, w - 1) * scale;
}

/** Shortens text with '..' so it fits `maxWidth` pixels at `scale`. */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  if (measureText(text, scale) <= maxWidth) return text;
  let s = text;
  while (s.length > 0 && measureText(s + '..', scale) > maxWidth) s = s.slice(0, -1);
  return s + '..';
}

/** Draws one line of text into `img` with its top-left corner at (x, y); clipped at the edges. */
export function drawText(img: RGBAImage, text: string, x: number, y: number, color: RGBA = [0, 0, 0, 255], scale = 1): void {
  let cx = x;
  for (const ch of text) {
    const g = glyph(ch);
    g.pixels.forEach((row, r) => {
      row.forEach((on, c) => {
        if (!on) return;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = cx + c * scale + dx;
            const py = y + (r + g.offset) * scale + dy;
            if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
            const o = (py * img.width + px) * 4;
            img.data[o] = color[0];
            img.data[o + 1] = color[1];
            img.data[o + 2] = color[2];
            img.data[o + 3] = color[3] ?? 255;
          }
        }
      });
    });
    cx += (glyphWidth(g) + 1) * scale;
  }
}

/** A picture of one line of text with padding around it. */
export function textImage(
  text: string,
  opts: { color?: RGBA; background?: RGBA; scale?: number; padding?: number; width?: number } = {},
): RGBAImage {
  const scale = opts.scale ?? 1;
  const pad = opts.padding ?? 2;
  const width = opts.width ?? measureText(text, scale) + 2 * pad;
  const img = blank(Math.max(1, width), LINE_HEIGHT * scale + 2 * pad, opts.background ?? [255, 255, 255, 0]);
  drawText(img, fitText(text, width - 2 * pad, scale), pad, pad, opts.color ?? [0, 0, 0, 255], scale);
  return img;
}
