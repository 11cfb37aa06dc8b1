/**
 * The filter and saliency explorers in a real JupyterLab 4, driven as a user would, pixels checked
 * against references computed from the model's own weights and the saliency function:
 * - MobileNet v1 0.25's 1×1 layer conv_pw_1: every cell of every tile is the coolwarm colour of its
 *   weight on the layer's ±max|w| scale (not black), dead filters are crossed out and say so on
 *   hover; the pager, the per-tile scale (gray, each tile's min black and max white) and the layer
 *   slider redraw the grid.
 * - A user's own Sequential model (the demo CNN written with tf.sequential, one filter switched off
 *   in the cell by scaling its weights to 1e-13): that filter is crossed out with its norm in the
 *   hover text; activation maximization draws patterns, and moving the layer stops it.
 * - MobileNet saliency with guided backprop: the map panel equals the colours of
 *   cnnvis.guidedBackprop's map clipped at its 99.5th percentile |map| (the colour bar reads ± that),
 *   the side-by-side picture is photo | map | gradient image, the overlay is the blend of photo and
 *   map at the opacity, and the class slider and method menu change the map.
 * Then the notebook is saved, the kernel shut down, and the reopened notebook's snapshots show what
 * was explored. Any browser console error fails the test.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { PNG } from 'pngjs';
import type { Locator, Page } from 'playwright-core';
import { colorAt } from '../../kernel/src/render/colormaps';
import { RESULT_MIME } from '../../kernel/src/schema/explorers';
import type { Notebook } from '../helpers/jupyter';
import {
  BrowserSession,
  canvasPixels,
  changedFraction,
  checkPrerequisites,
  closeNotebook,
  COMPUTE_TIMEOUT,
  createRunDirs,
  expectEventually,
  kernelJson,
  LabServer,
  notebookOf,
  openBrowser,
  openLab,
  openNotebook,
  saveNotebook,
  shutdownKernel,
  startLabServer,
  stepSlider,
  waitForKernel,
  waitForText,
  waitIdle,
} from './harness';

const MODEL = 'mobilenet_v1_0.25_224';
const IMAGE = 'cat_dog.png';
const NOTEBOOK = 'filters-saliency.ipynb';
/** The filter of the user's first convolution switched off in the notebook. */
const OFF_FILTER = 5;

const CELLS = [
  `import * as cnnvis from 'cnnvis';\nconst tf = cnnvis.tf;\nconst model = await cnnvis.loadModel('${MODEL}');\nmodel.name`,
  `const filt = await cnnvis.explore.filters(model, {layer: 'conv_pw_1', pageSize: 8});`,
  `const sal = await cnnvis.explore.saliency(model, '${IMAGE}', {method: 'guided-backprop'});`,
  // A user's model as the TF.js tutorials write it, given the bundled demo CNN's weights, with one
  // filter of the first convolution switched off.
  `const demo = await cnnvis.loadModel('demo');\n` +
    `const conv = (filters: number, first = false) => tf.layers.conv2d({\n` +
    `  ...(first ? {inputShape: [64, 64, 3]} : {}), filters, kernelSize: 3, padding: 'same', activation: 'relu'});\n` +
    `const seq = tf.sequential({name: 'my_shapes', layers: [\n` +
    `  conv(16, true), conv(16), tf.layers.maxPooling2d({poolSize: 2}),\n` +
    `  conv(32), conv(32), tf.layers.maxPooling2d({poolSize: 2}),\n` +
    `  conv(64), conv(64), tf.layers.globalAveragePooling2d({}), tf.layers.dense({units: 6, activation: 'softmax'})]});\n` +
    `seq.setWeights(demo.net.getWeights());\n` +
    `const [k1, b1] = seq.layers[0].getWeights();\n` +
    `seq.layers[0].setWeights([k1.mul(tf.tensor1d(Array.from({length: 16}, (_, f) => (f === ${OFF_FILTER} ? 1e-13 : 1)))), b1]);\n` +
    `const mine = new cnnvis.CnnModel(seq, {labels: demo.labels!.names, preprocess: 'unit'});\n` +
    `const own = await cnnvis.explore.filters(mine, {pageSize: 8, steps: 16, patternSize: 32});`,
];

/** The explorer view (live or saved) in a cell's output. */
function explorerIn(page: Page, cell: number, kind: 'filters' | 'cam', live: boolean): Locator {
  return page
    .locator('.jp-Notebook .jp-Cell')
    .nth(cell)
    .locator(`.jp-OutputArea .cnnvis-widget${live ? ':not(.cnnvis-static)' : '.cnnvis-static'} .cnnvis-${kind}`);
}

/** A conv kernel's shape and values (HWIO, row-major) read from the model in the kernel. */
interface KernelValues {
  name: string;
  shape: number[];
  values: number[];
}
async function kernelValues(page: Page, layerExpr: string): Promise<KernelValues> {
  return kernelJson<KernelValues>(
    page,
    `{ const l = ${layerExpr}; const k = l.getWeights()[0]; console.log('@@' + JSON.stringify({name: l.name, shape: k.shape, values: Array.from(k.dataSync())})); }`,
  );
}

/** L2 norm of each output filter of an HWIO kernel. */
function filterNorms(k: KernelValues): number[] {
  const cout = k.shape[3];
  const sq = new Array<number>(cout).fill(0);
  k.values.forEach((v, i) => (sq[i % cout] += v * v));
  return sq.map(Math.sqrt);
}

/** Filters whose norm is below 1e-6 × the layer's largest (what the explorer must cross out). */
function deadOf(norms: number[]): Set<number> {
  const max = Math.max(...norms);
  return new Set(norms.flatMap((n, f) => (n < 1e-6 * max ? [f] : [])));
}

function pixel(p: PNG, x: number, y: number): [number, number, number] {
  const o = (y * p.width + x) * 4;
  return [p.data[o], p.data[o + 1], p.data[o + 2]];
}

function near(a: readonly number[], b: readonly number[], tol: number): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

const isRed = (c: readonly number[]) => c[0] === 255 && c[1] === 0 && c[2] === 0;

/**
 * The weight grid as the filter view lays it out: tiles of tw × th cells, `cols` per row, 1 px
 * padding, all enlarged by a whole factor read from the canvas width.
 */
function gridGeometry(p: PNG, count: number, cols: number, tw: number, th: number) {
  const gw = 1 + cols * (tw + 1);
  const factor = p.width / gw;
  expect(Number.isInteger(factor)).toBe(true);
  expect(p.height).toBe((1 + Math.ceil(count / cols) * (th + 1)) * factor);
  /** Pixel rectangle of cell (cx, cy) of tile i. */
  const cell = (i: number, cx: number, cy: number) => {
    const x0 = (1 + (i % cols) * (tw + 1) + cx) * factor;
    const y0 = (1 + Math.floor(i / cols) * (th + 1) + cy) * factor;
    return { x0, y0, size: factor };
  };
  /** Red pixels inside tile i. */
  const red = (i: number) => {
    const a = cell(i, 0, 0);
    let n = 0;
    for (let y = a.y0; y < a.y0 + th * factor; y++) for (let x = a.x0; x < a.x0 + tw * factor; x++) if (isRed(pixel(p, x, y))) n++;
    return n;
  };
  return { factor, cell, red };
}

/** Reads the hover text of each weight tile by moving over the grid with the arrow keys. */
async function tileTexts(page: Page, explorer: Locator, count: number): Promise<string[]> {
  const grid = explorer.locator('canvas.cnnvis-weights');
  const info = explorer.locator('.cnnvis-info');
  await grid.focus();
  // The first arrow picks tile 0; go back to it from wherever an earlier walk ended.
  for (let i = 0; i < count; i++) await page.keyboard.press('ArrowLeft');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await page.keyboard.press('ArrowRight');
    out.push((await info.textContent()) ?? '');
  }
  return out;
}

/**
 * Checks a pointwise page: every used cell of a live filter has the coolwarm colour of its weight on
 * [−m, m] (m = max |w| of the layer), unused cells are black, dead filters carry the red cross and
 * live ones none, and outside dead tiles exactly the used cells are lit (none black: a 1×1 layer is
 * not black). Returns the lit fraction of the picture outside dead tiles.
 */
function checkPointwisePage(p: PNG, k: KernelValues, filters: number[], dead: Set<number>): number {
  const [, , cin, cout] = k.shape;
  const side = Math.ceil(Math.sqrt(cin));
  const rows = Math.ceil(cin / side);
  const g = gridGeometry(p, filters.length, Math.ceil(Math.sqrt(filters.length)), side, rows);
  const m = Math.max(...k.values.map(Math.abs));
  let bad = 0;
  filters.forEach((f, i) => {
    expect(g.red(i) > 0).toBe(dead.has(f));
    if (dead.has(f)) return;
    for (let c = 0; c < side * rows; c++) {
      const r = g.cell(i, c % side, Math.floor(c / side));
      const got = pixel(p, r.x0 + Math.floor(r.size / 2), r.y0 + Math.floor(r.size / 2));
      const want = c < cin ? colorAt('coolwarm', (k.values[c * cout + f] + m) / (2 * m)) : [0, 0, 0];
      if (!near(got, want, 6)) bad++;
    }
  });
  expect(bad).toBe(0);
  // Lit pixels outside the dead tiles (whose cross also crosses their empty cell).
  const deadTiles = filters.flatMap((f, i) => (dead.has(f) ? [g.cell(i, 0, 0)] : []));
  const tileW = side * g.factor;
  const tileH = rows * g.factor;
  let lit = 0;
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < p.width; x++) {
      if (deadTiles.some((t) => x >= t.x0 && x < t.x0 + tileW && y >= t.y0 && y < t.y0 + tileH)) continue;
      if (pixel(p, x, y).some((v) => v > 0)) lit++;
    }
  }
  expect(lit).toBe(filters.filter((f) => !dead.has(f)).length * cin * g.factor * g.factor);
  return lit / (p.width * p.height - deadTiles.length * tileW * tileH);
}

/** numpy-style percentile (linear interpolation) of |values|. */
function absPercentile(values: number[], q: number): number {
  const a = values.map(Math.abs).sort((x, y) => x - y);
  const pos = (q / 100) * (a.length - 1);
  const lo = Math.floor(pos);
  return a[lo] + (a[Math.min(a.length - 1, lo + 1)] - a[lo]) * (pos - lo);
}

/** A panel of a picture drawn side by side (6 px apart), as its own PNG-like view. */
function panel(p: PNG, index: number, width: number): PNG {
  const x0 = index * (width + 6);
  const data = Buffer.alloc(width * p.height * 4);
  for (let y = 0; y < p.height; y++) p.data.copy(data, y * width * 4, (y * p.width + x0) * 4, (y * p.width + x0 + width) * 4);
  return { width, height: p.height, data } as PNG;
}

describe('filter and saliency explorers in JupyterLab 4', () => {
  let server: LabServer | null = null;
  let session: BrowserSession | null = null;

  beforeAll(async () => {
    checkPrerequisites({ model: MODEL, image: IMAGE });
    const dirs = createRunDirs();
    fs.writeFileSync(path.join(dirs.root, NOTEBOOK), JSON.stringify(notebookOf(CELLS), null, 1));
    server = await startLabServer(dirs);
    session = await openBrowser(dirs);
  });

  afterAll(async () => {
    await session?.screenshot('end').catch(() => undefined);
    await session?.close();
    await server?.stop();
  });

  test('1×1 filters, dead filters, activation maximization and saliency display modes, live and saved', async () => {
    const { page, errors, screenshot } = session!;
    const { url, dirs, getJson } = server!;

    await openLab(page, url);
    await openNotebook(page, NOTEBOOK);
    await waitForKernel(page);
    await page.locator('.jp-Notebook .jp-Cell').first().locator('.jp-InputArea-editor').click();
    await page.keyboard.press('Escape');
    for (let i = 0; i < CELLS.length; i++) await page.keyboard.press('Shift+Enter');

    // ---- Filters of MobileNet's 1×1 layer conv_pw_1 [1×1×8×16], 8 a page ----
    const filt = explorerIn(page, 1, 'filters', true);
    await filt.waitFor({ timeout: COMPUTE_TIMEOUT });
    await waitIdle(filt);
    await filt.scrollIntoViewIfNeeded();
    const layerName = filt.locator('.cnnvis-layer-name');
    const pageText = filt.locator('.cnnvis-page');
    const caption = filt.locator('figcaption.cnnvis-caption').first();
    const grid = filt.locator('canvas.cnnvis-weights');
    expect(await layerName.textContent()).toBe('conv_pw_1 [1×1×8×16] · pointwise');
    await expectEventually(async () => (await pageText.textContent()) === 'filters 0–7 of 16', 'the first page');
    const pw = await kernelValues(page, `model.net.getLayer('conv_pw_1')`);
    expect(pw.shape).toEqual([1, 1, 8, 16]);
    const pwDead = deadOf(filterNorms(pw));
    const m = Math.max(...pw.values.map(Math.abs));
    expect(await caption.textContent()).toContain(`weights on one scale for the layer, ${(-m).toPrecision(3)} to ${m.toPrecision(3)} (coolwarm)`);
    const page0 = await canvasPixels(grid);
    const lit0 = checkPointwisePage(page0, pw, [0, 1, 2, 3, 4, 5, 6, 7], pwDead);
    expect(lit0).toBeGreaterThan(0.3);
    const texts0 = await tileTexts(page, filt, 8);
    texts0.forEach((t, f) => expect(t).toMatch(new RegExp(`^filter ${f} \\(1×1: a cell per input channel\\) · L2 norm [-\\d.e]+${pwDead.has(f) ? ' · dead' : ''}$`)));
    await screenshot('filters-pointwise');

    // The pager: filters 8–15, each checked the same way.
    await filt.locator('button[aria-label="next filters"]').click();
    await expectEventually(async () => (await pageText.textContent()) === 'filters 8–15 of 16', 'the second page');
    await waitIdle(filt);
    const page1 = await canvasPixels(grid);
    expect(changedFraction(page0, page1)).toBeGreaterThan(0.1);
    checkPointwisePage(page1, pw, [8, 9, 10, 11, 12, 13, 14, 15], pwDead);
    const texts1 = await tileTexts(page, filt, 8);
    texts1.forEach((t, i) => expect(t.endsWith(' · dead')).toBe(pwDead.has(8 + i)));
    // MobileNet v1 0.25 has dead filters in conv_pw_1: the marks are tested, not vacuous.
    expect(pwDead.size).toBeGreaterThan(0);

    // Per-tile scaling: each tile in gray from its own min (black) to its own max (white).
    await filt.locator('select[aria-label="weight scaling"]').selectOption('tile');
    await expectEventually(async () => ((await caption.textContent()) ?? '').startsWith('weights (each tile scaled to its own range)'), 'the per-tile caption');
    await waitIdle(filt);
    const tiled = await canvasPixels(grid);
    expect(changedFraction(page1, tiled)).toBeGreaterThan(0.1);
    {
      const g = gridGeometry(tiled, 8, 3, 3, 3);
      for (let i = 0; i < 8; i++) {
        const f = 8 + i;
        if (pwDead.has(f)) continue;
        const w = Array.from({ length: 8 }, (_, c) => pw.values[c * 16 + f]);
        const at = (c: number) => {
          const r = g.cell(i, c % 3, Math.floor(c / 3));
          return pixel(tiled, r.x0 + 1, r.y0 + 1);
        };
        expect(at(w.indexOf(Math.min(...w)))).toEqual([0, 0, 0]);
        expect(at(w.indexOf(Math.max(...w)))).toEqual([255, 255, 255]);
      }
    }
    await screenshot('filters-pointwise-per-tile');

    // The layer slider: conv_dw_2, a depthwise layer, on the same page.
    await stepSlider(page, filt.locator('input[aria-label="layer"]'));
    expect(await waitForText(layerName, 'conv_pw_1 [1×1×8×16] · pointwise')).toBe('conv_dw_2 [3×3×16×1] · depthwise');
    await expectEventually(async () => changedFraction(tiled, await canvasPixels(grid)) > 0.1, 'the depthwise grid');
    await waitIdle(filt);
    expect(await pageText.textContent()).toBe('filters 8–15 of 16');
    const filtLast = await canvasPixels(grid);
    await screenshot('filters-depthwise');

    // ---- Saliency, guided backprop on MobileNet: the map against cnnvis.guidedBackprop ----
    const sal = explorerIn(page, 2, 'cam', true);
    await sal.waitFor({ timeout: COMPUTE_TIMEOUT });
    await sal.scrollIntoViewIfNeeded();
    await waitIdle(sal);
    const salCaption = sal.locator('.cnnvis-caption').first();
    await expectEventually(async () => /^class \d+ · .* · Guided Backpropagation$/.test((await salCaption.textContent()) ?? ''), 'the saliency caption');
    const firstCaption = (await salCaption.textContent()) ?? '';
    const cls = Number(/^class (\d+)/.exec(firstCaption)![1]);
    const display = sal.locator('select[aria-label="display"]');
    expect(await display.inputValue()).toBe('side-by-side');
    const canvas = sal.locator('canvas.cnnvis-overlay');
    const ref = await kernelJson<{ width: number; height: number; map: number[] }>(
      page,
      `{ const r = await cnnvis.guidedBackprop(model, '${IMAGE}', {classIndex: ${cls}, display: false}); ` +
        `console.log('@@' + JSON.stringify({width: r.map.width, height: r.map.height, map: Array.from(r.map.data, v => Number(v.toPrecision(6)))})); }`,
    );
    const clip = absPercentile(ref.map, 99.5);
    const ticks = sal.locator('.cnnvis-colorbar-ticks span');
    const hi = Number(((await ticks.nth(0).textContent()) ?? '').replace('+', ''));
    expect(await ticks.nth(1).textContent()).toBe(`−${hi}`);
    expect(Math.abs(hi - clip) / clip).toBeLessThan(0.05);
    const side = await canvasPixels(canvas);
    const W = ref.width;
    // photo | map | gradient image, each W wide (224 px is enlarged ×1 to reach 320 px together).
    expect(side.width).toBe(3 * W + 12);
    const photo = panel(side, 0, W);
    const map = panel(side, 1, W);
    const gradient = panel(side, 2, W);
    let off = 0;
    for (let y = 0; y < ref.height; y++) {
      for (let x = 0; x < W; x++) {
        const t = Math.min(1, Math.max(0, 0.5 + ref.map[y * W + x] / (2 * clip)));
        if (!near(pixel(map, x, y), colorAt('coolwarm', t), 12)) off++;
      }
    }
    expect(off / (W * ref.height)).toBeLessThan(0.01);
    // The gradient image is an image (varied), not the map again.
    expect(changedFraction(gradient, map)).toBeGreaterThan(0.5);
    await screenshot('saliency-side-by-side');

    // 'map only': the map and the gradient image, the same pixels as in the side-by-side picture.
    await display.selectOption('map');
    await expectEventually(async () => (await canvasPixels(canvas)).width === 2 * W + 6, 'the map-only picture');
    const mapOnly = await canvasPixels(canvas);
    expect(changedFraction(panel(mapOnly, 0, W), map)).toBe(0);
    expect(changedFraction(panel(mapOnly, 1, W), gradient)).toBe(0);
    // The opacity is the overlay's: the map alone does not change with it.
    const opacity = sal.locator('input[aria-label="overlay opacity"]');
    const opacity0 = Number(await opacity.inputValue());
    await stepSlider(page, opacity, 'ArrowLeft');
    await expectEventually(async () => (await kernelJson<{ o: number }>(page, `console.log('@@' + JSON.stringify({o: sal.get('opacity')}))`)).o < opacity0, 'the kernel to get the opacity', 10000);
    expect(changedFraction(await canvasPixels(canvas), mapOnly)).toBe(0);
    await screenshot('saliency-map');

    // 'overlay': each pixel is round((1 − a) · photo + a · map colour) at the opacity a.
    await display.selectOption('overlay');
    await expectEventually(async () => changedFraction(panel(await canvasPixels(canvas), 0, W), map) > 0.5, 'the overlay');
    const a = Number(await opacity.inputValue());
    expect(a).toBeCloseTo(opacity0 - 0.05, 6);
    const over = panel(await canvasPixels(canvas), 0, W);
    let blendOff = 0;
    for (let y = 0; y < ref.height; y++) {
      for (let x = 0; x < W; x++) {
        const want = pixel(photo, x, y).map((v, k) => Math.round((1 - a) * v + a * pixel(map, x, y)[k]));
        if (!near(pixel(over, x, y), want, 1)) blendOff++;
      }
    }
    expect(blendOff).toBe(0);
    expect(changedFraction(over, photo)).toBeGreaterThan(0.5);
    await screenshot('saliency-overlay');
    expect(await kernelJson<{ d: string }>(page, `console.log('@@' + JSON.stringify({d: sal.get('display_mode')}))`)).toEqual({ d: 'overlay' });

    // The class slider: another class's map.
    await stepSlider(page, sal.locator('input[aria-label="class"]'));
    const secondCaption = await waitForText(salCaption, firstCaption);
    await waitIdle(sal);
    expect(secondCaption).toMatch(new RegExp(`^class ${cls + 1} · .* · Guided Backpropagation$`));
    await expectEventually(async () => changedFraction(over, panel(await canvasPixels(canvas), 0, W)) > 0.05, 'the next class map');
    // The method menu: plain saliency, unsigned (ticks max and 0), no gradient image.
    await sal.locator('select[aria-label="method"]').selectOption('saliency');
    await expectEventually(async () => ((await salCaption.textContent()) ?? '').endsWith(' · Saliency'), 'the saliency method');
    await waitIdle(sal);
    expect(await ticks.nth(1).textContent()).toBe('0');
    expect((await canvasPixels(canvas)).width).toBe(W);
    const salLast = await canvasPixels(canvas);
    const salLastCaption = (await salCaption.textContent()) ?? '';
    await screenshot('saliency-method');

    // ---- The user's Sequential model: the switched-off filter, activation maximization ----
    const own = explorerIn(page, 3, 'filters', true);
    await own.waitFor({ timeout: COMPUTE_TIMEOUT });
    await own.scrollIntoViewIfNeeded();
    await waitIdle(own);
    const first = await kernelValues(page, 'seq.layers[0]');
    expect(first.shape).toEqual([3, 3, 3, 16]);
    const ownNorms = filterNorms(first);
    expect([...deadOf(ownNorms)]).toEqual([OFF_FILTER]);
    const ownLayer = own.locator('.cnnvis-layer-name');
    expect(await ownLayer.textContent()).toBe(`${first.name} [3×3×3×16] · rgb`);
    const ownGrid = await canvasPixels(own.locator('canvas.cnnvis-weights'));
    {
      const g = gridGeometry(ownGrid, 8, 3, 3, 3);
      for (let i = 0; i < 8; i++) expect(g.red(i) > 0).toBe(i === OFF_FILTER);
    }
    const ownTexts = await tileTexts(page, own, 8);
    expect(ownTexts[OFF_FILTER]).toBe(`filter ${OFF_FILTER} (RGB) · L2 norm ${ownNorms[OFF_FILTER].toExponential(2)} · dead`);
    ownTexts.forEach((t, i) => i !== OFF_FILTER && expect(t).toBe(`filter ${i} (RGB) · L2 norm ${ownNorms[i].toFixed(4)}`));
    expect(await own.locator('figcaption.cnnvis-caption').first().textContent()).toContain('; 1 dead filter crossed out');
    await screenshot('own-filters');

    const am = own.locator('button.cnnvis-toggle');
    await am.click();
    const patterns = own.locator('canvas.cnnvis-patterns');
    await patterns.waitFor({ state: 'visible', timeout: COMPUTE_TIMEOUT });
    await waitIdle(own);
    const patCaption = own.locator('figcaption.cnnvis-caption').nth(1);
    expect(await own.locator('.cnnvis-title').textContent()).toContain(`activation maximization of ${first.name}`);
    const made = await kernelJson<{ values: number[]; filters: number[] }>(page, `console.log('@@' + JSON.stringify({values: own.get('pattern_values'), filters: own.get('pattern_filters')}))`);
    expect(made.filters).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const mean = made.values.reduce((s, v) => s + v, 0) / made.values.length;
    expect(await patCaption.textContent()).toBe(`activation maximization of filters 0–7 (mean objective ${mean.toFixed(3)})`);
    // The switched-off filter's objective does not grow; every live one does better.
    const patLast = await canvasPixels(patterns);
    await screenshot('own-patterns');
    // The switched-off filter cannot respond: objective 0, and its pattern stays the faint starting
    // noise (32 px tiles, 3 a row, 2 px apart, enlarged by a whole factor) while a responding filter's
    // spans a wide range of colours.
    expect(Math.abs(made.values[OFF_FILTER])).toBeLessThan(1e-6);
    const live = made.values.findIndex((v, i) => i !== OFF_FILTER && v > 0.01);
    expect(live).toBeGreaterThanOrEqual(0);
    {
      const f = patLast.width / (2 + 3 * 34);
      expect(Number.isInteger(f)).toBe(true);
      const spread = (i: number) => {
        const x0 = (2 + (i % 3) * 34) * f;
        const y0 = (2 + Math.floor(i / 3) * 34) * f;
        let lo = 255;
        let hi = 0;
        for (let y = y0; y < y0 + 32 * f; y++) {
          for (let x = x0; x < x0 + 32 * f; x++) {
            for (const v of pixel(patLast, x, y)) {
              lo = Math.min(lo, v);
              hi = Math.max(hi, v);
            }
          }
        }
        return hi - lo;
      };
      expect(spread(OFF_FILTER) * 4).toBeLessThan(spread(live));
    }

    // Moving the layer stops activation maximization: weights of the next layer, no patterns.
    await stepSlider(page, own.locator('input[aria-label="layer"]'));
    await waitForText(ownLayer, `${first.name} [3×3×3×16] · rgb`);
    await waitIdle(own);
    await expectEventually(async () => !(await patterns.isVisible()), 'the patterns to hide');
    expect(await own.locator('.cnnvis-title').textContent()).not.toContain('activation maximization');
    expect(await kernelJson<{ mode: string }>(page, `console.log('@@' + JSON.stringify({mode: own.get('mode')}))`)).toEqual({ mode: 'weights' });

    // ---- Save, shut the kernel down, reopen with no kernel ----
    await saveNotebook(page);
    const saved = JSON.parse(fs.readFileSync(path.join(dirs.root, NOTEBOOK), 'utf8')) as Notebook;
    const results = saved.cells.map((c) => (c.outputs ?? []).map((o) => o.data?.[RESULT_MIME]).find(Boolean) as Record<string, unknown> | undefined);
    expect(results.map((r) => r?.kind)).toEqual([undefined, 'filters', 'saliency', 'filters']);
    fs.writeFileSync(path.join(dirs.run, 'saved-results.json'), JSON.stringify(results, null, 1));
    await shutdownKernel(page);
    await closeNotebook(page);
    await expectEventually(async () => (await getJson<unknown[]>('/api/kernels')).length === 0, 'no kernels on the server', 30000);
    await openNotebook(page, NOTEBOOK);
    await explorerIn(page, 1, 'filters', false).waitFor({ timeout: 60000 });
    await shutdownKernel(page);
    await expectEventually(async () => (await getJson<unknown[]>('/api/kernels')).length === 0, 'no kernels after reopening', 30000);
    expect(await page.locator('.jp-OutputArea .cnnvis-widget:not(.cnnvis-static)').count()).toBe(0);

    await checkSaved(page, screenshot, {
      filt: { last: filtLast, layer: 'conv_dw_2 [3×3×16×1] · depthwise', page: 'filters 8–15 of 16' },
      sal: { last: salLast, caption: salLastCaption },
      own: { patterns: patLast, layer: `${first.name} [3×3×3×16] · rgb` },
    });

    expect(errors).toEqual([]);
  });
});

/** What the live views showed last, to find again in the saved snapshots. */
interface Explored {
  filt: { last: PNG; layer: string; page: string };
  sal: { last: PNG; caption: string };
  own: { patterns: PNG; layer: string };
}

/** Moves a saved view's layer slider until its layer name reads `name`; false when no saved layer does. */
async function findLayer(page: Page, view: Locator, name: string): Promise<boolean> {
  const slider = view.locator('input[aria-label="layer"]');
  const max = Number(await slider.getAttribute('max'));
  await slider.focus();
  await page.keyboard.press('Home');
  for (let i = 0; i <= max; i++) {
    if ((await view.locator('.cnnvis-layer-name').textContent()) === name) return true;
    await page.keyboard.press('ArrowRight');
  }
  return false;
}

async function checkSaved(page: Page, screenshot: (name: string) => Promise<string>, explored: Explored): Promise<void> {
  // The MobileNet filter snapshot: the layer and page explored last, as drawn live.
  const filt = explorerIn(page, 1, 'filters', false);
  await filt.scrollIntoViewIfNeeded();
  expect(await findLayer(page, filt, explored.filt.layer)).toBe(true);
  expect(await filt.locator('.cnnvis-page').textContent()).toBe(explored.filt.page);
  expect(changedFraction(await canvasPixels(filt.locator('canvas.cnnvis-weights')), explored.filt.last)).toBe(0);
  await screenshot('saved-filters');

  // The saliency snapshot: the method and class shown last, as drawn live.
  const sal = explorerIn(page, 2, 'cam', false);
  await sal.scrollIntoViewIfNeeded();
  const caption = sal.locator('.cnnvis-caption').first();
  await sal.locator('select[aria-label="method"]').selectOption('saliency');
  const cls = /^class (\d+)/.exec(explored.sal.caption)![1];
  const slider = sal.locator('input[aria-label="class"]');
  await slider.focus();
  await page.keyboard.press('Home');
  const max = Number(await slider.getAttribute('max'));
  for (let i = 0; i < max && !((await caption.textContent()) ?? '').startsWith(`class ${cls} `); i++) await page.keyboard.press('ArrowRight');
  expect(await caption.textContent()).toBe(explored.sal.caption);
  expect(changedFraction(await canvasPixels(sal.locator('canvas.cnnvis-overlay')), explored.sal.last)).toBe(0);
  await screenshot('saved-saliency');

  // The user's model: the activation-maximization patterns that were made.
  const own = explorerIn(page, 3, 'filters', false);
  await own.scrollIntoViewIfNeeded();
  expect(await findLayer(page, own, explored.own.layer)).toBe(true);
  expect(changedFraction(await canvasPixels(own.locator('canvas.cnnvis-patterns')), explored.own.patterns)).toBe(0);
  await screenshot('saved-own-patterns');
}
