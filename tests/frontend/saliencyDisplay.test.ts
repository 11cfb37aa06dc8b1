/**
 * @jest-environment jsdom
 */
/**
 * The saliency view's display menu (issue 18 item 2): map only, overlay, side by side; the gradient image
 * of guided backprop drawn after the map; the clip note under the colour bar. Real widget models fed by
 * the real kernel-side explorer on the demo model (64×64, drawn ×5); pixels read back from the canvas shim.
 */
import './domPolyfills';
import { CnnModel } from '../../kernel/src/models/model';
import { SaliencyExplorer } from '../../kernel/src/explore';
import { colorAt } from '../../kernel/src/render/colormaps';
import { RESULT_MIME, SaliencyResultData } from '../../kernel/src/schema/explorers';
import { renderResult, SaliencyExplorerView } from '../../widgets/src';
import { Bridge, frontEndSuite, input, settle, viewOf } from './bridge';
import { pixelAt } from './canvasShim';

let model: CnnModel;
let bridge: Bridge;

frontEndSuite({
  model: (m) => (model = m),
  bridge: (b) => (bridge = b),
});

test('display menu: side by side (photo | map | gradient image), map only, overlay; no kernel work to switch', async () => {
  const ex = await SaliencyExplorer.open(model, 'scene:7', { display: false, method: 'guided-backprop' });
  const view = await viewOf<SaliencyExplorerView>(bridge, ex.modelId);
  const panel = view.panel;
  const pic = ex.get('image');
  const heat = ex.get('heatmap');
  const grad = ex.get('gradient_rgba');
  expect(grad.length).toBe(64 * 64 * 4);
  expect(panel.displaySelect.value).toBe('side-by-side');
  expect(panel.displaySelect.closest('.cnnvis-field')?.hasAttribute('hidden')).toBe(false);
  expect(panel.node.querySelector('.cnnvis-clip')?.textContent).toBe('colours clipped at the 99.5th percentile of |map|');
  // photo | map | gradient image, 320 px each, 6 apart.
  expect([panel.canvas.width, panel.canvas.height]).toEqual([3 * 320 + 12, 320]);
  const at = (x0: number, x: number, y: number) => pixelAt(panel.canvas, x0 + x * 5 + 2, y * 5 + 2).slice(0, 3);
  for (const [x, y] of [[0, 0], [30, 33], [63, 63]]) {
    const o = (y * 64 + x) * 4;
    expect(at(0, x, y)).toEqual([pic[o], pic[o + 1], pic[o + 2]]);
    expect(at(326, x, y)).toEqual(colorAt('coolwarm', heat[y * 64 + x] / 255));
    expect(at(652, x, y)).toEqual([grad[o], grad[o + 1], grad[o + 2]]);
  }
  const n = ex.computed;
  input(panel.displaySelect, 'map', 'change');
  await settle(bridge, ex);
  expect(ex.get('display_mode')).toBe('map');
  expect([panel.canvas.width, panel.canvas.height]).toEqual([2 * 320 + 6, 320]);
  expect(at(0, 30, 33)).toEqual(colorAt('coolwarm', heat[33 * 64 + 30] / 255));
  input(panel.displaySelect, 'overlay', 'change');
  await settle(bridge, ex);
  expect([panel.canvas.width, panel.canvas.height]).toEqual([2 * 320 + 6, 320]);
  const c = colorAt('coolwarm', heat[33 * 64 + 30] / 255);
  const o = (33 * 64 + 30) * 4;
  expect(at(0, 30, 33)).toEqual([0, 1, 2].map((k) => Math.round(0.4 * pic[o + k] + 0.6 * c[k])));
  expect(ex.computed).toBe(n); // switching the display is drawn here
  // Plain saliency has no gradient image.
  input(panel.methodSelect, 'saliency', 'change');
  await settle(bridge, ex);
  expect(ex.get('gradient_rgba').length).toBe(0);
  expect([panel.canvas.width, panel.canvas.height]).toEqual([320, 320]);

  // The saved snapshot keeps the display and the gradient images.
  const snap = ex.mimeBundle()[RESULT_MIME] as SaliencyResultData;
  ex.close();
  expect(snap.display_mode).toBe('overlay');
  const node = renderResult(snap);
  document.body.appendChild(node);
  const canvas = node.querySelector('canvas.cnnvis-overlay') as HTMLCanvasElement;
  const method = node.querySelectorAll('select')[1] as HTMLSelectElement;
  input(method, 'guided-backprop', 'change');
  expect(canvas.width).toBe(2 * 320 + 6);
  input(method, 'saliency', 'change');
  expect(canvas.width).toBe(320);
});
