/**
 * Explorers, kernel side: a CommManager with a recording transport stands in for the front end.
 * Maps are checked against the library's own CAM functions, feature-map pages against a direct
 * forward pass, and the scheduling (latest value only, cache, cancel) by what the kernel computes
 * and sends.
 */
import * as tf from '@tensorflow/tfjs';
import { CommManager, installCommManager } from '../kernel/src/kernel/comms';
import type { JsonObject } from '../kernel/src/kernel/wire';
import { useDisplayWriter, DisplayMessage } from '../kernel/src/display/jupyter';
import { buildDemoModel, DEMO_CLASSES } from '../kernel/src/models/demo';
import { CnnModel } from '../kernel/src/models/model';
import { gradCam } from '../kernel/src/explain/cam/gradcam';
import { eigenCam } from '../kernel/src/explain/cam/eigencam';
import { layerActivation } from '../kernel/src/basics/featureMaps';
import { prepareInput } from '../kernel/src/basics/input';
import { CamExplorer, FeatureMapExplorer, explorerMethods, FilterExplorer, OcclusionExplorer, SaliencyExplorer } from '../kernel/src/explore';
import { convLayerNames, filters as filtersFn } from '../kernel/src/basics/filters';
import { filterPatterns, toRGBA } from '../kernel/src/optvis/render';
import { RESULT_MIME, CamResultData, FeatureMapResultData, FilterResultData, OcclusionResultData, SaliencyResultData } from '../kernel/src/schema/explorers';
import { base64ToBytes, base64ToFloats } from '../widgets/src/base64';
import { saliency as saliencyFn } from '../kernel/src/explain/attribution/saliency';
import { gradientXInput } from '../kernel/src/explain/attribution/gradxinput';
import { deconvnet, guidedBackprop } from '../kernel/src/explain/attribution/guided';
import { integratedGradients } from '../kernel/src/explain/attribution/integratedGradients';
import { smoothGrad } from '../kernel/src/explain/attribution/smoothgrad';
import { guidedGradCam } from '../kernel/src/explain/attribution/guidedGradCam';
import { occlusion as occlusionFn } from '../kernel/src/explain/occlusion';
import { occlusionMask } from '../kernel/src/explain/masks';
import { insertBuffers } from '../kernel/src/widgets/schema';
import { convBlockOutputs } from '../kernel/src/basics/featureMaps';
import { explainMethod } from '../kernel/src/explain/registry';
import { maxAbsDiff } from '../kernel/src/explain/eval/stats';
import { loadModel } from '../kernel/src/models/load';
import { gradCamPlusPlus } from '../kernel/src/explain/cam/gradcampp';
import { DEFAULT_SNAPSHOT_BYTES, ExplorerSnapshotMessage } from '../kernel/src/schema/explorers';
import { bytesToBase64, Explorer, floatsToBase64 } from '../kernel/src/explore/explorer';
import { execFileSync } from 'child_process';
import { saliencyBytes } from '../kernel/src/explore/saliency';
import { scoreCam } from '../kernel/src/explain/cam/scorecam';
import * as path from 'path';
import { IMAGES } from './helpers/shared';

interface Sent {
  type: string;
  content: JsonObject;
  buffers: Buffer[];
}

let sent: Sent[];
let manager: CommManager;
let previous: CommManager | undefined;
let model: CnnModel;
const IMAGE = 'scene:7';

beforeAll(() => {
  tf.setBackend('cpu');
  model = new CnnModel(buildDemoModel({ seed: 3 }), { name: 'demo', preprocess: 'unit', labels: { names: [...DEMO_CLASSES], source: 'test' } });
});
beforeEach(() => {
  sent = [];
  manager = new CommManager({ send: (type, content, _m, buffers) => sent.push({ type, content, buffers }), currentParentId: () => 'p' });
  previous = installCommManager(manager);
});
afterEach(() => {
  if (previous) installCommManager(previous);
  useDisplayWriter(null);
});

const data = (s: Sent) => s.content.data as JsonObject;
/** The state a front end would hold for model `id`: comm_open plus every update, buffers inserted. */
function frontEndState(id: string): JsonObject {
  const state: JsonObject = {};
  for (const s of sent) {
    if (s.content.comm_id !== id) continue;
    const d = data(s);
    if (s.type === 'comm_open' || (s.type === 'comm_msg' && d.method === 'update')) {
      Object.assign(state, insertBuffers({ ...(d.state as JsonObject) }, d.buffer_paths, s.buffers));
    }
  }
  return state;
}
function fromFrontEnd(id: string, payload: JsonObject): unknown {
  return manager.receive('comm_msg', { comm_id: id, data: payload }, {}, [], 'm');
}
const sentKeys = (s: Sent) => [...Object.keys(data(s).state as JsonObject), ...((data(s).buffer_paths as string[][]) ?? []).map((p) => p[0])];
const updatesWith = (id: string, key: string) =>
  sent.filter((s) => s.content.comm_id === id && s.type === 'comm_msg' && data(s).method === 'update' && sentKeys(s).includes(key));

function expectMapBytes(bytes: Uint8Array, map: Float32Array): void {
  expect(bytes.length).toBe(map.length);
  let worst = 0;
  for (let i = 0; i < map.length; i++) worst = Math.max(worst, Math.abs(bytes[i] - Math.round(map[i] * 255)));
  expect(worst).toBeLessThanOrEqual(1);
}

describe('CamExplorer', () => {
  test('opens with the front-end model, the top classes, and the Grad-CAM map of the top class', async () => {
    const shown: DisplayMessage[] = [];
    useDisplayWriter((m) => shown.push(m));
    const ex = await CamExplorer.open(model, IMAGE, { topK: 3 });
    const st = frontEndState(ex.modelId);
    expect(st).toMatchObject({
      _model_module: '@cnnvis/widgets', _model_name: 'CamExplorerModel', _view_name: 'CamExplorerView',
      classes: [...DEMO_CLASSES], layer: 'block3_conv2', method: 'gradcam', status: 'idle', image_width: 64, image_height: 64,
    });
    const top = st.top as Array<{ index: number; probability: number }>;
    expect(top).toHaveLength(3);
    expect(top[0].probability).toBeGreaterThanOrEqual(top[1].probability);
    expect(st.class_index).toBe(top[0].index);
    const ref = await gradCam(model, IMAGE, { classIndex: top[0].index, display: false });
    expectMapBytes(st.heatmap as Uint8Array, ref.map.data);
    expect((st.image as Uint8Array).length).toBe(64 * 64 * 4);
    // One display: widget view, the static result with a map per top class, a PNG and text.
    expect(shown).toHaveLength(1);
    const bundle = shown[0].data as Record<string, unknown>;
    expect(bundle['application/vnd.jupyter.widget-view+json']).toMatchObject({ model_id: ex.modelId });
    const result = bundle[RESULT_MIME] as CamResultData;
    expect(result).toMatchObject({ kind: 'cam', version: 1, method: 'Grad-CAM', layer: 'block3_conv2' });
    expect(result.maps.map((m) => m.index)).toEqual(top.map((t) => t.index));
    expect(base64ToBytes(result.image.rgba)).toEqual(st.image);
    expectMapBytes(base64ToBytes(result.maps[0].heatmap), ref.map.data);
    expect(Buffer.from(bundle['image/png'] as string, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(bundle['text/plain']).toMatch(/^CamExplorer\(Grad-CAM, demo, scene:7: class \d+ '/);
    ex.close();
  });

  test('a class change from the front end computes that class only; coming back uses the cache', async () => {
    const ex = await CamExplorer.open(model, IMAGE, { display: false });
    const first = ex.get('class_index');
    // A class outside the top 5 (the top classes were computed for the snapshot).
    const other = DEMO_CLASSES.findIndex((_, i) => !ex.get('top').some((t) => t.index === i));
    const before = ex.computed;
    sent.length = 0;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { class_index: other } });
    await ex.settled();
    expect(data(sent[0])).toEqual({ method: 'echo_update', state: { class_index: other }, buffer_paths: [] });
    const ref = await gradCam(model, IMAGE, { classIndex: other, display: false });
    const heat = updatesWith(ex.modelId, 'heatmap');
    expect(heat).toHaveLength(1);
    expectMapBytes(frontEndState(ex.modelId).heatmap as Uint8Array, ref.map.data);
    expect(ex.get('shown')).toMatchObject({ class_index: other, label: DEMO_CLASSES[other] });
    expect(ex.computed).toBe(before + 1);
    // Back to the first class: cached, nothing computed.
    await fromFrontEnd(ex.modelId, { method: 'update', state: { class_index: first } });
    await ex.settled();
    expect(ex.computed).toBe(before + 1);
    expect(ex.get('shown')?.class_index).toBe(first);
    ex.close();
  });

  test('while a slider is dragged only the latest value is computed', async () => {
    const ex = await CamExplorer.open(model, IMAGE, { display: false, method: 'layercam' });
    const before = ex.computed;
    const pending: unknown[] = [];
    const values = [1, 2, 3, 0, 2, 1, 3].map((v) => (v + ex.get('class_index') + 1) % DEMO_CLASSES.length);
    for (const v of values) pending.push(fromFrontEnd(ex.modelId, { method: 'update', state: { class_index: v } }));
    await Promise.all(pending);
    await ex.settled();
    const last = values[values.length - 1];
    expect(ex.get('shown')?.class_index).toBe(last);
    expect(ex.computed - before).toBeLessThanOrEqual(2); // the first one may have started, then the last
    expect(ex.get('status')).toBe('idle');
    ex.close();
  });

  test('layer and method changes recompute; opacity and colormap need no kernel work', async () => {
    const ex = await CamExplorer.open(model, IMAGE, { display: false });
    const before = ex.computed;
    sent.length = 0;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { opacity: 0.8, colormap: 'viridis' } });
    await ex.settled();
    expect(ex.computed).toBe(before);
    expect(updatesWith(ex.modelId, 'heatmap')).toHaveLength(0);
    await fromFrontEnd(ex.modelId, { method: 'update', state: { method: 'Eigen-CAM', layer: 'block2_conv2' } });
    await ex.settled();
    expect(ex.get('method')).toBe('eigencam');
    const ref = await eigenCam(model, IMAGE, { layer: 'block2_conv2', classIndex: ex.get('class_index'), display: false });
    expectMapBytes(ex.get('heatmap'), ref.map.data);
    expect(ex.get('shown')).toMatchObject({ layer: 'block2_conv2', method: 'eigencam' });
    expect(ex.computed).toBe(before + 1);
    ex.close();
  });

  test('cancel stops a running computation; bad values are refused', async () => {
    const ex = await CamExplorer.open(model, IMAGE, { display: false });
    const statuses: string[] = [];
    // The front end cancels as soon as it sees the computation start.
    ex.observe((c) => {
      statuses.push(c.new as string);
      if (c.new === 'busy') fromFrontEnd(ex.modelId, { method: 'custom', content: { event: 'cancel' } });
    }, 'status');
    const next = DEMO_CLASSES.findIndex((_, i) => !ex.get('top').some((t) => t.index === i));
    const before = ex.computed;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { class_index: next } });
    await ex.settled();
    expect(statuses).toEqual(['busy', 'cancelled']);
    expect(ex.get('shown')?.class_index).not.toBe(next);
    expect(ex.computed).toBe(before);
    expect(() => fromFrontEnd(ex.modelId, { method: 'update', state: { class_index: 99 } })).toThrow(/out of range/);
    expect(() => fromFrontEnd(ex.modelId, { method: 'update', state: { layer: 'dense' } })).toThrow(/no spatial output/);
    expect(() => fromFrontEnd(ex.modelId, { method: 'custom', content: { event: 'explode' } })).toThrow(/unknown request/);
    ex.close();
    expect(ex.closed).toBe(true);
  });

  test("convention 'pytorch-grad-cam': each map equals the method's function with that convention; unknown conventions are refused", async () => {
    const ex = await CamExplorer.open(model, IMAGE, { display: false, convention: 'pytorch-grad-cam' });
    expect(ex.get('title')).toContain('pytorch-grad-cam convention');
    const cls = ex.get('class_index');
    const layer = ex.get('layer');
    let differs = 0;
    for (const id of ['gradcam', 'gradcampp', 'eigencam', 'scorecam', 'ablationcam', 'finercam', 'fullgrad']) {
      const opts = { classIndex: cls, layer, display: false as const };
      const run = explainMethod(id).run;
      const ref = await run(model, IMAGE, { ...opts, convention: 'pytorch-grad-cam' });
      const own = await run(model, IMAGE, opts);
      const map = (await ex.map(id, layer, cls)).data;
      expect([id, maxAbsDiff(map, ref.map.data)]).toEqual([id, 0]);
      differs = Math.max(differs, maxAbsDiff(map, own.map.data));
    }
    // The convention changes maps (Eigen-CAM's centring, Score-CAM on logits, ...): the comparison can fail.
    expect(differs).toBeGreaterThan(1e-3);
    await fromFrontEnd(ex.modelId, { method: 'update', state: { method: 'eigencam' } });
    await ex.settled();
    const shown = ex.get('shown') as { label: string; probability: number; layer: string };
    expect(ex.get('title')).toBe(`Eigen-CAM of '${shown.label}' (p = ${shown.probability.toFixed(2)}) at ${shown.layer} · demo · scene:7 · pytorch-grad-cam convention`);
    ex.close();
    await expect(CamExplorer.open(model, IMAGE, { display: false, convention: 'captum' })).rejects.toThrow(/the CAM explorer has no 'captum' convention; valid for it: cnnvis, pytorch-grad-cam/);
    await expect(CamExplorer.open(model, IMAGE, { display: false, convention: 'keras' as never })).rejects.toThrow(/unknown convention 'keras'; valid: cnnvis, pytorch-grad-cam, captum/);
  });

  test('methods: the whole CAM family is offered', () => {
    const ids = explorerMethods().map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['gradcam', 'gradcampp', 'xgradcam', 'layercam', 'hirescam', 'cam', 'eigencam', 'scorecam']));
  });
});

describe('FeatureMapExplorer', () => {
  test('pages hold the layer activation channel after channel; means, range and top channel match', async () => {
    const ex = await FeatureMapExplorer.open(model, IMAGE, { pageSize: 6, display: false });
    const st = frontEndState(ex.modelId);
    expect(st).toMatchObject({ _model_name: 'FeatureMapExplorerModel', _view_name: 'FeatureMapExplorerView', page: 0, page_size: 6 });
    const layers = st.layers as Array<{ name: string; shape: number[] }>;
    expect(layers.map((l) => l.name)).toEqual(model.spatialLayers());
    const index = st.layer_index as number;
    const input = prepareInput(model, IMAGE);
    const ref = layerActivation(model, input.batch, layers[index].name);
    input.batch.dispose();
    expect([st.tile_height, st.tile_width]).toEqual([ref.h, ref.w]);
    expect(st.page_channels).toEqual([0, 1, 2, 3, 4, 5]);
    expect(st.title).toBe(`Feature maps 0–5 of ${ref.c} of ${layers[index].name} (${ref.h}×${ref.w}) · demo · scene:7`);
    const page = new Float32Array((st.page_data as Uint8Array).slice().buffer);
    for (const [ch, y, x] of [[0, 0, 0], [3, 5, 7], [5, ref.h - 1, ref.w - 1]]) {
      expect(page[ch * ref.h * ref.w + y * ref.w + x]).toBeCloseTo(ref.data[(y * ref.w + x) * ref.c + ch], 5);
    }
    const means = new Float32Array((st.channel_means as Uint8Array).slice().buffer);
    expect(means).toHaveLength(ref.c);
    let sum = 0;
    for (let i = 0; i < ref.h * ref.w; i++) sum += ref.data[i * ref.c + 2];
    expect(means[2]).toBeCloseTo(sum / (ref.h * ref.w), 4);
    const top = st.top_channel as number;
    expect(Math.max(...means)).toBe(means[top]);
    expect(st.layer_max).toBeCloseTo(Math.max(...ref.data), 5);
    ex.close();
  });

  test('the layer slider re-slices the kept forward pass; pages clamp to the new layer', async () => {
    const ex = await FeatureMapExplorer.open(model, IMAGE, { pageSize: 8, display: false });
    await fromFrontEnd(ex.modelId, { method: 'update', state: { page: 3 } }); // block1 has 16 channels: 2 pages
    await ex.settled();
    expect(ex.get('page')).toBe(1);
    expect(ex.get('page_channels')).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    const last = ex.get('layers').length - 1;
    sent.length = 0;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { layer_index: last } });
    await ex.settled();
    const st = frontEndState(ex.modelId);
    expect(st.shown_layer).toBe(last);
    const shape = ex.get('layers')[last].shape;
    expect([ex.get('tile_height'), ex.get('tile_width')]).toEqual([shape[0], shape[1]]);
    expect(ex.get('page_data').length).toBe(8 * shape[0] * shape[1]);
    expect(() => fromFrontEnd(ex.modelId, { method: 'update', state: { layer_index: 99 } })).toThrow(/layer_index/);
    ex.close();
  });

  test('the snapshot keeps one quantized page per layer; mimeBundle carries PNG and text', async () => {
    const ex = await FeatureMapExplorer.open(model, IMAGE, { display: false });
    const bundle = ex.mimeBundle();
    const snap = bundle[RESULT_MIME] as FeatureMapResultData;
    expect(snap.kind).toBe('feature-maps');
    // the conv blocks' outputs (no pooling or padding layers), so a reopened notebook starts on a conv block
    expect(snap.layers.map((l) => l.name)).toEqual(convBlockOutputs(model));
    expect(snap.layers.map((l) => l.name)).not.toContain('block1_pool');
    const l0 = snap.layers[0];
    const bytes = base64ToBytes(l0.data);
    expect(bytes.length).toBe(l0.channels.length * l0.width * l0.height);
    expect(Math.max(l0.width, l0.height)).toBeLessThanOrEqual(32);
    // Tiles are subsampled by 2 (64 → 32); bytes are the activation scaled by the layer's range.
    const input = prepareInput(model, IMAGE);
    const ref = layerActivation(model, input.batch, l0.name);
    input.batch.dispose();
    for (const [ch, y, x] of [[0, 0, 0], [5, 7, 11], [l0.channels.length - 1, 31, 31]]) {
      const v = ref.data[(2 * y * ref.w + 2 * x) * ref.c + ch];
      expect(bytes[ch * 32 * 32 + y * 32 + x]).toBe(Math.round(((v - l0.min) / (l0.max - l0.min)) * 255));
    }
    expect(bundle['image/png']).toBeInstanceOf(Uint8Array);
    expect(bundle['text/plain']).toMatch(/^FeatureMapExplorer\(demo, scene:7: block1_conv\d/);
    const png = ex.picture();
    expect(png.width).toBeGreaterThan(64);
    ex.close();
  });
});

describe('SaliencyExplorer', () => {
  test('opens on the top class; every method’s map equals the direct call on the same image and class', async () => {
    const shown: DisplayMessage[] = [];
    useDisplayWriter((m) => shown.push(m));
    const ex = await SaliencyExplorer.open(model, IMAGE, { topK: 3 });
    const st = frontEndState(ex.modelId);
    expect(st).toMatchObject({ _model_name: 'SaliencyExplorerModel', _view_name: 'SaliencyExplorerView', method: 'saliency', status: 'idle', signed: false });
    expect((st.methods as Array<{ id: string }>).map((m) => m.id)).toEqual(['saliency', 'gradxinput', 'guided-backprop', 'deconvnet', 'smoothgrad', 'integrated-gradients', 'guided-gradcam']);
    const top = st.top as Array<{ index: number }>;
    expect(st.class_index).toBe(top[0].index);
    const ref = await saliencyFn(model, IMAGE, { classIndex: top[0].index, display: false });
    expect((await ex.map('saliency', top[0].index)).data).toEqual(ref.map.data);
    // The bytes sent are the map over its colour range.
    const m = ref.range().max;
    const bytes = st.heatmap as Uint8Array;
    for (const i of [0, 1000, 2080, 4095]) expect(bytes[i]).toBe(Math.round(Math.min(1, ref.map.data[i] / m) * 255));
    expect(st.range_max).toBeCloseTo(m, 6);
    const bundle = shown[0].data as Record<string, unknown>;
    const snap = bundle[RESULT_MIME] as SaliencyResultData;
    expect(snap.kind).toBe('saliency');
    expect(new Set(snap.maps.map((x) => x.method))).toEqual(new Set(['saliency', 'gradxinput', 'guided-backprop', 'deconvnet']));
    expect(snap.maps.filter((x) => x.method === 'saliency').map((x) => x.index)).toEqual(top.map((t) => t.index));
    expect(Buffer.from(bundle['image/png'] as string, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(bundle['text/plain']).toMatch(/^SaliencyExplorer\(Saliency, demo, scene:7: class \d+ '/);

    // Other methods and classes from the front end: the same numbers as the library's functions.
    const other = DEMO_CLASSES.findIndex((_, i) => i !== top[0].index);
    const cases: Array<[string, (o: { classIndex: number; display: false }) => Promise<{ map: { data: Float32Array } }>]> = [
      ['gradxinput', (o) => gradientXInput(model, IMAGE, o)],
      ['guided-backprop', (o) => guidedBackprop(model, IMAGE, o)],
      ['deconvnet', (o) => deconvnet(model, IMAGE, o)],
      ['integrated-gradients', (o) => integratedGradients(model, IMAGE, o)],
      ['smoothgrad', (o) => smoothGrad(model, IMAGE, o)],
      ['guided-gradcam', (o) => guidedGradCam(model, IMAGE, o)],
    ];
    for (const [id, fn] of cases) {
      await fromFrontEnd(ex.modelId, { method: 'update', state: { method: id, class_index: other } });
      await ex.settled();
      expect(ex.get('shown')).toMatchObject({ method: id, class_index: other });
      const r = await fn({ classIndex: other, display: false });
      expect((await ex.map(id, other)).data).toEqual(r.map.data);
      expect(ex.get('signed')).toBe(!['smoothgrad'].includes(id));
    }
    ex.close();
  });

  test("convention 'captum': Integrated Gradients as integratedGradients(..., {convention: 'captum'}), other maps unchanged", async () => {
    const ex = await SaliencyExplorer.open(model, IMAGE, { display: false, convention: 'captum', method: 'integrated-gradients' });
    const cls = ex.get('class_index');
    const ref = await integratedGradients(model, IMAGE, { classIndex: cls, convention: 'captum', display: false });
    const own = await integratedGradients(model, IMAGE, { classIndex: cls, display: false });
    const map = (await ex.map('integrated-gradients', cls)).data;
    expect(maxAbsDiff(map, ref.map.data)).toBe(0);
    expect(maxAbsDiff(map, own.map.data)).toBeGreaterThan(1e-3 * maxAbsDiff(own.map.data, new Float32Array(own.map.data.length)));
    expect(ex.get('title')).toContain('captum convention');
    expect((await ex.map('saliency', cls)).data).toEqual((await saliencyFn(model, IMAGE, { classIndex: cls, display: false })).map.data);
    ex.close();
    await expect(SaliencyExplorer.open(model, IMAGE, { display: false, convention: 'pytorch-grad-cam' })).rejects.toThrow(/the saliency explorer has no 'pytorch-grad-cam' convention; valid for it: cnnvis, captum/);
  });

  test('recompute only what a change needs; latest value only; no tensors left behind', async () => {
    const ex = await SaliencyExplorer.open(model, IMAGE, { display: false, method: 'guided-backprop' });
    const before = ex.computed;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { opacity: 0.9, colormap: 'magma' } });
    await ex.settled();
    expect(ex.computed).toBe(before);
    const values = [1, 2, 3, 0, 2, 1, 3].map((v) => (v + ex.get('class_index') + 1) % DEMO_CLASSES.length);
    const pending = values.map((v) => fromFrontEnd(ex.modelId, { method: 'update', state: { class_index: v } }));
    await Promise.all(pending);
    await ex.settled();
    expect(ex.get('shown')?.class_index).toBe(values[values.length - 1]);
    expect(ex.computed - before).toBeLessThanOrEqual(2);
    // Back to a class seen before: cached.
    const n = ex.computed;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { class_index: ex.get('top')[0].index } });
    await ex.settled();
    expect(ex.computed).toBe(n);
    expect(() => fromFrontEnd(ex.modelId, { method: 'update', state: { method: 'occlusion' } })).toThrow(/own explorer/);
    expect(() => fromFrontEnd(ex.modelId, { method: 'update', state: { method: 'nope' } })).toThrow(/unknown attribution method/);
    ex.close();
    // Tensor count stays flat over opening, many changes and closing.
    const t0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const e = await SaliencyExplorer.open(model, IMAGE, { display: false, method: i === 2 ? 'integrated-gradients' : 'saliency', methodOptions: { steps: 4 } });
      await fromFrontEnd(e.modelId, { method: 'update', state: { class_index: (i + 1) % DEMO_CLASSES.length, method: 'guided-gradcam' } });
      await e.settled();
      e.close();
    }
    expect(tf.memory().numTensors).toBe(t0);
  });
});

describe('OcclusionExplorer', () => {
  test('the map equals cnnvis.occlusion; a class change or a threshold change runs no forward pass', async () => {
    const shown: DisplayMessage[] = [];
    useDisplayWriter((m) => shown.push(m));
    const ex = await OcclusionExplorer.open(model, IMAGE, { patchSize: 16, stride: 8, threshold: 0.4, topK: 3 });
    const st = frontEndState(ex.modelId);
    expect(st).toMatchObject({ _model_name: 'OcclusionExplorerModel', _view_name: 'OcclusionExplorerView', patch_size: 16, stride: 8, threshold: 0.4, map_width: 64, map_height: 64 });
    const cls = st.class_index as number;
    const ref = await occlusionFn(model, IMAGE, { classIndex: cls, patchSize: 16, stride: 8, display: false });
    const sentMap = new Float32Array((st.map as Uint8Array).slice().buffer);
    expect(sentMap).toEqual(ref.map.data);
    expect(ex.forwards).toBe(7 * 7);
    expect(ex.get('shown')).toMatchObject({ class_index: cls, patches: 49 });
    // The mask is the library's thresholded occlusion mask.
    expect(ex.mask().data).toEqual(occlusionMask(ref, { threshold: 0.4 }).mask.data);
    const bundle = shown[0].data as Record<string, unknown>;
    const snap = bundle[RESULT_MIME] as OcclusionResultData;
    expect(snap).toMatchObject({ kind: 'occlusion', patch_size: 16, stride: 8, threshold: 0.4 });
    expect(snap.maps.map((m) => m.index)).toEqual((st.top as Array<{ index: number }>).map((t) => t.index));
    expect(base64ToFloats(snap.maps[0].map)).toEqual(ref.map.data);
    expect(bundle['text/plain']).toMatch(/^OcclusionExplorer\(demo, scene:7: class \d+ .*patch 16 stride 8 \(49 patches\), threshold 0.4 keeps/);
    // Map over the photo | masked photo, each 64 px enlarged ×5 (explorers draw small models at least 320 px wide).
    expect(ex.picture().width).toBe(320 * 2 + 4);

    // Threshold: no kernel work at all, nothing but the echo goes out.
    sent.length = 0;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { threshold: 0.8 } });
    await ex.settled();
    expect(ex.forwards).toBe(49);
    expect(updatesWith(ex.modelId, 'map')).toHaveLength(0);
    expect(ex.mask().data).toEqual(occlusionMask(ref, { threshold: 0.8 }).mask.data);
    // Another class: from the kept run, equal to the direct call.
    const other = DEMO_CLASSES.findIndex((_, i) => i !== cls);
    await fromFrontEnd(ex.modelId, { method: 'update', state: { class_index: other } });
    await ex.settled();
    expect(ex.forwards).toBe(49);
    const ref2 = await occlusionFn(model, IMAGE, { classIndex: other, patchSize: 16, stride: 8, display: false });
    expect(ex.get('map')).toEqual(ref2.map.data);
    // A new stride runs again: 8 × 8 patches with stride 7 (origins 0, 7, …, 42, 48).
    await fromFrontEnd(ex.modelId, { method: 'update', state: { stride: 7 } });
    await ex.settled();
    const ref3 = await occlusionFn(model, IMAGE, { classIndex: other, patchSize: 16, stride: 7, display: false });
    expect(ex.get('map')).toEqual(ref3.map.data);
    expect(ex.forwards).toBe(49 + 64);
    expect(() => fromFrontEnd(ex.modelId, { method: 'update', state: { patch_size: 65 } })).toThrow(/patch size/);
    expect(() => fromFrontEnd(ex.modelId, { method: 'update', state: { threshold: 2 } })).toThrow(/threshold/);
    ex.close();
  });

  test('progress while running, cancel stops it, only the latest geometry is computed, tensors flat', async () => {
    const ex = await OcclusionExplorer.open(model, IMAGE, { display: false, patchSize: 8, stride: 8, batchSize: 8 });
    const progress: number[] = [];
    let cancelled = false;
    // The front end cancels once it sees a quarter done.
    ex.observe((c) => {
      progress.push(c.new as number);
      if (!cancelled && (c.new as number) >= 0.25 && ex.get('status') === 'busy') {
        cancelled = true;
        fromFrontEnd(ex.modelId, { method: 'custom', content: { event: 'cancel' } });
      }
    }, 'progress');
    const f0 = ex.forwards;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { stride: 4 } }); // 15 × 15 patches
    await ex.settled();
    expect(ex.get('status')).toBe('cancelled');
    expect(ex.forwards - f0).toBeLessThan(225);
    expect(progress.some((p) => p > 0 && p < 1)).toBe(true);
    expect(ex.get('shown')?.stride).toBe(8);
    // Dragging the stride slider: only the last value runs (the first may start, then stops).
    const f1 = ex.forwards;
    const pending = [7, 6, 5, 3].map((v) => fromFrontEnd(ex.modelId, { method: 'update', state: { stride: v } }));
    await Promise.all(pending);
    await ex.settled();
    expect(ex.get('shown')?.stride).toBe(3);
    const full = 19 * 19; // origins 0, 3, …, 54, 56
    expect(ex.forwards - f1).toBeLessThan(full + 64);
    expect(ex.get('status')).toBe('idle');
    ex.close();
    const t0 = tf.memory().numTensors;
    const e = await OcclusionExplorer.open(model, IMAGE, { display: false, patchSize: 16, stride: 16 });
    await fromFrontEnd(e.modelId, { method: 'update', state: { patch_size: 32, class_index: 2 } });
    await e.settled();
    e.close();
    expect(tf.memory().numTensors).toBe(t0);
  });
});

describe('FilterExplorer', () => {
  const bytesOf = (m: { data: Float32Array }) => {
    const lo = Math.min(...m.data);
    const hi = Math.max(...m.data);
    return Array.from(m.data, (v) => (hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 0));
  };

  test('weights: first layer as RGB tiles, deeper layers per input channel, as cnnvis.filters reads them', async () => {
    const shown: DisplayMessage[] = [];
    useDisplayWriter((m) => shown.push(m));
    const ex = await FilterExplorer.open(model, { pageSize: 4, inputChannels: 3 });
    const st = frontEndState(ex.modelId);
    expect(st).toMatchObject({ _model_name: 'FilterExplorerModel', _view_name: 'FilterExplorerView', mode: 'weights', page_filters: [0, 1, 2, 3], weight_channels: 4, tiles_per_filter: 1 });
    const layers = st.layers as Array<{ name: string; view: string; shape: number[]; filters: number }>;
    expect(layers.map((l) => l.name)).toEqual(convLayerNames(model));
    expect(layers[0]).toMatchObject({ view: 'rgb', filters: 16 });
    const ref = await filtersFn(model, { layer: layers[0].name, display: false });
    const [kh, kw, cin, cout] = ref.shape;
    expect([st.weight_height, st.weight_width]).toEqual([kh, kw]);
    const w = st.weights as Uint8Array;
    // Filter 2, RGB normalized over the filter's own weights.
    const vals = Array.from({ length: kh * kw * 3 }, (_, i) => ref.kernel[(Math.floor(i / 3) * cin + (i % 3)) * cout + 2]);
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    for (const [p, c] of [[0, 0], [4, 1], [8, 2]]) {
      expect(w[(2 * kh * kw + p) * 4 + c]).toBe(Math.round(((ref.kernel[(p * cin + c) * cout + 2] - lo) / (hi - lo)) * 255));
    }
    expect((st.filter_norms as number[])[3]).toBeCloseTo(ref.perFilter[3].norm, 5);
    // A deeper layer: a row of grey tiles per filter, one per input channel.
    await fromFrontEnd(ex.modelId, { method: 'update', state: { layer_index: 1, page: 1 } });
    await ex.settled();
    const ref1 = await filtersFn(model, { layer: layers[1].name, display: false });
    const [h1, w1, c1, o1] = ref1.shape;
    expect(ex.get('page_filters')).toEqual([4, 5, 6, 7]);
    expect([ex.get('tiles_per_filter'), ex.get('weight_channels')]).toEqual([3, 1]);
    const tile = (f: number, c: number) => ({ data: Float32Array.from({ length: h1 * w1 }, (_, p) => ref1.kernel[(p * c1 + c) * o1 + f]) });
    const wb = ex.get('weights');
    // page tile 5 = filter 5 (second on the page), input channel 2
    expect(Array.from(wb.subarray((1 * 3 + 2) * h1 * w1, (1 * 3 + 3) * h1 * w1))).toEqual(bytesOf(tile(5, 2)));
    const bundle = shown[0].data as Record<string, unknown>;
    const snap = bundle[RESULT_MIME] as FilterResultData;
    expect(snap.kind).toBe('filters');
    expect(snap.layers.map((l) => l.name)).toEqual(layers.map((l) => l.name));
    expect(bundle['text/plain']).toMatch(/^FilterExplorer\(demo: block1_conv1 kernel 3×3×3×16, rgb view, filters 0–3 of 16\)/);
    expect(() => fromFrontEnd(ex.modelId, { method: 'update', state: { mode: 'dream' } })).toThrow(/unknown mode/);
    ex.close();
  });

  test('depthwise layers: one grey tile per channel', async () => {
    const input = tf.input({ shape: [16, 16, 3] });
    const x1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c1' }).apply(input) as tf.SymbolicTensor;
    const x2 = tf.layers.depthwiseConv2d({ kernelSize: 3, name: 'dw' }).apply(x1) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(tf.layers.flatten().apply(x2) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const tiny = new CnnModel(tf.model({ inputs: input, outputs: out }), { name: 'tiny', preprocess: 'unit' });
    const ex = await FilterExplorer.open(tiny, { display: false, layer: 'dw' });
    expect(ex.get('layers').map((l) => [l.name, l.view, l.filters])).toEqual([['c1', 'rgb', 4], ['dw', 'depthwise', 4]]);
    const ref = await filtersFn(tiny, { layer: 'dw', display: false });
    const tile = { data: Float32Array.from({ length: 9 }, (_, p) => ref.kernel[p * 4 + 3]) };
    expect(Array.from(ex.get('weights').subarray(3 * 9, 4 * 9))).toEqual(bytesOf(tile));
    ex.close();
    tiny.net.dispose();
  });

  test('1×1 layers: a cell per input channel on one signed layer scale; dead filters flagged; scaling switch; snapshot', async () => {
    const input = tf.input({ shape: [16, 16, 3] });
    const x1 = tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'c1' }).apply(input) as tf.SymbolicTensor;
    const x2 = tf.layers.conv2d({ filters: 6, kernelSize: 1, name: 'pw' }).apply(x1) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(tf.layers.flatten().apply(x2) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const net = tf.model({ inputs: input, outputs: out });
    const pw = net.getLayer('pw');
    const [kw0, b0] = pw.getWeights();
    // Filter 4 zeroed.
    const k = Float32Array.from(kw0.dataSync(), (v, i) => (i % 6 === 4 ? 0 : v));
    pw.setWeights([tf.tensor(k, kw0.shape), b0]);
    const tiny = new CnnModel(net, { name: 'tiny', preprocess: 'unit' });
    const ex = await FilterExplorer.open(tiny, { display: false, layer: 'pw', pageSize: 6 });
    expect(ex.get('layers').map((l) => [l.name, l.view, l.filters])).toEqual([['c1', 'rgb', 5], ['pw', 'pointwise', 6]]);
    const m = Math.max(...Array.from(k, Math.abs));
    expect(ex.state).toMatchObject({ scaling: 'auto', weight_scaling: 'layer', weight_range: [-m, m], weight_diverging: true, weight_cells: 5, weight_width: 3, weight_height: 2, weight_channels: 1, tiles_per_filter: 1 });
    expect(ex.get('filter_dead')).toEqual([false, false, false, false, true, false]);
    // Byte j of tile f is input channel j's weight on [-m, m]; the sixth cell is empty.
    const w = ex.get('weights');
    expect(w.length).toBe(6 * 6);
    for (let f = 0; f < 6; f++) {
      for (let c = 0; c < 5; c++) expect(Math.abs(-m + (w[f * 6 + c] / 255) * 2 * m - k[c * 6 + f])).toBeLessThanOrEqual((m / 255) * 1.01);
    }
    expect(w[4 * 6 + 2]).toBe(128); // a zero weight sits at the middle of the scale
    // Per tile on request: each filter's own range.
    await fromFrontEnd(ex.modelId, { method: 'update', state: { scaling: 'tile' } });
    await ex.settled();
    expect([ex.get('weight_scaling'), ex.get('weight_diverging')]).toEqual(['tile', false]);
    expect(Array.from(ex.get('weights').subarray(6, 11))).toEqual(bytesOf({ data: Float32Array.from({ length: 5 }, (_, c) => k[c * 6 + 1]) }));
    await fromFrontEnd(ex.modelId, { method: 'update', state: { scaling: 'layer', layer_index: 0 } });
    await ex.settled();
    expect([ex.get('weight_scaling'), ex.get('weight_cells')]).toEqual(['layer', 9]);
    const snap = ex.mimeBundle()[RESULT_MIME] as FilterResultData;
    // The snapshot keeps each page as it was last shown: pw per tile, c1 on the layer scale.
    const spw = snap.layers.find((l) => l.name === 'pw');
    expect(spw).toMatchObject({ view: 'pointwise', scaling: 'tile', range: [-m, m], diverging: false, cells: 5, width: 3, height: 2, dead: [false, false, false, false, true, false] });
    expect(Array.from(base64ToBytes(spw?.weights as string).subarray(6, 11))).toEqual(bytesOf({ data: Float32Array.from({ length: 5 }, (_, c) => k[c * 6 + 1]) }));
    expect(snap.layers.find((l) => l.name === 'c1')).toMatchObject({ scaling: 'layer', cells: 9 });
    expect(snap.layers[snap.shown as number].name).toBe('c1');
    ex.close();
    tiny.net.dispose();
  });

  test('moving the layer stops activation maximization; the title names the layer the patterns are for', async () => {
    const ex = await FilterExplorer.open(model, { display: false, pageSize: 2, steps: 2, patternSize: 16, mode: 'patterns' });
    const layers = ex.get('layers');
    const first = layers[0].name;
    // "(3×3, 3 input channels)": the kernel's size and inputs, from the layer's shape.
    const kernel = (i: number) => `(${layers[i].shape[0]}×${layers[i].shape[1]}, ${layers[i].shape[2]} input channels)`;
    expect(ex.get('title')).toBe(`Patterns of filters 0–1 of ${layers[0].filters} from activation maximization of ${first} ${kernel(0)} · demo`);
    expect(ex.computed).toBe(2);
    await fromFrontEnd(ex.modelId, { method: 'update', state: { layer_index: 1 } });
    await ex.settled();
    expect(ex.get('mode')).toBe('weights');
    expect(ex.get('title')).toBe(`Filters 0–1 of ${layers[1].filters} of ${layers[1].name} ${kernel(1)} · demo`);
    expect(ex.computed).toBe(2);
    // Asking again on the new layer runs it there; a page change keeps it on.
    await fromFrontEnd(ex.modelId, { method: 'update', state: { mode: 'patterns' } });
    await fromFrontEnd(ex.modelId, { method: 'update', state: { page: 1 } });
    await ex.settled();
    expect([ex.get('mode'), ex.get('pattern_filters'), ex.get('shown_layer')]).toEqual(['patterns', [2, 3], 1]);
    // Moved while it runs: it stops there, nothing more is made, the new layer shows its weights.
    const made = ex.computed;
    let moved = false;
    ex.observe((c) => {
      if (!moved && (c.new as number) > 0 && ex.get('status') === 'busy') {
        moved = true;
        fromFrontEnd(ex.modelId, { method: 'update', state: { layer_index: 2 } });
      }
    }, 'progress');
    await fromFrontEnd(ex.modelId, { method: 'update', state: { page: 2 } });
    await ex.settled();
    expect(moved).toBe(true);
    expect([ex.computed, ex.get('mode'), ex.get('shown_layer'), ex.get('status')]).toEqual([made, 'weights', 2, 'idle']);
    const [a, b] = ex.get('page_filters');
    expect(ex.get('title')).toBe(`Filters ${a}–${b} of ${layers[2].filters} of ${layers[2].name} ${kernel(2)} · demo`);
    ex.close();
  });

  test('patterns on demand equal filterPatterns; kept; progress; cancel; latest page only; tensors flat', async () => {
    const ex = await FilterExplorer.open(model, { display: false, pageSize: 2, steps: 4, patternSize: 32 });
    expect(ex.computed).toBe(0);
    const progress: number[] = [];
    ex.observe((c) => progress.push(c.new as number), 'progress');
    await fromFrontEnd(ex.modelId, { method: 'update', state: { mode: 'patterns' } });
    await ex.settled();
    expect(ex.get('message')).toBe('');
    expect(ex.computed).toBe(2);
    expect(progress.filter((p) => p > 0 && p < 1).length).toBeGreaterThanOrEqual(2);
    const layer = ex.get('layers')[0].name;
    const ref = await filterPatterns(model, layer, { channels: [0, 1], batchSize: 2, steps: 4, size: 32, display: false, progress: false, preview: 0 });
    expect([ex.get('pattern_width'), ex.get('pattern_height')]).toEqual([32, 32]);
    expect(ex.get('pattern_filters')).toEqual([0, 1]);
    expect(Array.from(ex.get('patterns').subarray(32 * 32 * 4, 32 * 32 * 8))).toEqual(Array.from(toRGBA(ref.pixels[1], 32, 32).data));
    expect(ex.get('pattern_values')[0]).toBeCloseTo(ref.finalValues[0], 4);
    // Weights and back: the patterns are kept.
    await fromFrontEnd(ex.modelId, { method: 'update', state: { mode: 'weights' } });
    await fromFrontEnd(ex.modelId, { method: 'update', state: { mode: 'patterns' } });
    await ex.settled();
    expect(ex.computed).toBe(2);
    // Cancel half-way through the next page.
    let cancelled = false;
    ex.observe((c) => {
      if (!cancelled && (c.new as number) >= 0.5 && ex.get('status') === 'busy') {
        cancelled = true;
        fromFrontEnd(ex.modelId, { method: 'custom', content: { event: 'cancel' } });
      }
    }, 'progress');
    const t0 = tf.memory().numTensors;
    await fromFrontEnd(ex.modelId, { method: 'update', state: { page: 1 } });
    await ex.settled();
    expect(ex.get('status')).toBe('cancelled');
    expect(ex.computed).toBe(2);
    expect(tf.memory().numTensors).toBe(t0);
    // Dragging the page slider: only the latest page is optimized (the first may have started).
    const pending = [3, 4, 5, 6].map((p) => fromFrontEnd(ex.modelId, { method: 'update', state: { page: p } }));
    await Promise.all(pending);
    await ex.settled();
    expect(ex.get('pattern_filters')).toEqual([12, 13]);
    expect(ex.computed - 2).toBeLessThanOrEqual(4);
    expect(ex.get('status')).toBe('idle');
    const snap = ex.mimeBundle()[RESULT_MIME] as FilterResultData;
    expect(snap.layers[snap.shown as number].patterns?.filters).toEqual([12, 13]);
    expect(tf.memory().numTensors).toBe(t0);
    ex.close();
  });
});

describe('snapshots keep what was explored', () => {
  /** The snapshot messages (ExplorerSnapshotMessage) sent to the front end of model `id`. */
  const snapshotsOf = (id: string) =>
    sent
      .filter((x) => x.type === 'comm_msg' && x.content.comm_id === id && data(x).method === 'custom')
      .map((x) => data(x).content as unknown as ExplorerSnapshotMessage)
      .filter((m) => m.event === 'snapshot');
  /** Waits for the snapshot the explorer sends after the last change. */
  const nextSnapshot = async (ex: Explorer<never>, id: string) => {
    await ex.settled();
    const n = ex.snapshotsSent;
    for (let t = 0; t < 100 && ex.snapshotsSent === n; t++) await new Promise((r) => setTimeout(r, 20));
    const all = snapshotsOf(id);
    return all[all.length - 1].data;
  };
  const CAT_DOG = path.join(IMAGES, 'cat_dog.png');
  const TIGER_CAT = 282;

  test('MobileNet CAM: every class (one found by search), layer and method computed is saved, equal to the functions; the budget keeps the latest', async () => {
    const mobilenet = await loadModel('mobilenet_v1_0.25_224');
    expect(mobilenet.label(TIGER_CAT)).toBe('tiger_cat');
    const ex = await CamExplorer.open(mobilenet, CAT_DOG, { display: false, topK: 3 });
    const id = ex.modelId;
    expect(ex.snapshotBudget).toBe(DEFAULT_SNAPSHOT_BYTES);
    const last = ex.get('layer');
    const other = 'conv_pw_11_relu';
    expect(ex.get('layers')).toContain(other);
    // tiger cat is not among the top 3: the user found it with the search box (the slider sends its index).
    expect(ex.get('top').map((t) => t.index)).not.toContain(TIGER_CAT);
    for (const change of [{ class_index: TIGER_CAT }, { layer: other }, { method: 'gradcampp' }]) {
      await fromFrontEnd(id, { method: 'update', state: change });
      await ex.settled();
    }
    const bundle = await nextSnapshot(ex as unknown as Explorer<never>, id);
    const snap = bundle[RESULT_MIME] as CamResultData;
    expect(Buffer.from(bundle['image/png'] as string, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(bundle['text/plain']).toMatch(/^CamExplorer\(Grad-CAM\+\+, mobilenet_v1_0.25_224, cat_dog.png: class 282 'tiger_cat'/);
    const keys = snap.maps.map((m) => `${m.method} ${m.layer} ${m.index}`);
    const top = ex.get('top').map((t) => t.index);
    expect(keys).toEqual([...top.map((i) => `gradcam ${last} ${i}`), `gradcam ${last} ${TIGER_CAT}`, `gradcam ${other} ${TIGER_CAT}`, `gradcampp ${other} ${TIGER_CAT}`]);
    expect(snap.shown).toBe(keys.length - 1);
    expect(snap.methods).toEqual([{ id: 'gradcam', name: 'Grad-CAM' }, { id: 'gradcampp', name: 'Grad-CAM++' }]);
    expect(snap.saved).toMatchObject({ budget: DEFAULT_SNAPSHOT_BYTES, count: keys.length, dropped: [] });
    // The live view's state carries the same size line the snapshot has; the title reads as a sentence.
    expect(ex.get('snapshot_info')).toEqual(snap.saved);
    expect(snap.saved?.bytes).toBe(snap.maps.reduce((a, m) => a + JSON.stringify(m).length, 0));
    const p = (snap.maps[5].probability as number).toFixed(2);
    expect(ex.get('title')).toBe(`Grad-CAM++ of 'tiger_cat' (p = ${p}) at conv_pw_11_relu · mobilenet_v1_0.25_224 · cat_dog.png`);
    expect(snap.title).toBe('mobilenet_v1_0.25_224 · cat_dog.png');
    // Each saved map is the library's function on the same image, class and layer.
    const refs = [
      [snap.maps[3], await gradCam(mobilenet, CAT_DOG, { classIndex: TIGER_CAT, display: false })],
      [snap.maps[4], await gradCam(mobilenet, CAT_DOG, { classIndex: TIGER_CAT, layer: other, display: false })],
      [snap.maps[5], await gradCamPlusPlus(mobilenet, CAT_DOG, { classIndex: TIGER_CAT, layer: other, display: false })],
    ] as const;
    for (const [m, ref] of refs) expectMapBytes(base64ToBytes(m.heatmap), ref.map.data);
    expect(base64ToBytes(snap.maps[4].heatmap)).not.toEqual(base64ToBytes(snap.maps[3].heatmap));
    // The mimeBundle (Out[n] when re-shown) is the same snapshot.
    expect(ex.mimeBundle()[RESULT_MIME]).toEqual(snap);

    // A budget of two maps: the latest two are kept, the note names what was dropped.
    const per = JSON.stringify(snap.maps[5]).length;
    ex.snapshotBudget = 2 * per + 10;
    const small = (await nextSnapshot(ex as unknown as Explorer<never>, id))[RESULT_MIME] as CamResultData;
    expect(small.maps.map((m) => `${m.method} ${m.layer} ${m.index}`)).toEqual(keys.slice(-2));
    expect(small.saved?.bytes).toBeLessThanOrEqual(2 * per + 10);
    expect(small.saved?.dropped).toHaveLength(4);
    expect(small.saved?.dropped[3]).toBe(`Grad-CAM at ${last} for class 282 'tiger_cat'`);
    expect(small.shown).toBe(1);
    expect(ex.get('snapshot_info')).toEqual(small.saved);
    // Going back to a dropped map saves it again as the latest.
    await fromFrontEnd(id, { method: 'update', state: { method: 'gradcam', layer: last } });
    const again = (await nextSnapshot(ex as unknown as Explorer<never>, id))[RESULT_MIME] as CamResultData;
    expect(again.maps.map((m) => `${m.method} ${m.layer} ${m.index}`)).toEqual([keys[5], keys[3]]);
    expect(again.saved?.dropped).not.toContain(`Grad-CAM at ${last} for class 282 'tiger_cat'`);
    expect(() => (ex.snapshotBudget = -1)).toThrow(/snapshot must be a byte budget/);
    ex.close();
    await expect(CamExplorer.open(mobilenet, CAT_DOG, { display: false, snapshot: 1.5 })).rejects.toThrow(/snapshot must be a byte budget.*got 1.5/);
  });

  test('MobileNet filters: every conv layer (conv_dw_1 too) and each page shown, with patterns, their steps and values', async () => {
    const mobilenet = await loadModel('mobilenet_v1_0.25_224');
    const ex = await FilterExplorer.open(mobilenet, { display: false, pageSize: 4, patternSize: 32, steps: 3 });
    const id = ex.modelId;
    const names = convLayerNames(mobilenet);
    expect(names).toContain('conv_dw_1');
    let snap = ex.mimeBundle()[RESULT_MIME] as FilterResultData;
    expect(snap.layers.map((l) => l.name)).toEqual(names);
    expect(snap.layers.every((l) => l.page === 0 && l.patterns === null)).toBe(true);
    const dw = names.indexOf('conv_dw_1');
    for (const change of [{ layer_index: dw }, { page: 1 }, { mode: 'patterns' }]) {
      await fromFrontEnd(id, { method: 'update', state: change });
      await ex.settled();
    }
    const values = ex.get('pattern_values');
    expect(ex.get('pattern_filters')).toEqual([4, 5, 6, 7]);
    expect(ex.get('title')).toBe('Patterns of filters 4–7 of 8 from activation maximization of conv_dw_1 (3×3 depthwise, 8 channels) · mobilenet_v1_0.25_224');
    // Back to weights: the page keeps its patterns in the snapshot.
    await fromFrontEnd(id, { method: 'update', state: { mode: 'weights' } });
    snap = (await nextSnapshot(ex as unknown as Explorer<never>, id))[RESULT_MIME] as FilterResultData;
    const pages = snap.layers.filter((l) => l.name === 'conv_dw_1');
    expect(pages.map((l) => [l.page, l.page_filters])).toEqual([[0, [0, 1, 2, 3]], [1, [4, 5, 6, 7]]]);
    const saved = pages[1];
    expect(snap.layers[snap.shown as number]).toBe(saved);
    expect(saved.patterns).toMatchObject({ filters: [4, 5, 6, 7], steps: 3, width: 32, height: 32, values });
    expect(base64ToBytes(saved.patterns?.rgba as string).length).toBe(4 * 32 * 32 * 4);
    // The weights are the depthwise kernels' channels 4..7 (one byte per weight over each tile's range).
    const ref = ex.weightTiles(dw, [4, 5, 6, 7], 8, 'auto');
    expect(base64ToBytes(saved.weights)).toEqual(ref.weights);
    const k = mobilenet.layer('conv_dw_1').getWeights()[0].dataSync() as Float32Array; // [3, 3, 8, 1]
    const tile5 = Array.from({ length: 9 }, (_, j) => k[j * 8 + 5]);
    const lo = Math.min(...tile5);
    const hi = Math.max(...tile5);
    expect(Array.from(base64ToBytes(saved.weights).subarray(9, 18))).toEqual(tile5.map((v) => Math.round(((v - lo) / (hi - lo)) * 255)));
    expect(saved.norms[1]).toBeCloseTo(Math.hypot(...tile5), 5);
    expect(snap.saved?.count).toBe(names.length + 1);
    // A pointwise layer names its kernel size and inputs ([1, 1, 8, 16] in MobileNet v1 0.25); the page is kept.
    await fromFrontEnd(id, { method: 'update', state: { layer_index: names.indexOf('conv_pw_1') } });
    await ex.settled();
    expect(ex.get('title')).toBe('Filters 4–7 of 16 of conv_pw_1 (1×1, 8 input channels) · mobilenet_v1_0.25_224');
    ex.close();
  });

  test('feature maps, saliency and occlusion save every page, method and geometry shown', async () => {
    const fm = await FeatureMapExplorer.open(model, IMAGE, { display: false, pageSize: 8 });
    const last = fm.get('layers').length - 1;
    for (const change of [{ layer_index: last }, { page: 1 }]) {
      await fromFrontEnd(fm.modelId, { method: 'update', state: change });
      await fm.settled();
    }
    const fsnap = fm.mimeBundle()[RESULT_MIME] as FeatureMapResultData;
    const lastName = fm.get('layers')[last].name;
    const lastPages = fsnap.layers.filter((l) => l.name === lastName);
    expect(lastPages.map((l) => [l.page, l.channels[0]])).toEqual([[0, 0], [1, 8]]);
    expect(fsnap.layers[fsnap.shown as number]).toBe(lastPages[1]);
    expect(fsnap.page_size).toBe(8);
    fm.close();

    const sal = await SaliencyExplorer.open(model, IMAGE, { display: false, topK: 2, methodOptions: { samples: 4, steps: 4 } });
    const cls = DEMO_CLASSES.findIndex((_, i) => !sal.get('top').some((t) => t.index === i));
    for (const change of [{ method: 'smoothgrad' }, { class_index: cls }]) {
      await fromFrontEnd(sal.modelId, { method: 'update', state: change });
      await sal.settled();
    }
    const ssnap = sal.mimeBundle()[RESULT_MIME] as SaliencyResultData;
    const shown = ssnap.maps[ssnap.shown as number];
    expect([shown.method, shown.index]).toEqual(['smoothgrad', cls]);
    expect(ssnap.maps.filter((m) => m.method === 'smoothgrad').map((m) => m.index)).toEqual([sal.get('top')[0].index, cls]);
    expect(ssnap.methods?.find((m) => m.id === 'smoothgrad')?.name).toBe('SmoothGrad');
    // The saved map is the map sent to the live view: SmoothGrad's raw map over its clipped range.
    const ref = await sal.map('smoothgrad', cls);
    expect(base64ToBytes(shown.heatmap)).toEqual(frontEndState(sal.modelId).heatmap);
    expect(shown.range_max).toBe(sal.get('range_max'));
    expect(base64ToBytes(shown.heatmap)).toEqual(saliencyBytes(ref, shown.signed, shown.range_max));
    sal.close();

    const occ = await OcclusionExplorer.open(model, IMAGE, { display: false, patchSize: 16, stride: 8, topK: 2 });
    await fromFrontEnd(occ.modelId, { method: 'update', state: { patch_size: 32, stride: 16 } });
    await occ.settled();
    const osnap = occ.mimeBundle()[RESULT_MIME] as OcclusionResultData;
    expect(osnap.maps.map((m) => [m.index, m.patch_size, m.stride])).toEqual([
      ...occ.get('top').map((t) => [t.index, 16, 8]),
      [occ.get('class_index'), 32, 16],
    ]);
    const oref = await occlusionFn(model, IMAGE, { classIndex: occ.get('class_index'), patchSize: 32, stride: 16, display: false });
    expect(base64ToFloats(osnap.maps[osnap.shown as number].map)).toEqual(oref.map.data);
    occ.close();
  });
});

describe('explorer options as the functions take them', () => {
  test('preprocess, methodOptions, layer and fill reach the maps: each equals the function with the same options', async () => {
    // The bare network (cnnvis would guess 'unit'); 'none' feeds the 0..255 pixels as they are.
    const bare = model.net;
    const none = new CnnModel(bare, { name: 'demo', preprocess: 'none', labels: { names: [...DEMO_CLASSES], source: 'test' } });
    const cam = await CamExplorer.open(bare, IMAGE, { display: false, preprocess: 'none', classIndex: 3, method: 'scorecam', methodOptions: { topN: 4 } });
    expect(cam.model.preprocess).toBe('none');
    const ref = await scoreCam(none, IMAGE, { classIndex: 3, topN: 4, display: false });
    expectMapBytes(cam.get('heatmap'), ref.map.data);
    // topN changes the map: the option was used.
    const all = await scoreCam(none, IMAGE, { classIndex: 3, display: false });
    expect(maxAbsDiff(ref.map.data, all.map.data)).toBeGreaterThan(0.01);
    cam.close();
    // Under the guessed 'unit' the forward pass differs: other class probabilities.
    const unit = await CamExplorer.open(bare, IMAGE, { display: false, classIndex: 3 });
    expect(unit.model.preprocess).toBe('unit');
    expect(maxAbsDiff(unit.probabilities, cam.probabilities)).toBeGreaterThan(1e-3);
    unit.close();
    await expect(CamExplorer.open(bare, IMAGE, { display: false, preprocess: 'imagenet' })).rejects.toThrow(/unknown preprocessing 'imagenet'; valid: mobilenet, vgg16, torch, unit, none/);

    const fm = await FeatureMapExplorer.open(bare, IMAGE, { display: false, preprocess: 'none', layer: 'block1_conv1' });
    const input = prepareInput(none, IMAGE);
    const act = layerActivation(none, input.batch, 'block1_conv1');
    input.batch.dispose();
    expect(fm.get('channel_means')[0]).toBeCloseTo(act.data.filter((_, i) => i % act.c === 0).reduce((a, b) => a + b, 0) / (act.h * act.w), 3);
    fm.close();

    // The saliency explorer's layer is guided Grad-CAM's.
    const sal = await SaliencyExplorer.open(model, IMAGE, { display: false, method: 'guided-gradcam', layer: 'block2_conv2', classIndex: 1 });
    const gg = await guidedGradCam(model, IMAGE, { classIndex: 1, layer: 'block2_conv2', display: false });
    expect((await sal.map('guided-gradcam', 1)).data).toEqual(gg.map.data);
    const ggLast = await guidedGradCam(model, IMAGE, { classIndex: 1, display: false });
    expect(maxAbsDiff(gg.map.data, ggLast.map.data)).toBeGreaterThan(0);
    sal.close();

    // Occlusion with the image's mean colour as the fill.
    const occ = await OcclusionExplorer.open(model, IMAGE, { display: false, patchSize: 16, stride: 16, fill: 'mean', classIndex: 2 });
    const oref = await occlusionFn(model, IMAGE, { classIndex: 2, patchSize: 16, stride: 16, fill: 'mean', display: false });
    expect(occ.get('map')).toEqual(oref.map.data);
    const gray = await occlusionFn(model, IMAGE, { classIndex: 2, patchSize: 16, stride: 16, display: false });
    expect(maxAbsDiff(gray.map.data, oref.map.data)).toBeGreaterThan(0);
    occ.close();
    await expect(OcclusionExplorer.open(model, IMAGE, { display: false, fill: 'noise' as never })).rejects.toThrow(/unknown fill 'noise'; valid: gray, mean, blur/);
  });
});

describe('snapshot arrays as base64', () => {
  test("the kernel's encoding is Python's base64 (standard alphabet, padded), the front end decodes it back; float32 little-endian", () => {
    // Lengths 0..7 cover every padding case; then 1000 bytes of every value.
    const cases = [...Array.from({ length: 8 }, (_, n) => Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 255)), Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 255)];
    const py = 'import base64, json, sys\nprint(json.dumps([base64.b64encode(bytes(c)).decode() for c in json.load(sys.stdin)]))';
    const want = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify(cases.map((c) => Array.from(c))) }).toString()) as string[];
    expect(cases.map((c) => bytesToBase64(c))).toEqual(want);
    for (const c of cases) expect(base64ToBytes(bytesToBase64(c))).toEqual(c);
    // A view into a larger buffer encodes only its own bytes.
    const big = Uint8Array.from({ length: 16 }, (_, i) => i);
    expect(bytesToBase64(big.subarray(5, 9))).toBe('BQYHCA==');
    const floats = Float32Array.from([0, -1.5, 3.25e-8, Infinity, 1 / 3]);
    const pyFloats = "import base64, struct\nprint(base64.b64encode(struct.pack('<5f', 0.0, -1.5, 3.25e-8, float('inf'), 1/3)).decode())";
    expect(floatsToBase64(floats)).toBe(execFileSync('/usr/bin/python3', ['-c', pyFloats]).toString().trim());
    expect(base64ToFloats(floatsToBase64(floats))).toEqual(floats);
    expect(() => base64ToBytes('AAA*')).toThrow(/not base64/);
    expect(() => base64ToBytes('AAA')).toThrow(/not base64/);
  });
});
