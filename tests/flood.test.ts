/**
 * The kernel under load and malformed comm messages.
 *
 * In-process: what a widget does with a malformed or hostile update (wrong trait types, prototype
 * keys, buffer paths through '__proto__', refused values): a clear error, the kernel-side state
 * unchanged, and the front end sent the kernel's values back after its echo.
 *
 * The real kernel: tests/python/test_cnnvis_flood.py (jupyter_client as the front end) sends 1000
 * updates to three explorers on the demo model (feature maps, CAM, occlusion) with malformed messages
 * interleaved, and checks responsiveness, final state, observer order, that the occlusion explorer
 * ran no new occlusion, tensor count and memory.
 */
import * as tf from '@tensorflow/tfjs';
import { CommManager, installCommManager } from '../kernel/src/kernel/comms';
import type { JsonObject } from '../kernel/src/kernel/wire';
import * as W from '../kernel/src/widgets';
import { FeatureMapExplorer } from '../kernel/src/explore';
import { buildDemoModel, DEMO_CLASSES } from '../kernel/src/models/demo';
import { CnnModel } from '../kernel/src/models/model';
import { runKernelUnittest } from './helpers/jupyter';

interface Sent {
  type: string;
  content: JsonObject;
}

describe('malformed updates in-process', () => {
  let sent: Sent[];
  let manager: CommManager;
  let previous: CommManager | undefined;
  beforeEach(() => {
    sent = [];
    manager = new CommManager({ send: (type, content) => sent.push({ type, content }), currentParentId: () => 'p' });
    previous = installCommManager(manager);
  });
  afterEach(() => {
    if (previous) installCommManager(previous);
  });
  const data = (s: Sent) => s.content.data as JsonObject;
  const receive = (id: string, payload: unknown, buffers: Buffer[] = []) => manager.receive('comm_msg', { comm_id: id, data: payload as JsonObject }, {}, buffers, 'm');

  test('wrong trait types are refused with the trait and both kinds named; the front end gets the kernel value back', () => {
    const s = new W.IntSlider({ value: 3, min: 0, max: 10, description: 'k' });
    const seen: unknown[] = [];
    s.observe((c) => seen.push(c.new));
    const cases: Array<[JsonObject, RegExp]> = [
      [{ value: '5' }, /^IntSlider\.value must be a number, got a string$/],
      [{ value: null }, /^IntSlider\.value must be a number, got null$/],
      [{ value: [5] }, /^IntSlider\.value must be a number, got a list$/],
      [{ description: 7 }, /^IntSlider\.description must be a string, got a number$/],
      [{ disabled: 'yes' }, /^IntSlider\.disabled must be a boolean, got a string$/],
      [{ layout: 'IPY_MODEL_nope' }, /reference to unknown widget nope/],
      [{ layout: 5 }, /^IntSlider\.layout must be an object, got a number$/],
      [{ value: 1e308 }, /./], // accepted: clamped to max, below
    ];
    for (const [state, message] of cases.slice(0, -1)) {
      sent.length = 0;
      expect(() => receive(s.modelId, { method: 'update', state, buffer_paths: [] })).toThrow(message);
      // echo (the front end waits for it), then the kernel's value of the refused key
      expect(sent.map(data)).toEqual([
        { method: 'echo_update', state, buffer_paths: [] },
        { method: 'update', state: { [Object.keys(state)[0]]: s.fullState()[Object.keys(state)[0]] instanceof W.Layout ? `IPY_MODEL_${s.layout.modelId}` : s.fullState()[Object.keys(state)[0]] }, buffer_paths: [] },
      ]);
    }
    expect([s.value, s.description, s.disabled, seen]).toEqual([3, 'k', false, []]);
    receive(s.modelId, { method: 'update', state: { value: 1e308 } });
    expect(s.value).toBe(10);
    // Nullable keys take null: a Layout's CSS values, a Dropdown's index (no selection).
    const d = new W.Dropdown({ options: ['a', 'b'] });
    receive(d.modelId, { method: 'update', state: { index: null } });
    expect(d.value).toBeNull();
    receive(s.layout.modelId, { method: 'update', state: { width: '10px' } });
    receive(s.layout.modelId, { method: 'update', state: { width: null } });
    expect(s.layout.width).toBeNull();
  });

  test('prototype keys and buffer paths through __proto__ neither pass nor pollute', () => {
    const s = new W.IntSlider({ value: 3 });
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const state = JSON.parse(`{"${key}": {"polluted": 1}, "value": 4}`);
      sent.length = 0;
      expect(() => receive(s.modelId, { method: 'update', state })).toThrow(`IntSlider has no attribute ${key}`);
      expect(sent).toEqual([]); // refused before the echo: nothing applied, nothing to correct
    }
    expect(() => receive(s.modelId, { method: 'update', state: {}, buffer_paths: [['__proto__', 'polluted']] }, [Buffer.from('x')])).toThrow(/is not a path in the state/);
    expect(() => receive(s.modelId, { method: 'update', state: { constructor: {} }, buffer_paths: [['constructor', 'prototype', 'polluted']] }, [Buffer.from('x')])).toThrow(/does not exist in the state/);
    expect(() => receive(s.modelId, { method: 'update', state: {}, buffer_paths: [['value'], ['min']] }, [Buffer.from('x')])).toThrow(/names 2 buffers but the message has 1/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(s.value).toBe(3);
    expect(String(s)).toMatch(/^IntSlider\(value=3/);
    receive(s.modelId, { method: 'update', state: { value: 4 } });
    expect(s.value).toBe(4);
  });

  test('an explorer refuses writes of the wrong kind to its computed state and keeps showing what it showed', async () => {
    await tf.setBackend('cpu');
    const model = new CnnModel(buildDemoModel({ seed: 3 }), { name: 'demo', preprocess: 'unit', labels: { names: [...DEMO_CLASSES], source: 'test' } });
    const ex = await FeatureMapExplorer.open(model, 'scene:7', { display: false, pageSize: 4 });
    const n = ex.get('layers').length;
    const tensors = tf.memory().numTensors;
    for (const [state, message] of [
      [{ layers: 5 }, /FeatureMapExplorer\.layers must be a list, got a number/],
      [{ page_data: [1, 2] }, /FeatureMapExplorer\.page_data must be bytes, got a list/],
      [{ layer_index: '1' }, /FeatureMapExplorer\.layer_index must be a number, got a string/],
      [{ layer_index: n }, new RegExp(`layer_index must be an integer in 0\\.\\.${n - 1}, got ${n}`)],
      [{ page: 0.5 }, /page must be an integer, got 0\.5/],
    ] as Array<[JsonObject, RegExp]>) {
      expect(() => receive(ex.modelId, { method: 'update', state })).toThrow(message);
    }
    for (let i = 0; i < 50; i++) await receive(ex.modelId, { method: 'update', state: { layer_index: i % n } });
    await ex.settled();
    expect([ex.get('layer_index'), ex.get('shown_layer'), ex.get('status')]).toEqual([49 % n, 49 % n, 'idle']);
    expect(ex.summary()).toContain(ex.get('layers')[49 % n].name);
    expect(tf.memory().numTensors).toBe(tensors);
    ex.close();
  });
});

test('the real kernel: 1000 updates to three explorers with malformed messages interleaved', async () => {
  const result = await runKernelUnittest('test_cnnvis_flood', 400000);
  if (result.code !== 0) throw new Error(`flood test failed:\n${result.stdout}\n${result.stderr.slice(-20000)}`);
  const line = result.stdout.split('\n').find((l) => l.startsWith('flood: '));
  expect(line).toBeDefined();
  console.log(line);
  expect(result.stderr).toMatch(/^Ran 1 test in [\d.]+s\s+OK\s*$/m);
}, 420000);
