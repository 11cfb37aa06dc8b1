/**
 * Readable at any size (issue 13, item 7): pictures of 28×28 and 24×24 models are enlarged by a whole
 * factor (nearest neighbour, pixel for pixel), titles wrap inside the picture, colour-bar labels never
 * overlap, and a 224×224 model's pictures keep their size.
 */
import * as tf from '@tensorflow/tfjs';
import { featureMaps, layerOutputs } from '../kernel/src/basics/featureMaps';
import { filters } from '../kernel/src/basics/filters';
import { predict } from '../kernel/src/basics/predict';
import { ImageResult } from '../kernel/src/display/imageResult';
import { initBackend } from '../kernel/src/engine/backend';
import { occlusion } from '../kernel/src/explain/occlusion';
import { saliency } from '../kernel/src/explain/attribution/saliency';
import { gradCam } from '../kernel/src/explain/cam/gradcam';
import { CnnModel } from '../kernel/src/models/model';
import { colorbarLegend, TickLabel, tickLabels } from '../kernel/src/render/colorbar';
import { applyColormap } from '../kernel/src/render/colormaps';
import { displayScale, MIN_DISPLAY_SIZE, scaleNearest, thumbnail } from '../kernel/src/render/compose';
import { figure, FigureLayout } from '../kernel/src/render/figure';
import { gridScale } from '../kernel/src/render/grid';
import { resizeMapNearest } from '../kernel/src/render/upsample';
import { drawText, ELLIPSIS, LINE_HEIGHT, measureText, textBlock, wrapText } from '../kernel/src/render/text';
import { seededFloats } from '../kernel/src/random';
import { Map2D, RGBAImage, RGBImage } from '../kernel/src/types';

type Laid = RGBAImage & { layout: FigureLayout };

function px(img: RGBAImage | RGBImage, x: number, y: number): number[] {
  const c = img.data.length / (img.width * img.height);
  const i = (y * img.width + x) * c;
  return Array.from(img.data.subarray(i, i + c));
}

/** Conv net in the shape users write for MNIST / eye state: conv-relu, pool, conv-relu (named), GAP, dense softmax. */
function smallNet(h: number, w: number, c: number, classes: string[], convName = 'c2', seed = 1): CnnModel {
  const input = tf.input({ shape: [h, w, c], name: 'img' });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: convName }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes.length, activation: 'softmax', name: 'predictions' }).apply(x) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: out, name: `small${h}` });
  let s = seed;
  for (const layer of net.layers) {
    const ws = layer.getWeights();
    if (ws.length) layer.setWeights(ws.map((t) => tf.tensor(seededFloats(t.size, s++).map((v) => (v - 0.5) * 0.8), t.shape)));
  }
  return new CnnModel(net, { name: `small${h}`, preprocess: 'unit', labels: { names: classes, source: 'test' } });
}

function photo(h: number, w: number, seed = 3): RGBImage {
  const r = seededFloats(h * w * 3, seed);
  // A bright diagonal bar on noise, so maps are not flat.
  const data = new Uint8Array(h * w * 3).map((_, i) => {
    const p = Math.floor(i / 3);
    const y = Math.floor(p / w);
    const x = p % w;
    return Math.abs(x - y) < Math.max(2, w / 8) ? 230 : Math.round(60 * r[i]);
  });
  return { width: w, height: h, data };
}

/** Every pixel of `region` of `big` is the pixel (⌊x/k⌋, ⌊y/k⌋) of `small`. */
function expectBlocks(big: RGBAImage, region: { x: number; y: number; width: number; height: number }, small: RGBAImage | RGBImage, k: number): void {
  expect([region.width, region.height]).toEqual([small.width * k, small.height * k]);
  const sc = small.data.length / (small.width * small.height);
  let bad = 0;
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const o = ((region.y + y) * big.width + region.x + x) * 4;
      const s = (Math.floor(y / k) * small.width + Math.floor(x / k)) * sc;
      for (let ch = 0; ch < 3; ch++) if (big.data[o + ch] !== small.data[s + ch]) bad++;
    }
  }
  expect(bad).toBe(0);
}

/** Label boxes inside 0..width and at least `gap` pixels apart. */
function expectSeparate(labels: readonly { x: number; width: number }[], width: number, gap = 1): void {
  const sorted = [...labels].sort((a, b) => a.x - b.x);
  sorted.forEach((l, i) => {
    expect(l.x).toBeGreaterThanOrEqual(0);
    expect(l.x + l.width).toBeLessThanOrEqual(width);
    if (i > 0) expect(l.x).toBeGreaterThanOrEqual(sorted[i - 1].x + sorted[i - 1].width + gap);
  });
}

/** The title's lines fit: measured and, independently, the ink drawn on a wide canvas ends inside the picture. */
function expectTitleInside(img: Laid, text: string): void {
  const { lines } = img.layout.title;
  expect(lines.length).toBeGreaterThanOrEqual(1);
  for (const line of lines) {
    const canvas = { width: 4000, height: LINE_HEIGHT + 2, data: new Uint8Array(4000 * (LINE_HEIGHT + 2) * 4) };
    drawText(canvas, line, 3, 0, [0, 0, 0, 255]);
    let right = -1;
    for (let y = 0; y < canvas.height; y++) for (let x = 0; x < canvas.width; x++) if (canvas.data[(y * canvas.width + x) * 4 + 3]) right = Math.max(right, x);
    expect(right).toBeLessThan(img.width);
  }
  // What is shown is the title from its start (method and class first), whole words, cut only with an ellipsis.
  const shown = lines.join(' ');
  if (shown.endsWith(ELLIPSIS)) expect(text.replace(/\s+/g, ' ').startsWith(shown.slice(0, -ELLIPSIS.length).trimEnd())).toBe(true);
  else expect(shown.replace(/ /g, '')).toBe(text.replace(/\s+/g, ''));
}

beforeAll(async () => {
  await initBackend();
});

describe('render helpers', () => {
  it('display scale: small pictures to at least 224 px by a whole factor, large ones unchanged', () => {
    expect(MIN_DISPLAY_SIZE).toBe(224);
    expect(displayScale(28, 28)).toBe(8); // 224
    expect(displayScale(24, 24)).toBe(10); // 240
    expect(displayScale(32, 32)).toBe(7);
    expect(displayScale(64, 48)).toBe(4);
    expect(displayScale(7, 7)).toBe(32);
    expect(displayScale(224, 224)).toBe(1);
    expect(displayScale(299, 150)).toBe(1);
    for (let s = 1; s < 224; s++) {
      const k = displayScale(s, s);
      expect(s * k).toBeGreaterThanOrEqual(224);
      expect(s * (k - 1)).toBeLessThan(224);
    }
  });

  it('an enlarged map equals the original at integer factors, pixel for pixel', () => {
    const map: Map2D = { width: 13, height: 11, data: Float32Array.from(seededFloats(13 * 11, 5)) };
    const k = displayScale(map.width, map.height);
    const big = resizeMapNearest(map, map.width * k, map.height * k);
    for (let y = 0; y < big.height; y++) for (let x = 0; x < big.width; x++) expect(big.data[y * big.width + x]).toBe(map.data[Math.floor(y / k) * map.width + Math.floor(x / k)]);
    // Colouring then enlarging is the same as enlarging then colouring.
    const small = applyColormap(map, 'jet');
    const a = scaleNearest(small, k);
    expectBlocks(a, { x: 0, y: 0, width: a.width, height: a.height }, small, k);
    const b = applyColormap(big, 'jet', { min: Math.min(...map.data), max: Math.max(...map.data) });
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
  });

  it('thumbnails: small inputs by a whole factor (crisp), large ones shrunk to the width', () => {
    const img = photo(28, 28);
    const t = thumbnail(img, 112);
    expectBlocks(t, { x: 0, y: 0, width: 112, height: 112 }, img, 4);
    expect([thumbnail(photo(24, 24), 112).width, thumbnail(photo(224, 224), 112).width, thumbnail(photo(200, 300), 112).height]).toEqual([120, 112, 75]);
  });

  it('grid scale: tiles of ~48 px and the grid at least 224 px; grids of large maps at scale 1', () => {
    expect(gridScale(32, 6, 26, 26)).toBe(2); // 6 × 54 + 2 = 326
    expect(gridScale(1, 1, 26, 26)).toBe(9); // 26·9 + 4 = 238
    expect(gridScale(8, 3, 112, 112)).toBe(1);
    for (const [n, size] of [[1, 3], [4, 6], [16, 13], [3, 24], [64, 3]]) {
      const nrow = Math.ceil(Math.sqrt(n));
      const s = gridScale(n, nrow, size, size);
      const cols = Math.min(nrow, n);
      const rows = Math.ceil(n / cols);
      expect(Math.max(cols, rows) * (size * s + 2) + 2).toBeGreaterThanOrEqual(224);
    }
  });

  it('colour-bar labels never overlap and name their tick values, at any width and range', () => {
    const ranges: [number, number][] = [[0, 1], [-0.0852, 0.0852], [0, 8.25], [-5e-4, 5e-4], [0, 123456], [-1.71, 1.71], [0.3, 0.30001], [2, 2], [-3e-7, 1e-7]];
    for (const [min, max] of ranges) {
      for (const width of [6, 12, 24, 28, 40, 62, 100, 224, 240, 600]) {
        const labels = tickLabels(min, max, width);
        expectSeparate(labels, width, 4);
        for (const l of labels) {
          // The label reads as its value (to the label's precision).
          expect(Math.abs(Number(l.label) - l.value)).toBeLessThanOrEqual(Math.max(Math.abs(max - min), Math.abs(l.value)) * 0.051 + 1e-12);
          expect(l.value).toBeGreaterThanOrEqual(min - 1e-12);
          expect(l.value).toBeLessThanOrEqual(max + 1e-12);
        }
        const values = labels.map((l) => l.value);
        expect(values).toEqual([...values].sort((a, b) => a - b));
        if (width >= 62 && max - min > 1e-3 * Math.abs(max)) expect(labels.length).toBeGreaterThanOrEqual(2);
      }
    }
    expect(tickLabels(0, 1, 224, { ticks: 2 }).map((l) => l.label)).toEqual(['0', '0.5', '1.0']);
    expect(tickLabels(-5e-4, 5e-4, 224).map((l) => l.label)).toEqual(['-5e-4', '0', '5e-4']);
    expect(tickLabels(-0.0852, 0.0852, 224).map((l) => l.label)).toEqual(['-0.05', '0', '0.05']);
    expect(tickLabels(-1.71, 1.71, 28).map((l) => l.label)).toEqual(['1.7']); // not even two round ticks fit: the top end
  });

  it('a colour-bar legend draws ink only inside its label boxes', () => {
    for (const [width, min, max] of [[28, 0, 1], [24, -0.0852, 0.0852], [224, 0, 8.25], [62, -1.71, 1.71]]) {
      const leg = colorbarLegend('coolwarm', { width, min, max });
      expectSeparate(leg.labels, width, 4);
      const inBox = (x: number) => leg.labels.some((l: TickLabel) => x >= l.x && x < l.x + l.width);
      let outside = 0;
      let inside = 0;
      for (let y = leg.labelTop; y < leg.height; y++) {
        for (let x = 0; x < width; x++) {
          if (px(leg, x, y)[0] < 128) (inBox(x) ? inside++ : outside++);
        }
      }
      expect(outside).toBe(0);
      if (leg.labels.length) expect(inside).toBeGreaterThan(5 * leg.labels.length);
    }
  });

  it('titles wrap at words inside the width; a cut title ends in an ellipsis after the method and class', () => {
    const text = 'Grad-CAM: eyes wide open and looking at the camera (class 1, p=0.997) at eye_state_feature_extractor_block3_conv_relu';
    for (const width of [60, 120, 200, 454]) {
      const lines = wrapText(text, width - 6);
      for (const l of lines) expect(measureText(l)).toBeLessThanOrEqual(width - 6);
      expect(lines.join('').replace(/ /g, '')).toBe(text.replace(/ /g, ''));
      const block = textBlock(text, width, { maxLines: 2 });
      expect(block.lines.length).toBeLessThanOrEqual(2);
      expectTitleInside({ ...block, layout: { scale: 1, title: { x: 0, y: 0, width, height: block.height, lines: block.lines }, panels: [], labels: [] } }, text);
    }
    const one = wrapText(text, 150, { maxLines: 1 });
    expect(one).toHaveLength(1);
    expect(one[0].startsWith('Grad-CAM: eyes')).toBe(true);
    expect(one[0].endsWith(ELLIPSIS)).toBe(true);
    expect(measureText(one[0])).toBeLessThanOrEqual(150);
    // A word longer than the line breaks after '_' rather than anywhere.
    const parts = wrapText('eye_state_feature_extractor_block3_conv_relu', 90);
    expect(parts.slice(0, -1).every((p) => p.endsWith('_'))).toBe(true);
  });

  it('a figure of one 224 panel and a figure of 28 px panels', () => {
    const small = figure('t', [{ image: photo(28, 28) }, { image: photo(28, 28), colorbar: { colormap: 'jet', min: 0, max: 1 } }]);
    expect(small.layout.scale).toBe(8);
    expect(small.layout.panels.map((p) => [p.x, p.width, p.height])).toEqual([[0, 224, 224], [230, 224, 224]]);
    const big = figure('t', [{ image: photo(224, 224) }]);
    expect([big.width, big.layout.scale]).toEqual([224, 1]);
  });
});

describe('pictures of small models', () => {
  const mnist = () => smallNet(28, 28, 1, Array.from({ length: 10 }, (_, i) => `digit ${i}`));
  const eye = () => smallNet(24, 24, 3, ['closed', 'eyes wide open and looking at the camera'], 'eye_state_feature_extractor_block3_conv_relu', 7);

  it.each([
    ['28×28×1', mnist, 28, 8],
    ['24×24×3', eye, 24, 10],
  ])('%s: Grad-CAM, saliency and occlusion drawn at ≥ 224 px, pixel for pixel, with titles and labels that fit', async (_name, make, size, k) => {
    const model = make();
    const img = photo(size, size);
    const before = tf.memory().numTensors;
    const cam = await gradCam(model, img, { display: false });
    const sal = await saliency(model, img, { display: false });
    const occ = await occlusion(model, img, { display: false, progress: false, patchSize: 4, stride: 2 });
    expect(tf.memory().numTensors).toBe(before);

    const pic = cam.image() as Laid;
    expect(pic.layout.scale).toBe(k);
    expect(pic.width).toBeGreaterThanOrEqual(2 * MIN_DISPLAY_SIZE);
    expect(pic.layout.panels.every((p) => p.width >= MIN_DISPLAY_SIZE && p.height >= MIN_DISPLAY_SIZE)).toBe(true);
    expectBlocks(pic, pic.layout.panels[0], cam.overlay(), k);
    expectBlocks(pic, pic.layout.panels[1], cam.heatmap(), k);
    // The colour under the map at a model pixel is the colormap of the map value there (independent of the picture code).
    for (const [mx, my] of [[cam.peak().x, cam.peak().y], [Math.floor(size / 3), Math.floor(size / 2)]]) {
      const v = cam.map.data[my * size + mx];
      const want = px(applyColormap({ width: 1, height: 1, data: Float32Array.of(v) }, 'jet', { min: 0, max: 1 }), 0, 0);
      expect(px(pic, pic.layout.panels[1].x + mx * k + k - 1, pic.layout.panels[1].y + my * k)).toEqual(want);
    }
    expectTitleInside(pic, `Grad-CAM: ${cam.target.label} (class ${cam.target.index}, p=${cam.target.score.toFixed(3)}) at ${cam.layer}`);
    expectSeparate(pic.layout.labels, pic.width, 4);
    expect(pic.layout.labels.map((l) => l.label)).toEqual(['0', '0.5', '1.0']);

    for (const r of [sal, occ]) {
      const p = r.image() as Laid;
      expect(p.layout.scale).toBe(k);
      expect(Math.min(p.width, p.height)).toBeGreaterThanOrEqual(MIN_DISPLAY_SIZE);
      expectBlocks(p, p.layout.panels[0], r.input, k);
      expectBlocks(p, p.layout.panels[1], r.heatmap(), k);
      expectSeparate(p.layout.labels, p.width, 4);
      expect(p.layout.labels.length).toBeGreaterThanOrEqual(2);
      // Tick labels sit where their values are on the bar: its colour at the tick is the colormap at that value.
      const { min, max } = r.range();
      for (const l of p.layout.labels) expect(Math.abs((l.center - p.layout.panels[1].x + 0.5) / p.layout.panels[1].width - (l.value - min) / (max - min))).toBeLessThan(1.5 / p.layout.panels[1].width);
    }
    if (size === 24) expect(pic.layout.title.lines.length).toBeGreaterThanOrEqual(1);
  });

  it('24×24: a long class label and layer name wrap inside the picture', async () => {
    const model = eye();
    const cam = await gradCam(model, photo(24, 24), { classIndex: 1, display: false });
    const pic = cam.image() as Laid;
    const title = `Grad-CAM: ${cam.target.label} (class 1, p=${cam.target.score.toFixed(3)}) at ${cam.layer}`;
    expect(measureText(title)).toBeGreaterThan(pic.width); // it had to wrap
    expect(pic.layout.title.lines.length).toBeGreaterThan(1);
    expectTitleInside(pic, title);
    expect(pic.layout.title.lines[0].startsWith('Grad-CAM: eyes wide open')).toBe(true);
  });

  it('feature maps, filters, predictions, layer outputs and overlays of small models are at least 224 px', async () => {
    for (const [model, size] of [[mnist(), 28], [eye(), 24]] as const) {
      const img = photo(size, size);
      const fm = await featureMaps(model, img, { layer: 'c1', display: false });
      const grid = fm.image();
      expect(Math.max(grid.width, grid.height)).toBeGreaterThanOrEqual(MIN_DISPLAY_SIZE);
      const one = await featureMaps(model, img, { layer: 'c1', channels: [2], display: false });
      const tile = one.image();
      const k = (tile.width - 4) / fm.width;
      expect(Number.isInteger(k) && tile.width >= MIN_DISPLAY_SIZE).toBe(true);
      // The single tile is the viridis map of channel 2 enlarged block for block.
      expectBlocks(tile, { x: 2, y: 2, width: fm.width * k, height: fm.height * k }, applyColormap(fm.channel(2), 'viridis'), k);
      const f = await filters(model, { display: false });
      expect(Math.min(f.image().width, f.image().height)).toBeGreaterThanOrEqual(MIN_DISPLAY_SIZE);
      const p = await predict(model, img, { display: false });
      expect(p.image().height).toBeGreaterThanOrEqual(112);
      const lo = await layerOutputs(model, img, { display: false });
      expect(lo.image().width).toBeGreaterThanOrEqual(MIN_DISPLAY_SIZE);
      const ov = new ImageResult(fm.meta, fm.overlay(), 'overlay').image();
      expect([ov.width, ov.height]).toEqual([size * displayScale(size, size), size * displayScale(size, size)]);
      expectBlocks(ov, { x: 0, y: 0, width: ov.width, height: ov.height }, fm.overlay(), displayScale(size, size));
    }
    // The 28×28 grayscale first layer (3×3×1×4) is a square mosaic, not one column.
    const f = await filters(mnist(), { display: false });
    expect(f.image().width).toBe(f.image().height);
  });

  it('a 224×224 model keeps its picture sizes', async () => {
    const model = smallNet(224, 224, 3, ['a', 'b', 'c']);
    const img = photo(224, 224);
    const cam = await gradCam(model, img, { display: false });
    const pic = cam.image() as Laid;
    expect(pic.layout.scale).toBe(1);
    // Title line (7 px font + 2 × 3 padding + 2) | overlay and map 224 px, 6 apart | colour bar 10 + 2 + labels.
    expect([pic.width, pic.height]).toEqual([224 + 6 + 224, LINE_HEIGHT + 6 + 224 + 2 + 10 + 3 + LINE_HEIGHT + 1]);
    expectBlocks(pic, pic.layout.panels[1], cam.heatmap(), 1);
    const sal = await saliency(model, img, { display: false });
    expect([sal.image().width, sal.image().height]).toEqual([pic.width, pic.height]);
    const fm = await featureMaps(model, img, { layer: 'c1', channels: 4, display: false });
    expect(fm.image().width).toBe(2 * (222 + 2) + 2); // 'valid' 3×3 conv: 222×222 tiles at scale 1
    const ov = new ImageResult(fm.meta, fm.overlay(), 'overlay').image();
    expect([ov.width, ov.height]).toEqual([224, 224]);
  });
});
