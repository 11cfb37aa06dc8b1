/**
 * @jest-environment jsdom
 */
/**
 * Hostile text in the browser: real payloads in layer names, class labels, method and model names,
 * titles, captions and status messages reach the explorer views (feature maps, CAM, saliency,
 * occlusion, filters; through real widget models fed by real kernel-side explorers) and the result
 * renderers (widgets' renderResult and the lab extension's StaticResultRenderer, all five snapshot
 * kinds, as a notebook from a stranger would bring them). They must show as text: the
 * DOM has exactly the elements the clean data gives, no event-handler or URL attribute carries them,
 * and no handler runs (a global flag the payloads would set stays unset, even after the events they
 * wait for are fired on every element).
 *
 * TF.js itself refuses such characters in layer names ("Not a valid tensor name"), so payload layer
 * names come from state and snapshots, which a saved notebook can carry with any text.
 */
import './domPolyfills';
import type { DOMWidgetView } from '@jupyter-widgets/base';
import { CnnModel } from '../../kernel/src/models/model';
import { CamExplorer, FeatureMapExplorer, FilterExplorer, OcclusionExplorer, SaliencyExplorer } from '../../kernel/src/explore';
import { FilterResultData, RESULT_MIME, ResultData } from '../../kernel/src/schema/explorers';
import {
  CamExplorerView,
  FeatureMapExplorerView,
  FilterExplorerView,
  OcclusionExplorerView,
  renderResult,
  SaliencyExplorerView,
} from '../../widgets/src';
import { Bridge, frontEndSuite } from './bridge';

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

frontEndSuite({
  model: (m) => (model = m),
  bridge: (b) => (bridge = b),
  each: () => {
    delete (window as Flagged).__pwned;
  },
});

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
/**
 * Keys whose text is also an identity (saved views group their maps by `method` and `layer`, their
 * pages by layer `name`): the same clean text gets the same payload, so the snapshot keeps its shape
 * (as many methods and layers as before).
 */
const ID_KEYS = new Set(['method', 'layer', 'name']);
function poison<T>(value: T, inName = false, counter = { i: 0 }, ids = new Map<string, string>(), isId = false): T {
  if (typeof value === 'string') {
    if (!inName) return value;
    if (!isId) return PAYLOADS[counter.i++ % PAYLOADS.length] as T;
    if (!ids.has(value)) ids.set(value, PAYLOADS[ids.size % PAYLOADS.length]);
    return ids.get(value) as T;
  }
  if (Array.isArray(value)) return value.map((v) => poison(v, inName, counter, ids, isId)) as T;
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, poison(v, NAME_KEYS.has(k), counter, ids, ID_KEYS.has(k))])) as T;
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

test('SaliencyExplorerView: class labels, method names, caption, model name and status message as text', async () => {
  const ex = await SaliencyExplorer.open(model, 'scene:7', { display: false });
  const view = await viewOf<SaliencyExplorerView>(ex.modelId);
  await bridge.flush();
  const clean = structure(view.el);
  const payload = (i: number) => PAYLOADS[i % PAYLOADS.length];
  const shown = ex.get('shown')!;
  ex.set({
    classes: ex.get('classes').map((_, i) => payload(i)),
    top: ex.get('top').map((t, i) => ({ ...t, label: payload(i + 1) })),
    methods: ex.get('methods').map((m, i) => ({ ...m, name: payload(i + 2) })),
    shown: { ...shown, label: payload(5) },
    title: payload(3),
  });
  await bridge.flush();
  expectInert(view.el, [payload(3), payload(5)], clean);
  // The method picker moves to another method (with a payload name); the caption names it; an error carries a payload.
  const methods = ex.get('methods');
  ex.set({ method: methods[1].id });
  await ex.settled();
  await bridge.flush();
  expect(ex.get('shown')?.method).toBe(methods[1].id);
  ex.set({ status: 'error', message: `method ${PAYLOADS[4]} failed` });
  await bridge.flush();
  expectInert(view.el, [methods[1].name, PAYLOADS[4]], clean);
  ex.close();
});

test('OcclusionExplorerView: class labels (list, search, top), caption, model name and status message as text', async () => {
  const ex = await OcclusionExplorer.open(model, 'scene:7', { display: false, patchSize: 16, stride: 16 });
  const view = await viewOf<OcclusionExplorerView>(ex.modelId);
  await bridge.flush();
  const clean = structure(view.el);
  const payload = (i: number) => PAYLOADS[i % PAYLOADS.length];
  const shown = ex.get('shown')!;
  ex.set({
    classes: ex.get('classes').map((_, i) => payload(i)),
    top: ex.get('top').map((t, i) => ({ ...t, label: payload(i + 1) })),
    shown: { ...shown, label: payload(2) },
    title: payload(3),
  });
  await bridge.flush();
  expectInert(view.el, [payload(3), payload(2)], clean);
  // The threshold slider redraws the mask here; the class slider runs no new occlusion; an error names a payload.
  const runs = ex.runsDone;
  view.panel.thresholdSlider.value = '0.8';
  view.panel.thresholdSlider.dispatchEvent(new Event('input'));
  ex.set({ class_index: (shown.class_index + 1) % ex.get('classes').length });
  await ex.settled();
  await bridge.flush();
  expect(ex.runsDone).toBe(runs);
  ex.set({ status: 'error', message: `class ${PAYLOADS[4]} failed` });
  await bridge.flush();
  expectInert(view.el, [PAYLOADS[4]], clean);
  expect(view.el.textContent).toMatch(/<img src=x|<script>|<svg onload/);
  ex.close();
});

test('FilterExplorerView: layer names, model name, title and status message as text', async () => {
  // steps: one of the view's choices (expectInert fires 'change' on its select, which sends what it holds).
  const ex = await FilterExplorer.open(model, { display: false, pageSize: 4, inputChannels: 2, steps: 16, patternSize: 16 });
  const view = await viewOf<FilterExplorerView>(ex.modelId);
  await bridge.flush();
  const clean = structure(view.el);
  const layers = ex.get('layers').map((l, i) => ({ ...l, name: PAYLOADS[i % PAYLOADS.length] }));
  ex.set({ layers, title: PAYLOADS[2] });
  await bridge.flush();
  expectInert(view.el, [PAYLOADS[0], PAYLOADS[2]], clean);
  // The layer slider moves on: the kernel computes from its own layer list (the synced one is display
  // only, so a poisoned list cannot make it look up a payload), and an error naming a payload is text.
  ex.set({ layer_index: 1 });
  await ex.settled();
  await bridge.flush();
  expect(ex.get('status')).not.toBe('error');
  expect(ex.get('filter_norms').length).toBeGreaterThan(0);
  ex.set({ status: 'error', message: `unknown layer '${layers[1].name}'` });
  await bridge.flush();
  expectInert(view.el, [layers[1].name, `unknown layer '${layers[1].name}'`]);
  ex.close();
});

test('static results (renderResult and the lab extension renderer) from a poisoned snapshot: text only', async () => {
  const explorers = [
    await CamExplorer.open(model, 'scene:7', { display: false }),
    await FeatureMapExplorer.open(model, 'scene:7', { display: false }),
    await SaliencyExplorer.open(model, 'scene:7', { display: false }),
    await OcclusionExplorer.open(model, 'scene:7', { display: false, patchSize: 16, stride: 16 }),
    await FilterExplorer.open(model, { display: false, pageSize: 4, inputChannels: 2, steps: 2, patternSize: 16 }),
  ];
  // One filter page with patterns, so the filter snapshot carries a pattern figure too.
  const filters = explorers[4] as FilterExplorer;
  filters.set({ mode: 'patterns' });
  await filters.settled();
  const snapshots = explorers.map((ex) => ex.mimeBundle()[RESULT_MIME]) as ResultData[];
  explorers.forEach((ex) => ex.close());
  expect(snapshots.map((s) => s.kind)).toEqual(['cam', 'feature-maps', 'saliency', 'occlusion', 'filters']);
  expect((snapshots[4] as FilterResultData).layers.some((l) => l.patterns)).toBe(true);
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
