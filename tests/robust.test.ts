/**
 * Bad input and hostile models: NaN/Inf weights and inputs are reported (naming the layer), model.json
 * weight shapes that do not fit the topology name the weight, the CLI writes its outputs atomically and
 * never half-written, and payloads in model names, layer names and labels stay text in the CLI output,
 * the HTML report and the result's MIME bundle.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { featureMaps } from '../kernel/src/basics/featureMaps';
import { filters, weightStats } from '../kernel/src/basics/filters';
import { predict } from '../kernel/src/basics/predict';
import { layerWeights, summary } from '../kernel/src/basics/summary';
import { initBackend } from '../kernel/src/engine/backend';
import { CnnvisError } from '../kernel/src/errors';
import { gradCam } from '../kernel/src/explain/cam/gradcam';
import { saliency } from '../kernel/src/explain/attribution/saliency';
import { imageFromTensor } from '../kernel/src/images/decode';
import { nonFiniteWeights } from '../kernel/src/models/finite';
import { CnnModel } from '../kernel/src/models/model';
import { loadTfjsLayersModel } from '../kernel/src/models/tfjs';
import { maximize } from '../kernel/src/optvis/render';
import { buildReport } from '../kernel/src/report/report';
import { RESULT_MIME } from '../kernel/src/schema/explorers';
import { RGBImage } from '../kernel/src/types';
import { cli } from './helpers/cli';
import { thrown } from './helpers/errors';
import { MODELS, requireShared } from './helpers/shared';

const PAYLOADS = ['<img src=x onerror=alert(1)>', '</script><script>alert(1)</script>', '"><svg onload=alert(1)>'];

/**
 * 8×8×3 → conv c1 → relu → GAP → dense softmax (3). TF.js refuses such characters in the names of
 * layers with weights, so the payloads go into the weightless layers (relu, GAP) and the model name.
 */
function net(names: { relu?: string; gap?: string; model?: string } = {}): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'img' });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  const relu = tf.layers.activation({ activation: 'relu', name: names.relu ?? 'relu' }).apply(conv) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: names.gap ?? 'gap' }).apply(relu) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions' }).apply(gap) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: names.model ?? 'small' });
}

function image(): RGBImage {
  return { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).map((_, i) => (i * 53) % 256) };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-robust-'));
beforeAll(async () => {
  requireShared();
  await initBackend();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('NaN and Inf', () => {
  test('a NaN weight is reported by predict, featureMaps, explain and maximize, naming the layer', async () => {
    const n = net();
    const model = new CnnModel(n, { name: 'small', preprocess: 'unit' });
    await predict(model, image(), { display: false }); // finite: fine
    const [k, b] = n.getLayer('c1').getWeights().map((w) => w.clone());
    const kv = k.dataSync().slice();
    kv[5] = NaN;
    kv[7] = NaN;
    n.getLayer('c1').setWeights([tf.tensor(kv, k.shape), b]);
    for (const run of [
      () => predict(model, image(), { display: false }),
      () => featureMaps(model, image(), { layer: 'c1', display: false }),
      () => gradCam(model, image(), { layer: 'c1', display: false }),
      () => saliency(model, image(), { display: false }),
      () => maximize(model, { layer: 'c1', channel: 0 }, { steps: 2, display: false, progress: false }),
    ]) {
      const e = await thrown(run());
      expect(e).toBeInstanceOf(CnnvisError);
      expect(e.message).toMatch(/model 'small' has NaN or Inf weights in layer 'c1' \(weight 'c1\/kernel': 2 NaN of 108 values\)/);
      expect((e as CnnvisError).choices).toEqual(['c1']);
    }
    // Repairing the weights is noticed (the check follows weight changes, it does not cache a verdict).
    n.getLayer('c1').setWeights([k, b]);
    tf.dispose([k, b]);
    expect((await predict(model, image(), { display: false })).predictions).toHaveLength(3);
    // Inf in another layer, after a successful call.
    const [dk, db] = n.getLayer('predictions').getWeights().map((w) => w.clone());
    n.getLayer('predictions').setWeights([dk, tf.tensor1d([0, Infinity, -Infinity])]);
    const e = await thrown(predict(model, image(), { display: false }));
    expect(e.message).toMatch(/layer 'predictions' \(weight 'predictions\/bias': 2 Inf of 3 values\)/);
    expect(nonFiniteWeights(n).map((w) => [w.layer, w.nan, w.inf])).toEqual([['predictions', 0, 2]]);
    n.getLayer('predictions').setWeights([dk, db]);
    expect(nonFiniteWeights(n)).toEqual([]);
  });

  test('filters() and weightStats refuse NaN/Inf weights naming the layer and weight; layerWeights gives the raw values; the CLI exits 2', async () => {
    const n = net();
    const model = new CnnModel(n, { name: 'small', preprocess: 'unit' });
    expect((await filters(model, { layer: 'c1', display: false })).stats.count).toBe(108);
    const [k, b] = n.getLayer('c1').getWeights().map((w) => w.clone());
    const kv = k.dataSync().slice();
    kv[3] = NaN;
    kv[4] = Infinity;
    n.getLayer('c1').setWeights([tf.tensor(kv, k.shape), b]);
    const before = tf.memory().numTensors;
    for (const opts of [{ layer: 'c1' }, {}]) {
      const e = await thrown(filters(model, { ...opts, display: false }));
      expect(e).toBeInstanceOf(CnnvisError);
      expect(e.message).toMatch(/^model 'small' has NaN or Inf weights in layer 'c1' \(weight 'c1\/kernel': 1 NaN and 1 Inf of 108 values\); its statistics and pictures would be NaN/);
      expect((e as CnnvisError).choices).toEqual(['c1']);
    }
    expect(tf.memory().numTensors).toBe(before);
    // Only the layer shown matters: NaN in the bias of another layer does not stop filters of c1.
    n.getLayer('c1').setWeights([k, b]);
    const [dk, db] = n.getLayer('predictions').getWeights().map((w) => w.clone());
    n.getLayer('predictions').setWeights([dk, tf.tensor1d([0, NaN, 0])]);
    const ok = await filters(model, { layer: 'c1', display: false });
    expect(Number.isFinite(ok.stats.mean) && Number.isFinite(ok.stats.std)).toBe(true);
    // layerWeights is the raw accessor (like Keras get_weights): NaN comes back as data to inspect and fix.
    const raw = layerWeights(model, 'predictions');
    expect(raw.map((w) => w.name)).toEqual(['predictions/kernel', 'predictions/bias']);
    expect(Number.isNaN(raw[1].values[1])).toBe(true);
    n.getLayer('predictions').setWeights([dk, db]);
    // weightStats on raw values names what it was given.
    expect(() => weightStats(Float32Array.of(1, NaN, Infinity, -Infinity), "the weights of layer 'x'")).toThrow(
      /^the weights of layer 'x' hold 1 NaN and 2 Inf of 4 values; statistics need finite numbers$/,
    );
    expect(weightStats(Float32Array.of(1, 3)).mean).toBe(2);

    // Through the CLI: a saved model with a NaN kernel, exit code 2, one line naming layer and weight.
    n.getLayer('c1').setWeights([tf.tensor(kv, k.shape), b]);
    const dir = fs.mkdtempSync(path.join(tmp, 'nan-'));
    await n.save(tf.io.withSaveHandler(async (a) => {
      fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    n.getLayer('c1').setWeights([k, b]);
    for (const argv of [['filters', '--model', dir], ['filters', '--model', dir, '--layer', 'c1', '--json'], ['features', 'scene:1', '--model', dir, '--layer', 'c1']]) {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^cnnvis: model '.*' has NaN or Inf weights in layer 'c1' \(weight 'c1\/kernel': 1 NaN and 1 Inf of 108 values\)/);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    // summary reads no weight values: anatomy still works.
    expect((await cli('summary', '--model', dir)).code).toBe(0);
    tf.dispose([k, b, dk, db]);
  });

  test('the weight check costs nothing on an unchanged model and leaks no tensors', async () => {
    const model = new CnnModel(net(), { preprocess: 'unit' });
    await predict(model, image(), { display: false });
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) expect(nonFiniteWeights(model.net)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('NaN or Inf in an input tensor is reported with its position', async () => {
    const model = new CnnModel(net(), { preprocess: 'unit' });
    const values = new Float32Array(8 * 8 * 3).fill(0.5);
    values[10] = NaN;
    const t = tf.tensor3d(values, [8, 8, 3]);
    const e = await thrown(predict(model, t, { display: false }));
    expect(e).toBeInstanceOf(CnnvisError);
    expect(e.message).toMatch(/contains NaN at index 10; pixel values must be finite/);
    values[10] = 0.5;
    values[20] = Infinity;
    const t2 = tf.tensor3d(values, [8, 8, 3]);
    expect(() => imageFromTensor(t2)).toThrow(/contains Infinity at index 20/);
    tf.dispose([t, t2]);
  });
});

describe('model.json weights that do not fit the topology', () => {
  const M25 = path.join(MODELS, 'mobilenet_v1_0.25_224');

  test('a transposed weight shape names the weight and both shapes', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'shape-'));
    const json = JSON.parse(fs.readFileSync(path.join(M25, 'model.json'), 'utf8'));
    fs.copyFileSync(path.join(M25, 'group1-shard1of1.bin'), path.join(dir, 'group1-shard1of1.bin'));
    const w = json.weightsManifest[0].weights.find((x: { name: string }) => x.name === 'conv_pw_1/kernel');
    w.shape = [1, 1, 16, 8]; // same bytes as [1, 1, 8, 16]
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const e = await thrown(loadTfjsLayersModel(dir));
    expect(e).toBeInstanceOf(CnnvisError);
    expect(e.message).toMatch(/weight 'conv_pw_1\/kernel' has shape \[1, 1, 16, 8\] in the weightsManifest but its layer expects \[1, 1, 8, 16\]/);
  });

  test('bad shapes, dtypes, shard paths and dangling graph references are refused before TF.js sees them', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'manifest-'));
    const base = JSON.parse(fs.readFileSync(path.join(M25, 'model.json'), 'utf8'));
    fs.copyFileSync(path.join(M25, 'group1-shard1of1.bin'), path.join(dir, 'group1-shard1of1.bin'));
    const cases: Array<[(j: any) => void, RegExp]> = [
      [(j) => (j.weightsManifest[0].weights[0].shape = [3, -3, 3, 8]), /weight 'conv1\/kernel' has shape \[3,-3,3,8\]; a shape is a list of whole numbers ≥ 0/],
      [(j) => (j.weightsManifest[0].weights[0].shape = 'big'), /weight 'conv1\/kernel' has shape "big"/],
      [(j) => (j.weightsManifest[0].weights[1].dtype = 'complex64'), /weight 'conv1_bn\/gamma' has unsupported dtype "complex64"; valid: float32, int32/],
      [(j) => (j.weightsManifest[0].paths = ['']), /weight shard path "" is not a file name/],
      [(j) => (j.weightsManifest[0].paths = ['.']), /lists weight shard '\.', but .* is not a file/],
      // TF.js would wait forever for these inputs:
      [(j) => (j.modelTopology.model_config.config.layers[3].inbound_nodes = [[['conv9', 0, 0, {}]]]), /layer 'conv1_bn' refers to layer 'conv9', which is not in the model; layers: input_1, conv1_pad/],
      [(j) => (j.modelTopology.model_config.config.layers[3].inbound_nodes = [[['conv1', 4, 0, {}]]]), /refers to node 4 of layer 'conv1', which has 1 node/],
      [(j) => (j.modelTopology.model_config.config.layers[1].inbound_nodes = [[['conv1_bn', 0, 0, {}]]]), /depends on itself through/],
      [(j) => (j.modelTopology.model_config.config.layers[2].name = 'conv1_pad'), /two layers are named 'conv1_pad'/],
    ];
    for (const [edit, message] of cases) {
      const j = JSON.parse(JSON.stringify(base));
      edit(j);
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
      const e = await thrown(loadTfjsLayersModel(dir));
      expect(e).toBeInstanceOf(CnnvisError);
      expect(e.message).toMatch(message);
    }
    fs.writeFileSync(path.join(dir, 'model.json'), `{"modelTopology": ${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect((await thrown(loadTfjsLayersModel(dir))).message).toMatch(/is nested more than 200 levels deep/);
  });
});

describe('bad input from the issue list, item by item', () => {
  test('an unsupported layer class in model.json names the class and the layers using it; the CLI exits 2', async () => {
    const M25 = path.join(MODELS, 'mobilenet_v1_0.25_224');
    const dir = fs.mkdtempSync(path.join(tmp, 'unsupported-'));
    const json = JSON.parse(fs.readFileSync(path.join(M25, 'model.json'), 'utf8'));
    fs.copyFileSync(path.join(M25, 'group1-shard1of1.bin'), path.join(dir, 'group1-shard1of1.bin'));
    json.modelTopology.model_config.config.layers[3].class_name = 'FancyNorm';
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const e = await thrown(loadTfjsLayersModel(dir));
    expect(e).toBeInstanceOf(CnnvisError);
    expect(e.message).toMatch(/model\.json' uses Unknown layer: FancyNorm \(in layer 'conv1_bn'\), which TF\.js layers does not support/);
    const r = await cli('summary', '--model', dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cnnvis: .*FancyNorm \(in layer 'conv1_bn'\)/);
  });

  test('a class index out of range names the range and suggests the nearest classes by label; the CLI exits 2', async () => {
    const model = new CnnModel(net(), { name: 'small', preprocess: 'unit', labels: { names: ['cat', 'dog', 'fox'], source: 'test' } });
    for (const [index, near] of [[3, "2 \\(fox\\)"], [-1, "0 \\(cat\\)"], [1.5, "1 \\(dog\\), 2 \\(fox\\)"]] as const) {
      const e = await thrown(gradCam(model, image(), { classIndex: index, display: false }));
      expect(e).toBeInstanceOf(CnnvisError);
      expect(e.message).toMatch(new RegExp(`class index ${String(index).replace('.', '\\.')} is out of range; model 'small' has classes 0\\.\\.2; nearest: ${near}$`));
    }
    const r = await cli('explain', 'scene:1', '--model', 'demo', '--class', '99');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cnnvis: class index 99 is out of range; model 'demo' has classes 0\.\.\d+; nearest: \d+ \(\w+\)\n$/);
  });
});

describe('the CLI never leaves a half-written output', () => {
  const left = (dir: string) => fs.readdirSync(dir).sort();

  test('an error after the work (unwritable --json) writes neither file; existing files stay as they were', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cli-'));
    const png = path.join(dir, 'map.png');
    const r = await cli('explain', 'scene:3', '--model', 'demo', '--out', png, '--json', path.join(dir, 'no', 'such', 'map.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cnnvis: cannot write '.*map\.json': the folder .*no\/such does not exist\n$/);
    expect(left(dir)).toEqual([]);
    // A failing run does not touch an existing output.
    fs.writeFileSync(png, 'previous');
    const bad = path.join(dir, 'broken.png');
    fs.writeFileSync(bad, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    const r2 = await cli('features', bad, '--model', 'demo', '--out', png);
    expect(r2.code).toBe(2);
    expect(fs.readFileSync(png, 'utf8')).toBe('previous');
    expect(left(dir)).toEqual(['broken.png', 'map.png']);
    // A bad --out name is refused before any work, and nothing appears.
    const r3 = await cli('report', 'scene:3', '--model', 'demo', '--layer', 'nope', '--out', path.join(dir, 'r.html'));
    expect(r3.code).toBe(2);
    expect(r3.err).toMatch(/unknown layer 'nope'/);
    const r4 = await cli('features', 'scene:3', '--model', 'demo', '--out', path.join(dir, 'maps.gif'));
    expect(r4.err).toMatch(/--out '.*maps\.gif': use a \.png or \.html file name/);
    expect(left(dir)).toEqual(['broken.png', 'map.png']);
    // The successful run replaces the file with a complete one, and leaves no temporary file.
    const ok = await cli('explain', 'scene:3', '--model', 'demo', '--out', png, '--json', path.join(dir, 'map.json'));
    expect(ok.code).toBe(0);
    expect(left(dir)).toEqual(['broken.png', 'map.json', 'map.png']);
    expect(fs.readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'map.json'), 'utf8')).method).toBe('Grad-CAM');
  });
});

describe('hostile names and labels stay text', () => {
  /** A model folder whose model name, layer names and labels (metadata.json) carry payloads. */
  async function hostileFolder(): Promise<string> {
    const dir = fs.mkdtempSync(path.join(tmp, 'hostile-'));
    const n = net({ model: PAYLOADS[2] });
    await n.save(tf.io.withSaveHandler(async (a) => {
      fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify({ labels: PAYLOADS }));
    return dir;
  }

  test('TF.js refuses such layer names: a model.json carrying one is a clear error, not a crash', async () => {
    const dir = await hostileFolder();
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const layers = json.modelTopology.config.layers as { name: string; config: { name: string }; inbound_nodes: unknown }[];
    const relu = layers.find((l) => l.name === 'relu') as (typeof layers)[number];
    relu.name = relu.config.name = PAYLOADS[0];
    (layers.find((l) => l.name === 'gap') as (typeof layers)[number]).inbound_nodes = [[[PAYLOADS[0], 0, 0, {}]]];
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    const r = await cli('summary', '--model', dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/could not be built as a TF\.js layers model: Not a valid tensor name: '<img src=x onerror=alert\(1\)>'/);
  });

  test('labels and the model name through the CLI text, the HTML report, summary and the result bundles', async () => {
    const dir = await hostileFolder();
    const sum = await cli('summary', '--model', dir);
    expect(sum.code).toBe(0);
    expect(sum.out).toContain(PAYLOADS[2]); // plain text shows the name as it is
    const pred = await cli('predict', 'cat_dog.png', '--model', dir, '--top', '3', '--json');
    expect(pred.err).toBe('');
    expect(JSON.parse(pred.out).map((p: { label: string }) => p.label).sort()).toEqual([...PAYLOADS].sort());
    const out = path.join(tmp, 'hostile-report.html');
    const rep = await cli('report', 'cat_dog.png', '--model', dir, '--out', out);
    expect(rep.code).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<img src=x/i);
    expect(html).not.toMatch(/<svg onload/i);
    expect(html).not.toMatch(/<\/script><script>alert/i);
    expect(html).not.toMatch(/<script(?![^>]*type="application\/json")/i);
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');

    const { loadModel } = await import('../kernel/src/models/load');
    const model = await loadModel(dir);
    expect(model.labels?.names).toEqual(PAYLOADS);
    const results = [
      await predict(model, image(), { display: false }),
      await featureMaps(model, image(), { layer: 'relu', display: false }),
      await gradCam(model, image(), { layer: 'relu', classIndex: 1, display: false }),
      summary(model, { display: false }),
    ];
    for (const r of results) {
      const bundle = r.mimeBundle() as Record<string, unknown>;
      const page = String(bundle['text/html'] ?? '');
      expect(page).not.toMatch(/<img src=x|<svg onload|<\/script><script>/i);
      // JSON payloads carry the names as data, exactly.
      const data = bundle[RESULT_MIME];
      if (data) expect(JSON.stringify(data)).toMatch(/onerror=alert|<\/script>|onload=alert/);
      expect(String(bundle['text/plain'] ?? '')).not.toBe('');
    }
    const direct = await buildReport(model, image(), { layer: 'relu' });
    expect(direct.html).not.toMatch(/<img src=x|<svg onload|<\/script><script>/i);
  });
});
