/**
 * Executes notebooks headless with the cnnvis kernel (jupyter nbconvert --execute):
 * the harness fixtures with specific checks, then every notebook in notebooks/ (must run clean).
 * Needs kernel/dist built (`npx tsc -p kernel`) and Debian's jupyter-nbconvert.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { EXPLORERS } from '../kernel/src/schema/explorers';
import {
  FIXTURE_NOTEBOOKS,
  JupyterSandbox,
  Notebook,
  NotebookOutput,
  USER_NOTEBOOKS,
  assertKernelBuilt,
  codeCells,
  createJupyterSandbox,
  executeNotebook,
  JUPYTER,
  joinText,
  listNotebooks,
  run,
} from './helpers/jupyter';
import { ensureTorchMobilenet, torchMobilenetUnavailable } from './helpers/torchMobilenet';

const NOTEBOOK_TIMEOUT_MS = 5 * 60 * 1000;

let sandbox: JupyterSandbox;

beforeAll(() => {
  assertKernelBuilt(['display/jupyter.ts', 'display/progress.ts']);
  sandbox = createJupyterSandbox();
});

afterAll(() => sandbox?.cleanup());

/** An execute_result's number (Out[n]); null for other outputs. */
function countOf(o: NotebookOutput): number | null {
  return (o as NotebookOutput & { execution_count?: number | null }).execution_count ?? null;
}

function mimeText(o: NotebookOutput, mime: string): string {
  const v = o.data?.[mime];
  if (typeof v === 'string' || Array.isArray(v)) return joinText(v as string | string[]);
  throw new Error(`output has no ${mime}: ${JSON.stringify(o).slice(0, 200)}`);
}

describe('fixture display.ipynb', () => {
  let nb: Notebook;

  beforeAll(async () => {
    nb = await executeNotebook(sandbox, path.join(FIXTURE_NOTEBOOKS, 'display.ipynb'));
  }, NOTEBOOK_TIMEOUT_MS);

  test('the display bridge sees the kernel (the cell ends with its value: Out[1])', () => {
    const [imports] = codeCells(nb);
    expect((imports.outputs ?? []).map((o) => [o.output_type, countOf(o), mimeText(o, 'text/plain')])).toEqual([['execute_result', 1, 'true']]);
  });

  test('image/png and text/plain arrive in one bundle, with metadata', () => {
    const bundles = (codeCells(nb)[1].outputs ?? []).filter((o) => o.output_type === 'display_data');
    expect(bundles).toHaveLength(1);
    const [bundle] = bundles;
    expect(Object.keys(bundle.data ?? {}).sort()).toEqual(['image/png', 'text/plain']);
    expect(mimeText(bundle, 'text/plain')).toBe('gradient 8x8');
    expect(bundle.metadata).toEqual({ 'image/png': { width: 64, height: 64 } });
    const png = PNG.sync.read(Buffer.from(mimeText(bundle, 'image/png'), 'base64'));
    expect([png.width, png.height]).toEqual([8, 8]);
    const at = (x: number, y: number) => Array.from(png.data.subarray((y * 8 + x) * 4, (y * 8 + x) * 4 + 4));
    expect(at(7, 2)).toEqual([224, 64, 128, 255]);
  });

  test('the progress display was updated in place to its final state, label escaped', () => {
    const outputs = codeCells(nb)[2].outputs ?? [];
    // nbclient applies update_display_data to the output holding the display id: a single output
    // that shows the final count proves the updates reached it (the first display showed 0/4).
    expect(outputs.map((o) => o.output_type)).toEqual(['display_data']);
    const [bar] = outputs;
    expect(mimeText(bar, 'text/plain')).toMatch(/^steps <b> \[#+\] 4\/4 100%$/);
    const html = mimeText(bar, 'text/html');
    expect(html).toContain('steps &#60;b&#62;');
    expect(html).toContain('4/4');
    expect(html).not.toContain('<b>');
  });
});

const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
const RESULT_MIME_TYPE = 'application/vnd.cnnvis.result.v1+json';
/** Largest text (a stream, or a text/plain) an output may hold: values print as short forms, never dumps. */
const MAX_TEXT_OUTPUT = 10 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function textOf(o: NotebookOutput): string {
  if (o.output_type === 'stream') return joinText(o.text);
  const plain = o.data?.['text/plain'];
  return typeof plain === 'string' || Array.isArray(plain) ? joinText(plain as string | string[]) : '';
}

/** Width and height from a PNG's IHDR (the picture itself, not what the metadata claims). */
function pngSize(base64: string): [number, number] {
  const bytes = Buffer.from(base64, 'base64');
  expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

/** An explorer's output: widget view, snapshot, PNG (its size in the metadata) and one short text line. */
function expectExplorerBundle(o: NotebookOutput): void {
  expect(Object.keys(o.data ?? {}).sort()).toEqual([RESULT_MIME_TYPE, WIDGET_VIEW, 'image/png', 'text/plain']);
  const plain = mimeText(o, 'text/plain');
  expect(plain).not.toContain('\n');
  expect(plain.length).toBeLessThan(200);
  const [w, h] = pngSize(mimeText(o, 'image/png'));
  expect(o.metadata).toEqual({ 'image/png': { width: w, height: h } });
}

/** Plain `jupyter nbconvert --to html` (no extension, no kernel) of an executed notebook. */
async function plainHtml(nb: Notebook): Promise<string> {
  const dir = fs.mkdtempSync(path.join(sandbox.root, 'html-'));
  const file = path.join(dir, 'executed.ipynb');
  fs.writeFileSync(file, JSON.stringify(nb));
  const r = await run(JUPYTER, ['nbconvert', '--to', 'html', file], { cwd: dir, env: sandbox.env, timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`nbconvert --to html failed:\n${r.stderr}`);
  return fs.readFileSync(path.join(dir, 'executed.html'), 'utf8');
}

describe('fixture values.ipynb: cell values, `;`, results shown once, explorer bundles', () => {
  let nb: Notebook;
  let cells: ReturnType<typeof codeCells>;

  beforeAll(async () => {
    nb = await executeNotebook(sandbox, path.join(FIXTURE_NOTEBOOKS, 'values.ipynb'));
    cells = codeCells(nb);
  }, NOTEBOOK_TIMEOUT_MS);

  const kinds = (i: number) => (cells[i].outputs ?? []).map((o) => [o.output_type, countOf(o)]);

  test('cells are numbered 1, 2, 3, … in order', () => {
    expect(cells.map((c) => c.execution_count)).toEqual(cells.map((_, i) => i + 1));
  });

  test('the last expression is Out[n]; a trailing `;` or a declaration shows nothing', () => {
    expect(kinds(0)).toEqual([]); // import and const
    expect(kinds(1)).toEqual([['execute_result', 2]]);
    expect(Object.keys(cells[1].outputs![0].data ?? {})).toEqual(['text/plain']);
    expect(mimeText(cells[1].outputs![0], 'text/plain')).toBe('2');
    expect(kinds(2)).toEqual([]);
  });

  test('a cnnvis result is shown once: Out[n] when it is the value, in place when assigned; never its internals', () => {
    expect(kinds(3)).toEqual([['execute_result', 4]]);
    expect(kinds(4)).toEqual([['display_data', null]]);
    for (const o of [cells[3].outputs![0], cells[4].outputs![0]]) {
      expect(Object.keys(o.data ?? {}).sort()).toEqual(['image/png', 'text/plain']);
      const [w, h] = pngSize(mimeText(o, 'image/png'));
      expect(o.metadata).toEqual({ 'image/png': { width: w, height: h } });
      expect(mimeText(o, 'text/plain')).toMatch(/^Grad-CAM of demo for class 2 'triangle'/);
    }
    // Both cells computed the same map: the same picture.
    expect(mimeText(cells[4].outputs![0], 'image/png')).toBe(mimeText(cells[3].outputs![0], 'image/png'));
    // console.log prints one line per object; the value shows again in a later cell.
    const [printed, again] = cells[8].outputs!;
    expect(printed.output_type).toBe('stream');
    const lines = joinText(printed.text).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Grad-CAM of demo for class 2 'triangle'/);
    expect(lines[1]).toMatch(/^FeatureMapExplorer\(demo, scene:7: /);
    expect(again.output_type).toBe('execute_result');
    expect(mimeText(again, 'image/png')).toBe(mimeText(cells[3].outputs![0], 'image/png'));
  });

  test('an explorer output carries the widget view, a PNG and one text line in one bundle', () => {
    expect(kinds(5)).toEqual([['execute_result', 6]]);
    expect(kinds(6)).toEqual([['display_data', null]]);
    expectExplorerBundle(cells[5].outputs![0]);
    expectExplorerBundle(cells[6].outputs![0]);
    expect(mimeText(cells[5].outputs![0], 'text/plain')).toMatch(/^CamExplorer\(Grad-CAM, demo, scene:7: class 2 'triangle'/);
    // A standard widget as the value: its view and its text.
    const [slider] = cells[7].outputs!;
    expect(slider.output_type).toBe('execute_result');
    expect(Object.keys(slider.data ?? {}).sort()).toEqual([WIDGET_VIEW, 'text/plain']);
    expect(mimeText(slider, 'text/plain')).toMatch(/^IntSlider\(value=3, /);
  });

  test('the saved widget state has the standard widgets, not the explorers (live views with their own snapshot)', () => {
    const state = (nb.metadata.widgets as Record<string, { state: Record<string, { model_name: string }> }>)[
      'application/vnd.jupyter.widget-state+json'
    ].state;
    const id = (o: NotebookOutput) => (o.data?.[WIDGET_VIEW] as { model_id: string }).model_id;
    expect(state[id(cells[7].outputs![0])].model_name).toBe('IntSliderModel');
    expect(state[id(cells[5].outputs![0])]).toBeUndefined();
    expect(state[id(cells[6].outputs![0])]).toBeUndefined();
  });

  test('plain nbconvert HTML shows the PNG where each explorer was, and the slider as a widget', async () => {
    const html = await plainHtml(nb);
    for (const i of [3, 4, 5, 6]) {
      const png = mimeText(cells[i].outputs![0], 'image/png');
      expect(html).toContain(`<img src="data:image/png;base64,${png}`);
    }
    expect(html).toContain((cells[7].outputs![0].data?.[WIDGET_VIEW] as { model_id: string }).model_id);
    expect(html).toContain('Out[6]');
  }, 180000);

  test('no text output is larger than the budget', () => {
    for (const o of allOutputsOf(nb)) expect(textOf(o).length).toBeLessThanOrEqual(MAX_TEXT_OUTPUT);
  });
});

function allOutputsOf(nb: Notebook): NotebookOutput[] {
  return codeCells(nb).flatMap((c) => c.outputs ?? []);
}

test(
  'a failing cell fails the run with its source and error text',
  async () => {
    const dir = fs.mkdtempSync(path.join(sandbox.root, 'failing-'));
    const nbPath = path.join(dir, 'failing.ipynb');
    const cell = (source: string) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source });
    const failing: Notebook = {
      nbformat: 4,
      nbformat_minor: 4,
      metadata: { kernelspec: { name: 'cnnvis', display_name: 'TypeScript (cnnvis)', language: 'typescript' } },
      cells: [cell('const answer: number = 42;'), cell("throw new Error('deliberate failure ' + answer);"), cell('1 + 1')],
    };
    fs.writeFileSync(nbPath, JSON.stringify(failing));
    const run = executeNotebook(sandbox, nbPath);
    await expect(run).rejects.toThrow(/failing\.ipynb: cell 1 failed/);
    await expect(run).rejects.toThrow(/throw new Error\('deliberate failure ' \+ answer\)/);
    await expect(run).rejects.toThrow(/Error: deliberate failure 42/);
  },
  NOTEBOOK_TIMEOUT_MS,
);

const userNotebooks = listNotebooks(USER_NOTEBOOKS);
const RESULT_MIME = 'application/vnd.cnnvis.result.v1+json';
describe('notebooks/', () => {
  test('the steps of the articles, numbered in order, committed executed: numbered cells, pictures, short texts', () => {
    const names = userNotebooks.map((p) => path.basename(p));
    expect(names.length).toBeGreaterThanOrEqual(8);
    expect(names.map((n) => n.slice(0, 3))).toEqual(names.map((_, i) => `${String(i + 1).padStart(2, '0')}-`));
    for (const [i, p] of userNotebooks.entries()) {
      const nb = JSON.parse(fs.readFileSync(p, 'utf8')) as Notebook;
      const first = nb.cells.find((c) => c.cell_type === 'markdown');
      expect(joinText(first?.source as string | string[]).startsWith(`# ${i + 1} · `)).toBe(true);
      const cells = codeCells(nb);
      expect([path.basename(p), cells.map((c) => c.execution_count)]).toEqual([path.basename(p), cells.map((_, k) => k + 1)]);
      const outputs = cells.flatMap((c) => c.outputs ?? []);
      expect(outputs.some((o) => o.data && typeof o.data['image/png'] === 'string')).toBe(true);
      for (const o of outputs) {
        expect(textOf(o).length).toBeLessThanOrEqual(MAX_TEXT_OUTPUT);
        expect(textOf(o)).not.toMatch(/shown above/);
        // No blank output areas (e.g. a finished preview emptied to '').
        if (o.output_type !== 'error' && Object.keys(o.data ?? {}).every((m) => m === 'text/plain')) expect([path.basename(p), textOf(o).trim()]).not.toEqual([path.basename(p), '']);
        if (o.data?.[WIDGET_VIEW] && o.data?.[RESULT_MIME_TYPE]) expectExplorerBundle(o);
      }
      // Teaching material ends with what was learned and exercises.
      const last = joinText(nb.cells[nb.cells.length - 1].source as string | string[]);
      expect(last).toMatch(/## What we learned/);
      expect(last).toMatch(/\*\*Exercises\.\*\* 1\. /);
    }
  });

  test('the live-exploration notebook opens every explorer of cnnvis.explore', () => {
    const live = userNotebooks.find((p) => path.basename(p).startsWith('07-'));
    const source = codeCells(JSON.parse(fs.readFileSync(live!, 'utf8')) as Notebook)
      .map((c) => joinText(c.source as string | string[]))
      .join('\n');
    const missing = Object.keys(EXPLORERS).filter((name) => !source.includes(`cnnvis.explore.${name}(`));
    expect(missing).toEqual([]); // add a cell for each to tools/make_notebooks.py (LIVE) and re-run npm run notebooks
  });
  // Notebook 09 needs the PyTorch MobileNet exported by tools/export_torch_mobilenet.py (torch in Python).
  const isTorchNotebook = (p: string) => path.basename(p).startsWith('09-');
  const torchMissing = userNotebooks.some(isTorchNotebook) ? torchMobilenetUnavailable() : null;
  if (torchMissing) console.warn(`SKIPPING the PyTorch notebook: ${torchMissing}`);
  for (const p of userNotebooks.filter((p) => torchMissing && isTorchNotebook(p))) test.skip(`${path.basename(p)} runs without errors (needs torch)`, () => {});
  test.each(userNotebooks.filter((p) => !(torchMissing && isTorchNotebook(p))).map((p) => [path.basename(p), p]))(
    '%s runs without errors',
    async (_name, nbPath) => {
      assertKernelBuilt(); // notebooks import the whole package
      if (isTorchNotebook(nbPath)) ensureTorchMobilenet();
      const nb = await executeNotebook(sandbox, nbPath);
      // Every cell is numbered; every notebook shows pictures, saved as image/png so GitHub and nbviewer
      // render them without a kernel.
      const cells = codeCells(nb);
      expect(cells.map((c) => c.execution_count)).toEqual(cells.map((_, k) => k + 1));
      expect(cells.filter((c) => (c.outputs ?? []).length > 0).length).toBeGreaterThanOrEqual(Math.ceil(cells.length / 2));
      const pngs = cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data && typeof o.data['image/png'] === 'string');
      expect(pngs.length).toBeGreaterThan(0);
      // Every explorer opened saves its snapshot (kept interactive without a kernel, and by npm run export).
      for (const c of cells.filter((cell) => /cnnvis\.explore\.\w+\(/.test(joinText(cell.source as string | string[])))) {
        expect((c.outputs ?? []).some((o) => o.data?.[RESULT_MIME] !== undefined)).toBe(true);
      }
    },
    30 * 60 * 1000,
  );
});
