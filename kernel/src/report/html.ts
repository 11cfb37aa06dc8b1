/**
 * Self-contained HTML pages from results: pictures inlined as data URLs, tables from the results'
 * own (escaped) HTML, every model-supplied text escaped. No scripts, no external resources.
 */
import { escapeHtml } from '../display/progress';
import { Result } from '../display/result';
import { pngDataUrl } from '../images/encode';
import { RGBAImage, RGBImage } from '../types';

export interface Section {
  title: string;
  result: Result;
  /** Optional explanation shown under the title. */
  note?: string;
  /** The picture to show instead of the result's own (e.g. the input beside a predictions table); null for none. */
  picture?: RGBImage | RGBAImage | null;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;background:#fff}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
img{image-rendering:pixelated;max-width:100%;height:auto;border:1px solid #eee}
pre{background:#f6f6f6;padding:.6em;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.row{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
.note{color:#555}.meta{color:#777;font-size:12px}
@media (prefers-color-scheme: dark){body{background:#111;color:#ddd}pre{background:#222}td,th{border-color:#444}}
`;

/** Pictures narrower than this are shown enlarged by a whole factor (crisp pixels), up to 4×. */
export const MIN_PICTURE_WIDTH = 400;
/** Widest a picture is enlarged to (the page's text column). */
const MAX_PICTURE_WIDTH = 1060;

/** The whole factor a picture is shown enlarged by: small pictures (a 64×64 model's maps, a 266 px grid) become readable. */
export function pictureScale(width: number): number {
  if (width >= MIN_PICTURE_WIDTH) return 1;
  return Math.max(1, Math.min(4, Math.ceil(MIN_PICTURE_WIDTH / width), Math.floor(MAX_PICTURE_WIDTH / width)));
}

function imgTag(img: RGBImage | RGBAImage, alt: string): string {
  const k = pictureScale(img.width);
  return `<img alt="${escapeHtml(alt)}" width="${img.width * k}" height="${img.height * k}" src="${pngDataUrl(img)}">`;
}

export function sectionHtml(s: Section): string {
  const r = s.result;
  const parts = [`<section><h2>${escapeHtml(s.title)}</h2>`];
  if (s.note) parts.push(`<p class="note">${escapeHtml(s.note)}</p>`);
  const img = s.picture !== undefined ? s.picture : r.image();
  const html = r.html();
  // A table says what the text says; the text is kept for results without one.
  const body = html ?? `<pre>${escapeHtml(r.text())}</pre>`;
  // A picture chosen for a table (the input beside the predictions) sits beside it: one block.
  if (img && s.picture && html) parts.push(`<div class="row">${imgTag(img, s.title)}\n${body}</div>`);
  else {
    if (img) parts.push(imgTag(img, s.title));
    parts.push(body);
  }
  parts.push(`<p class="meta">model ${escapeHtml(r.meta.model)} · backend ${escapeHtml(r.meta.backend)} · ${r.meta.timeMs} ms</p></section>`);
  return parts.join('\n');
}

export function htmlPage(title: string, sections: Section[], intro?: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`,
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    intro ? `<p>${escapeHtml(intro)}</p>` : '',
    ...sections.map(sectionHtml),
    '</body></html>',
  ].join('\n');
}
