/**
 * Executes notebooks headless with the cnnvis kernel (jupyter nbconvert --execute):
 * the harness fixtures with specific checks, then every notebook in notebooks/ (must run clean).
 * Needs kernel/dist built (`npx tsc -p kernel`) and Debian's jupyter-nbconvert.
 */
import * as fs from 'fs';
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
  joinText,
  listNotebooks,
} from './helpers/jupyter';

const NOTEBOOK_TIMEOUT_MS = 5 * 60 * 1000;

let sandbox: JupyterSandbox;

beforeAll(() => {
  assertKernelBuilt(['display/jupyter.ts', 'display/progress.ts']);
  sandbox = createJupyterSandbox();
});

afterAll(() => sandbox?.cleanup());

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

  test('the display bridge sees the kernel', () => {
    const [imports] = codeCells(nb);
    const text = (imports.outputs ?? []).map((o) => joinText(o.text)).join('');
    expect(text.trim()).toBe('true');
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
  test('the steps of the articles and "your own model", numbered in order, committed with their outputs', () => {
    const names = userNotebooks.map((p) => path.basename(p));
    expect(names.map((n) => n.slice(0, 3)).slice(0, 8)).toEqual(['01-', '02-', '03-', '04-', '05-', '06-', '07-', '08-']);
    names.forEach((n, i) => expect(n.slice(0, 3)).toBe(`${String(i + 1).padStart(2, '0')}-`));
    for (const [i, p] of userNotebooks.entries()) {
      const nb = JSON.parse(fs.readFileSync(p, 'utf8')) as Notebook;
      const first = nb.cells.find((c) => c.cell_type === 'markdown');
      expect(joinText(first?.source as string | string[]).startsWith(`# ${i + 1} · `)).toBe(true);
      const outputs = codeCells(nb).flatMap((c) => c.outputs ?? []);
      expect(outputs.some((o) => o.data && typeof o.data['image/png'] === 'string')).toBe(true);
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
  test.each(userNotebooks.map((p) => [path.basename(p), p]))(
    '%s runs without errors',
    async (_name, nbPath) => {
      assertKernelBuilt(); // notebooks import the whole package
      const nb = await executeNotebook(sandbox, nbPath);
      // tslab leaves execution_count unset; a cell that ran has outputs. Every notebook shows pictures,
      // and they must be saved as image/png so GitHub and nbviewer render them without a kernel.
      const cells = codeCells(nb);
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
