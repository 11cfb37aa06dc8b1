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
