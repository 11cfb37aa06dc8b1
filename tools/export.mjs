#!/usr/bin/env node
/**
 * `npm run export -- [notebook.ipynb ...] [--out page.html | --out-dir DIR]`: turns executed notebooks into
 * self-contained HTML pages that work offline — no CDN, no kernel, no network.
 *
 * - Markdown is rendered here with `marked`; raw HTML inside markdown is shown as text, and the result goes
 *   through DOMPurify (in jsdom) anyway.
 * - Code cells are shown as text; outputs as JupyterLab would show them: cnnvis result bundles
 *   (RESULT_MIME) are rendered by the lab extension's own front-end code (widgets/src/static.ts, bundled
 *   inline with esbuild by tools/export/page.ts) and stay interactive; widget views show the notebook's
 *   saved widget state (ipywidgets controls, read-only) or their image/png; vega-lite charts show their PNG;
 *   text/html is sanitized; text is escaped.
 * - Images are data: URIs. A Content-Security-Policy meta tag allows only the page's own script (by hash),
 *   inline styles and data: images: nothing can be fetched.
 *
 * With no notebook named, every notebook in notebooks/ is exported into export/ (next to notebooks/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Marked } from 'marked';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const RESULT_MIME = 'application/vnd.cnnvis.result.v1+json';
const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';
const WIDGET_STATE_MIME = 'application/vnd.jupyter.widget-state+json';
const VEGALITE = /^application\/vnd\.vegalite\.v\d+\+json$/;
const VEGA = /^application\/vnd\.vega\.v\d+\+json$/;
const SAFE_IMAGE_URI = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$/;
export const DEFAULT_OUT_DIR = path.join(root, 'export');

// ---------------------------------------------------------------------------------------------- text

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const joinText = (v) => (Array.isArray(v) ? v.join('') : typeof v === 'string' ? v : v == null ? '' : JSON.stringify(v, null, 2));
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');

/** JSON for a <script type="application/json"> block: nothing in it can close the element. */
export function scriptJson(value) {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

// ---------------------------------------------------------------------------------------- sanitizer

let purifier = null;
/** DOMPurify on a jsdom window, with the page's rules: no scripts, no handlers, no loads but data: images. */
function getPurifier() {
  if (purifier) return purifier;
  const { JSDOM } = require('jsdom');
  const createDOMPurify = require('dompurify');
  const window = new JSDOM('<!doctype html><html><body></body></html>').window;
  const p = createDOMPurify(window);
  p.addHook('afterSanitizeAttributes', (node) => {
    if (node.hasAttribute?.('style') && /url\s*\(|expression\s*\(|@import|javascript:/i.test(node.getAttribute('style'))) node.removeAttribute('style');
    if (node.tagName === 'IMG') {
      const src = node.getAttribute('src') ?? '';
      if (!SAFE_IMAGE_URI.test(src)) {
        // Anything else would be fetched (or fail under the CSP): keep its alt text only.
        node.replaceWith(window.document.createTextNode(node.getAttribute('alt') ?? ''));
        return;
      }
    }
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      const href = node.getAttribute('href');
      if (!/^(#|https?:|mailto:)/i.test(href)) node.removeAttribute('href');
      else if (!href.startsWith('#')) node.setAttribute('rel', 'noopener noreferrer');
    }
  });
  purifier = (html) =>
    p.sanitize(html, {
      FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'frame', 'object', 'embed', 'link', 'meta', 'base', 'svg', 'math', 'video', 'audio', 'source', 'track', 'picture', 'template'],
      FORBID_ATTR: ['srcset', 'action', 'formaction', 'background', 'poster', 'ping', 'xlink:href', 'target'],
      ALLOW_DATA_ATTR: false,
    });
  return purifier;
}

export function sanitizeHtml(html) {
  return getPurifier()(html);
}

// ----------------------------------------------------------------------------------------- markdown

/** Markdown to safe HTML. Raw HTML in the markdown is shown as text; `attachment:` images become data: URIs. */
export function renderMarkdown(source, attachments = {}) {
  const marked = new Marked({
    gfm: true,
    async: false,
    walkTokens(token) {
      if (token.type === 'image' && typeof token.href === 'string' && token.href.startsWith('attachment:')) {
        const bundle = attachments[token.href.slice('attachment:'.length)] ?? {};
        const mime = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'].find((m) => typeof bundle[m] === 'string');
        token.href = mime ? `data:${mime};base64,${bundle[mime].replace(/\s+/g, '')}` : '';
      }
    },
    renderer: {
      html(token) {
        return escapeHtml(token.text ?? token.raw ?? '');
      },
    },
  });
  return sanitizeHtml(marked.parse(source));
}

// ------------------------------------------------------------------------------------ widget state

/** The notebook's saved widget models by id (nbformat metadata.widgets). */
function widgetModels(nb) {
  const state = nb.metadata?.widgets?.[WIDGET_STATE_MIME]?.state;
  return state && typeof state === 'object' ? state : {};
}

const refId = (v) => (typeof v === 'string' && v.startsWith('IPY_MODEL_') ? v.slice('IPY_MODEL_'.length) : null);

/**
 * A read-only rendering of ipywidgets controls from their saved state (sliders, progress bars, labels,
 * text, checkboxes, dropdowns, buttons, boxes), or null when the model is not one of those.
 */
export function renderSavedWidget(models, id, depth = 0) {
  const m = models[id];
  if (!m || depth > 8) return null;
  const s = m.state ?? {};
  const name = String(m.model_name ?? '');
  const desc = s.description ? `<span class="static-widget-description">${escapeHtml(s.description)}</span>` : '';
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  if (/^(HBox|VBox|Box|GridBox)Model$/.test(name)) {
    const children = (Array.isArray(s.children) ? s.children : []).map((c) => renderSavedWidget(models, refId(c), depth + 1) ?? '');
    return `<div class="static-widget${name === 'VBoxModel' ? ' vbox' : ''}">${children.join('')}</div>`;
  }
  if (/^(Int|Float)(Log)?SliderModel$/.test(name)) {
    return `<span class="static-widget">${desc}<input type="range" disabled min="${num(s.min)}" max="${num(s.max)}" step="${num(s.step) || 1}" value="${num(s.value)}" aria-label="${escapeHtml(s.description ?? 'slider')}"><output>${escapeHtml(String(s.value))}</output></span>`;
  }
  if (/^(Int|Float)ProgressModel$/.test(name)) {
    return `<span class="static-widget">${desc}<progress max="${num(s.max) - num(s.min)}" value="${num(s.value) - num(s.min)}"></progress></span>`;
  }
  if (/^(Label|Text|Textarea|HTML|HTMLMath|Valid)Model$/.test(name)) {
    return `<span class="static-widget">${desc}<span class="static-widget-value">${escapeHtml(String(s.value ?? ''))}</span></span>`;
  }
  if (/^(Checkbox|ToggleButton)Model$/.test(name)) {
    return `<span class="static-widget"><input type="checkbox" disabled${s.value ? ' checked' : ''}>${desc}</span>`;
  }
  if (/^(Dropdown|Select|RadioButtons|ToggleButtons)Model$/.test(name)) {
    const labels = Array.isArray(s._options_labels) ? s._options_labels : [];
    const chosen = typeof s.index === 'number' ? labels[s.index] : undefined;
    return `<span class="static-widget">${desc}<span class="static-widget-value">${escapeHtml(String(chosen ?? ''))}</span></span>`;
  }
  if (name === 'ButtonModel') return `<span class="static-widget"><button type="button" disabled>${escapeHtml(String(s.description ?? ''))}</button></span>`;
  return null;
}

// ------------------------------------------------------------------------------------------ outputs

function imageTag(mime, data, metadata, alt) {
  const b64 = joinText(data).replace(/\s+/g, '');
  const meta = metadata?.[mime] ?? {};
  const size = ['width', 'height'].filter((k) => Number.isFinite(meta[k])).map((k) => ` ${k}="${Math.round(meta[k])}"`).join('');
  return `<img src="data:${mime};base64,${b64}"${size} alt="${escapeHtml(alt)}">`;
}

const textBlock = (text, cls = 'output-text') => `<pre class="${cls}">${escapeHtml(stripAnsi(text))}</pre>`;

/** One display_data / execute_result bundle as HTML. */
export function renderBundle(data, metadata, ctx) {
  const alt = joinText(data['text/plain']).slice(0, 300);
  const fallbackImage = () => {
    for (const mime of ['image/png', 'image/jpeg', 'image/gif']) if (typeof data[mime] === 'string' || Array.isArray(data[mime])) return imageTag(mime, data[mime], metadata, alt);
    if (data['image/svg+xml'] !== undefined) {
      // As an <img> an SVG cannot run scripts or load anything.
      return `<img src="data:image/svg+xml;base64,${Buffer.from(joinText(data['image/svg+xml'])).toString('base64')}" alt="${escapeHtml(alt)}">`;
    }
    return null;
  };
  if (data[RESULT_MIME] && typeof data[RESULT_MIME] === 'object') {
    ctx.results += 1;
    const fallback = fallbackImage();
    return (
      `<div class="cnnvis-result-host"><script type="application/json" class="cnnvis-result-data">${scriptJson(data[RESULT_MIME])}</script>` +
      `<div class="cnnvis-fallback">${fallback ?? textBlock(alt)}</div></div>`
    );
  }
  if (data[WIDGET_VIEW_MIME]) {
    const id = data[WIDGET_VIEW_MIME]?.model_id;
    const saved = typeof id === 'string' ? renderSavedWidget(ctx.widgets, id) : null;
    if (saved) {
      ctx.savedWidgets += 1;
      return `<div class="static-widget-host">${saved}<div class="static-widget-note">saved widget state (read-only: it needs the kernel to change)</div></div>`;
    }
    const img = fallbackImage();
    if (img) return img;
    return textBlock(alt || '(a live widget: it needs the kernel)');
  }
  const keys = Object.keys(data);
  if (keys.some((k) => VEGALITE.test(k) || VEGA.test(k))) {
    const img = fallbackImage();
    if (img) return img;
  }
  if (data['text/html'] !== undefined) return `<div class="output-html">${sanitizeHtml(joinText(data['text/html']))}</div>`;
  const img = fallbackImage();
  if (img) return img;
  if (data['text/markdown'] !== undefined) return `<div class="output-markdown">${renderMarkdown(joinText(data['text/markdown']))}</div>`;
  if (data['application/json'] !== undefined) return textBlock(JSON.stringify(data['application/json'], null, 2));
  if (data['text/latex'] !== undefined) return textBlock(joinText(data['text/latex']));
  if (data['text/plain'] !== undefined) return textBlock(joinText(data['text/plain']));
  return '';
}

function renderOutput(o, ctx) {
  switch (o.output_type) {
    case 'stream':
      return textBlock(joinText(o.text), o.name === 'stderr' ? 'output-text output-stderr' : 'output-text');
    case 'error':
      return textBlock([`${o.ename}: ${o.evalue}`, ...(o.traceback ?? [])].join('\n'), 'output-text output-error');
    case 'display_data':
    case 'execute_result':
      return renderBundle(o.data ?? {}, o.metadata ?? {}, ctx);
    default:
      return '';
  }
}

// --------------------------------------------------------------------------------------------- page

let pageAssets = null;
/** The page script (widgets/src/static.ts and tools/export/page.ts bundled) and styles, built once. */
export async function buildPageAssets() {
  if (pageAssets) return pageAssets;
  const esbuild = require('esbuild');
  const kernelSrc = path.join(root, 'kernel', 'src');
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'tools', 'export', 'page.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [
      {
        name: 'cnnvis-export',
        setup(build) {
          // The front end imports the kernel's pure modules (schema, colormaps) through the package name.
          build.onResolve({ filter: /^cnnvis\/dist\// }, (args) => ({ path: path.join(kernelSrc, `${args.path.slice('cnnvis/dist/'.length)}.ts`) }));
          // The page draws its charts itself: no vega in the bundle.
          build.onResolve({ filter: /^vega-embed$/ }, () => ({ path: 'vega-embed', namespace: 'stub' }));
          build.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export default function embed() { throw new Error("no vega in an exported page"); }', loader: 'js' }));
        },
      },
    ],
  });
  let script = result.outputFiles[0].text;
  // Chart specs name their vega-lite schema by URL; the page never loads it, so keep only its name.
  script = script.replace(/https:\/\/vega\.github\.io\/schema\/([\w-]+)\/(v[\d.]+)\.json/g, '$1 $2');
  // Nothing in the script may end the <script> element early.
  script = script.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
  const css = [fs.readFileSync(path.join(root, 'widgets', 'style', 'index.css'), 'utf8'), fs.readFileSync(path.join(root, 'tools', 'export', 'page.css'), 'utf8')].join('\n');
  pageAssets = { script, css };
  return pageAssets;
}

export function contentSecurityPolicy(script) {
  const hash = crypto.createHash('sha256').update(script, 'utf8').digest('base64');
  // Inline styles: the kernel's HTML tables and the explorers' layout use style attributes.
  return `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
}

function notebookTitle(nb, fallback) {
  for (const c of nb.cells ?? []) {
    if (c.cell_type !== 'markdown') continue;
    const m = /^#\s+(.+)$/m.exec(joinText(c.source));
    if (m) return m[1].replace(/[*_`]/g, '').trim();
  }
  return fallback;
}

/**
 * The page for a notebook (parsed nbformat 4 JSON). Returns the HTML and what it holds.
 * @param {object} nb
 * @param {{name?: string}} [options]
 */
export async function exportNotebook(nb, options = {}) {
  if (!nb || !Array.isArray(nb.cells)) throw new Error('not a notebook: no cells');
  const { script, css } = await buildPageAssets();
  const name = options.name ?? 'notebook.ipynb';
  const ctx = { widgets: widgetModels(nb), results: 0, savedWidgets: 0 };
  const lang = nb.metadata?.kernelspec?.display_name ?? nb.metadata?.language_info?.name ?? '';
  const cells = nb.cells.map((c) => {
    const source = joinText(c.source);
    if (c.cell_type === 'markdown') return `<section class="cell markdown">${renderMarkdown(source, c.attachments ?? {})}</section>`;
    if (c.cell_type === 'code') {
      // tslab leaves execution_count unset: no prompt then.
      const prompt = c.execution_count == null ? '' : `<div class="prompt">In [${escapeHtml(String(c.execution_count))}]:</div>`;
      const outputs = (c.outputs ?? []).map((o) => `<div class="output">${renderOutput(o, ctx)}</div>`).join('');
      return `<section class="cell code">${prompt}<pre class="source"><code>${escapeHtml(source)}</code></pre>${outputs ? `<div class="outputs">${outputs}</div>` : ''}</section>`;
    }
    return `<section class="cell raw"><pre class="output-text">${escapeHtml(source)}</pre></section>`;
  });
  const title = notebookTitle(nb, name);
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(script)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="cnnvis export">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    '<main class="nb">',
    `<div class="nb-source-note">${escapeHtml(name)}${lang ? ` · ${escapeHtml(lang)}` : ''} · exported by cnnvis: the cnnvis results below stay interactive without a kernel</div>`,
    ...cells,
    '</main>',
    `<script>${script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return { html, results: ctx.results, savedWidgets: ctx.savedWidgets };
}

export async function exportFile(input, out) {
  const nb = JSON.parse(fs.readFileSync(input, 'utf8'));
  const { html, results, savedWidgets } = await exportNotebook(nb, { name: path.basename(input) });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, out);
  return { out, bytes: Buffer.byteLength(html), results, savedWidgets };
}

// ---------------------------------------------------------------------------------------------- cli

const USAGE = `usage: npm run export -- [notebook.ipynb ...] [--out page.html | --out-dir DIR]
  Writes one self-contained HTML page per notebook (offline: no CDN, no kernel, no network).
  With no notebook named, exports every notebook in notebooks/ into ${path.relative(process.cwd(), DEFAULT_OUT_DIR) || DEFAULT_OUT_DIR}/.`;

async function main(argv) {
  const inputs = [];
  let out = null;
  let outDir = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      return 0;
    } else if (a === '--out' || a === '-o') out = argv[++i];
    else if (a === '--out-dir') outDir = argv[++i];
    else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a.startsWith('--out-dir=')) outDir = a.slice(10);
    else if (a.startsWith('-')) {
      console.error(`cnnvis export: unknown option ${a}\n${USAGE}`);
      return 2;
    } else inputs.push(a);
  }
  if ((out !== null && !out) || (outDir !== null && !outDir)) {
    console.error(`cnnvis export: --out and --out-dir need a path\n${USAGE}`);
    return 2;
  }
  if (!inputs.length) {
    const dir = path.join(root, 'notebooks');
    inputs.push(...fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(dir, f)));
    outDir ??= DEFAULT_OUT_DIR;
  }
  if (out && inputs.length !== 1) {
    console.error('cnnvis export: --out names one page; use --out-dir for several notebooks');
    return 2;
  }
  for (const input of inputs) {
    if (!fs.existsSync(input) || !input.endsWith('.ipynb')) {
      console.error(`cnnvis export: ${input}: no such notebook (.ipynb)`);
      return 2;
    }
  }
  for (const input of inputs) {
    const t0 = Date.now();
    const target = out ?? path.join(outDir ?? path.dirname(input), `${path.basename(input, '.ipynb')}.html`);
    const r = await exportFile(input, target);
    console.log(`${path.relative(process.cwd(), r.out)}: ${(r.bytes / 1e6).toFixed(2)} MB, ${r.results} interactive result(s), ${r.savedWidgets} saved widget(s), ${Date.now() - t0} ms`);
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(`cnnvis export: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    },
  );
}
