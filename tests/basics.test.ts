/** Feature maps, filters, summary and predictions on small models whose numbers can be checked by hand. */
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { featureMaps, layerOutputs } from '../kernel/src/basics/featureMaps';
import { filters } from '../kernel/src/basics/filters';
import { predict } from '../kernel/src/basics/predict';
import { layerConfig, layerWeights, summary } from '../kernel/src/basics/summary';
import { initBackend } from '../kernel/src/engine/backend';
import { decodeImage } from '../kernel/src/images/decode';
import { encodePng } from '../kernel/src/images/encode';
import { CnnModel } from '../kernel/src/models/model';
import { buildReport } from '../kernel/src/report/report';
import { LINE_HEIGHT } from '../kernel/src/render/text';
import { colorAt } from '../kernel/src/render/colormaps';
import { loadModel } from '../kernel/src/models/load';
import { RGBImage } from '../kernel/src/types';

/** input 6×6×3 → conv c1 (2 filters 3×3, same, relu) → GAP → dense predictions (3, softmax). */
function tinyNet(): { model: CnnModel; kernel: Float32Array } {
  const input = tf.input({ shape: [6, 6, 3], name: 'img' });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions' }).apply(gap) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: out, name: 'tiny' });
  const kernel = new Float32Array(3 * 3 * 3 * 2).map((_, i) => Math.sin(i * 1.7) * 0.5);
  net.getLayer('c1').setWeights([tf.tensor4d(kernel, [3, 3, 3, 2]), tf.tensor1d([0.1, -0.05])]);
  net.getLayer('predictions').setWeights([tf.tensor2d([1, -1, 0.5, 2, 0, -1], [2, 3]), tf.tensor1d([0, 0.1, -0.1])]);
  return { model: new CnnModel(net, { name: 'tiny', preprocess: 'unit', labels: { names: ['<b>bold</b>', 'cat & dog', 'plain'], source: 'test' } }), kernel };
}

function testImage(): RGBImage {
  const data = new Uint8Array(6 * 6 * 3).map((_, i) => (i * 37) % 256);
  return { width: 6, height: 6, data };
}

beforeAll(async () => {
  await initBackend();
});

test('feature maps equal a direct convolution, with channel means and ranking', async () => {
  const { model } = tinyNet();
  const img = testImage();
  const r = await featureMaps(model, img, { layer: 'c1', display: false, scale: 4 });
  const expected = tf.tidy(() => {
    const x = tf.tensor4d(img.data, [1, 6, 6, 3], 'int32').toFloat().div(255);
    const [k, b] = model.net.getLayer('c1').getWeights();
    return tf.relu(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same').add(b)).dataSync();
  });
  expect(r.height).toBe(6);
  expect(r.channels).toBe(2);
  for (let i = 0; i < expected.length; i++) expect(r.activation[i]).toBeCloseTo(expected[i], 5);
  for (let c = 0; c < 2; c++) {
    let s = 0;
    for (let p = 0; p < 36; p++) s += expected[p * 2 + c];
    expect(r.means[c]).toBeCloseTo(s / 36, 5);
  }
  expect(r.ranking[0]).toBe(r.means[0] >= r.means[1] ? 0 : 1);
  expect(r.topChannel).toBe(r.ranking[0]);
  const ch = r.channel(1);
  expect(ch.data[7]).toBeCloseTo(expected[7 * 2 + 1], 5);
  // Two 6×6 tiles at scale 4, 2 px padding, one row: (2 + 24) * 2 + 2 wide.
  expect(r.image().width).toBe(2 + 2 * (24 + 2));
  const ov = r.overlay();
  expect([ov.width, ov.height]).toEqual([6, 6]);
  expect(() => r.channel(2)).toThrow(/channel 2 is out of range; the layer has channels 0..1/);
});

test('feature maps: unknown and non-spatial layers name the valid ones', async () => {
  const { model } = tinyNet();
  await expect(featureMaps(model, testImage(), { layer: 'c9', display: false })).rejects.toThrow(/unknown layer 'c9' in model 'tiny'; layers: img, c1, gap, predictions/);
  await expect(featureMaps(model, testImage(), { layer: 'gap', display: false })).rejects.toThrow(/layer 'gap' has output shape \[2\], not a spatial map; layers with spatial output: c1/);
});

test('layer outputs: one row per layer, input on top', async () => {
  const { model } = tinyNet();
  const r = await layerOutputs(model, testImage(), { layers: ['c1'], channels: 2, tile: 16, display: false });
  expect(r.layers.map((l) => l.name)).toEqual(['c1']);
  // Two rows (input, c1), 4 px apart; each as tall as its two-line label (name, shape) or its tiles.
  const label = 2 * (LINE_HEIGHT + 2 * 3);
  expect(r.image().height).toBe(2 * Math.max(label, 16 + 2 * 2) + 4);
  // The label column holds dark text pixels.
  const img = r.image();
  let dark = 0;
  for (let y = 0; y < img.height; y++) for (let x = 0; x < 100; x++) if (img.data[(y * img.width + x) * 4] < 64 && img.data[(y * img.width + x) * 4 + 3] === 255) dark++;
  expect(dark).toBeGreaterThan(50);
});

test('filters: first-layer kernels as RGB tiles normalized per filter, and weight statistics', async () => {
  const { model, kernel } = tinyNet();
  const r = await filters(model, { layer: 'c1', scale: 1, display: false });
  expect(r.view).toBe('rgb');
  expect(r.shape).toEqual([3, 3, 3, 2]);
  // Filter 0: values kernel[(p*3+c)*2 + 0], min-max normalized to 0..255.
  const vals = Array.from({ length: 27 }, (_, j) => kernel[j * 2]);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  const img = r.image();
  // Tile 0 sits at (padding 1, padding 1) in the mosaic.
  const px = (x: number, y: number, c: number) => img.data[(y * img.width + x) * 4 + c];
  expect(px(1, 1, 0)).toBe(Math.round(((vals[0] - lo) / (hi - lo)) * 255));
  expect(px(1 + 2, 1 + 1, 2)).toBe(Math.round(((vals[(1 * 3 + 2) * 3 + 2] - lo) / (hi - lo)) * 255));
  const mean = kernel.reduce((a, b) => a + b, 0) / kernel.length;
  expect(r.stats.mean).toBeCloseTo(mean, 6);
  expect(r.stats.min).toBeCloseTo(Math.min(...kernel), 6);
  await expect(filters(model, { layer: 'gap', display: false })).rejects.toThrow(/layer 'gap' \(GlobalAveragePooling2D\) has no convolution kernel; conv layers: c1/);
});

test('summary, layer config and weights like Keras', () => {
  const { model, kernel } = tinyNet();
  const s = summary(model, { display: false });
  expect(s.layers.map((l) => [l.name, l.className, l.outputShape, l.params])).toEqual([
    ['img', 'InputLayer', [6, 6, 3], 0],
    ['c1', 'Conv2D', [6, 6, 2], 56],
    ['gap', 'GlobalAveragePooling2D', [2], 0],
    ['predictions', 'Dense', [3], 9],
  ]);
  expect(s.totalParams).toBe(65);
  expect(s.trainableParams).toBe(65);
  expect(s.layers[1].activation).toBe('relu');
  expect(s.text()).toMatch(/Total params: 65/);
  expect(layerConfig(model, 'c1')).toMatchObject({ filters: 2, kernel_size: [3, 3], padding: 'same' });
  const w = layerWeights(model, 'c1');
  expect(w.map((x) => x.shape)).toEqual([[3, 3, 3, 2], [2]]);
  expect(Array.from(w[0].values)).toEqual(Array.from(kernel));
});

test('predictions: probabilities from the softmax head, labels escaped in HTML', async () => {
  const { model } = tinyNet();
  const r = await predict(model, testImage(), { top: 3, display: false });
  const direct = tf.tidy(() => (model.net.predict(tf.tensor4d(testImage().data, [1, 6, 6, 3], 'int32').toFloat().div(255)) as tf.Tensor).dataSync());
  for (const p of r.predictions) expect(p.probability).toBeCloseTo(direct[p.index], 6);
  expect(r.html()).toContain('&#60;b&#62;bold&#60;/b&#62;');
  expect(r.html()).not.toContain('<b>bold');
  expect(r.html()).toContain('cat &#38; dog');
  const bundle = r.mimeBundle();
  expect(Object.keys(bundle).sort()).toEqual(['application/vnd.vegalite.v5+json', 'image/png', 'text/html', 'text/plain']);
});

test('the vega-lite chart compiles with vega-lite', async () => {
  const { model } = tinyNet();
  const r = await predict(model, testImage(), { top: 3, display: false });
  // vega-lite is an ES module: compile the spec in a child node process.
  const script = "import {compile} from 'vega-lite'; let s=''; process.stdin.on('data', d => s += d).on('end', () => { const c = compile(JSON.parse(s)); console.log(JSON.stringify({n: c.spec.data[0].values.length, marks: c.spec.marks.length})); });";
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(r.vegaLite()), cwd: path.resolve(__dirname, '..') });
  expect(JSON.parse(out.toString())).toEqual({ n: 3, marks: 1 });
});

test('the HTML report escapes hostile labels and layer text', async () => {
  const { model } = tinyNet();
  const { html } = await buildReport(model, testImage());
  expect(html).toContain('&#60;b&#62;bold&#60;/b&#62;');
  expect(html).not.toMatch(/<b>bold/);
  expect(html).not.toMatch(/<script/i);
  expect(html).toMatch(/Content-Security-Policy/);
});

test('no tensors leak over repeated calls', async () => {
  const { model } = tinyNet();
  const img = testImage();
  await featureMaps(model, img, { display: false });
  await predict(model, img, { display: false });
  await layerOutputs(model, img, { display: false });
  await filters(model, { display: false });
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    await featureMaps(model, img, { display: false });
    await predict(model, img, { display: false });
    await layerOutputs(model, img, { display: false });
    await filters(model, { display: false });
    summary(model, { display: false });
    layerWeights(model, 'c1');
  }
  expect(tf.memory().numTensors).toBe(before);
});

test('images: PNG bytes and tensors are accepted as sources', async () => {
  const { model } = tinyNet();
  const fromPixels = await predict(model, testImage(), { display: false });
  const png = encodePng(testImage());
  expect(decodeImage(png).width).toBe(6);
  // The result's own picture: the input thumbnail beside a bar per class (drawn, not markup).
  expect(decodeImage(fromPixels.png()).width).toBeGreaterThan(112 + 150);
  const fromBytes = await predict(model, png, { display: false });
  expect(Array.from(fromBytes.probabilities)).toEqual(Array.from(fromPixels.probabilities));
  const t = tf.tensor3d(testImage().data, [6, 6, 3], 'int32');
  const fromTensor = await predict(model, t, { display: false });
  t.dispose();
  expect(Array.from(fromTensor.probabilities)).toEqual(Array.from(fromPixels.probabilities));
});

describe('filters: 1×1 kernels, layer scaling, dead filters', () => {
  // Reference colours straight from the colormap table, values straight from the layer's weights.
  const colour = (name: string, v: number, lo: number, hi: number) => colorAt(name, (v - lo) / (hi - lo));

  test("MobileNet v1 0.25's conv_pw_1 [1×1×8×16]: a cell per input channel, one diverging scale for the layer, not black", async () => {
    const model = await loadModel('mobilenet_v1_0.25_224');
    const w = model.layer('conv_pw_1').getWeights()[0];
    expect(w.shape).toEqual([1, 1, 8, 16]);
    const k = w.dataSync() as Float32Array;
    const m = Math.max(...Array.from(k, Math.abs));
    const r = await filters(model, { layer: 'conv_pw_1', scale: 4, display: false });
    expect([r.view, r.scaling, r.colormap]).toEqual(['pointwise', 'layer', 'coolwarm']);
    expect(r.range).toEqual([-m, m]);
    const img = r.image();
    // 16 tiles of 3×3 cells (8 used), 4 per row, cells 4 px, 1 px padding: 4·13 + 1 = 53 px.
    expect([img.width, img.height]).toEqual([53, 53]);
    let lit = 0;
    for (let i = 0; i < img.width * img.height; i++) if (img.data[i * 4] + img.data[i * 4 + 1] + img.data[i * 4 + 2] > 30) lit++;
    expect(lit).toBeGreaterThan(0.5 * img.width * img.height); // 16 · 8 cells · 16 px = 2048 of 2809
    const px = (x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));
    for (const [o, c] of [[0, 0], [5, 3], [15, 7], [9, 4], [1, 2]]) {
      const x = 1 + (o % 4) * 13 + (c % 3) * 4 + 1;
      const y = 1 + Math.floor(o / 4) * 13 + Math.floor(c / 3) * 4 + 2;
      expect(px(x, y)).toEqual(colour('coolwarm', k[c * 16 + o], -m, m));
    }
    // The ninth cell of a tile is empty (background).
    expect(px(1 + 2 * 4, 1 + 2 * 4)).toEqual([0, 0, 0]);
    // This layer really has dead filters (norms ~1e-13 or less): flagged from the reference norms, and crossed out.
    const norms = Array.from({ length: 16 }, (_, o) => Math.hypot(...Array.from({ length: 8 }, (_, c) => k[c * 16 + o])));
    const maxNorm = Math.max(...norms);
    const dead = norms.map((n) => n < 1e-6 * maxNorm);
    expect(dead.filter(Boolean).length).toBeGreaterThan(0);
    expect(dead.filter(Boolean).length).toBeLessThan(16);
    expect(r.perFilter.map((f) => f.dead)).toEqual(dead);
    const d = dead.indexOf(true);
    expect(px(1 + (d % 4) * 13, 1 + Math.floor(d / 4) * 13)).toEqual([255, 0, 0]);
    expect(px(1 + (d % 4) * 13 + 11, 1 + Math.floor(d / 4) * 13)).toEqual([255, 0, 0]);
    expect(r.perFilter[5].norm).toBeCloseTo(Math.hypot(...Array.from({ length: 8 }, (_, c) => k[c * 16 + 5])), 6);
    // Per-tile scaling on request: each filter's 8 weights span the whole colormap.
    const t = await filters(model, { layer: 'conv_pw_1', scale: 4, scaling: 'tile', display: false });
    const col = Array.from({ length: 8 }, (_, c) => k[c * 16 + 5]);
    const [lo, hi] = [Math.min(...col), Math.max(...col)];
    expect(t.image().data.subarray(((1 + 1 * 13 + 4 + 2) * 53 + 1 + 1 * 13 + 1) * 4, ((1 + 1 * 13 + 4 + 2) * 53 + 1 + 1 * 13 + 1) * 4 + 3)).toEqual(
      Uint8Array.from(colour('gray', col[3], lo, hi)),
    );
    await expect(filters(model, { layer: 'conv_pw_1', scaling: 'global' as never, display: false })).rejects.toThrow(/unknown scaling 'global'; valid: auto, layer, tile/);
    model.net.dispose();
  });

  test('a zeroed filter is dead: flagged, named in the text and crossed out, in 1×1 and 3×3 layers', async () => {
    const input = tf.input({ shape: [5, 5, 3] });
    const pw = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'pw' }).apply(input) as tf.SymbolicTensor;
    const c3 = tf.layers.conv2d({ filters: 3, kernelSize: 3, name: 'c3' }).apply(pw) as tf.SymbolicTensor;
    const net = tf.model({ inputs: input, outputs: c3 });
    for (const [name, dead] of [['pw', 2], ['c3', 1]] as const) {
      const layer = net.getLayer(name);
      const [kw, b] = layer.getWeights();
      const shape = kw.shape;
      const cout = shape[3] as number;
      const v = Float32Array.from(kw.dataSync(), (x, i) => (i % cout === dead ? (i % 2 ? 1e-13 : 0) : x));
      layer.setWeights([tf.tensor(v, shape), b]);
    }
    const model = new CnnModel(net, { name: 'deadnet', preprocess: 'unit' });
    const red = (img: { width: number; data: Uint8Array }, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));
    const pwr = await filters(model, { layer: 'pw', scale: 4, display: false });
    expect(pwr.perFilter.map((f) => f.dead)).toEqual([false, false, true, false]);
    expect(pwr.dead).toEqual([2]);
    expect(pwr.text()).toMatch(/1 dead filter \(crossed out\): 2$/);
    expect(pwr.html()).toMatch(/<td>2<\/td><td>[^<]+<\/td><td>dead<\/td>/);
    // Tile 2 (row 1, column 0 of a 2-column grid of 2×2-cell tiles at 4 px): its diagonal is red.
    const t2 = { x: 1, y: 1 + 9 };
    expect(red(pwr.image(), t2.x, t2.y)).toEqual([255, 0, 0]);
    expect(red(pwr.image(), t2.x + 7, t2.y)).toEqual([255, 0, 0]);
    expect(red(pwr.image(), 1, 1)).not.toEqual([255, 0, 0]);
    // 3×3 layer, per tile by default: the dead filter's tiles are constant (layer scale, grey) and crossed.
    const c3r = await filters(model, { layer: 'c3', scale: 4, inputChannels: 4, display: false });
    expect([c3r.view, c3r.scaling, c3r.dead]).toEqual(['per-input-channel', 'tile', [1]]);
    const row1 = 1 + 13; // second filter's row
    expect(red(c3r.image(), 1, row1)).toEqual([255, 0, 0]);
    expect(red(c3r.image(), 1, 1)).not.toEqual([255, 0, 0]);
    net.dispose();
  });
});
