/**
 * Self-contained HTML pages from results: pictures inlined as data URLs, tables from the results'
 * own (escaped) HTML, every model-supplied text escaped. No scripts, no external resources.
 */
import { escapeHtml } from '../display/progress';
import { Result } from '../display/result';
import { pngDataUrl } from '../images/encode';

export interface Section {
  title: string;
  result: Result;
  /** Optional explanation shown under the title. */
  note?: string;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;background:#fff}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
img{image-rendering:pixelated;max-width:100%;border:1px solid #eee}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
.note{color:#555}.meta{color:#777;font-size:12px}
@media (prefers-color-scheme: dark){body{background:#111;color:#ddd}pre{background:#222}td,th{border-color:#444}}
`;

export function sectionHtml(s: Section): string {
  const r = s.result;
  const parts = [`<section><h2>${escapeHtml(s.title)}</h2>`];
  if (s.note) parts.push(`<p class="note">${escapeHtml(s.note)}</p>`);
  const img = r.image();
  if (img) {
    // Small pictures (a 64×64 model's maps) are shown enlarged with crisp pixels.
    const k = img.width < 240 ? Math.min(4, Math.ceil(240 / img.width)) : 1;
    parts.push(`<img alt="${escapeHtml(s.title)}" width="${img.width * k}" height="${img.height * k}" src="${pngDataUrl(img)}">`);
  }
  const html = r.html();
  // A table says what the text says; the text is kept for results without one.
  parts.push(html ?? `<pre>${escapeHtml(r.text())}</pre>`);
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
