/**
 * The filter and saliency explorers in a real JupyterLab 4 (and every explorer on a user's model and
 * a ResNet-style one), driven as a user would, pixels checked against references computed from the
 * model's own weights and the saliency function:
 * - MobileNet v1 0.25's 1×1 layer conv_pw_1: every cell of every tile is the coolwarm colour of its
 *   weight on the layer's ±max|w| scale (none black), dead filters are crossed out and say so on
 *   hover; the pager, the per-tile scale (gray, each tile's min black and max white) and the layer
 *   slider redraw the grid; the slider covers every conv layer of the model.
 * - A user's own Sequential model (the demo CNN written with tf.sequential, one filter switched off
 *   in the cell by scaling its weights to 1e-13): that filter is crossed out, its norm on hover and
 *   under the tiles marked dead; activation maximization draws patterns (its objective 0, its pattern
 *   the flat start), objectives under the patterns; moving the layer stops it. CAM, feature maps,
 *   gradient × input (then integrated gradients) and occlusion on the same model follow their controls.
 * - A ResNet-style block (seeded weights): the filter slider visits every conv layer, none black, the
 *   1×1 shortcut cell by cell; guided backprop checked as below.
 * - Saliency with guided backprop: the map panel equals the colours of cnnvis.guidedBackprop's map
 *   clipped at its 99.5th percentile |map| (the colour bar reads ± that), side by side is
 *   photo | map | gradient image, the overlay is the blend of photo and map at the opacity, 'map only'
 *   ignores the opacity, and the class slider and method menu change the map.
 * Then the notebook is saved, the kernel shut down, and the reopened notebook's saved views open on
 * what was explored last (same pixels), keep the other pages, classes, methods and patterns computed,
 * and page through them with no kernel. Any browser console error fails the test.
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
  savedMenus,
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
/** The generated scene the user's model and the ResNet-style one look at. */
const OWN_IMAGE = 'scene:3';
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
  // The other explorers on the user's model.
  `const ownCam = await cnnvis.explore.cam(mine, '${OWN_IMAGE}');`,
  `const ownMaps = await cnnvis.explore.featureMaps(mine, '${OWN_IMAGE}');`,
  `const ownSal = await cnnvis.explore.saliency(mine, '${OWN_IMAGE}', {method: 'gradxinput', displayMode: 'overlay'});`,
  `const ownOcc = await cnnvis.explore.occlusion(mine, '${OWN_IMAGE}');`,
  // A ResNet-style block (two 3×3 convolutions plus a 1×1 projection shortcut, added), seeded weights.
  `const init = (seed: number) => tf.initializers.glorotUniform({seed});\n` +
    `const x0 = tf.input({shape: [64, 64, 3]});\n` +
    `const stem = tf.layers.conv2d({filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'stem'}).apply(x0) as any;\n` +
    `const c1 = tf.layers.conv2d({filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2), name: 'block_conv1'}).apply(stem) as any;\n` +
    `const c2 = tf.layers.conv2d({filters: 16, kernelSize: 3, padding: 'same', kernelInitializer: init(3), name: 'block_conv2'}).apply(c1) as any;\n` +
    `const shortcut = tf.layers.conv2d({filters: 16, kernelSize: 1, kernelInitializer: init(4), name: 'shortcut'}).apply(stem) as any;\n` +
    `const added = tf.layers.activation({activation: 'relu', name: 'block_out'}).apply(tf.layers.add({name: 'block_add'}).apply([c2, shortcut])) as any;\n` +
    `const head = tf.layers.dense({units: 4, activation: 'softmax', kernelInitializer: init(5), name: 'head'}).apply(tf.layers.globalAveragePooling2d({}).apply(added)) as any;\n` +
    `const resnet = new cnnvis.CnnModel(tf.model({inputs: x0, outputs: head, name: 'tiny_resnet'}), {labels: ['a', 'b', 'c', 'd'], preprocess: 'unit'});\n` +
    `const resFilters = await cnnvis.explore.filters(resnet, {layer: 'shortcut'});`,
  `const resSal = await cnnvis.explore.saliency(resnet, '${OWN_IMAGE}', {method: 'guided-backprop'});`,
];

/** The explorer view (live or saved) in a cell's output. */
function explorerIn(page: Page, cell: number, kind: 'filters' | 'cam' | 'featuremaps' | 'occlusion', live: boolean): Locator {
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

/** Moves a class slider one step (to the left when it is at its end). */
async function stepClass(page: Page, view: Locator): Promise<void> {
  const slider = view.locator('input[aria-label="class"]');
  const at = Number(await slider.inputValue());
  await stepSlider(page, slider, at >= Number(await slider.getAttribute('max')) ? 'ArrowLeft' : 'ArrowRight');
}

/** Every pixel of `over` is round((1 − a) · photo + a · map) (±1). */
function expectBlend(over: PNG, photo: PNG, map: PNG, a: number): void {
  expect([over.width, over.height]).toEqual([photo.width, photo.height]);
  let off = 0;
  for (let y = 0; y < photo.height; y++) {
    for (let x = 0; x < photo.width; x++) {
      const m = pixel(map, x, y);
      const want = pixel(photo, x, y).map((v, k) => Math.round((1 - a) * v + a * m[k]));
      if (!near(pixel(over, x, y), want, 1)) off++;
    }
  }
  expect(off).toBe(0);
  expect(changedFraction(over, photo)).toBeGreaterThan(0.1);
}

/**
 * Checks a saliency view opened with guided backprop in side-by-side display against
 * cnnvis.guidedBackprop on the same model, image and class: the colour bar reads ± the 99.5th
 * percentile of |map|, the middle panel is the coolwarm colour of the map clipped there, the third
 * (the gradient image) differs from it. Returns the panels (photo, map, gradient) as drawn.
 */
async function checkGuidedBackprop(page: Page, sal: Locator, modelVar: string, image: string) {
  const caption = sal.locator('.cnnvis-caption').first();
  await expectEventually(async () => /^class \d+ · .* · Guided Backpropagation$/.test((await caption.textContent()) ?? ''), 'the saliency caption');
  const text = (await caption.textContent()) ?? '';
  const cls = Number(/^class (\d+)/.exec(text)![1]);
  expect(await sal.locator('select[aria-label="display"]').inputValue()).toBe('side-by-side');
  const ref = await kernelJson<{ width: number; height: number; map: number[] }>(
    page,
    `{ const r = await cnnvis.guidedBackprop(${modelVar}, '${image}', {classIndex: ${cls}, display: false}); ` +
      `console.log('@@' + JSON.stringify({width: r.map.width, height: r.map.height, map: Array.from(r.map.data, v => Number(v.toPrecision(6)))})); }`,
  );
  const clip = absPercentile(ref.map, 99.5);
  const ticks = sal.locator('.cnnvis-colorbar-ticks span');
  const hi = Number(((await ticks.nth(0).textContent()) ?? '').replace('+', ''));
  expect(await ticks.nth(1).textContent()).toBe(`−${hi}`);
  expect(Math.abs(hi - clip) / clip).toBeLessThan(0.05);
  const side = await canvasPixels(sal.locator('canvas.cnnvis-overlay'));
  // Three panels 6 px apart, each the input enlarged by one whole factor.
  const f = (side.width - 12) / (3 * ref.width);
  expect(Number.isInteger(f)).toBe(true);
  expect(side.height).toBe(ref.height * f);
  const width = ref.width * f;
  const map = panel(side, 1, width);
  let off = 0;
  for (let y = 0; y < ref.height; y++) {
    for (let x = 0; x < ref.width; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + ref.map[y * ref.width + x] / (2 * clip)));
      if (!near(pixel(map, x * f + Math.floor(f / 2), y * f + Math.floor(f / 2)), colorAt('coolwarm', t), 12)) off++;
    }
  }
  expect(off / (ref.width * ref.height)).toBeLessThan(0.01);
  const gradient = panel(side, 2, width);
  // The gradient image is a picture of its own, not the map again.
  expect(changedFraction(gradient, map)).toBeGreaterThan(0.5);
  return { cls, caption: text, width, photo: panel(side, 0, width), map, gradient };
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
    const filtLayers = Number(await filt.locator('input[aria-label="layer"]').getAttribute('max')) + 1;
    // Every conv layer of MobileNet v1 (the slider's range) counted from the model itself.
    expect(filtLayers).toBe(
      (await kernelJson<number[]>(page, `console.log('@@' + JSON.stringify([model.net.layers.filter(l => l.getWeights()[0]?.shape.length === 4).length]))`))[0],
    );
    await screenshot('filters-depthwise');

    // ---- Saliency, guided backprop on MobileNet: the map against cnnvis.guidedBackprop ----
    const sal = explorerIn(page, 2, 'cam', true);
    await sal.waitFor({ timeout: COMPUTE_TIMEOUT });
    await sal.scrollIntoViewIfNeeded();
    await waitIdle(sal);
    const salCaption = sal.locator('.cnnvis-caption').first();
    const { cls, caption: firstCaption, width: W, photo, map, gradient } = await checkGuidedBackprop(page, sal, 'model', IMAGE);
    // 224 px photos are drawn ×1: photo | map | gradient image reach 320 px together.
    expect(W).toBe(224);
    const display = sal.locator('select[aria-label="display"]');
    const canvas = sal.locator('canvas.cnnvis-overlay');
    const ticks = sal.locator('.cnnvis-colorbar-ticks span');
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
    for (let y = 0; y < photo.height; y++) {
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
    const made = await kernelJson<{ values: number[]; filters: number[]; flat: boolean[] }>(page, `console.log('@@' + JSON.stringify({values: own.get('pattern_values'), filters: own.get('pattern_filters'), flat: own.get('pattern_flat')}))`);
    expect(made.filters).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const mean = made.values.reduce((s, v) => s + v, 0) / made.values.length;
    // Flat patterns (objective 0 from every start tried): the switched-off filter, and any filter no
    // input near grey reaches, are named in the caption and marked under their patterns.
    const flat = made.filters.filter((_, i) => made.flat[i]);
    expect(flat).toContain(OFF_FILTER);
    flat.forEach((f) => expect(made.values[f]).toBe(0));
    const flatCaption = `; flat: filter${flat.length > 1 ? 's' : ''} ${flat.join(', ')} stayed at 0 from every start tried, so ${flat.length > 1 ? 'their images are' : 'its image is'} the start's noise, not a pattern (a dead filter, or one no input near grey reaches)`;
    expect(await patCaption.textContent()).toBe(`activation maximization of filters 0–7 (mean objective ${mean.toFixed(3)})${flatCaption}`);
    // The switched-off filter's objective does not grow; every live one does better.
    const patLast = await canvasPixels(patterns);
    const ownWeightsAm = await canvasPixels(own.locator('canvas.cnnvis-weights'));
    // The labels under the tiles: each filter's norm, the switched-off one marked dead; under the
    // patterns each one's objective.
    const ownDeadLabels = await own.locator('.cnnvis-filter-values .cnnvis-dead').allTextContents();
    expect(ownDeadLabels).toEqual([`${OFF_FILTER}: ‖w‖ ${ownNorms[OFF_FILTER].toExponential(2)} dead`, ...flat.map((f) => `${f}: 0.000 flat`)]);
    const objectives = (await own.locator('figure:has(canvas.cnnvis-patterns) .cnnvis-filter-value').allTextContents()).map((t) => parseFloat(t.split(': ')[1]));
    objectives.forEach((v, i) => expect(v).toBeCloseTo(made.values[i], 3));
    await screenshot('own-patterns');
    // The switched-off filter cannot respond: objective 0 (its start is amplified noise, marked dead
    // above), while a responding filter's pattern (32 px tiles, 3 a row, 2 px apart, enlarged by a
    // whole factor) spans a wide range of colours.
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
      expect(spread(live)).toBeGreaterThan(128);
    }

    // Moving the layer stops activation maximization: weights of the next layer, no patterns.
    await stepSlider(page, own.locator('input[aria-label="layer"]'));
    await waitForText(ownLayer, `${first.name} [3×3×3×16] · rgb`);
    await waitIdle(own);
    await expectEventually(async () => !(await patterns.isVisible()), 'the patterns to hide');
    expect(await own.locator('.cnnvis-title').textContent()).not.toContain('activation maximization');
    expect(await kernelJson<{ mode: string }>(page, `console.log('@@' + JSON.stringify({mode: own.get('mode')}))`)).toEqual({ mode: 'weights' });
    const ownLastLayer = (await ownLayer.textContent()) ?? '';

    // ---- The other explorers on the user's model: each control redraws ----
    const ownCam = explorerIn(page, 4, 'cam', true);
    await ownCam.waitFor({ timeout: COMPUTE_TIMEOUT });
    await ownCam.scrollIntoViewIfNeeded();
    await waitIdle(ownCam);
    const camCaption = ownCam.locator('.cnnvis-caption').first();
    await expectEventually(async () => /^class \d+ · /.test((await camCaption.textContent()) ?? ''), 'the CAM caption');
    const camOverlay = ownCam.locator('canvas.cnnvis-overlay');
    const camBefore = await canvasPixels(camOverlay);
    const camFirst = (await camCaption.textContent()) ?? '';
    await stepClass(page, ownCam);
    const camSecond = await waitForText(camCaption, camFirst);
    await waitIdle(ownCam);
    expect(camSecond.split(' · ')[1]).not.toBe(camFirst.split(' · ')[1]);
    await expectEventually(async () => changedFraction(camBefore, await canvasPixels(camOverlay)) > 0.05, 'the CAM overlay to change');
    const camLast = await canvasPixels(camOverlay);
    await screenshot('own-cam');

    const ownMaps = explorerIn(page, 5, 'featuremaps', true);
    await ownMaps.waitFor({ timeout: COMPUTE_TIMEOUT });
    await ownMaps.scrollIntoViewIfNeeded();
    await waitIdle(ownMaps);
    const mapsLayer = ownMaps.locator('.cnnvis-layer-name');
    await expectEventually(async () => ((await mapsLayer.textContent()) ?? '').length > 0, 'the feature-map layer');
    const mapsGrid = ownMaps.locator('canvas.cnnvis-grid');
    const mapsBefore = await canvasPixels(mapsGrid);
    const mapsFirst = (await mapsLayer.textContent()) ?? '';
    await stepSlider(page, ownMaps.locator('input[aria-label="layer"]'));
    const mapsSecond = await waitForText(mapsLayer, mapsFirst);
    await waitIdle(ownMaps);
    await expectEventually(async () => changedFraction(mapsBefore, await canvasPixels(mapsGrid)) > 0.05, 'the feature-map grid to change');
    const mapsLast = await canvasPixels(mapsGrid);
    const mapsPage = (await ownMaps.locator('.cnnvis-page').textContent()) ?? '';
    await screenshot('own-featuremaps');

    // Gradient × input opened as an overlay: side by side shows photo | map, and the overlay was
    // their blend at the opacity.
    const ownSal = explorerIn(page, 6, 'cam', true);
    await ownSal.waitFor({ timeout: COMPUTE_TIMEOUT });
    await ownSal.scrollIntoViewIfNeeded();
    await waitIdle(ownSal);
    const ownSalCaption = ownSal.locator('.cnnvis-caption').first();
    await expectEventually(async () => / · Gradient × Input$/.test((await ownSalCaption.textContent()) ?? ''), 'the gradient × input caption');
    const ownSalCanvas = ownSal.locator('canvas.cnnvis-overlay');
    const ownOver = await canvasPixels(ownSalCanvas);
    await ownSal.locator('select[aria-label="display"]').selectOption('side-by-side');
    await expectEventually(async () => (await canvasPixels(ownSalCanvas)).width === 2 * ownOver.width + 6, 'photo | map');
    const ownSide = await canvasPixels(ownSalCanvas);
    expectBlend(ownOver, panel(ownSide, 0, ownOver.width), panel(ownSide, 1, ownOver.width), Number(await ownSal.locator('input[aria-label="overlay opacity"]').inputValue()));
    // Integrated gradients (a costly method, once missing from saved views): a new map for the class.
    const gxiCaption = (await ownSalCaption.textContent()) ?? '';
    await ownSal.locator('select[aria-label="method"]').selectOption('integrated-gradients');
    await expectEventually(async () => ((await ownSalCaption.textContent()) ?? '').endsWith(' · Integrated Gradients'), 'integrated gradients');
    await waitIdle(ownSal);
    expect(classOf((await ownSalCaption.textContent()) ?? '')).toBe(classOf(gxiCaption));
    await expectEventually(async () => changedFraction(ownSide, await canvasPixels(ownSalCanvas)) > 0.05, 'the integrated gradients map');
    const ownSalLast = await canvasPixels(ownSalCanvas);
    const ownSalLastCaption = (await ownSalCaption.textContent()) ?? '';
    await screenshot('own-saliency');

    const ownOcc = explorerIn(page, 7, 'occlusion', true);
    await ownOcc.waitFor({ timeout: COMPUTE_TIMEOUT });
    await ownOcc.scrollIntoViewIfNeeded();
    await waitIdle(ownOcc);
    const occMask = ownOcc.locator('canvas.cnnvis-mask');
    await expectEventually(async () => ((await ownOcc.locator('.cnnvis-info').textContent()) ?? '').startsWith('threshold 0.50 '), 'the occlusion threshold line');
    const occBefore = await canvasPixels(occMask);
    const threshold = ownOcc.locator('input[aria-label="mask threshold"]');
    await threshold.focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
    await expectEventually(async () => ((await ownOcc.locator('.cnnvis-info').textContent()) ?? '').startsWith('threshold 0.70 '), 'the threshold to read 0.70', 10000);
    expect(changedFraction(occBefore, await canvasPixels(occMask))).toBeGreaterThan(0.001);
    const occLast = await canvasPixels(occMask);
    await screenshot('own-occlusion');

    // ---- The ResNet-style model: every conv layer's filters, its 1×1 shortcut not black ----
    const res = explorerIn(page, 8, 'filters', true);
    await res.waitFor({ timeout: COMPUTE_TIMEOUT });
    await res.scrollIntoViewIfNeeded();
    await waitIdle(res);
    const resLayer = res.locator('.cnnvis-layer-name');
    expect(await resLayer.textContent()).toBe('shortcut [1×1×8×16] · pointwise');
    const sc = await kernelValues(page, `resnet.net.getLayer('shortcut')`);
    checkPointwisePage(await canvasPixels(res.locator('canvas.cnnvis-weights')), sc, Array.from({ length: 16 }, (_, f) => f), deadOf(filterNorms(sc)));
    const convs = await kernelJson<string[]>(page, `console.log('@@' + JSON.stringify(resnet.net.layers.filter(l => l.getWeights()[0]?.shape.length === 4).map(l => l.name)))`);
    const resSlider = res.locator('input[aria-label="layer"]');
    expect(Number(await resSlider.getAttribute('max'))).toBe(convs.length - 1);
    const seen: string[] = [];
    await resSlider.focus();
    await page.keyboard.press('Home');
    for (let i = 0; i < convs.length; i++) {
      if (i > 0) await page.keyboard.press('ArrowRight');
      await expectEventually(async () => (await res.locator('.cnnvis-weights').getAttribute('aria-label'))?.startsWith(`weights of ${((await resLayer.textContent()) ?? '').split(' ')[0]}:`) ?? false, 'the grid of the layer');
      await waitIdle(res);
      const name = ((await resLayer.textContent()) ?? '').split(' ')[0];
      seen.push(name);
      const px = await canvasPixels(res.locator('canvas.cnnvis-weights'));
      let lit = 0;
      for (let j = 0; j < px.data.length; j += 4) if (px.data[j] + px.data[j + 1] + px.data[j + 2] > 0) lit++;
      expect(lit / (px.width * px.height)).toBeGreaterThan(0.2);
    }
    expect([...seen].sort()).toEqual([...convs].sort());
    const resLast = await canvasPixels(res.locator('canvas.cnnvis-weights'));
    const resLastLayer = (await resLayer.textContent()) ?? '';
    await screenshot('resnet-filters');

    const resSal = explorerIn(page, 9, 'cam', true);
    await resSal.waitFor({ timeout: COMPUTE_TIMEOUT });
    await resSal.scrollIntoViewIfNeeded();
    await waitIdle(resSal);
    await checkGuidedBackprop(page, resSal, 'resnet', OWN_IMAGE);
    await screenshot('resnet-saliency');

    // ---- Save, shut the kernel down, reopen with no kernel ----
    await saveNotebook(page);
    const saved = JSON.parse(fs.readFileSync(path.join(dirs.root, NOTEBOOK), 'utf8')) as Notebook;
    const results = saved.cells.map((c) => (c.outputs ?? []).map((o) => o.data?.[RESULT_MIME]).find(Boolean) as Record<string, unknown> | undefined);
    // (Shift+Enter on the last cell added an empty one.)
    expect(results.slice(0, CELLS.length).map((r) => r?.kind)).toEqual([undefined, 'filters', 'saliency', 'filters', 'cam', 'feature-maps', 'saliency', 'occlusion', 'filters', 'saliency']);
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
      filt: { last: filtLast, layer: 'conv_dw_2 [3×3×16×1] · depthwise', page: 'filters 8–15 of 16', layers: filtLayers },
      sal: { last: salLast, caption: salLastCaption },
      own: { patterns: patLast, weights: ownWeightsAm, layer: `${first.name} [3×3×3×16] · rgb`, lastLayer: ownLastLayer, deadLabels: ownDeadLabels },
      ownCam: { last: camLast, caption: camSecond },
      ownMaps: { last: mapsLast, layer: mapsSecond, page: mapsPage },
      ownSal: { last: ownSalLast, caption: ownSalLastCaption, gxi: ownSide },
      ownOcc: { last: occLast },
      res: { last: resLast, layer: resLastLayer },
    });

    expect(errors).toEqual([]);
  });
});

/** What the live views showed last, to find again in the saved snapshots. */
interface Explored {
  filt: { last: PNG; layer: string; page: string; layers: number };
  sal: { last: PNG; caption: string };
  own: { patterns: PNG; weights: PNG; layer: string; lastLayer: string; deadLabels: string[] };
  ownCam: { last: PNG; caption: string };
  ownMaps: { last: PNG; layer: string; page: string };
  ownSal: { last: PNG; caption: string; gxi: PNG };
  ownOcc: { last: PNG };
  res: { last: PNG; layer: string };
}

/** Moves a saved view's slider from its start until `read` satisfies `want`; false when no position does. */
async function seek(page: Page, slider: Locator, read: () => Promise<string>, want: (text: string) => boolean): Promise<boolean> {
  const max = Number(await slider.getAttribute('max'));
  await slider.focus();
  await page.keyboard.press('Home');
  for (let i = 0; i <= max; i++) {
    if (want(await read())) return true;
    await page.keyboard.press('ArrowRight');
  }
  return want(await read());
}

/** Mean brightness of each tile of a near-square grid of `count` tiles (4 columns for 16), found from the picture's size. */
function tileMeans(p: PNG, count: number): number[] {
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const tw = p.width / cols;
  const th = p.height / rows;
  return Array.from({ length: count }, (_, i) => {
    const x0 = Math.floor((i % cols) * tw + tw * 0.2);
    const y0 = Math.floor(Math.floor(i / cols) * th + th * 0.2);
    let sum = 0;
    let n = 0;
    for (let y = y0; y < y0 + th * 0.6; y++) {
      for (let x = x0; x < x0 + tw * 0.6; x++) {
        const [r, g, b] = pixel(p, x, y);
        sum += (r + g + b) / 3;
        n++;
      }
    }
    return sum / n;
  });
}

/** 'class 3 · square' of a caption 'class 3 · square · p=0.912 · …'. */
const classOf = (caption: string) => caption.split(' · ').slice(0, 2).join(' · ');

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
  const grid = (v: Locator) => canvasPixels(v.locator('canvas.cnnvis-weights'));

  // The MobileNet filter snapshot opens where the live view was left (conv_dw_2, filters 8–15, per
  // tile), every conv layer is there (conv_dw_1 too), and the pager goes back to the first page.
  const filt = explorerIn(page, 1, 'filters', false);
  await filt.scrollIntoViewIfNeeded();
  expect(await filt.locator('.cnnvis-layer-name').textContent()).toBe(explored.filt.layer);
  expect(await filt.locator('.cnnvis-page').textContent()).toBe(explored.filt.page);
  expect(changedFraction(await grid(filt), explored.filt.last)).toBe(0);
  const slider = filt.locator('input[aria-label="layer"]');
  expect(Number(await slider.getAttribute('max'))).toBe(explored.filt.layers - 1);
  await filt.locator('button[aria-label="previous filters"]').click();
  await expectEventually(async () => (await filt.locator('.cnnvis-page').textContent()) === 'filters 0–7 of 16', 'the first saved page', 10000);
  expect(changedFraction(await grid(filt), explored.filt.last)).toBeGreaterThan(0.1);
  expect(await findLayer(page, filt, 'conv_dw_1 [3×3×8×1] · depthwise')).toBe(true);
  await screenshot('saved-filters');

  // The saliency snapshot opens on the method, class and display left, drawn as live.
  const sal = explorerIn(page, 2, 'cam', false);
  await sal.scrollIntoViewIfNeeded();
  const caption = sal.locator('.cnnvis-caption').first();
  expect(classOf((await caption.textContent()) ?? '')).toBe(classOf(explored.sal.caption));
  expect(await sal.locator('select[aria-label="method"]').inputValue()).toBe('saliency');
  expect(await sal.locator('select[aria-label="display"]').inputValue()).toBe('overlay');
  expect(changedFraction(await canvasPixels(sal.locator('canvas.cnnvis-overlay')), explored.sal.last)).toBe(0);
  // Guided backprop for that class was computed live too: it is saved, with its gradient image.
  await sal.locator('select[aria-label="method"]').selectOption('guided-backprop');
  await expectEventually(async () => ((await caption.textContent()) ?? '').endsWith(' · Guided Backpropagation'), 'the saved guided backprop', 10000);
  expect(classOf((await caption.textContent()) ?? '')).toBe(classOf(explored.sal.caption));
  expect((await canvasPixels(sal.locator('canvas.cnnvis-overlay'))).width).toBe(2 * explored.sal.last.width + 6);
  await screenshot('saved-saliency');

  // The user's model: it opens on the layer left (weights); the first layer keeps its patterns,
  // their step count and the crossed-out filter.
  const own = explorerIn(page, 3, 'filters', false);
  await own.scrollIntoViewIfNeeded();
  expect(await own.locator('.cnnvis-layer-name').textContent()).toBe(explored.own.lastLayer);
  expect(await findLayer(page, own, explored.own.layer)).toBe(true);
  expect(changedFraction(await grid(own), explored.own.weights)).toBe(0);
  expect(changedFraction(await canvasPixels(own.locator('canvas.cnnvis-patterns')), explored.own.patterns)).toBe(0);
  expect(await own.locator('select[aria-label="optimization steps"]').inputValue()).toBe('16');
  expect(await own.locator('.cnnvis-filter-values .cnnvis-dead').allTextContents()).toEqual(explored.own.deadLabels);
  await screenshot('saved-own-patterns');

  // The other explorers on the user's model and the ResNet-style filters open as they were left.
  const cam = explorerIn(page, 4, 'cam', false);
  await cam.scrollIntoViewIfNeeded();
  expect(classOf((await cam.locator('.cnnvis-caption').first().textContent()) ?? '')).toBe(classOf(explored.ownCam.caption));
  expect(changedFraction(await canvasPixels(cam.locator('canvas.cnnvis-overlay')), explored.ownCam.last)).toBe(0);

  const maps = explorerIn(page, 5, 'featuremaps', false);
  await maps.scrollIntoViewIfNeeded();
  expect(await maps.locator('.cnnvis-layer-name').textContent()).toBe(explored.ownMaps.layer);
  expect(await maps.locator('.cnnvis-page').textContent()).toBe(explored.ownMaps.page);
  // Saved feature maps are stored at most 32 px a side, so the grid is that page at a lower resolution:
  // the same tiles, same layout, each tile's mean brightness close to the live one's.
  const savedGrid = await canvasPixels(maps.locator('canvas.cnnvis-grid'));
  expect(tileMeans(savedGrid, 16).map((v, i) => Math.abs(v - tileMeans(explored.ownMaps.last, 16)[i])).every((d) => d < 12)).toBe(true);

  const ownSal = explorerIn(page, 6, 'cam', false);
  await ownSal.scrollIntoViewIfNeeded();
  expect(await ownSal.locator('select[aria-label="display"]').inputValue()).toBe('side-by-side');
  expect(classOf((await ownSal.locator('.cnnvis-caption').first().textContent()) ?? '')).toBe(classOf(explored.ownSal.caption));
  expect(await ownSal.locator('select[aria-label="method"]').inputValue()).toBe('integrated-gradients');
  expect(changedFraction(await canvasPixels(ownSal.locator('canvas.cnnvis-overlay')), explored.ownSal.last)).toBe(0);
  // Gradient × input of the same class, as drawn side by side live.
  await ownSal.locator('select[aria-label="method"]').selectOption('gradxinput');
  await expectEventually(async () => ((await ownSal.locator('.cnnvis-caption').first().textContent()) ?? '').endsWith(' · Gradient × Input'), 'the saved gradient × input', 10000);
  expect(changedFraction(await canvasPixels(ownSal.locator('canvas.cnnvis-overlay')), explored.ownSal.gxi)).toBe(0);

  const occ = explorerIn(page, 7, 'occlusion', false);
  await occ.scrollIntoViewIfNeeded();
  expect(((await occ.locator('.cnnvis-info').textContent()) ?? '').startsWith('threshold 0.70 ')).toBe(true);
  expect(changedFraction(await canvasPixels(occ.locator('canvas.cnnvis-mask')), explored.ownOcc.last)).toBe(0);

  const res = explorerIn(page, 8, 'filters', false);
  await res.scrollIntoViewIfNeeded();
  expect(await res.locator('.cnnvis-layer-name').textContent()).toBe(explored.res.layer);
  expect(changedFraction(await grid(res), explored.res.last)).toBe(0);
  await screenshot('saved-own-explorers');
  const menus = await savedMenus(page);
  expect(menus.shown).toBeGreaterThan(5);
  expect(menus.blank).toEqual([]);
}
