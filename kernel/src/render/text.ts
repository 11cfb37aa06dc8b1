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

/** Drawn in place of cut text: three dots (the pixel font has no '…'). */
export const ELLIPSIS = '...';

/** The longest prefix of `text` that fits `maxWidth` with an ellipsis after it, plus the ellipsis. */
export function ellipsize(text: string, maxWidth: number, scale = 1): string {
  if (measureText(text, scale) <= maxWidth) return text;
  let s = text.trimEnd();
  while (s.length > 0 && measureText(s + ELLIPSIS, scale) > maxWidth) s = s.slice(0, -1).trimEnd();
  return s + ELLIPSIS;
}

/** Characters after which a word too long for a line may be broken (layer names: `base/block_3_conv`). */
const BREAK_AFTER = new Set(['/', '_', '-', '.', ':', ',', '=', ')']);

/** Splits one word wider than `maxWidth` into pieces that fit, breaking after '/', '_', '-' etc. where possible. */
function breakWord(word: string, maxWidth: number, scale: number): string[] {
  const pieces: string[] = [];
  let rest = word;
  while (measureText(rest, scale) > maxWidth) {
    let fit = 1;
    while (fit < rest.length && measureText(rest.slice(0, fit + 1), scale) <= maxWidth) fit++;
    let cut = fit;
    for (let i = fit; i > Math.floor(fit / 3); i--) {
      if (BREAK_AFTER.has(rest[i - 1])) {
        cut = i;
        break;
      }
    }
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/**
 * Wraps text into lines no wider than `maxWidth` at `scale`: breaks between words, and inside a word only
 * when the word alone is too wide (after '/', '_', '-' … where it can). With more than `maxLines` lines the
 * last kept line ends in an ellipsis, so whatever the text says first (method, class) is always shown.
 */
export function wrapText(text: string, maxWidth: number, opts: { scale?: number; maxLines?: number } = {}): string[] {
  const scale = opts.scale ?? 1;
  const maxLines = Math.max(1, opts.maxLines ?? Infinity);
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const joined = cur ? `${cur} ${word}` : word;
    if (measureText(joined, scale) <= maxWidth) {
      cur = joined;
      continue;
    }
    if (cur) lines.push(cur);
    const pieces = breakWord(word, maxWidth, scale);
    lines.push(...pieces.slice(0, -1));
    cur = pieces[pieces.length - 1] ?? '';
  }
  if (cur || lines.length === 0) lines.push(cur);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  const last = kept[maxLines - 1];
  // The cut is marked even when the last kept line happens to end at a word boundary.
  kept[maxLines - 1] =
    measureText(last + ELLIPSIS, scale) <= maxWidth ? last + ELLIPSIS : ellipsize(`${last} ${lines[maxLines]}`, maxWidth, scale);
  return kept;
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

/** A block of text wrapped to `width` pixels (see wrapText), one line under the other; carries its lines. */
export function textBlock(
  text: string,
  width: number,
  opts: { color?: RGBA; background?: RGBA; scale?: number; padding?: number; maxLines?: number; align?: 'left' | 'center' } = {},
): RGBAImage & { lines: string[] } {
  const scale = opts.scale ?? 1;
  const pad = opts.padding ?? 3;
  const lines = wrapText(text, Math.max(1, width - 2 * pad), { scale, maxLines: opts.maxLines });
  const img = blank(Math.max(1, width), lines.length * LINE_HEIGHT * scale + 2 * pad, opts.background ?? [255, 255, 255, 0]);
  lines.forEach((line, i) => {
    const x = opts.align === 'center' ? Math.max(pad, Math.floor((width - measureText(line, scale)) / 2)) : pad;
    drawText(img, line, x, pad + i * LINE_HEIGHT * scale, opts.color ?? [0, 0, 0, 255], scale);
  });
  return { ...img, lines };
}
