/**
 * @jest-environment jsdom
 */
/**
 * Explorer views in jsdom with real widget models (a real ManagerBase) fed by the real kernel-side
 * explorers on the demo model. Pixels are read back from the canvas shim and compared with what the
 * state says they must be.
 */
import './domPolyfills';
import type { DOMWidgetView } from '@jupyter-widgets/base';
import { DEMO_CLASSES } from '../../kernel/src/models/demo';
import { CnnModel } from '../../kernel/src/models/model';
import { CamExplorer, FeatureMapExplorer } from '../../kernel/src/explore';
import { colorAt } from '../../kernel/src/render/colormaps';
import { RESULT_MIME, CamResultData, FeatureMapResultData } from '../../kernel/src/schema/explorers';
import { CamExplorerView, FeatureMapExplorerView, renderResult } from '../../widgets/src';
import { Bridge, frontEndSuite, input, viewOf as viewIn } from './bridge';
import { drawn, pixelAt } from './canvasShim';

let model: CnnModel;
let bridge: Bridge;
const charts: Array<Record<string, unknown>> = [];

frontEndSuite({
  model: (m) => (model = m),
  bridge: (b) => (bridge = b),
  chart: async (host, spec) => {
    charts.push(spec);
    host.textContent = 'chart';
  },
});

function viewOf<V extends DOMWidgetView>(id: string): Promise<V> {
  return viewIn<V>(bridge, id);
}

/** Expected overlay colour of a picture pixel (the view's blend rule on the state's bytes). */
function blend(pic: Uint8Array, heat: number, cmap: string, alpha: number, o: number): number[] {
  const c = colorAt(cmap, heat / 255);
  return [0, 1, 2].map((k) => Math.round((1 - alpha) * pic[o + k] + alpha * c[k]));
}

test('CamExplorerView draws the overlay from the state, the class slider moves the kernel, opacity is local', async () => {
  const ex = await CamExplorer.open(model, 'scene:7', { display: false });
  const view = await viewOf<CamExplorerView>(ex.modelId);
  const panel = view.panel;
  const canvas = panel.canvas;
  // 64 px image, drawn 5× (320 px target), nearest neighbour: each picture pixel is a 5×5 block.
  expect([canvas.width, canvas.height]).toEqual([320, 320]);
  const pic = ex.get('image');
  const heat = ex.get('heatmap');
  const check = (x: number, y: number, alpha: number, cmap: string, h = ex.get('heatmap')) => {
    const o = (y * 64 + x) * 4;
    const want = blend(pic, h[y * 64 + x], cmap, alpha, o);
    for (const [dx, dy] of [[0, 0], [4, 4]]) expect(pixelAt(canvas, x * 5 + dx, y * 5 + dy).slice(0, 3)).toEqual(want);
  };
  for (const [x, y] of [[0, 0], [31, 20], [63, 63]]) check(x, y, 0.5, 'jet');
  expect(panel.caption.textContent).toContain(DEMO_CLASSES[ex.get('class_index')]);
  expect(charts.length).toBeGreaterThan(0);
  expect((charts[charts.length - 1].data as { values: unknown[] }).values).toHaveLength(5);
  // Colour bar: top = colormap at 1, bottom = at 0.
  const bar = panel.colorbarCanvas;
  expect(pixelAt(bar, 5, 0).slice(0, 3)).toEqual(colorAt('jet', 1 - 0.5 / bar.height));
  expect(pixelAt(bar, 5, bar.height - 1).slice(0, 3)).toEqual(colorAt('jet', 0.5 / bar.height));

  // The class slider: the kernel computes the new class, the picture and the caption follow.
  const other = DEMO_CLASSES.findIndex((_, i) => !ex.get('top').some((t) => t.index === i));
  input(panel.classSlider, String(other));
  await bridge.flush();
  await ex.settled();
  await bridge.flush();
  expect(ex.get('shown')?.class_index).toBe(other);
  expect(panel.caption.textContent).toContain(`class ${other} · ${DEMO_CLASSES[other]}`);
  const heat2 = ex.get('heatmap');
  expect(Buffer.from(heat2).equals(Buffer.from(heat))).toBe(false);
  for (const [x, y] of [[0, 0], [31, 20], [50, 9]]) check(x, y, 0.5, 'jet', heat2);

  // Opacity and colormap: redrawn at once from the same heat map, no kernel work.
  const computed = ex.computed;
  input(panel.opacitySlider, '1');
  input(panel.colormapSelect, 'viridis', 'change');
  await bridge.flush();
  await ex.settled();
  expect(ex.computed).toBe(computed);
  expect(ex.get('opacity')).toBe(1);
  for (const [x, y] of [[3, 3], [40, 40]]) check(x, y, 1, 'viridis', heat2);

  // Search: typing a label and Enter picks that class.
  panel.search.value = DEMO_CLASSES[2];
  panel.search.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
  await bridge.flush();
  await ex.settled();
  await bridge.flush();
  expect(ex.get('class_index')).toBe(2);
  expect(panel.caption.textContent).toContain(DEMO_CLASSES[2]);
  ex.close();
});

test('labels and layer names are text, never HTML', async () => {
  const evil = ['<img src=x onerror="window.__pwned=1">', ...DEMO_CLASSES.slice(1)];
  const m2 = new CnnModel(model.net, { name: '<b>m</b>', preprocess: 'unit', labels: { names: evil, source: 'test' } });
  const ex = await CamExplorer.open(m2, 'scene:7', { display: false, classIndex: 0 });
  const view = await viewOf<CamExplorerView>(ex.modelId);
  expect(view.el.querySelector('img')).toBeNull();
  expect(view.el.querySelector('b')).toBeNull();
  expect(view.el.textContent).toContain('<img src=x');
  ex.close();
});

test('FeatureMapExplorerView: tiles coloured per tile or by the layer range, hover tells channel and mean, layer slider changes the grid', async () => {
  const ex = await FeatureMapExplorer.open(model, 'scene:7', { display: false, pageSize: 4 });
  const view = await viewOf<FeatureMapExplorerView>(ex.modelId);
  const panel = view.panel;
  const w = ex.get('tile_width');
  const h = ex.get('tile_height');
  expect([w, h]).toEqual([64, 64]);
  // 4 tiles in a 2×2 grid with 2 px padding: 134 px, drawn ×4 (480 px target).
  expect([panel.grid.width, panel.grid.height]).toEqual([134 * 4, 134 * 4]);
  const data = ex.get('page_data');
  const tileColour = (tile: number, x: number, y: number, lo: number, hi: number) => colorAt('viridis', hi > lo ? (data[tile * w * h + y * w + x] - lo) / (hi - lo) : 0);
  const range = (tile: number) => {
    const part = Array.from(data.subarray(tile * w * h, (tile + 1) * w * h));
    return [Math.min(...part), Math.max(...part)];
  };
  // Tile 3 is at grid (2 + 66, 2 + 66); its pixel (10, 20) at screen (68 + 10, 68 + 20) × 4.
  const [lo3, hi3] = range(3);
  expect(pixelAt(panel.grid, (68 + 10) * 4, (68 + 20) * 4).slice(0, 3)).toEqual(tileColour(3, 10, 20, lo3, hi3));
  // Padding is black.
  expect(pixelAt(panel.grid, 0, 0)).toEqual([0, 0, 0, 255]);
  // Global normalization: the same pixel, coloured by the layer's range.
  input(panel.normalizationSelect, 'global', 'change');
  await bridge.flush();
  expect(pixelAt(panel.grid, (68 + 10) * 4, (68 + 20) * 4).slice(0, 3)).toEqual(tileColour(3, 10, 20, ex.get('layer_min'), ex.get('layer_max')));

  // Hover over tile 1 (grid x 68..131, y 2..65).
  panel.grid.dispatchEvent(new MouseEvent('mousemove', { clientX: 80 * 4, clientY: 10 * 4 }));
  const means = ex.get('channel_means');
  expect(panel.info.textContent).toBe(`channel 1 · mean activation ${means[1].toFixed(4)}`);
  // Click enlarges tile 1; keyboard: arrow to tile 3 and Enter.
  panel.grid.dispatchEvent(new MouseEvent('click', { clientX: 80 * 4, clientY: 10 * 4 }));
  expect(panel.enlarged.width).toBe(64 * 4);
  panel.grid.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown' }));
  expect(panel.info.textContent).toContain('channel 3');

  // Layer slider: the kernel slices the next layer, the grid changes size and content.
  const before = Uint8ClampedArray.from(drawn(panel.grid));
  const last = ex.get('layers').length - 1;
  input(panel.layerSlider, String(last));
  await bridge.flush();
  await ex.settled();
  await bridge.flush();
  expect(ex.get('shown_layer')).toBe(last);
  const shape = ex.get('layers')[last].shape;
  const g = 2 + 2 * (shape[1] + 2);
  const f = Math.max(1, Math.min(16, Math.round(480 / g)));
  expect(panel.grid.width).toBe(g * f);
  expect(drawn(panel.grid)).not.toEqual(before);
  expect(panel.layerName.textContent).toBe(`${ex.get('layers')[last].name} [${shape.join('×')}]`);
  // Top channel overlay appears when asked.
  panel.topToggle.checked = true;
  panel.topToggle.dispatchEvent(new Event('change'));
  await bridge.flush();
  expect(panel.topCanvas.width).toBeGreaterThan(0);
  ex.close();
});

test('static results switch classes and layers in the browser without a kernel', async () => {
  const ex = await CamExplorer.open(model, 'scene:7', { display: false });
  const cam = ex.mimeBundle()[RESULT_MIME] as CamResultData;
  ex.close();
  const node = renderResult(cam);
  document.body.appendChild(node);
  const canvas = node.querySelector('canvas.cnnvis-overlay') as HTMLCanvasElement;
  const slider = node.querySelector('input.cnnvis-slider') as HTMLInputElement;
  const caption = node.querySelector('.cnnvis-caption') as HTMLElement;
  expect(caption.textContent).toContain(cam.maps[0].label);
  const first = Uint8ClampedArray.from(drawn(canvas));
  input(slider, '1');
  expect(caption.textContent).toContain(`class ${cam.maps[1].index} · ${cam.maps[1].label}`);
  expect(drawn(canvas)).not.toEqual(first);

  const fm = await FeatureMapExplorer.open(model, 'scene:7', { display: false });
  const snap = fm.mimeBundle()[RESULT_MIME] as FeatureMapResultData;
  fm.close();
  const node2 = renderResult(snap);
  document.body.appendChild(node2);
  const grid = node2.querySelector('canvas.cnnvis-grid') as HTMLCanvasElement;
  const w0 = grid.width;
  input(node2.querySelector('input.cnnvis-slider') as HTMLInputElement, String(snap.layers.length - 1));
  expect(grid.width).not.toBe(w0);
  expect(node2.querySelector('.cnnvis-layer-name')?.textContent).toContain(snap.layers[snap.layers.length - 1].name);
  const l = snap.layers[snap.layers.length - 1];
  const last = l.channels[l.channels.length - 1];
  expect(node2.querySelector('.cnnvis-title')?.textContent).toBe(`Feature maps 0–${last} of ${l.shape[2]} of ${l.name} (${l.height}×${l.width}) · demo · scene:7 (saved)`);
  expect(renderResult({ ...cam, version: 2 } as unknown as CamResultData).textContent).toMatch(/version 2 is not supported/);
});
