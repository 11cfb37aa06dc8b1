/**
 * `npm run export`: an executed notebook becomes one self-contained HTML page. The page is loaded in
 * jsdom with its own script running (a canvas shim keeps the pixels drawn): the saved cnnvis results
 * switch classes and layers with no kernel, nothing in the file points outside it, and hostile text
 * (labels, layer names, markdown, outputs, widget state) stays text.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JSDOM } from 'jsdom';

const ROOT = path.resolve(__dirname, '..');
const EXPORT = path.join(ROOT, 'tools', 'export.mjs');
const RESULT_MIME = 'application/vnd.cnnvis.result.v1+json';
const HOSTILE = '<img src=x onerror=alert(1)>';

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  text?: string | string[];
  name?: string;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
}
interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-export-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runExport(args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [EXPORT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

function resultsOf(nb: Notebook): Array<Record<string, unknown>> {
  return nb.cells.flatMap((c) => c.outputs ?? []).flatMap((o) => (o.data?.[RESULT_MIME] ? [o.data[RESULT_MIME] as Record<string, unknown>] : []));
}

/** The committed notebook with the most saved cnnvis results (the live-exploration one). */
function notebookWithResults(): { file: string; nb: Notebook } {
  const dirNb = path.join(ROOT, 'notebooks');
  const all = fs
    .readdirSync(dirNb)
    .filter((f) => f.endsWith('.ipynb'))
    .map((f) => ({ file: path.join(dirNb, f), nb: JSON.parse(fs.readFileSync(path.join(dirNb, f), 'utf8')) as Notebook }));
  const best = all.sort((a, b) => resultsOf(b.nb).length - resultsOf(a.nb).length)[0];
  const kinds = resultsOf(best.nb).map((r) => r.kind);
  if (!kinds.includes('cam') || !kinds.includes('feature-maps')) throw new Error(`no committed notebook has saved CAM and feature-map results (best: ${best.file}: ${kinds.join(', ')})`);
  return best;
}

/** jsdom has no canvas: a 2D context that keeps what putImageData puts, per canvas. */
function canvasShim(window: JSDOM['window']): (c: HTMLCanvasElement) => Uint8ClampedArray {
  const store = new WeakMap<HTMLCanvasElement, Uint8ClampedArray>();
  (window.HTMLCanvasElement.prototype as unknown as { getContext: unknown }).getContext = function (this: HTMLCanvasElement, kind: string) {
    if (kind !== '2d') return null;
    const canvas = this;
    return {
      canvas,
      imageSmoothingEnabled: true,
      createImageData: (w: number, h: number) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
      putImageData: (img: { width: number; height: number; data: Uint8ClampedArray }, x: number, y: number) => {
        let cur = store.get(canvas);
        if (!cur || cur.length !== canvas.width * canvas.height * 4) cur = new Uint8ClampedArray(canvas.width * canvas.height * 4);
        for (let r = 0; r < img.height && y + r < canvas.height; r++) {
          const row = img.data.subarray(r * img.width * 4, (r * img.width + Math.min(img.width, canvas.width - x)) * 4);
          cur.set(row, ((y + r) * canvas.width + x) * 4);
        }
        store.set(canvas, cur);
      },
    };
  };
  return (c) => {
    const px = store.get(c);
    if (!px) throw new Error('nothing drawn on this canvas');
    return px.slice();
  };
}

interface Page {
  dom: JSDOM;
  doc: Document;
  pixels: (c: HTMLCanvasElement) => Uint8ClampedArray;
  alerts: unknown[];
  errors: string[];
}

function load(html: string): Page {
  const alerts: unknown[] = [];
  const errors: string[] = [];
  let pixels: Page['pixels'] = () => {
    throw new Error('no shim');
  };
  const { VirtualConsole } = require('jsdom') as typeof import('jsdom');
  const virtualConsole = new VirtualConsole();
  virtualConsole.on('jsdomError', (e) => errors.push(String(e?.message ?? e)));
  virtualConsole.on('error', (e) => errors.push(String(e)));
  const dom = new JSDOM(html, {
    runScripts: 'dangerously',
    pretendToBeVisual: true,
    virtualConsole,
    beforeParse(window) {
      pixels = canvasShim(window);
      (window as unknown as { alert: (m: unknown) => void }).alert = (m) => alerts.push(m);
    },
  });
  return { dom, doc: dom.window.document, pixels, alerts, errors };
}

function input(page: Page, el: HTMLInputElement | HTMLSelectElement, value: string, type = 'input'): void {
  el.value = value;
  el.dispatchEvent(new page.dom.window.Event(type, { bubbles: true }));
}

function differs(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n + Math.abs(a.length - b.length);
}

/** Every http(s)/ftp/protocol-relative URL in the text (none may be there). */
function externalUrls(text: string): string[] {
  return text.match(/\b(?:https?|ftp|wss?):\/\/[^\s"'<>)]*|(?:src|href)\s*=\s*["']?\/\/[^\s"'<>]*/gi) ?? [];
}

describe('a real executed notebook', () => {
  let source: { file: string; nb: Notebook };
  let html: string;
  let page: Page;

  beforeAll(() => {
    source = notebookWithResults();
    const out = path.join(dir, 'real.html');
    const r = runExport([source.file, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/real\.html: [\d.]+ MB, \d+ interactive result/);
    html = fs.readFileSync(out, 'utf8');
    page = load(html);
  });

  test('one file: scripts, styles and images inline, a strict CSP that admits exactly the inline script', () => {
    const { doc } = page;
    const csp = doc.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('img-src data:');
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|https?:/);
    const scripts = [...doc.querySelectorAll('script')].filter((s) => !s.type);
    expect(scripts).toHaveLength(1);
    const hash = crypto.createHash('sha256').update(scripts[0].textContent ?? '', 'utf8').digest('base64');
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
    expect(doc.querySelectorAll('script[src], link, iframe, object, embed, base')).toHaveLength(0);
    for (const img of doc.querySelectorAll('img')) expect(img.getAttribute('src')).toMatch(/^data:image\/(png|jpeg|gif|svg\+xml);base64,/);
    expect(page.errors).toEqual([]);
  });

  test('no external URL anywhere in the file', () => {
    expect(externalUrls(html)).toEqual([]);
    expect(html).not.toMatch(/url\(\s*['"]?(?!data:)[^)'"\s]/i);
    expect(html).not.toMatch(/@import/i);
  });

  test('markdown is rendered, code is text, every saved result is rendered interactively', () => {
    const { doc } = page;
    expect(doc.querySelector('section.markdown h1')?.textContent).toBeTruthy();
    const code = [...doc.querySelectorAll('section.code pre.source')].map((p) => p.textContent).join('\n');
    expect(code).toContain("import * as cnnvis from 'cnnvis'");
    const hosts = doc.querySelectorAll('.cnnvis-result-host');
    expect(hosts.length).toBe(resultsOf(source.nb).length);
    expect(doc.documentElement.dataset.cnnvisRendered).toBe(String(hosts.length));
    for (const h of hosts) {
      expect(h.querySelector('.cnnvis-fallback')).toBeNull();
      expect(h.querySelector('.cnnvis-explorer')).not.toBeNull();
    }
  });

  test('the saved CAM switches classes: new caption, new overlay pixels, chart follows', () => {
    const cam = page.doc.querySelector('.cnnvis-cam') as HTMLElement;
    const data = resultsOf(source.nb).find((r) => r.kind === 'cam') as { maps: Array<{ label: string }> };
    const canvas = cam.querySelector('canvas.cnnvis-overlay') as HTMLCanvasElement;
    const caption = cam.querySelector('.cnnvis-caption') as HTMLElement;
    const slider = cam.querySelector('input[aria-label="class"]') as HTMLInputElement;
    expect(caption.textContent).toContain(data.maps[0].label);
    const before = page.pixels(canvas);
    expect(canvas.width).toBeGreaterThan(0);
    input(page, slider, '1');
    expect(caption.textContent).toContain(data.maps[1].label);
    expect(differs(before, page.pixels(canvas))).toBeGreaterThan(1000);
    expect(cam.querySelector('.cnnvis-bar-chosen .cnnvis-bar-label')?.textContent).toBe(data.maps[1].label);
    // Opacity is applied in the page: 0 leaves the bare picture.
    input(page, cam.querySelector('input[aria-label="overlay opacity"]') as HTMLInputElement, '0');
    const bare = page.pixels(canvas);
    input(page, slider, '0');
    expect(differs(bare, page.pixels(canvas))).toBe(0);
  });

  test('the saved feature maps switch layers: new layer name, new grid pixels', () => {
    const fm = page.doc.querySelector('.cnnvis-featuremaps') as HTMLElement;
    const data = resultsOf(source.nb).find((r) => r.kind === 'feature-maps') as { layers: Array<{ name: string }> };
    const grid = fm.querySelector('canvas.cnnvis-grid') as HTMLCanvasElement;
    const name = fm.querySelector('.cnnvis-layer-name') as HTMLElement;
    expect(name.textContent).toContain(data.layers[0].name);
    const before = page.pixels(grid);
    const last = data.layers.length - 1;
    input(page, fm.querySelector('input[aria-label="layer"]') as HTMLInputElement, String(last));
    expect(name.textContent).toContain(data.layers[last].name);
    expect(differs(before, page.pixels(grid))).toBeGreaterThan(1000);
  });
});

describe('hostile text stays text', () => {
  let page: Page;
  let html: string;

  beforeAll(() => {
    const { nb: real } = notebookWithResults();
    const camOut = real.cells.flatMap((c) => c.outputs ?? []).find((o) => (o.data?.[RESULT_MIME] as { kind?: string })?.kind === 'cam')!;
    const cam = JSON.parse(JSON.stringify(camOut.data![RESULT_MIME])) as {
      title: string;
      layer: string;
      model: string;
      method: string;
      maps: Array<{ label: string }>;
    };
    cam.title = `title ${HOSTILE}`;
    cam.layer = `layer ${HOSTILE}`;
    cam.method = HOSTILE;
    cam.maps.forEach((m, i) => (m.label = `${HOSTILE}${i}</script><script>alert(2)</script>`));
    const nb: Notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        kernelspec: { name: 'cnnvis', display_name: `TS ${HOSTILE}`, language: 'typescript' },
        widgets: {
          'application/vnd.jupyter.widget-state+json': {
            version_major: 2,
            version_minor: 0,
            state: {
              box: { model_name: 'HBoxModel', model_module: '@jupyter-widgets/controls', model_module_version: '2.0.0', state: { children: ['IPY_MODEL_s', 'IPY_MODEL_l'] } },
              s: { model_name: 'IntSliderModel', model_module: '@jupyter-widgets/controls', model_module_version: '2.0.0', state: { description: HOSTILE, value: 3, min: 0, max: 9, step: 1 } },
              l: { model_name: 'LabelModel', model_module: '@jupyter-widgets/controls', model_module_version: '2.0.0', state: { value: `label ${HOSTILE}` } },
            },
          },
        },
      },
      cells: [
        {
          cell_type: 'markdown',
          metadata: {},
          source: `# Hostile ${HOSTILE}\n\n<script>alert(3)</script>\n\n[click](javascript:alert(4)) ![pic](https://example.com/x.png) ${HOSTILE}\n`,
        },
        {
          cell_type: 'code',
          metadata: {},
          execution_count: 1,
          source: `console.log('${HOSTILE}')`,
          outputs: [
            { output_type: 'stream', name: 'stdout', text: `${HOSTILE}\n` },
            { output_type: 'display_data', metadata: {}, data: { 'text/plain': `plain ${HOSTILE}` } },
            { output_type: 'display_data', metadata: {}, data: { 'text/html': `<b>bold</b>${HOSTILE}<script>alert(5)</script><a href="javascript:alert(6)">a</a><div style="background:url(https://example.com/t)">s</div>`, 'text/plain': 'html' } },
            { output_type: 'display_data', metadata: {}, data: { [RESULT_MIME]: cam, 'text/plain': `cam ${HOSTILE}` } },
            { output_type: 'display_data', metadata: {}, data: { 'application/vnd.jupyter.widget-view+json': { model_id: 'box', version_major: 2, version_minor: 0 }, 'text/plain': 'HBox' } },
            { output_type: 'error', ename: 'Error', evalue: HOSTILE, traceback: [`\u001b[31m${HOSTILE}\u001b[0m`] } as unknown as Output,
          ],
        },
      ],
    };
    const file = path.join(dir, 'hostile.ipynb');
    fs.writeFileSync(file, JSON.stringify(nb));
    const out = path.join(dir, 'hostile.html');
    const r = runExport([file, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    html = fs.readFileSync(out, 'utf8');
    page = load(html);
  });

  test('no element, attribute or script came from the payloads', () => {
    const { doc } = page;
    const all = [...doc.querySelectorAll('*')];
    expect(all.filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name)))).toEqual([]);
    expect(doc.querySelectorAll('script:not([type])')).toHaveLength(1);
    expect(doc.querySelectorAll('img[src="x"], img:not([src^="data:"])')).toHaveLength(0);
    expect(doc.querySelectorAll('a[href^="javascript"]')).toHaveLength(0);
    expect(externalUrls(html)).toEqual([]);
    expect(page.alerts).toEqual([]);
    expect(page.errors).toEqual([]);
  });

  test('the payloads are shown as text where they were', () => {
    const { doc } = page;
    expect(doc.title).toBe(`Hostile ${HOSTILE}`);
    expect(doc.querySelector('section.markdown h1')?.textContent).toBe(`Hostile ${HOSTILE}`);
    expect(doc.querySelector('section.markdown')?.textContent).toContain('<script>alert(3)</script>');
    expect(doc.querySelector('pre.source')?.textContent).toContain(HOSTILE);
    const texts = [...doc.querySelectorAll('pre.output-text')].map((p) => p.textContent ?? '');
    expect(texts.some((t) => t.startsWith(HOSTILE))).toBe(true);
    expect(texts).toContain(`plain ${HOSTILE}`);
    expect(texts.some((t) => t.includes(`Error: ${HOSTILE}`) && !t.includes('\u001b'))).toBe(true);
    const sanitized = doc.querySelector('.output-html') as HTMLElement;
    expect(sanitized.querySelector('b')?.textContent).toBe('bold');
    expect(sanitized.querySelector('[style]')).toBeNull();
    // The snapshot: title, caption and buttons carry the hostile names as text, and still switch.
    const cam = doc.querySelector('.cnnvis-cam') as HTMLElement;
    expect(cam.querySelector('.cnnvis-title')?.textContent).toContain(`title ${HOSTILE}`);
    expect(cam.querySelector('.cnnvis-caption')?.textContent).toContain(`${HOSTILE}0</script><script>alert(2)</script>`);
    expect(cam.querySelector('.cnnvis-caption')?.textContent).toContain(`layer ${HOSTILE}`);
    input(page, cam.querySelector('input[aria-label="class"]') as HTMLInputElement, '1');
    expect(cam.querySelector('.cnnvis-caption')?.textContent).toContain(`${HOSTILE}1`);
    // Saved widget state: read-only controls with the text as text.
    const widget = doc.querySelector('.static-widget-host') as HTMLElement;
    expect(widget.textContent).toContain(HOSTILE);
    expect(widget.textContent).toContain(`label ${HOSTILE}`);
    expect((widget.querySelector('input[type="range"]') as HTMLInputElement).disabled).toBe(true);
  });
});

describe('the command', () => {
  test('bad arguments exit 2 with one line naming the problem', () => {
    const unknown = runExport(['--frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option --frobnicate/);
    const missing = runExport([path.join(dir, 'nope.ipynb')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.ipynb: no such notebook/);
  });

  test('with no notebook named, every notebook is exported into the output folder', () => {
    const out = path.join(dir, 'all');
    const r = runExport(['--out-dir', out]);
    expect(r.status).toBe(0);
    const want = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb')).map((f) => f.replace(/\.ipynb$/, '.html')).sort();
    expect(fs.readdirSync(out).sort()).toEqual(want);
  });
});
