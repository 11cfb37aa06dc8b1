/**
 * @jest-environment jsdom
 */
/**
 * Hostile text in the browser: real payloads in layer names, class labels, model names, titles and
 * status messages reach the explorer views (through real widget models fed by real kernel-side
 * explorers) and the result renderers (widgets' renderResult and the lab extension's
 * StaticResultRenderer, as a notebook from a stranger would bring them). They must show as text: the
 * DOM has exactly the elements the clean data gives, no event-handler or URL attribute carries them,
 * and no handler runs (a global flag the payloads would set stays unset, even after the events they
 * wait for are fired on every element).
 *
 * TF.js itself refuses such characters in layer names ("Not a valid tensor name"), so payload layer
 * names come from state and snapshots, which a saved notebook can carry with any text.
 */
import './domPolyfills';
import * as tf from '@tensorflow/tfjs';
import type { DOMWidgetView } from '@jupyter-widgets/base';
import { buildDemoModel, DEMO_CLASSES } from '../../kernel/src/models/demo';
import { CnnModel } from '../../kernel/src/models/model';
import { CamExplorer, FeatureMapExplorer } from '../../kernel/src/explore';
import { RESULT_MIME, ResultData } from '../../kernel/src/schema/explorers';
import { CamExplorerView, FeatureMapExplorerView, renderResult, setChartDrawer } from '../../widgets/src';
import { Bridge } from './bridge';
import { installCanvasShim } from './canvasShim';

// The lab extension imports the widgets package by name; use its sources.
jest.mock('@cnnvis/widgets', () => jest.requireActual('../../widgets/src'));
// eslint-disable-next-line import/first
import { StaticResultRenderer } from '../../labextension/src/renderer';

type Flagged = typeof window & { __pwned?: unknown };
const PAYLOADS = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=2</script>',
  '"><svg onload="window.__pwned=3">',
  'javascript:window.__pwned=4',
  "'><iframe src=\"javascript:window.__pwned=5\"></iframe>",
  '</div><a href="javascript:window.__pwned=6">x</a><div>',
];
const EVENTS = ['error', 'load', 'click', 'mouseover', 'focus', 'input', 'change'];
const URL_ATTRS = ['href', 'src', 'action', 'formaction', 'srcdoc', 'xlink:href', 'data'];

let model: CnnModel;
let bridge: Bridge;

beforeAll(async () => {
  installCanvasShim();
  await tf.setBackend('cpu');
  setChartDrawer(async (host) => {
    host.textContent = 'chart';
  });
  model = new CnnModel(buildDemoModel({ seed: 3 }), { name: 'demo', preprocess: 'unit', labels: { names: [...DEMO_CLASSES], source: 'test' } });
});
beforeEach(() => {
  bridge = new Bridge();
  document.body.replaceChildren();
  delete (window as Flagged).__pwned;
});
afterEach(() => bridge.close());

async function viewOf<V extends DOMWidgetView>(id: string): Promise<V> {
  await bridge.flush();
  const m = await bridge.model(id);
  const view = (await bridge.front.create_view(m)) as V;
  document.body.appendChild(view.el);
  return view;
}

/** Tag names of every element under `node`, in document order. */
function structure(node: Element): string[] {
  return [...node.querySelectorAll('*')].map((e) => e.tagName.toLowerCase());
}

/** Every string under the keys that carry names (titles, labels, layer and model names...) replaced by payloads. */
const NAME_KEYS = new Set(['title', 'model', 'label', 'name', 'layer', 'method', 'caption', 'message', 'labels', 'classes', 'layers']);
function poison<T>(value: T, inName = false, counter = { i: 0 }): T {
  if (typeof value === 'string') return (inName ? PAYLOADS[counter.i++ % PAYLOADS.length] : value) as T;
  if (Array.isArray(value)) return value.map((v) => poison(v, inName, counter)) as T;
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, poison(v, NAME_KEYS.has(k), counter)])) as T;
  }
  return value;
}

/**
 * The payloads are inert in `node`: same elements as `clean` (when given), no on* attribute, no URL
 * attribute carrying a payload, each of `shown` in the text, and firing every event a payload waits
 * for on every element leaves the flag unset.
 */
function expectInert(node: Element, shown: string[], clean?: string[]): void {
  if (clean) expect(structure(node)).toEqual(clean);
  expect(node.querySelector('img, script, svg, iframe, object, embed, a, style, link, meta, form, math')).toBeNull();
  for (const e of [node, ...node.querySelectorAll('*')]) {
    for (const a of [...e.attributes]) {
      expect(a.name.startsWith('on') ? a.name : '').toBe('');
      if (URL_ATTRS.includes(a.name)) expect(a.value).not.toMatch(/javascript:|<|>/i);
    }
    for (const type of EVENTS) e.dispatchEvent(new Event(type));
  }
  for (const s of shown) expect(node.textContent).toContain(s);
  expect((window as Flagged).__pwned).toBeUndefined();
}

test('control: the checks would catch a payload that became HTML', () => {
  const div = document.createElement('div');
  div.innerHTML = PAYLOADS[0];
  document.body.append(div);
  expect(() => expectInert(div, [])).toThrow();
  div.querySelector('img')?.dispatchEvent(new Event('error'));
  expect((window as Flagged).__pwned).toBe(1); // jsdom runs inline handlers: the flag check is live
});

test('FeatureMapExplorerView: layer names, model name, title and status message as text', async () => {
  const ex = await FeatureMapExplorer.open(model, 'scene:7', { display: false, pageSize: 4 });
  const view = await viewOf<FeatureMapExplorerView>(ex.modelId);
  await bridge.flush();
  const clean = structure(view.el);
  const layers = ex.get('layers').map((l, i) => ({ ...l, name: PAYLOADS[i % PAYLOADS.length] }));
  ex.set({ layers, title: PAYLOADS[2] });
  await bridge.flush();
  expectInert(view.el, [PAYLOADS[0], PAYLOADS[2]], clean);
  // The layer slider moves to a layer with another payload name; an error message carries one too.
  const last = layers.length - 1;
  ex.set({ layer_index: last });
  await ex.settled();
  await bridge.flush();
  ex.set({ status: 'error', message: `layer ${PAYLOADS[4]} failed` });
  await bridge.flush();
  expectInert(view.el, [layers[last].name, PAYLOADS[4]]);
  ex.close();
});

test('CamExplorerView: class labels (list, search, top chart data), layer and method names, model name as text', async () => {
  const ex = await CamExplorer.open(model, 'scene:7', { display: false });
  const view = await viewOf<CamExplorerView>(ex.modelId);
  await bridge.flush();
  const clean = structure(view.el);
  const payload = (i: number) => PAYLOADS[i % PAYLOADS.length];
  ex.set({
    classes: ex.get('classes').map((_, i) => payload(i)),
    top: ex.get('top').map((t, i) => ({ ...t, label: payload(i + 1) })),
    methods: ex.get('methods').map((m, i) => ({ ...m, name: payload(i + 2) })),
    layers: ex.get('layers').map((_, i) => payload(i + 4)),
    title: payload(3),
  });
  await bridge.flush();
  expectInert(view.el, [payload(3)], clean);
  expect(view.el.textContent).toMatch(/<img src=x|<script>|<svg onload/);
  ex.close();
});

test('static results (renderResult and the lab extension renderer) from a poisoned snapshot: text only', async () => {
  const cam = await CamExplorer.open(model, 'scene:7', { display: false });
  const fm = await FeatureMapExplorer.open(model, 'scene:7', { display: false });
  const snapshots = [cam.mimeBundle()[RESULT_MIME], fm.mimeBundle()[RESULT_MIME]] as ResultData[];
  cam.close();
  fm.close();
  for (const snap of snapshots) {
    const clean = structure(renderResult(snap));
    const bad = poison(snap);
    expect(JSON.stringify(bad)).toContain('onerror');
    const node = renderResult(bad);
    document.body.append(node);
    expectInert(node, [PAYLOADS[0]], clean);
    // Through the lab extension's renderer, as JupyterLab calls it for a saved notebook.
    const renderer = new StaticResultRenderer();
    document.body.append(renderer.node);
    await renderer.renderModel({ data: { [RESULT_MIME]: bad }, metadata: {}, trusted: false, setData: () => undefined } as never);
    expectInert(renderer.node, [PAYLOADS[0]], ['div', ...clean]);
    renderer.dispose();
  }
  // Hostile kind and version strings are reported as text too.
  for (const [odd, shown] of [
    [{ version: PAYLOADS[1], kind: 'cam' }, `version ${PAYLOADS[1]} is not supported`],
    [{ ...snapshots[0], kind: PAYLOADS[0] }, 'unknown cnnvis result kind "<img src=x onerror='],
  ] as const) {
    const node = renderResult(odd as unknown as ResultData);
    document.body.append(node);
    expectInert(node, [shown]);
  }
});
