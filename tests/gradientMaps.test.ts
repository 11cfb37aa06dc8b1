/**
 * Readable gradient maps (issue 18 item 2): colours clipped at a percentile of |map| (the clip value on
 * the colour bar), the gradient image of guided backprop / deconvnet (RGB, centred at grey, scaled by a
 * robust spread), the map / overlay / side-by-side displays, and the saliency explorer's picture size.
 * References are computed here independently (sorting, the formula written out), not by the code tested.
 */
import * as tf from '@tensorflow/tfjs';
import { CommManager, installCommManager } from '../kernel/src/kernel/comms';
import { deconvnet, guidedBackprop } from '../kernel/src/explain/attribution/guided';
import { integratedGradients } from '../kernel/src/explain/attribution/integratedGradients';
import { AttributionResult } from '../kernel/src/explain/attribution/result';
import { SaliencyExplorer } from '../kernel/src/explore';
import { CnnModel } from '../kernel/src/models/model';
import { seededFloats } from '../kernel/src/random';
import { FigureLayout } from '../kernel/src/render/figure';
import { clipValue, gradientImage } from '../kernel/src/render/gradient';
import { RGBAImage, RGBImage } from '../kernel/src/types';

type Laid = RGBAImage & { layout: FigureLayout };

/** numpy's default percentile (linear between order statistics), written out. */
function npPercentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = ((s.length - 1) * p) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

function net(h: number, w: number, name: string): CnnModel {
  const input = tf.input({ shape: [h, w, 3], name: 'img' });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: x, name });
  let seed = 40;
  for (const l of m.layers) {
    const ws = l.getWeights();
    // Positive biases keep most ReLUs open, so guided backprop is dense enough to have structure.
    if (ws.length) l.setWeights(ws.map((t, i) => tf.tensor(seededFloats(t.size, seed++).map((v) => (i === 1 ? 0.1 : 0) + (v - 0.5) * 1.2), t.shape)));
  }
  return new CnnModel(m, { name, preprocess: 'mobilenet', labels: { names: ['a', 'b', 'c'], source: 'test' } });
}

function photo(h: number, w: number, seed = 3): RGBImage {
  const r = seededFloats(h * w * 3, seed);
  const data = new Uint8Array(h * w * 3).map((_, i) => {
    const p = Math.floor(i / 3);
    return Math.abs((p % w) - Math.floor(p / w)) < Math.max(2, w / 8) ? 230 : Math.round(60 * r[i]);
  });
  return { width: w, height: h, data };
}

const distinctColours = (img: RGBAImage, rect: { x: number; y: number; width: number; height: number }) => {
  const seen = new Set<number>();
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) {
      const o = (y * img.width + x) * 4;
      seen.add((img.data[o] << 16) | (img.data[o + 1] << 8) | img.data[o + 2]);
    }
  }
  return seen.size;
};

let model: CnnModel;
beforeAll(() => {
  tf.setBackend('cpu');
  model = net(16, 16, 'g16');
});

test('clip value: the 99.5th percentile of |map|; one huge outlier leaves the structure visible, the colour bar names the clip value', async () => {
  const g = await guidedBackprop(model, photo(16, 16), { classIndex: 1, display: false });
  const raw = Float32Array.from(g.map.data);
  // A copy of the result with one pixel 1e6 times the largest value.
  const big = Float32Array.from(raw);
  let top = 0;
  for (const v of raw) top = Math.max(top, Math.abs(v));
  expect(top).toBeGreaterThan(0);
  big[37] = top * 1e6;
  const nonzero = new Set(Array.from(raw).filter((v) => v !== 0)).size;
  expect(nonzero).toBeGreaterThan(40);
  const spiked = new AttributionResult({ ...g, meta: g.meta, map: { ...g.map, data: big }, rgbPanel: true } as never);
  const ref = npPercentile(Array.from(big, Math.abs), 99.5);
  expect(clipValue(big)).toBeCloseTo(ref, 12);
  expect(spiked.clip()).toBeCloseTo(ref, 12);
  expect(spiked.clip()).toBeLessThan(top * 10); // the outlier does not set the range
  for (const display of ['map', 'side-by-side', 'overlay'] as const) {
    const pic = spiked.image({ display }) as Laid;
    const mapPanel = pic.layout.panels[display === 'side-by-side' ? 1 : 0];
    expect(distinctColours(pic, mapPanel)).toBeGreaterThan(20);
    const labels = pic.layout.labels.filter((l) => l.panel === (display === 'side-by-side' ? 1 : 0));
    // Ends labelled −clip, 0, +clip (signed map), with the clip value to 3 significant digits.
    expect(labels.map((l) => l.value)).toEqual([-spiked.clip(), 0, spiked.clip()]);
    expect(labels[2].label).toBe(String(Number(ref.toPrecision(3))));
  }
  // Scaling by the maximum instead (no clipping) would leave only a handful of colours.
  const unclipped = new AttributionResult({ ...g, meta: g.meta, map: { ...g.map, data: big } } as never);
  const h = unclipped.heatmap();
  const asMax = Array.from(big, (v) => Math.round(127.5 + (127.5 * v) / (top * 1e6)));
  expect(new Set(asMax).size).toBeLessThan(4);
  expect(distinctColours(h, { x: 0, y: 0, width: 16, height: 16 })).toBeGreaterThan(20);
  // The raw map is unchanged by drawing.
  expect(Array.from(g.map.data)).toEqual(Array.from(raw));
});

test('gradient image of guided backprop / deconvnet: 0.5 + (g − mean) / (2 · p99.5 |g − mean|) per channel; raw values untouched', async () => {
  for (const fn of [guidedBackprop, deconvnet]) {
    const r = await fn(model, photo(16, 16, 5), { classIndex: 2, display: false });
    const c = Array.from(r.channels!);
    const before = c.slice();
    const mean = c.reduce((a, b) => a + b, 0) / c.length;
    const s = npPercentile(c.map((v) => Math.abs(v - mean)), 99.5);
    expect(s).toBeGreaterThan(0);
    const img = r.rgb()!;
    expect([img.width, img.height]).toEqual([16, 16]);
    let checked = 0;
    for (let i = 0; i < 256; i += 7) {
      for (let k = 0; k < 3; k++) {
        const want = Math.round(255 * Math.min(1, Math.max(0, 0.5 + (c[i * 3 + k] - mean) / (2 * s))));
        // float32 vs float64 rounding may move a value sitting on .5 by one step
        expect(Math.abs(img.data[i * 4 + k] - want)).toBeLessThanOrEqual(1);
        checked++;
      }
      expect(img.data[i * 4 + 3]).toBe(255);
    }
    expect(checked).toBeGreaterThan(100);
    expect(new Set(Array.from(img.data.filter((_, i) => i % 4 === 1))).size).toBeGreaterThan(10);
    expect(Array.from(r.channels!)).toEqual(before);
    // The function on its own: a constant gradient is mid grey.
    expect(Array.from(gradientImage([2, 2, 2], 1, 1).data)).toEqual([128, 128, 128, 255]);
  }
});

test('display modes: map | overlay | side by side give the expected picture sizes', async () => {
  const g = await guidedBackprop(model, photo(16, 16), { classIndex: 0, display: false });
  const ig = await integratedGradients(model, photo(16, 16), { classIndex: 0, steps: 8, display: false });
  // 16 px panels are enlarged ×14 (224 px, render/figure), 6 px apart.
  const P = 16 * 14;
  expect(g.image({ display: 'side-by-side' }).width).toBe(3 * P + 2 * 6); // input | map | gradient image
  expect(g.image().width).toBe(3 * P + 2 * 6);
  expect(g.image({ display: 'map' }).width).toBe(2 * P + 6); // map | gradient image
  expect(g.image({ display: 'overlay' }).width).toBe(2 * P + 6);
  expect(ig.image({ display: 'side-by-side' }).width).toBe(2 * P + 6);
  expect(ig.image({ display: 'map' }).width).toBe(P);
  expect(ig.image({ display: 'overlay' }).width).toBe(P);
  const ov = ig.image({ display: 'overlay' }) as Laid;
  const m = ig.image({ display: 'map' }) as Laid;
  expect(ov.height).toBe(m.height);
  expect(distinctColours(ov, ov.layout.panels[0])).not.toBe(distinctColours(m, m.layout.panels[0]));
});

describe('saliency explorer picture', () => {
  let previous: CommManager | undefined;
  beforeEach(() => {
    previous = installCommManager(new CommManager({ send: () => undefined, currentParentId: () => 'p' }));
  });
  afterEach(() => {
    if (previous) installCommManager(previous);
  });

  test('≥ 320 px wide on a 28×28 model in every display; guided backprop sends its gradient image; maps unchanged', async () => {
    const small = net(28, 28, 'g28');
    const img = photo(28, 28);
    const ex = await SaliencyExplorer.open(small, img, { display: false, method: 'guided-backprop', classIndex: 1 });
    const ref = await guidedBackprop(small, img, { classIndex: 1, display: false });
    expect(Array.from((await ex.map('guided-backprop', 1)).data)).toEqual(Array.from(ref.map.data));
    expect(ex.state.display_mode).toBe('side-by-side');
    expect(ex.state.clip_percentile).toBe(99.5);
    expect(ex.state.range_max).toBeCloseTo(npPercentile(Array.from(ref.map.data, Math.abs), 99.5), 9);
    expect(Array.from(ex.state.gradient_rgba)).toEqual(Array.from(ref.rgb()!.data));
    const widths: Record<string, number> = {};
    for (const mode of ['map', 'overlay', 'side-by-side'] as const) {
      ex.set({ display_mode: mode });
      const pic = ex.picture() as Laid;
      widths[mode] = pic.width;
      expect(pic.width).toBeGreaterThanOrEqual(320);
      const bar = pic.layout.labels.map((l) => l.value);
      expect(bar).toEqual([-ex.state.range_max, 0, ex.state.range_max]);
    }
    // map | gradient: 28 × 6 each + gap; photo | map | gradient: 28 × 4 each + 2 gaps.
    expect(widths).toEqual({ map: 2 * 28 * 6 + 6, overlay: 2 * 28 * 6 + 6, 'side-by-side': 3 * 28 * 4 + 12 });
    const snap = ex.snapshot();
    expect(snap.display_mode).toBe('side-by-side');
    expect(snap.maps.find((m) => m.method === 'guided-backprop')?.gradient_rgba).toBeTruthy();
    expect(snap.maps.find((m) => m.method === 'saliency')?.gradient_rgba).toBeUndefined();
    ex.close();
  });
});
