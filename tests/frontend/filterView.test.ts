/**
 * @jest-environment jsdom
 */
/**
 * The filter explorer's view in jsdom with a real widget model fed by the real kernel-side explorer
 * on the demo model: weight tiles and patterns read back from the canvas shim.
 */
import './domPolyfills';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CnnModel } from '../../kernel/src/models/model';
import { CamExplorer, FilterExplorer } from '../../kernel/src/explore';
import { loadModel } from '../../kernel/src/models/load';
import { IMAGES } from '../helpers/shared';
import { colorAt } from '../../kernel/src/render/colormaps';
import { FilterResultData, RESULT_MIME } from '../../kernel/src/schema/explorers';
import { base64ToBytes } from '../../widgets/src/base64';
import { CamExplorerView, FilterExplorerView, renderResult } from '../../widgets/src';
import { shortValue } from '../../widgets/src/filterPanel';
import { filterPatterns } from '../../kernel/src/optvis';
import { Bridge, frontEndSuite, input, settle, viewOf } from './bridge';
import { drawn, pixelAt } from './canvasShim';

let model: CnnModel;
let bridge: Bridge;

frontEndSuite({
  model: (m) => (model = m),
  bridge: (b) => (bridge = b),
});

test('FilterExplorerView: RGB tiles, per-input-channel rows, hover text, activation maximization on demand with cancel', async () => {
  const ex = await FilterExplorer.open(model, { display: false, pageSize: 4, inputChannels: 2, steps: 4, patternSize: 16 });
  const view = await viewOf<FilterExplorerView>(bridge, ex.modelId);
  const panel = view.panel;
  // 4 RGB tiles of 3×3 in a 2×2 grid with 1 px padding: 9 px, enlarged to about 384.
  const f = Math.min(16, Math.round(384 / 9));
  expect([panel.grid.width, panel.grid.height]).toEqual([9 * f, 9 * f]);
  const w = ex.get('weights');
  // Tile 3 at (1 + 4, 1 + 4); its pixel (2, 1) is RGBA bytes of filter 3.
  const o = (3 * 9 + 1 * 3 + 2) * 4;
  expect(pixelAt(panel.grid, (5 + 2) * f, (5 + 1) * f)).toEqual([w[o], w[o + 1], w[o + 2], 255]);
  expect(pixelAt(panel.grid, 0, 0)).toEqual([0, 0, 0, 255]);
  expect(panel.layerName.textContent).toBe(`${ex.get('layers')[0].name} [3×3×3×16] · rgb`);
  panel.grid.dispatchEvent(new MouseEvent('mousemove', { clientX: 6 * f, clientY: 2 * f }));
  expect(panel.info.textContent).toBe(`filter 1 (RGB) · L2 norm ${ex.get('filter_norms')[1].toFixed(4)}`);

  // Next layer: a row per filter, one grey tile per input channel, coloured with the colormap.
  input(panel.layerSlider, '1');
  await settle(bridge, ex);
  expect(ex.get('tiles_per_filter')).toBe(2);
  const g = 1 + 2 * 4; // 2 columns of 3 px + padding
  const gh = 1 + 4 * 4;
  const f1 = Math.min(16, Math.round(384 / gh));
  expect([panel.grid.width, panel.grid.height]).toEqual([g * f1, gh * f1]);
  const wb = ex.get('weights');
  // Row 2 (filter 2), column 1 (input channel 1), pixel (1, 2): tile index 5.
  expect(pixelAt(panel.grid, (5 + 1) * f1, (9 + 2) * f1).slice(0, 3)).toEqual(colorAt('gray', wb[5 * 9 + 2 * 3 + 1] / 255));
  input(panel.colormapSelect, 'viridis', 'change');
  await settle(bridge, ex);
  expect(pixelAt(panel.grid, (5 + 1) * f1, (9 + 2) * f1).slice(0, 3)).toEqual(colorAt('viridis', wb[5 * 9 + 2 * 3 + 1] / 255));
  panel.grid.dispatchEvent(new MouseEvent('mouseleave'));
  panel.grid.focus();
  // The first key picks tile 0, the next moves a row down: filter 1, input channel 0.
  panel.grid.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown' }));
  panel.grid.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown' }));
  expect(panel.info.textContent).toMatch(/^filter 1 · input channel 0 · L2 norm/);

  // Activation maximization: the button asks the kernel; the patterns appear.
  expect(panel.patternsButton.getAttribute('aria-pressed')).toBe('false');
  panel.patternsButton.click();
  await settle(bridge, ex);
  expect(ex.computed).toBe(4);
  expect(panel.patternsButton.getAttribute('aria-pressed')).toBe('true');
  const p = ex.get('patterns');
  // 4 patterns of 16 px in a 2×2 grid with 2 px padding: 38 px, enlarged.
  const pf = Math.min(16, Math.round(384 / 38));
  expect(panel.patternCanvas.width).toBe(38 * pf);
  const q = (1 * 16 * 16 + 5 * 16 + 7) * 4; // pattern 1, pixel (7, 5)
  expect(pixelAt(panel.patternCanvas, (20 + 7) * pf, (2 + 5) * pf)).toEqual([p[q], p[q + 1], p[q + 2], 255]);
  expect(panel.patternCaption.textContent).toMatch(/^activation maximization of filters 0–3/);
  // The next page, cancelled from its progress line once it starts.
  ex.observe((c) => {
    if ((c.new as number) > 0 && ex.get('status') === 'busy') panel.progress.cancel.click();
  }, 'progress');
  panel.next.click();
  await settle(bridge, ex);
  expect(ex.get('status')).toBe('cancelled');
  expect(panel.progress.node.textContent).toContain('Cancelled');
  expect(ex.computed).toBe(4);
  ex.close();
});

test('a hostile model name is text (TF.js refuses such layer names); the saved result switches layers with no kernel', async () => {
  const input0 = tf.input({ shape: [8, 8, 3] });
  const c = tf.layers.conv2d({ filters: 2, kernelSize: 3, name: 'first' }).apply(input0) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 3, kernelSize: 3, name: 'second' }).apply(c) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(c2) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const tiny = new CnnModel(tf.model({ inputs: input0, outputs: out }), { name: '<b>tiny</b><img src=x onerror="window.__pwned=1">', preprocess: 'unit' });
  const ex = await FilterExplorer.open(tiny, { display: false });
  const view = await viewOf<FilterExplorerView>(bridge, ex.modelId);
  expect(view.el.querySelector('img, b')).toBeNull();
  expect(view.el.textContent).toContain('<b>tiny</b><img src=x');
  const snap = ex.mimeBundle()[RESULT_MIME] as FilterResultData;
  ex.close();
  const node = renderResult(snap);
  document.body.appendChild(node);
  expect(node.querySelector('img, b')).toBeNull();
  const grid = node.querySelector('canvas.cnnvis-weights') as HTMLCanvasElement;
  const before = Uint8ClampedArray.from(drawn(grid));
  input(node.querySelector('input.cnnvis-slider') as HTMLInputElement, '1');
  expect(node.querySelector('.cnnvis-layer-name')?.textContent).toBe('second [3×3×2×3] · per-input-channel');
  expect(drawn(grid)).not.toEqual(before);
  expect((node.querySelector('.cnnvis-toggle') as HTMLButtonElement).disabled).toBe(true);
  tiny.net.dispose();
});

test('a 1×1 layer draws a cell per input channel on a diverging layer scale (not black), a dead filter crossed out, the pager as a sentence; the saved result too', async () => {
  const input0 = tf.input({ shape: [8, 8, 3] });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c1' }).apply(input0) as tf.SymbolicTensor;
  const pw = tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'pw' }).apply(c1) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(pw) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input0, outputs: out });
  const layer = net.getLayer('pw');
  const [kw0, b0] = layer.getWeights();
  const k = Float32Array.from(kw0.dataSync(), (v, i) => (i % 8 === 6 ? 0 : v));
  layer.setWeights([tf.tensor(k, kw0.shape), b0]);
  const tiny = new CnnModel(net, { name: 'tiny', preprocess: 'unit' });
  const ex = await FilterExplorer.open(tiny, { display: false, layer: 'pw' });
  const view = await viewOf<FilterExplorerView>(bridge, ex.modelId);
  const panel = view.panel;
  const pager = panel.pageText.parentElement as HTMLElement;
  expect(Array.from(pager.children, (c) => c.textContent).join(' ')).toBe('◀ filters 0–7 of 8 ▶');
  expect(panel.layerName.textContent).toBe('pw [1×1×4×8] · pointwise');
  // 8 tiles of 2×2 cells (4 input channels), 3 per row: 1 + 3·3 = 10 px wide, 1 + 3·3 = 10 high.
  const f = Math.min(16, Math.round(384 / 10));
  expect([panel.grid.width, panel.grid.height]).toEqual([10 * f, 10 * f]);
  const m = Math.max(...Array.from(k, Math.abs));
  let lit = 0;
  const px = drawn(panel.grid);
  for (let i = 0; i < px.length / 4; i++) if (px[i * 4] + px[i * 4 + 1] + px[i * 4 + 2] > 30) lit++;
  expect(lit).toBe(8 * 4 * f * f); // every cell of every tile (coolwarm has no dark colour); padding black
  // Filter 4 (row 1, column 1), input channel 3 (cell (1, 1)): the weight's colour on [-m, m], coolwarm.
  const w = ex.get('weights');
  const at = (tile: number, cell: number) => [1 + (tile % 3) * 3 + (cell % 2), 1 + Math.floor(tile / 3) * 3 + Math.floor(cell / 2)];
  const [x, y] = at(4, 3);
  expect(pixelAt(panel.grid, x * f + 1, y * f + 1).slice(0, 3)).toEqual(colorAt('coolwarm', w[4 * 4 + 3] / 255));
  expect(Math.abs(-m + (w[4 * 4 + 3] / 255) * 2 * m - k[3 * 8 + 4])).toBeLessThanOrEqual((m / 255) * 1.01);
  expect(pixelAt(panel.grid, x * f + 1, y * f + 1).slice(0, 3)).not.toEqual([0, 0, 0]);
  // Filter 6 is dead: a red cross over its tile, 'dead' when hovered, counted in the caption.
  const [dx, dy] = at(6, 0);
  expect(pixelAt(panel.grid, dx * f, dy * f)).toEqual([255, 0, 0, 255]);
  panel.grid.dispatchEvent(new MouseEvent('mousemove', { clientX: dx * f + 2, clientY: dy * f + f + 2 }));
  expect(panel.info.textContent).toMatch(/^filter 6 \(1×1: a cell per input channel\) · L2 norm 0\.0000 · dead$/);
  expect(panel.weightCaption.textContent).toMatch(/^weights on one scale for the layer, -\S+ to \S+ \(coolwarm\); 1 dead filter crossed out$/);
  // The scale menu asks the kernel for per-tile scaling.
  expect(panel.scalingSelect.value).toBe('auto');
  input(panel.scalingSelect, 'tile', 'change');
  await settle(bridge, ex);
  expect(ex.get('weight_scaling')).toBe('tile');
  expect(panel.weightCaption.textContent).toMatch(/^weights \(each tile scaled to its own range\)/);
  const snap = ex.mimeBundle()[RESULT_MIME] as FilterResultData;
  ex.close();
  // Saved: the same page, no kernel.
  const node = renderResult(snap);
  document.body.appendChild(node);
  input(node.querySelector('input.cnnvis-slider') as HTMLInputElement, String(snap.layers.findIndex((l) => l.name === 'pw')));
  const grid = node.querySelector('canvas.cnnvis-weights') as HTMLCanvasElement;
  expect(pixelAt(grid, dx * f, dy * f)).toEqual([255, 0, 0, 255]);
  const sw = base64ToBytes(snap.layers.find((l) => l.name === 'pw')?.weights as string);
  expect(pixelAt(grid, x * f + 1, y * f + 1).slice(0, 3)).toEqual(colorAt('gray', sw[4 * 4 + 3] / 255));
  expect((node.querySelector('select[aria-label="weight scaling"]') as HTMLSelectElement).disabled).toBe(true);
  tiny.net.dispose();
});

test('Patterns that stay flat (objective 0 from every start tried) are named under the tile, in the caption, the hover text, the summary and the saved view', async () => {
  const input0 = tf.input({ shape: [16, 16, 3] });
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'c1', kernelInitializer: init(5) }).apply(input0) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, kernelInitializer: init(6) }).apply(tf.layers.flatten().apply(c1) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input0, outputs: out });
  const layer = net.getLayer('c1');
  const [kw] = layer.getWeights();
  // Filter 2 has weights (it is not dead) but no input in [0, 1] reaches it: negative weights, bias −1, then the ReLU.
  layer.setWeights([tf.tensor(Float32Array.from(kw.dataSync(), (v, i) => (i % 4 === 2 ? -Math.abs(v) - 0.01 : v)), kw.shape), tf.tensor1d([0, 0, -1, 0])]);
  const tiny = new CnnModel(net, { name: 'tiny', preprocess: 'unit' });
  const ex = await FilterExplorer.open(tiny, { display: false, layer: 'c1', pageSize: 4, steps: 2, patternSize: 16 });
  const view = await viewOf<FilterExplorerView>(bridge, ex.modelId);
  const panel = view.panel;
  panel.patternsButton.click();
  await settle(bridge, ex);
  expect(ex.get('filter_dead')).toEqual([false, false, false, false]);
  expect(ex.get('pattern_flat')).toEqual([false, false, true, false]);
  const ref = await filterPatterns(tiny, 'c1', { channels: [0, 1, 2, 3], steps: 2, size: 16, display: false, progress: false, preview: 0 });
  expect(ref.flat).toEqual([false, false, true, false]);
  expect(ref.warnings.join(' ')).toMatch(/channel 2 stayed exactly 0/);
  const items = Array.from(panel.patternValues.querySelectorAll('li'));
  expect(items.map((li) => li.textContent)).toEqual([0, 1, 2, 3].map((f) => `${f}: ${shortValue(ex.get('pattern_values')[f])}${f === 2 ? ' flat' : ''}`));
  expect(items.map((li) => li.classList.contains('cnnvis-dead'))).toEqual([false, false, true, false]);
  expect(panel.patternCaption.textContent).toMatch(/\); flat: filter 2 stayed at 0 from every start tried, so its image is the start's noise, not a pattern/);
  // Tile 2 of the 2×2 grid of 3×3 weight tiles sits at (1, 5).
  const f = Math.min(16, Math.round(384 / 9));
  panel.grid.dispatchEvent(new MouseEvent('mousemove', { clientX: 2 * f, clientY: 6 * f }));
  expect(panel.info.textContent).toMatch(/^filter 2 \(RGB\) · L2 norm \S+ · pattern objective 0\.000 \(flat: 0 from every start\)$/);
  expect(ex.summary()).toMatch(/; flat \(objective 0 from every start, the image is noise\): filter 2\)$/);
  const snap = ex.mimeBundle()[RESULT_MIME] as FilterResultData;
  expect(snap.layers.find((l) => l.name === 'c1')?.patterns?.flat).toEqual([false, false, true, false]);
  ex.close();
  // Saved: the same labels and caption, no kernel.
  const node = renderResult(snap);
  document.body.appendChild(node);
  expect(Array.from(node.querySelectorAll('figcaption'), (c) => c.textContent).join(' | ')).toMatch(/flat: filter 2 stayed at 0 from every start tried/);
  expect(Array.from(node.querySelectorAll('li.cnnvis-dead'), (li) => li.textContent)).toEqual([`2: ${shortValue(ex.get('pattern_values')[2])} flat`]);
  tiny.net.dispose();
});

test('MobileNet filters and CAM: nothing in the controls moves under the pointer (fixed widths, digits of one width) while paging and moving the layer; the CAM menus fill the fixed column', async () => {
  // The extension's stylesheet, as JupyterLab loads it (jsdom cascades it; it does no layout, so widths are the styles').
  const style = document.createElement('style');
  style.textContent = fs.readFileSync(path.join(__dirname, '../../widgets/style/index.css'), 'utf8');
  document.head.appendChild(style);
  try {
    const mobilenet = await loadModel('mobilenet_v1_0.25_224');
    const ex = await FilterExplorer.open(mobilenet, { display: false, layer: 'conv_pw_1', pageSize: 8 });
    const view = await viewOf<FilterExplorerView>(bridge, ex.modelId);
    document.body.appendChild(view.el);
    const panel = view.panel;
    const controls = view.el.querySelector('.cnnvis-controls') as HTMLElement;
    const label = view.el.querySelector('.cnnvis-field-label') as HTMLElement;
    const measured = () =>
      [controls, label, panel.pageText, panel.layerName, panel.layerSlider].map((e) => {
        const cs = getComputedStyle(e);
        return [cs.width, cs.flexGrow, cs.flexShrink, cs.flexBasis, cs.fontVariantNumeric].join(' ');
      });
    const before = measured();
    const pageBefore = panel.pageText.textContent;
    panel.next.dispatchEvent(new MouseEvent('click'));
    await settle(bridge, ex);
    input(panel.layerSlider, String(ex.get('layers').findIndex((l) => l.name === 'conv_pw_13')));
    await settle(bridge, ex);
    expect(panel.pageText.textContent).not.toBe(pageBefore);
    expect(panel.layerName.textContent?.length).not.toBe(('conv_pw_1').length);
    expect(measured()).toEqual(before);
    // Fixed lengths, not sizes of the content: the column, the label, the page text and the layer name.
    expect(before).toEqual(['340px 0 0 auto ', '70px 0 0 auto ', '24ch 0 0 auto tabular-nums', '20ch 0 0 auto tabular-nums', ' 1 1 0px ']);
    // The long layer name is cut but kept whole in its tooltip.
    expect(panel.layerName.title).toBe(panel.layerName.textContent);
    ex.close();

    // CAM: the menus fill the fixed column (their width never follows their options).
    const cam = await CamExplorer.open(mobilenet, path.join(IMAGES, 'cat_dog.png'), { display: false });
    const cv = await viewOf<CamExplorerView>(bridge, cam.modelId);
    document.body.appendChild(cv.el);
    for (const s of [cv.panel.layerSelect, cv.panel.methodSelect, cv.panel.colormapSelect]) {
      expect([getComputedStyle(s).flexGrow, getComputedStyle(s).flexBasis, getComputedStyle(s).minWidth]).toEqual(['1', '0px', '0']);
    }
    expect(getComputedStyle(cv.el.querySelector('.cnnvis-controls') as HTMLElement).width).toBe('340px');
    cam.close();
  } finally {
    style.remove();
  }
});
