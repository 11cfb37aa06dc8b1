/**
 * @jest-environment jsdom
 */
/**
 * Snapshots that keep what was explored, in the browser: a live view passes each snapshot the
 * kernel sends up the DOM, the notebook's result renderer (labextension) writes it into the output
 * without re-rendering the live view, and the saved result (renderResult, no kernel) offers exactly
 * what was explored — the class found with the search box, every layer and method, filter pages
 * with their patterns, each filter's norm and objective value under its tile, a steps menu never blank.
 */
import './domPolyfills';
import * as path from 'path';
import { Widget } from '@lumino/widgets';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { DEMO_CLASSES } from '../../kernel/src/models/demo';
import { CnnModel } from '../../kernel/src/models/model';
import { loadModel } from '../../kernel/src/models/load';
import { CamExplorer, FilterExplorer } from '../../kernel/src/explore';
import { colorAt } from '../../kernel/src/render/colormaps';
import { CamResultData, FilterResultData, RESULT_MIME, SNAPSHOT_EVENT } from '../../kernel/src/schema/explorers';
import { base64ToBytes } from '../../widgets/src/base64';
import { CamExplorerView, FilterExplorerView, renderResult } from '../../widgets/src';
import { labelColumns, shortValue } from '../../widgets/src/filterPanel';
import { NotebookResultRenderer } from '../../labextension/src/renderer';
import { Bridge, frontEndSuite, input, settle, viewOf } from './bridge';
import { pixelAt } from './canvasShim';
import { IMAGES } from '../helpers/shared';

const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';
let model: CnnModel;
let bridge: Bridge;

frontEndSuite({
  model: (m) => (model = m),
  bridge: (b) => (bridge = b),
});

/** Resolves with the next SNAPSHOT_EVENT's bundle that reaches `node`. */
function nextSnapshot(node: HTMLElement): Promise<Record<string, unknown>> {
  return new Promise((resolve) => node.addEventListener(SNAPSHOT_EVENT, (e) => resolve((e as CustomEvent).detail), { once: true }));
}

test('live CAM view → the notebook output: each snapshot is written into the output, the live view stays; the saved result opens on what was shown', async () => {
  const ex = await CamExplorer.open(model, 'scene:7', { display: false, topK: 2 });
  const bundle = ex.mimeBundle();
  // A notebook output as JupyterLab's OutputArea holds it: setData, then renderModel again on the same renderer.
  let renderer: NotebookResultRenderer;
  let liveRenders = 0;
  const output = {
    data: { [WIDGET_VIEW_MIME]: bundle[WIDGET_VIEW_MIME], [RESULT_MIME]: bundle[RESULT_MIME], 'text/plain': bundle['text/plain'] } as Record<string, unknown>,
    metadata: {},
    trusted: true,
    setData(o: { data?: Record<string, unknown> }) {
      if (o.data) this.data = o.data;
      void renderer.renderModel(this as unknown as IRenderMime.IMimeModel);
    },
  };
  let view: CamExplorerView | null = null;
  class LiveStub extends Widget {
    async renderModel(): Promise<void> {
      liveRenders++;
      view = await viewOf<CamExplorerView>(bridge, ex.modelId);
      this.node.appendChild(view.el);
    }
  }
  const panel = {
    content: { rendermime: { mimeTypes: [WIDGET_VIEW_MIME, RESULT_MIME], createRenderer: () => new LiveStub() } },
    sessionContext: {
      session: { kernel: { connectionStatus: 'connected', status: 'idle', requestCommInfo: async () => ({ content: { status: 'ok', comms: { [ex.modelId]: {} } } }) } },
    },
  } as unknown as NotebookPanel;
  renderer = new NotebookResultRenderer(panel);
  document.body.appendChild(renderer.node);
  await renderer.renderModel(output as unknown as IRenderMime.IMimeModel);
  expect(liveRenders).toBe(1);
  const live = view as unknown as CamExplorerView;

  // A class outside the top 2, found with the search box.
  const other = DEMO_CLASSES.findIndex((_, i) => !ex.get('top').some((t) => t.index === i));
  const arrived = nextSnapshot(renderer.node);
  live.panel.search.value = DEMO_CLASSES[other];
  live.panel.search.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
  await settle(bridge, ex);
  const sent = await arrived;
  await bridge.flush();
  const snap = output.data[RESULT_MIME] as CamResultData;
  // Written into the output: the new snapshot, PNG and text; the widget view kept; the live view not rebuilt.
  expect(snap).toEqual(sent[RESULT_MIME]);
  expect(output.data[WIDGET_VIEW_MIME]).toEqual({ ...(bundle[WIDGET_VIEW_MIME] as object) });
  expect(String(output.data['text/plain'])).toContain(`class ${other} '${DEMO_CLASSES[other]}'`);
  expect(Buffer.from(output.data['image/png'] as string, 'base64').subarray(1, 4).toString()).toBe('PNG');
  expect(liveRenders).toBe(1);
  expect(snap.maps.map((m) => m.index)).toEqual([...ex.get('top').map((t) => t.index), other]);
  expect(snap.shown).toBe(2);

  // Opacity alone (no kernel work) is saved too.
  const arrived2 = nextSnapshot(renderer.node);
  input(live.panel.opacitySlider, '0.8');
  await settle(bridge, ex);
  expect(((await arrived2)[RESULT_MIME] as CamResultData).opacity).toBe(0.8);
  ex.close();

  // The saved result, no kernel: it opens on the searched class, and its pixels are the saved bytes.
  const saved = output.data[RESULT_MIME] as CamResultData;
  const node = renderResult(saved);
  document.body.appendChild(node);
  const caption = node.querySelector('.cnnvis-caption') as HTMLElement;
  expect(caption.textContent).toContain(`class ${other} · ${DEMO_CLASSES[other]}`);
  const slider = node.querySelector('input.cnnvis-slider') as HTMLInputElement;
  expect([slider.max, slider.value]).toEqual(['2', '2']);
  const canvas = node.querySelector('canvas.cnnvis-overlay') as HTMLCanvasElement;
  const heat = base64ToBytes(saved.maps[2].heatmap);
  const pic = base64ToBytes(saved.image.rgba);
  for (const [x, y] of [[3, 3], [40, 21]]) {
    const o = (y * 64 + x) * 4;
    const c = colorAt('jet', heat[y * 64 + x] / 255);
    expect(pixelAt(canvas, x * 5 + 2, y * 5 + 2).slice(0, 3)).toEqual([0, 1, 2].map((k) => Math.round(0.2 * pic[o + k] + 0.8 * c[k])));
  }
  expect(node.querySelector('.cnnvis-saved')?.textContent).toMatch(/^Saved 3 maps \(0\.\d+ MB of the 4\.0 MB snapshot budget\)\.$/);
  // The search box finds the searched class among the saved ones (after moving away from it).
  input(slider, '0');
  expect(caption.textContent).not.toContain(DEMO_CLASSES[other]);
  const search = node.querySelector('input.cnnvis-search') as HTMLInputElement;
  search.value = DEMO_CLASSES[other].replace(/_/g, ' ');
  search.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
  expect(caption.textContent).toContain(`class ${other} · ${DEMO_CLASSES[other]}`);
});

test('saved CAM: the layer and method menus offer every saved layer and method; each shows its saved map', async () => {
  const ex = await CamExplorer.open(model, 'scene:7', { display: false, topK: 1 });
  const layers = ex.get('layers');
  const first = ex.get('layer');
  const second = layers.find((l) => l !== first) as string;
  await bridge.kernel.receive('comm_msg', { comm_id: ex.modelId, data: { method: 'update', state: { layer: second } } }, {}, [], 'f');
  await ex.settled();
  await bridge.kernel.receive('comm_msg', { comm_id: ex.modelId, data: { method: 'update', state: { method: 'eigencam' } } }, {}, [], 'f');
  await ex.settled();
  const snap = ex.mimeBundle()[RESULT_MIME] as CamResultData;
  ex.close();
  const node = renderResult(snap);
  document.body.appendChild(node);
  const [layerSelect, methodSelect] = ['layer', 'method'].map((n) => node.querySelector(`select[aria-label="${n}"]`) as HTMLSelectElement);
  // Opens on the last shown: Eigen-CAM at the second layer (Eigen-CAM saved there only).
  expect(methodSelect.value).toBe('eigencam');
  expect(Array.from(layerSelect.options).map((o) => o.value)).toEqual([second]);
  expect(Array.from(methodSelect.options).map((o) => [o.value, o.textContent])).toEqual([['gradcam', 'Grad-CAM'], ['eigencam', 'Eigen-CAM']]);
  input(methodSelect, 'gradcam', 'change');
  expect(Array.from(layerSelect.options).map((o) => o.value)).toEqual([first, second]);
  expect(layerSelect.value).toBe(second);
  expect(layerSelect.disabled).toBe(false);
  const canvas = node.querySelector('canvas.cnnvis-overlay') as HTMLCanvasElement;
  const before = pixelAt(canvas, 100, 100);
  input(layerSelect, first, 'change');
  expect(node.querySelector('.cnnvis-caption')?.textContent).toContain(first);
  const i = snap.maps.findIndex((m) => m.method === 'gradcam' && m.layer === first);
  const heat = base64ToBytes(snap.maps[i].heatmap);
  const pic = base64ToBytes(snap.image.rgba);
  const o = (20 * 64 + 20) * 4;
  const c = colorAt('jet', heat[20 * 64 + 20] / 255);
  expect(pixelAt(canvas, 100 + 2, 100 + 2).slice(0, 3)).toEqual([0, 1, 2].map((k) => Math.round(0.5 * pic[o + k] + 0.5 * c[k])));
  expect(pixelAt(canvas, 100, 100)).not.toEqual(before);
});

test('MobileNet filters: live labels under each tile (norm, objective); the saved view has every layer, the explored pages, steps never blank', async () => {
  const mobilenet = await loadModel('mobilenet_v1_0.25_224');
  const ex = await FilterExplorer.open(mobilenet, { display: false, layer: 'conv_dw_1', pageSize: 4, patternSize: 32, steps: 3 });
  const view = await viewOf<FilterExplorerView>(bridge, ex.modelId);
  const panel = view.panel;
  panel.next.dispatchEvent(new MouseEvent('click'));
  await settle(bridge, ex);
  expect(ex.get('page_filters')).toEqual([4, 5, 6, 7]);
  panel.patternsButton.dispatchEvent(new MouseEvent('click'));
  await settle(bridge, ex);
  const norms = ex.get('filter_norms');
  const values = ex.get('pattern_values');
  expect(values).toHaveLength(4);
  const texts = (list: HTMLElement) => Array.from(list.querySelectorAll('li')).map((li) => li.textContent);
  expect(texts(panel.weightValues)).toEqual([4, 5, 6, 7].map((f, i) => `${f}: ‖w‖ ${shortValue(norms[i])}`));
  // Filter 7's mean stays at 0 from every start (a ReLU6 unit grey-ish inputs do not reach): 'flat'.
  expect(ex.get('pattern_flat')).toEqual([false, false, false, true]);
  expect(texts(panel.patternValues)).toEqual([4, 5, 6, 7].map((f, i) => `${f}: ${shortValue(values[i])}${f === 7 ? ' flat' : ''}`));
  // The labels sit in columns at least wide enough to read whole (104 px): the grid's 2 columns of
  // tiles when a tile is that wide, else as many readable columns as the grid holds; the tooltip is the text.
  for (const list of [panel.patternValues, panel.weightValues]) {
    const m = /^repeat\((\d+), (\d+)px\)$/.exec(list.style.gridTemplateColumns);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThanOrEqual(104);
    expect(Number(m![1])).toBe(Number(m![2]) > 104 ? 2 : 1);
    expect(Array.from(list.querySelectorAll('li')).map((li) => li.title)).toEqual(texts(list));
  }
  // Hover names the pattern's objective too.
  const f = panel.grid.width / 9; // 2 × 2 tiles of 3 px, 1 px padding
  panel.grid.dispatchEvent(new MouseEvent('mousemove', { clientX: 2 * f, clientY: 2 * f }));
  expect(panel.info.textContent).toContain(`pattern objective ${shortValue(values[0])}`);
  const snap = ex.mimeBundle()[RESULT_MIME] as FilterResultData;
  ex.close();

  const node = renderResult(snap);
  document.body.appendChild(node);
  const layerSlider = node.querySelector('input.cnnvis-slider') as HTMLInputElement;
  const layerName = node.querySelector('.cnnvis-layer-name') as HTMLElement;
  const steps = node.querySelector('select[aria-label="optimization steps"]') as HTMLSelectElement;
  const pageText = node.querySelector('.cnnvis-page') as HTMLElement;
  // Opens on the explored page, with its patterns and the steps they ran.
  expect(layerName.textContent).toMatch(/^conv_dw_1 \[3×3×8×1\]/);
  expect(node.querySelector('.cnnvis-title')?.textContent).toBe('Patterns of filters 4–7 of 8 from activation maximization of conv_dw_1 (3×3 depthwise, 8 channels) · mobilenet_v1_0.25_224 (saved)');
  expect(pageText.textContent).toBe('filters 4–7 of 8');
  expect([steps.hidden, steps.value, steps.selectedOptions[0]?.textContent]).toEqual([false, '3', '3 steps']);
  expect(Array.from(node.querySelectorAll('.cnnvis-patterns + .cnnvis-filter-values li')).map((li) => li.textContent)).toEqual([4, 5, 6, 7].map((f, i) => `${f}: ${shortValue(values[i])}${f === 7 ? ' flat' : ''}`));
  // Every conv layer is there (28 in MobileNet v1, conv_preds included), each at least its first page.
  expect(Number(layerSlider.max) + 1).toBe(snap.layers.filter((l, i, all) => all.findIndex((x) => x.name === l.name) === i).length);
  expect(Number(layerSlider.max) + 1).toBe(28);
  const prev = node.querySelector('button[aria-label="previous filters"]') as HTMLButtonElement;
  expect(prev.disabled).toBe(false);
  prev.dispatchEvent(new MouseEvent('click'));
  expect(pageText.textContent).toBe('filters 0–3 of 8');
  expect(node.querySelector('.cnnvis-title')?.textContent).toBe('Filters 0–3 of 8 of conv_dw_1 (3×3 depthwise, 8 channels) · mobilenet_v1_0.25_224 (saved)');
  // That page has weights only: no patterns, the steps menu hidden (not blank).
  expect((node.querySelector('canvas.cnnvis-patterns')?.closest('figure') as HTMLElement).hidden).toBe(true);
  expect(steps.hidden).toBe(true);
  input(layerSlider, '0');
  expect(layerName.textContent).toMatch(/^conv1 \[3×3×3×8\] · rgb/);
  expect(texts(node.querySelector('.cnnvis-weights + .cnnvis-filter-values') as HTMLElement)).toHaveLength(4);
  expect(node.querySelector('.cnnvis-saved')?.textContent).toMatch(/^Saved 29 pages \(/);
});

test('MobileNet CAM on cat_dog: the live view shows the snapshot size against its budget and follows ex.snapshotBudget; titles read as sentences, live and saved', async () => {
  const mobilenet = await loadModel('mobilenet_v1_0.25_224');
  const ex = await CamExplorer.open(mobilenet, path.join(IMAGES, 'cat_dog.png'), { display: false, topK: 2 });
  const view = await viewOf<CamExplorerView>(bridge, ex.modelId);
  const line = view.el.querySelector('.cnnvis-snapshot-live') as HTMLElement;
  const title = view.el.querySelector('.cnnvis-title') as HTMLElement;
  await bridge.kernel.receive('comm_msg', { comm_id: ex.modelId, data: { method: 'update', state: { class_index: 282 } } }, {}, [], 'f');
  await settle(bridge, ex);
  const shown = ex.get('shown') as { probability: number; layer: string };
  expect(title.textContent).toBe(`Grad-CAM of 'tiger_cat' (p = ${shown.probability.toFixed(2)}) at ${shown.layer} · mobilenet_v1_0.25_224 · cat_dog.png`);
  // The live line: the saved maps' JSON bytes (summed here from the snapshot) against the 4 MB default budget.
  const snap = ex.mimeBundle()[RESULT_MIME] as CamResultData;
  const bytes = snap.maps.reduce((a, m) => a + JSON.stringify(m).length, 0);
  expect(snap.maps).toHaveLength(3);
  expect(line.textContent).toBe(`Snapshot: 3 maps, ${(bytes / 1e6).toFixed(bytes < 1e5 ? 2 : 1)} of 4.0 MB (ex.snapshotBudget).`);
  // A budget of one map from the kernel: the line follows, naming how many were dropped and the last.
  ex.snapshotBudget = JSON.stringify(snap.maps[2]).length;
  await settle(bridge, ex);
  expect(line.textContent).toMatch(/^Snapshot: 1 map, 0\.\d\d of 0\.\d\d MB \(ex\.snapshotBudget\); dropped the 2 oldest, last Grad-CAM at conv_pw_13_relu for class \d+ '.+'\.$/);
  // The saved view titles the map it shows.
  const saved = renderResult(ex.mimeBundle()[RESULT_MIME] as CamResultData);
  expect((saved.querySelector('.cnnvis-title') as HTMLElement).textContent).toBe(`Grad-CAM of 'tiger_cat' (p = ${shown.probability.toFixed(2)}) at ${shown.layer} · mobilenet_v1_0.25_224 · cat_dog.png (saved)`);
  ex.close();
});

test('filter labels: columns as wide as the tiles when a label fits, else readable columns that fit the grid', () => {
  expect(labelColumns(4, 170)).toEqual({ n: 4, px: 170 });
  expect(labelColumns(8, 40)).toEqual({ n: 3, px: 104 }); // 320 px of tiles hold three 104 px labels
  expect(labelColumns(2, 30)).toEqual({ n: 1, px: 104 }); // never fewer than one column
  expect(labelColumns(0, 0)).toEqual({ n: 1, px: 104 });
});
