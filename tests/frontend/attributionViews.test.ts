/**
 * @jest-environment jsdom
 */
/**
 * Saliency and occlusion explorer views in jsdom with real widget models fed by the real kernel-side
 * explorers on the demo model; pixels read back from the canvas shim and compared with the state.
 */
import './domPolyfills';
import { DEMO_CLASSES } from '../../kernel/src/models/demo';
import { CnnModel } from '../../kernel/src/models/model';
import { OcclusionExplorer, SaliencyExplorer } from '../../kernel/src/explore';
import { colorAt } from '../../kernel/src/render/colormaps';
import { thresholdMask } from '../../kernel/src/explain/masks';
import { OcclusionResultData, RESULT_MIME, SaliencyResultData } from '../../kernel/src/schema/explorers';
import { OcclusionExplorerView, renderResult, SaliencyExplorerView } from '../../widgets/src';
import { Bridge, frontEndSuite, input, settle, viewOf } from './bridge';
import { drawn, pixelAt } from './canvasShim';
import * as path from 'path';
import { loadModel } from '../../kernel/src/models/load';
import { CamExplorer } from '../../kernel/src/explore';
import { CamExplorerView } from '../../widgets/src';
import { SHARED } from '../helpers/shared';

let model: CnnModel;
let bridge: Bridge;

frontEndSuite({
  model: (m) => (model = m),
  bridge: (b) => (bridge = b),
});

function blend(pic: Uint8Array, heat: number, cmap: string, alpha: number, o: number): number[] {
  const c = colorAt(cmap, heat / 255);
  return [0, 1, 2].map((k) => Math.round((1 - alpha) * pic[o + k] + alpha * c[k]));
}

test('SaliencyExplorerView: the map over the picture, signed colour bar, method and class from the controls, opacity local', async () => {
  const ex = await SaliencyExplorer.open(model, 'scene:7', { display: false, displayMode: 'overlay' });
  const view = await viewOf<SaliencyExplorerView>(bridge, ex.modelId);
  const panel = view.panel;
  const pic = ex.get('image');
  // 64 px drawn 5× (320 px target).
  expect([panel.canvas.width, panel.canvas.height]).toEqual([320, 320]);
  const check = (x: number, y: number, alpha: number, cmap: string) => {
    const want = blend(pic, ex.get('heatmap')[y * 64 + x], cmap, alpha, (y * 64 + x) * 4);
    for (const [dx, dy] of [[0, 0], [4, 4]]) expect(pixelAt(panel.canvas, x * 5 + dx, y * 5 + dy).slice(0, 3)).toEqual(want);
  };
  for (const [x, y] of [[0, 0], [30, 33], [63, 63]]) check(x, y, 0.6, 'coolwarm');
  expect(panel.layerSelect.closest('.cnnvis-field')?.hasAttribute('hidden')).toBe(true);
  expect(panel.node.querySelector('.cnnvis-colorbar-ticks')?.textContent).toMatch(/^[\d.e-]+0$/); // unsigned: max over 0

  // Method: gradient × input is signed; the kernel computes it, the colour bar reads ±max.
  input(panel.methodSelect, 'gradxinput', 'change');
  await settle(bridge, ex);
  expect(ex.get('shown')?.method).toBe('gradxinput');
  expect(ex.get('signed')).toBe(true);
  expect(panel.caption.textContent).toContain('Gradient × Input');
  expect(panel.node.querySelector('.cnnvis-colorbar-ticks')?.textContent).toMatch(/^\+[\d.e-]+\u2212[\d.e-]+$/);
  for (const [x, y] of [[5, 5], [40, 20]]) check(x, y, 0.6, 'coolwarm');

  // Class: typed in the search box.
  panel.search.value = DEMO_CLASSES[3];
  panel.search.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
  await settle(bridge, ex);
  expect(ex.get('shown')?.class_index).toBe(3);
  expect(panel.caption.textContent).toContain(`class 3 · ${DEMO_CLASSES[3]}`);

  // Opacity and colormap are redrawn here without kernel work.
  const n = ex.computed;
  input(panel.opacitySlider, '1');
  input(panel.colormapSelect, 'magma', 'change');
  await settle(bridge, ex);
  expect(ex.computed).toBe(n);
  for (const [x, y] of [[10, 50], [32, 32]]) check(x, y, 1, 'magma');
  ex.close();
});

test('OcclusionExplorerView: map, mask and masked picture; the threshold is local, the stride asks the kernel', async () => {
  const ex = await OcclusionExplorer.open(model, 'scene:7', { display: false, patchSize: 16, stride: 8 });
  const view = await viewOf<OcclusionExplorerView>(bridge, ex.modelId);
  const panel = view.panel;
  const pic = ex.get('image');
  const map = ex.get('map');
  const max = Math.max(...map);
  expect(max).toBeGreaterThan(0);
  // 64 px drawn 5× (at least 320 px wide); the mask and the masked picture at the same scale.
  expect([panel.canvas.width, panel.maskCanvas.width, panel.maskedCanvas.width]).toEqual([320, 320, 320]);
  for (const [x, y] of [[0, 0], [20, 40], [63, 10]]) {
    const heat = Math.round(Math.min(1, Math.max(0, map[y * 64 + x] / max)) * 255);
    expect(pixelAt(panel.canvas, x * 5 + 1, y * 5 + 2).slice(0, 3)).toEqual(blend(pic, heat, 'jet', 0.5, (y * 64 + x) * 4));
  }
  const checkMask = (threshold: number) => {
    const mask = thresholdMask({ width: 64, height: 64, data: map }, threshold, { relative: true });
    let on = 0;
    for (let y = 0; y < 64; y += 3) {
      for (let x = 0; x < 64; x += 3) {
        const m = mask.data[y * 64 + x];
        on += m;
        expect(pixelAt(panel.maskCanvas, x * 5, y * 5)).toEqual(m ? [255, 255, 255, 255] : [0, 0, 0, 255]);
        const o = (y * 64 + x) * 4;
        expect(pixelAt(panel.maskedCanvas, x * 5 + 4, y * 5 + 4)).toEqual(m ? [pic[o], pic[o + 1], pic[o + 2], 255] : [0, 0, 0, 255]);
      }
    }
    return on;
  };
  const onHalf = checkMask(0.5);
  expect(panel.info.textContent).toMatch(/^threshold 0.50 × largest drop .*: keeps [\d.]+% of the pixels$/);

  // Threshold: redrawn at once, no forward pass, no new map from the kernel.
  const f = ex.forwards;
  input(panel.thresholdSlider, '0.2');
  expect(checkMask(0.2)).toBeGreaterThan(onHalf);
  await settle(bridge, ex);
  expect(ex.forwards).toBe(f);
  expect(ex.get('threshold')).toBe(0.2);

  // Stride: the kernel runs the occlusion again; the caption follows.
  input(panel.strideSlider, '16');
  await settle(bridge, ex);
  expect(ex.get('shown')).toMatchObject({ stride: 16, patches: 16 });
  expect(ex.forwards).toBe(f + 16);
  expect(panel.caption.textContent).toContain('patch 16 stride 16 (16 patches)');
  expect(panel.strideSlider.getAttribute('aria-valuetext')).toBe('16 px');
  // Class: the top-list button, from the kept run (no forward pass).
  const second = panel.classes.topList.querySelectorAll('button')[1] as HTMLButtonElement;
  second.click();
  await settle(bridge, ex);
  expect(ex.get('shown')?.class_index).toBe(ex.get('top')[1].index);
  expect(ex.forwards).toBe(f + 16);
  ex.close();
});

test('hostile labels and model names are shown as text in the saliency and occlusion views', async () => {
  const evil = ['<img src=x onerror="window.__pwned=1">', '<script>window.__pwned=2</script>', ...DEMO_CLASSES.slice(2)];
  const m2 = new CnnModel(model.net, { name: '<b>m</b>', preprocess: 'unit', labels: { names: evil, source: 'test' } });
  const s = await SaliencyExplorer.open(m2, 'scene:7', { display: false, classIndex: 0 });
  const o = await OcclusionExplorer.open(m2, 'scene:7', { display: false, classIndex: 1, patchSize: 32, stride: 32 });
  for (const id of [s.modelId, o.modelId]) {
    const view = await viewOf<SaliencyExplorerView>(bridge, id);
    expect(view.el.querySelector('img, script, b')).toBeNull();
    expect(view.el.textContent).toContain('<b>m</b>');
  }
  expect(document.body.textContent).toContain('<img src=x');
  expect(document.body.textContent).toContain('<script>window.__pwned=2</script>');
  for (const snap of [s.mimeBundle()[RESULT_MIME], o.mimeBundle()[RESULT_MIME]]) {
    const node = renderResult(snap as SaliencyResultData);
    expect(node.querySelector('img, script, b')).toBeNull();
  }
  expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  s.close();
  o.close();
});

test('static saliency and occlusion results switch methods, classes and thresholds with no kernel', async () => {
  const s = await SaliencyExplorer.open(model, 'scene:7', { display: false, method: 'integrated-gradients', methodOptions: { steps: 8 } });
  const snap = s.mimeBundle()[RESULT_MIME] as SaliencyResultData;
  s.close();
  const node = renderResult(snap);
  document.body.appendChild(node);
  const canvas = node.querySelector('canvas.cnnvis-overlay') as HTMLCanvasElement;
  const method = node.querySelectorAll('select')[1] as HTMLSelectElement;
  const caption = node.querySelector('.cnnvis-caption') as HTMLElement;
  expect(method.value).toBe('integrated-gradients');
  // IG was saved for its shown class only; the cheap methods for every saved class.
  const slider = node.querySelector('input.cnnvis-slider') as HTMLInputElement;
  expect(slider.max).toBe('0');
  expect(caption.textContent).toContain('Integrated Gradients');
  const first = Uint8ClampedArray.from(drawn(canvas));
  input(method, 'guided-backprop', 'change');
  expect(caption.textContent).toContain('Guided Backpropagation');
  expect(Number(slider.max)).toBe(snap.maps.filter((m) => m.method === 'guided-backprop').length - 1);
  expect(drawn(canvas)).not.toEqual(first);
  input(slider, '1');
  const g1 = snap.maps.filter((m) => m.method === 'guided-backprop')[1];
  expect(caption.textContent).toContain(`class ${g1.index} · ${g1.label}`);
  const p1 = g1.probability.toFixed(2);
  expect(node.querySelector('.cnnvis-title')?.textContent).toBe(`Guided Backpropagation of '${g1.label}' (p = ${p1}) · demo · scene:7 (saved)`);

  const o = await OcclusionExplorer.open(model, 'scene:7', { display: false, patchSize: 16, stride: 16 });
  const osnap = o.mimeBundle()[RESULT_MIME] as OcclusionResultData;
  o.close();
  const onode = renderResult(osnap);
  document.body.appendChild(onode);
  const mask = onode.querySelector('canvas.cnnvis-mask') as HTMLCanvasElement;
  const sliders = onode.querySelectorAll('input.cnnvis-slider') as NodeListOf<HTMLInputElement>;
  // class, patch, stride, threshold, opacity: patch and stride cannot change without a kernel.
  expect([sliders[1].disabled, sliders[2].disabled, sliders[3].disabled]).toEqual([true, true, false]);
  const before = Uint8ClampedArray.from(drawn(mask));
  input(sliders[3], '0.1');
  expect(drawn(mask)).not.toEqual(before);
  const cap = onode.querySelector('.cnnvis-caption') as HTMLElement;
  input(sliders[0], '2');
  expect(cap.textContent).toContain(`class ${osnap.maps[2].index} · ${osnap.maps[2].label}`);
  const m2 = osnap.maps[2];
  expect(onode.querySelector('.cnnvis-title')?.textContent).toBe(`Occlusion of '${m2.label}' (p = ${m2.probability.toFixed(2)}), 16 px patches every 16 px · demo · scene:7 (saved)`);
});

test("a user's 28×28 MNIST model: CAM and occlusion pictures enlarged ×12 (336 px, nearest neighbour), map, overlay, mask and PNG at one scale, live and saved", async () => {
  const dir = path.join(SHARED, 'data', 'wild', 'mnist_flask_h5');
  const mnist = await loadModel(path.join(dir, 'mnist_cnn.h5'));
  const digit = path.join(dir, 'gen_digit7_28.png');
  const cam = await CamExplorer.open(mnist, digit, { display: false });
  const view = await viewOf<CamExplorerView>(bridge, cam.modelId);
  const canvas = view.panel.canvas;
  expect([canvas.width, canvas.height, view.panel.colorbarCanvas.height]).toEqual([336, 336, 336]);
  const pic = cam.get('image');
  const heat = cam.get('heatmap');
  expect([cam.get('heatmap_width'), heat.length]).toEqual([28, 28 * 28]);
  // Every model pixel a 12 × 12 block of its blend: corners of the block equal, next block its own.
  for (const [x, y] of [[0, 0], [13, 9], [27, 27]]) {
    const want = blend(pic, heat[y * 28 + x], 'jet', 0.5, (y * 28 + x) * 4);
    for (const [dx, dy] of [[0, 0], [11, 11], [5, 7]]) expect(pixelAt(canvas, x * 12 + dx, y * 12 + dy).slice(0, 3)).toEqual(want);
  }
  // The PNG is the same picture at the same scale.
  const png = cam.picture();
  expect([png.width, png.height]).toEqual([336, 336]);
  for (const [x, y] of [[13, 9], [20, 4]]) expect(Array.from(png.data.subarray(((y * 12 + 6) * 336 + x * 12 + 6) * 4, ((y * 12 + 6) * 336 + x * 12 + 6) * 4 + 3))).toEqual(pixelAt(canvas, x * 12 + 6, y * 12 + 6).slice(0, 3));
  // The saved view draws it at the same scale.
  const saved = renderResult(cam.mimeBundle()[RESULT_MIME] as never);
  const savedCanvas = saved.querySelector('canvas.cnnvis-overlay') as HTMLCanvasElement;
  expect(savedCanvas.width).toBe(336);
  expect(pixelAt(savedCanvas, 13 * 12 + 3, 9 * 12 + 3)).toEqual(pixelAt(canvas, 13 * 12 + 3, 9 * 12 + 3));
  cam.close();

  const occ = await OcclusionExplorer.open(mnist, digit, { display: false, patchSize: 7, stride: 7 });
  const ov = await viewOf<OcclusionExplorerView>(bridge, occ.modelId);
  expect([ov.panel.canvas.width, ov.panel.maskCanvas.width, ov.panel.maskedCanvas.width]).toEqual([336, 336, 336]);
  const map = occ.get('map');
  const mask = thresholdMask({ width: 28, height: 28, data: map }, occ.get('threshold'), { relative: true });
  for (const [x, y] of [[0, 0], [14, 14], [27, 3]]) {
    expect(pixelAt(ov.panel.maskCanvas, x * 12 + 11, y * 12 + 11)).toEqual(mask.data[y * 28 + x] ? [255, 255, 255, 255] : [0, 0, 0, 255]);
  }
  expect(occ.picture().width).toBe(2 * 336 + 4);
  occ.close();
});
