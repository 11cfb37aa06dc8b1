/**
 * The widget layer in-process: a CommManager with a recording transport stands in for the kernel's
 * sockets, so every message a widget sends is checked without a front end.
 */
import { CommManager, installCommManager } from '../kernel/src/kernel/comms';
import type { JsonObject } from '../kernel/src/kernel/wire';
import { useDisplayWriter, DisplayMessage } from '../kernel/src/display/jupyter';
import * as W from '../kernel/src/widgets';
import { encodeState, insertBuffers } from '../kernel/src/widgets/schema';

interface Sent {
  type: string;
  content: JsonObject;
  metadata: JsonObject;
  buffers: Buffer[];
}

let sent: Sent[];
let manager: CommManager;
let previous: CommManager | undefined;

beforeEach(() => {
  sent = [];
  manager = new CommManager({
    send: (type, content, metadata, buffers) => sent.push({ type, content, metadata, buffers }),
    currentParentId: () => 'parent-1',
  });
  previous = installCommManager(manager);
});
afterEach(() => {
  if (previous) installCommManager(previous);
  useDisplayWriter(null);
});

const data = (s: Sent) => s.content.data as JsonObject;
const stateOf = (id: string) => data(sent.find((s) => s.type === 'comm_open' && s.content.comm_id === id)!).state as JsonObject;
/** A message from the front end to widget `id`. */
function fromFrontEnd(id: string, payload: JsonObject, buffers: Buffer[] = []): unknown {
  return manager.receive('comm_msg', { comm_id: id, data: payload }, {}, buffers, 'm1');
}

test('state encoding: widget references, binary values out into buffers at their paths, and back', () => {
  const layout = new W.Layout();
  const enc = encodeState({ a: 1, img: new Uint8Array([1, 2]), nested: { x: [0, new Uint8Array([3])], l: layout } });
  expect(enc.state).toEqual({ a: 1, nested: { x: [0, null], l: `IPY_MODEL_${layout.modelId}` } });
  expect(enc.buffer_paths).toEqual([['img'], ['nested', 'x', 1]]);
  expect(enc.buffers.map((b) => [...b])).toEqual([[1, 2], [3]]);
  const back = insertBuffers(JSON.parse(JSON.stringify(enc.state)), enc.buffer_paths, enc.buffers);
  expect([...(back.img as Uint8Array)]).toEqual([1, 2]);
  expect([...((back.nested as { x: Uint8Array[] }).x[1])]).toEqual([3]);
  expect(() => insertBuffers({}, [['a']], [])).toThrow(/names 1 buffers/);
  expect(() => insertBuffers({}, [['a', 'b']], [Buffer.from('x')])).toThrow(/does not exist/);
});

test.each([
  ['IntSlider', () => new W.IntSlider(), 'IntSliderModel', 'IntSliderView', 'SliderStyleModel'],
  ['FloatSlider', () => new W.FloatSlider(), 'FloatSliderModel', 'FloatSliderView', 'SliderStyleModel'],
  ['Dropdown', () => new W.Dropdown({ options: ['a'] }), 'DropdownModel', 'DropdownView', 'DescriptionStyleModel'],
  ['Text', () => new W.Text(), 'TextModel', 'TextView', 'TextStyleModel'],
  ['Checkbox', () => new W.Checkbox(), 'CheckboxModel', 'CheckboxView', 'CheckboxStyleModel'],
  ['Button', () => new W.Button(), 'ButtonModel', 'ButtonView', 'ButtonStyleModel'],
  ['Label', () => new W.Label(), 'LabelModel', 'LabelView', 'LabelStyleModel'],
  ['HBox', () => new W.HBox(), 'HBoxModel', 'HBoxView', null],
  ['VBox', () => new W.VBox(), 'VBoxModel', 'VBoxView', null],
  ['Image', () => new W.Image(), 'ImageModel', 'ImageView', null],
  ['Play', () => new W.Play(), 'PlayModel', 'PlayView', 'DescriptionStyleModel'],
])('%s: controls 2.0.0 model and view, layout/style opened first as separate models', (_n, make, model, view, style) => {
  const w = make();
  const state = stateOf(w.modelId);
  expect(state).toMatchObject({
    _model_name: model, _model_module: '@jupyter-widgets/controls', _model_module_version: '2.0.0',
    _view_name: view, _view_module: '@jupyter-widgets/controls', _view_module_version: '2.0.0',
  });
  const opened = sent.filter((s) => s.type === 'comm_open').map((s) => s.content.comm_id);
  expect(opened[opened.length - 1]).toBe(w.modelId);
  for (const s of sent) expect(s.metadata).toEqual({ version: '2.1.0' });
  const layoutId = (state.layout as string).replace(/^IPY_MODEL_/, '');
  expect(stateOf(layoutId)).toMatchObject({ _model_name: 'LayoutModel', _model_module: '@jupyter-widgets/base', _model_module_version: '2.0.0' });
  if (style) {
    const styleState = stateOf((state.style as string).replace(/^IPY_MODEL_/, ''));
    expect(styleState).toMatchObject({ _model_name: style, _view_name: 'StyleView', _view_module: '@jupyter-widgets/base' });
  } else {
    expect(state.style).toBeUndefined();
  }
});

test('Output uses @jupyter-widgets/output 1.0.0; jslink makes a LinkModel of two references', () => {
  const out = new W.Output();
  expect(stateOf(out.modelId)).toMatchObject({ _model_name: 'OutputModel', _model_module: '@jupyter-widgets/output', _model_module_version: '1.0.0', msg_id: '', outputs: [] });
  const a = new W.IntSlider();
  const p = new W.Play();
  const link = W.jslink([p, 'value'], [a, 'value']);
  expect(stateOf(link.modelId)).toMatchObject({
    _model_name: 'LinkModel', _view_name: null,
    source: [`IPY_MODEL_${p.modelId}`, 'value'], target: [`IPY_MODEL_${a.modelId}`, 'value'],
  });
  expect(() => W.jslink([p, 'nope'], [a, 'value'])).toThrow(/no attribute nope/);
});

test('observe gets {name, old, new}; kernel-side sets send one update; unobserve stops', () => {
  const s = new W.IntSlider({ value: 3, min: 0, max: 10 });
  const seen: unknown[] = [];
  const handler = (c: W.Change<W.SliderState>) => seen.push([c.name, c.old, c.new]);
  s.observe(handler, 'value');
  sent.length = 0;
  s.value = 5;
  s.set({ value: 5 }); // no change, nothing sent
  s.set({ max: 4 }); // clamps value too
  expect(seen).toEqual([['value', 3, 5], ['value', 5, 4]]);
  expect(sent.map(data)).toEqual([
    { method: 'update', state: { value: 5 }, buffer_paths: [] },
    { method: 'update', state: { value: 4, max: 4 }, buffer_paths: [] },
  ]);
  s.unobserve(handler);
  s.value = 1;
  expect(seen).toHaveLength(2);
  expect(() => s.set({ min: 9 })).toThrow(RangeError);
});

test('front-end update: echo first, observers after, corrections sent as update', () => {
  const s = new W.IntSlider({ value: 3, min: 0, max: 10 });
  s.observe((c) => {
    if (c.new === 7) s.value = 8; // an observer correcting the value
  }, 'value');
  sent.length = 0;
  fromFrontEnd(s.modelId, { method: 'update', state: { value: 7 }, buffer_paths: [] });
  expect(sent.map(data)).toEqual([
    { method: 'echo_update', state: { value: 7 }, buffer_paths: [] },
    { method: 'update', state: { value: 8 }, buffer_paths: [] },
  ]);
  expect(s.value).toBe(8);
});

test('coalesce: a burst reaches the handler as few calls, the last with the latest value', async () => {
  const s = new W.IntSlider({ max: 1000 });
  const calls: Array<[number, number]> = [];
  s.observe(async (c) => {
    calls.push([c.old as number, c.new as number]);
    await new Promise((r) => setTimeout(r, 20));
  }, 'value', { coalesce: true });
  const pending: unknown[] = [];
  for (let v = 1; v <= 100; v++) pending.push(fromFrontEnd(s.modelId, { method: 'update', state: { value: v } }));
  await Promise.all(pending.filter((p) => p instanceof Promise));
  await new Promise((r) => setTimeout(r, 100));
  expect(calls).toEqual([[0, 100]]);
});

test('Dropdown: options as labels or pairs; index syncs, value and label derive and notify', () => {
  const d = new W.Dropdown<number>({ options: [['one', 1], ['two', 2]], value: 2, description: 'n' });
  expect(stateOf(d.modelId)).toMatchObject({ _options_labels: ['one', 'two'], index: 1, description: 'n' });
  const seen: unknown[] = [];
  d.observe((c) => seen.push([c.name, c.old, c.new]), ['value', 'label']);
  fromFrontEnd(d.modelId, { method: 'update', state: { index: 0 } });
  expect([d.value, d.label]).toEqual([1, 'one']);
  expect(seen).toEqual([['value', 2, 1], ['label', 'two', 'one']]);
  expect(() => (d.value = 5)).toThrow(/not among the options/);
  expect(() => fromFrontEnd(d.modelId, { method: 'update', state: { index: 9 } })).toThrow(/out of range/);
});

test('Button clicks and Text submits arrive as custom messages; send() carries buffers', () => {
  const b = new W.Button({ description: 'go' });
  let clicks = 0;
  b.onClick(() => clicks++);
  fromFrontEnd(b.modelId, { method: 'custom', content: { event: 'click' } });
  expect(clicks).toBe(1);
  sent.length = 0;
  b.send({ hi: 1 }, [new Uint8Array([9, 8])]);
  expect(sent[0].content).toEqual({ comm_id: b.modelId, data: { method: 'custom', content: { hi: 1 } } });
  expect([...sent[0].buffers[0]]).toEqual([9, 8]);
});

test('Output.capture sets msg_id to the producing request for the duration; append* edit outputs', async () => {
  const out = new W.Output();
  sent.length = 0;
  const r = await out.capture(() => 42);
  expect(r).toBe(42);
  expect(sent.map((s) => (data(s).state as JsonObject).msg_id)).toEqual(['parent-1', '']);
  out.appendStdout('hi\n');
  out.appendDisplayData({ 'text/plain': 'x' });
  expect(out.outputs).toEqual([
    { output_type: 'stream', name: 'stdout', text: 'hi\n' },
    { output_type: 'display_data', data: { 'text/plain': 'x' }, metadata: {} },
  ]);
});

test('display(widget) sends the widget view with a text/plain fallback', () => {
  const shown: DisplayMessage[] = [];
  useDisplayWriter((m) => shown.push(m));
  const s = new W.IntSlider({ value: 2 });
  W.display(s);
  expect(shown).toHaveLength(1);
  expect(shown[0].data).toEqual({
    'application/vnd.jupyter.widget-view+json': { version_major: 2, version_minor: 0, model_id: s.modelId },
    'text/plain': expect.stringContaining('IntSlider(value=2'),
  });
});

test('comm manager: unknown targets are closed, malformed messages rejected, comm_info filters', () => {
  expect(() => manager.receive('comm_open', { comm_id: 'x', target_name: 'nobody', data: {} }, {}, [], null)).toThrow(/unknown target/);
  expect(sent[sent.length - 1]).toMatchObject({ type: 'comm_close', content: { comm_id: 'x' } });
  expect(() => manager.receive('comm_msg', { data: {} }, {}, [], null)).toThrow(/without a comm_id/);
  expect(() => manager.receive('comm_msg', { comm_id: 'x', data: [] as unknown as JsonObject }, {}, [], null)).toThrow(/must be an object/);
  const a = manager.open('t.a');
  manager.open('t.b');
  expect(manager.commInfo('t.a')).toEqual({ [a.commId]: { target_name: 't.a' } });
  a.close();
  expect(manager.commInfo('t.a')).toEqual({});
  expect(() => a.send({})).toThrow(/closed/);
});
