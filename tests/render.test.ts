import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { Map2D, RGBAImage, RGBImage } from '../kernel/src/types';
import { applyColormap, colorAt, COLORMAPS, colormapNames, getColormap } from '../kernel/src/render/colormaps';
import { extent, finiteRange, normalizeMap, percentile, resolveRange, resolveRangeAll } from '../kernel/src/render/normalize';
import { resizeMapNearest, upsampleBilinear } from '../kernel/src/render/upsample';
import { gridLayout, makeGrid, mapsFromHWC, tileAt } from '../kernel/src/render/grid';
import { maskImage, overlayHeatmap } from '../kernel/src/render/overlay';
import { colorbar, niceTicks } from '../kernel/src/render/colorbar';
import { hconcat, pad, scaleNearest, vconcat } from '../kernel/src/render/compose';
import { expectCnnvisError } from './helpers/errors';

const map = (width: number, height: number, values: number[]): Map2D => ({ width, height, data: Float32Array.from(values) });
function rgba(img: RGBAImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(i, i + 4));
}
function expectClose(actual: number[], expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tol));
}
/** CIE L* of an sRGB colour. */
function lightness([r, g, b]: number[]): number {
  const lin = (c: number) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : Math.pow((c / 255 + 0.055) / 1.055, 2.4));
  const y = 0.2126729 * lin(r) + 0.7151522 * lin(g) + 0.072175 * lin(b);
  return y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y;
}

describe('colormaps', () => {
  it('has the documented maps, each a 256-entry RGB LUT', () => {
    expect(colormapNames()).toEqual(['viridis', 'magma', 'jet', 'gray', 'coolwarm', 'RdBu']);
    for (const name of colormapNames()) expect(COLORMAPS[name].lut.length).toBe(768);
  });

  it('viridis and magma match matplotlib at ends, quarters and middle', () => {
    // matplotlib viridis: 0 → (0.267, 0.005, 0.329), 0.25 → (0.230, 0.322, 0.546), 0.5 → (0.128, 0.567, 0.551),
    // 0.75 → (0.369, 0.789, 0.383), 1 → (0.993, 0.906, 0.144)
    expectClose(colorAt('viridis', 0), [68, 1, 84], 1);
    expectClose(colorAt('viridis', 0.25), [59, 82, 139], 1);
    expectClose(colorAt('viridis', 0.5), [33, 145, 140], 1);
    expectClose(colorAt('viridis', 0.75), [94, 201, 98], 1);
    expectClose(colorAt('viridis', 1), [253, 231, 37], 1);
    expectClose(colorAt('magma', 0), [0, 0, 4], 1);
    expectClose(colorAt('magma', 0.5), [183, 55, 121], 1);
    expectClose(colorAt('magma', 1), [252, 253, 191], 1);
    // between anchors the LUT is smooth: no step larger than a few levels
    const lut = COLORMAPS.viridis.lut;
    for (let i = 3; i < lut.length; i++) expect(Math.abs(lut[i] - lut[i - 3])).toBeLessThanOrEqual(4);
  });

  it('gray and jet', () => {
    expect(colorAt('gray', 0)).toEqual([0, 0, 0]);
    expect(colorAt('gray', 0.5)).toEqual([128, 128, 128]);
    expect(colorAt('grey', 1)).toEqual([255, 255, 255]);
    // matplotlib jet: 0 → (0, 0, 0.5), 0.25 → (0, 0.5, 1), 0.5 → (0.49, 1, 0.48), 1 → (0.5, 0, 0)
    expectClose(colorAt('jet', 0), [0, 0, 128], 1);
    expectClose(colorAt('jet', 0.25), [0, 129, 255], 1);
    expectClose(colorAt('jet', 0.5), [125, 255, 122], 1);
    expectClose(colorAt('jet', 1), [128, 0, 0], 1);
  });

  it('coolwarm is Moreland’s map: endpoints, grey centre, symmetric lightness', () => {
    expectClose(colorAt('coolwarm', 0), [59, 76, 192], 1);
    expectClose(colorAt('coolwarm', 1), [180, 4, 38], 1);
    const mid = colorAt('coolwarm', 0.5);
    expectClose(mid, [221, 221, 221], 1);
    // matplotlib coolwarm(0.25) ≈ (0.554, 0.690, 0.996)
    expectClose(colorAt('coolwarm', 64 / 256), [141, 176, 254], 2);
    const lut = COLORMAPS.coolwarm.lut;
    const at = (i: number) => Array.from(lut.subarray(i * 3, i * 3 + 3));
    for (let i = 0; i < 128; i += 8) {
      expect(Math.abs(lightness(at(i)) - lightness(at(255 - i)))).toBeLessThan(2.5);
      expect(lightness(at(i))).toBeLessThan(lightness(at(i + 8)) + 0.5); // brighter towards the centre
    }
    // blue half is blue, red half is red
    expect(at(40)[2]).toBeGreaterThan(at(40)[0]);
    expect(at(215)[0]).toBeGreaterThan(at(215)[2]);
  });

  it('RdBu: red low, near-white centre, blue high', () => {
    expectClose(colorAt('RdBu', 0), [103, 0, 31], 1);
    expectClose(colorAt('RdBu', 0.5), [247, 247, 247], 1);
    expectClose(colorAt('RdBu', 1), [5, 48, 97], 1);
    expect(getColormap('RdBu').kind).toBe('diverging');
  });

  it('unknown names list the valid ones', () => {
    expectCnnvisError(() => getColormap('hot'), /'hot'/, /viridis, magma, jet, gray, coolwarm, RdBu/);
    expectCnnvisError(() => applyColormap(map(1, 1, [0]), 'Viridis'), /valid: viridis/);
  });

  it('applyColormap: range, NaN, constant maps, symmetric', () => {
    const img = applyColormap(map(3, 1, [10, 20, NaN]), 'gray');
    expect(rgba(img, 0, 0)).toEqual([0, 0, 0, 255]);
    expect(rgba(img, 1, 0)).toEqual([255, 255, 255, 255]);
    expect(rgba(img, 2, 0)).toEqual([0, 0, 0, 0]); // NaN → transparent
    const marked = applyColormap(map(1, 1, [NaN]), 'gray', { nanColor: [255, 0, 255, 255] });
    expect(rgba(marked, 0, 0)).toEqual([255, 0, 255, 255]);
    const flat = applyColormap(map(2, 1, [3, 3]), 'gray');
    expect(rgba(flat, 0, 0)).toEqual([0, 0, 0, 255]);
    expect(rgba(flat, 1, 0)).toEqual([0, 0, 0, 255]);
    const fixed = applyColormap(map(2, 1, [0.25, 2]), 'gray', { min: 0, max: 1 });
    expect(rgba(fixed, 0, 0)).toEqual([64, 64, 64, 255]);
    expect(rgba(fixed, 1, 0)).toEqual([255, 255, 255, 255]);
    const signed = applyColormap(map(3, 1, [-1, 0, 4]), 'coolwarm', { symmetric: true });
    expect(rgba(signed, 1, 0).slice(0, 3)).toEqual(colorAt('coolwarm', 0.5)); // zero → centre
    expect(rgba(signed, 2, 0).slice(0, 3)).toEqual(colorAt('coolwarm', 1));
    expect(rgba(signed, 0, 0).slice(0, 3)).toEqual(colorAt('coolwarm', 0.375));
    const zeros = applyColormap(map(1, 1, [0]), 'coolwarm', { symmetric: true });
    expect(rgba(zeros, 0, 0).slice(0, 3)).toEqual(colorAt('coolwarm', 0.5));
  });
});

describe('normalize', () => {
  test('extent: min, max and the first index of the max in one pass, NaN skipped; empty has none', () => {
    const data = Float32Array.from({ length: 257 }, (_, i) => Math.sin(i * 0.37) * 5 + ((i * 7919) % 13) / 13);
    data[40] = NaN;
    const finite = Array.from(data).filter((v) => !Number.isNaN(v));
    const e = extent(data);
    expect(e.min).toBe(Math.min(...finite));
    expect(e.max).toBe(Math.max(...finite));
    expect(e.argMax).toBe(Array.from(data).indexOf(e.max));
    expect(extent([2, 7, 1, 7]).argMax).toBe(1);
    expect(extent([NaN, 3, 3]).argMax).toBe(1);
    expect(extent([-Infinity, -Infinity]).argMax).toBe(0);
    expect(extent([])).toEqual({ min: Infinity, max: -Infinity, argMax: -1 });
  });

  it('finite ranges and numpy-style percentiles', () => {
    expect(finiteRange([NaN, 3, -Infinity, -2, Infinity])).toEqual({ min: -2, max: 3 });
    expect(finiteRange([NaN])).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    const ramp = Array.from({ length: 101 }, (_, i) => i);
    expect(percentile(ramp, 99)).toBeCloseTo(99, 10);
    expect(percentile([4, 1, 3, 2], 25)).toBeCloseTo(1.75, 10);
  });

  it('percentile clipping ignores outliers, symmetric ranges centre on zero', () => {
    const data = Array.from({ length: 1000 }, (_, i) => i / 999);
    data[500] = 1e6;
    const r = resolveRange(data, { percentile: 99 });
    expect(r.max).toBeLessThan(1.01);
    expect(r.min).toBeGreaterThan(0);
    expect(resolveRange([-1, 3])).toEqual({ min: -1, max: 3 });
    expect(resolveRange([-1, 3], { symmetric: true })).toEqual({ min: -3, max: 3 });
    expect(resolveRange([-1, 3], { min: 0 })).toEqual({ min: 0, max: 3 });
    expect(resolveRangeAll([[1, 2], [5, NaN], []])).toEqual({ min: 1, max: 5 });
    expectCnnvisError(() => resolveRange([1], { percentile: 20 }), /\(50, 100\]/);
    const n = normalizeMap(map(3, 1, [2, 4, 6]));
    expect(Array.from(n.data)).toEqual([0, 0.5, 1]);
    expect(Array.from(normalizeMap(map(2, 1, [7, 7])).data)).toEqual([0, 0]);
  });
});

describe('upsampling', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it.each([
    [7, 7, 224, 224],
    [3, 5, 17, 11],
    [6, 4, 3, 2], // downscaling too
    [1, 1, 4, 4],
  ])('%i×%i → %i×%i matches tf.image.resizeBilinear(halfPixelCenters)', (w, h, W, H) => {
    const values = Array.from({ length: w * h }, (_, i) => Math.sin(i * 1.7) * 3 + i * 0.1);
    const ours = upsampleBilinear(map(w, h, values), W, H);
    const theirs = tf.tidy(() =>
      tf.image.resizeBilinear(tf.tensor4d(values, [1, h, w, 1]), [H, W], false, true).dataSync(),
    );
    expect(ours.width).toBe(W);
    expect(ours.height).toBe(H);
    let maxDiff = 0;
    for (let i = 0; i < theirs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours.data[i] - theirs[i]));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('hand-computed values and nearest', () => {
    expect(Array.from(upsampleBilinear(map(2, 1, [0, 1]), 4, 1).data)).toEqual([0, 0.25, 0.75, 1]);
    expect(Array.from(resizeMapNearest(map(2, 1, [5, 9]), 4, 1).data)).toEqual([5, 5, 9, 9]);
    expectCnnvisError(() => upsampleBilinear(map(2, 1, [0, 1]), 0, 3), /width/, /positive integer/);
  });
});

describe('grid', () => {
  it('layout geometry follows torchvision make_grid', () => {
    const L = gridLayout(5, 3, 4, 3, 2);
    expect([L.cols, L.rows, L.width, L.height]).toEqual([3, 2, 3 * 6 + 2, 2 * 5 + 2]);
    expect(L.tiles[0]).toEqual({ index: 0, x: 2, y: 2, width: 4, height: 3 });
    expect(L.tiles[4]).toEqual({ index: 4, x: 8, y: 7, width: 4, height: 3 });
    expect(tileAt(L, 2, 2)).toBe(0);
    expect(tileAt(L, 11, 9)).toBe(4);
    expect(tileAt(L, 1, 2)).toBe(-1); // border
    expect(tileAt(L, 6, 2)).toBe(-1); // gap between tiles 0 and 1
    expect(tileAt(L, 14, 7)).toBe(-1); // empty slot 5
    expect(gridLayout(2, 8, 1, 1, 0).cols).toBe(2);
    expectCnnvisError(() => gridLayout(3, 0), /nrow/);
  });

  it('per-tile, global and none normalization give the expected pixels', () => {
    const a = map(2, 1, [0, 1]);
    const b = map(2, 1, [0, 2]);
    const opts = { colormap: 'gray', padding: 1, nrow: 2 };
    const per = makeGrid([a, b], { ...opts, normalize: 'per-tile' });
    expect([per.width, per.height]).toEqual([2 * 3 + 1, 3]);
    expect(rgba(per, 0, 0)).toEqual([0, 0, 0, 255]); // padding: opaque black
    expect(rgba(per, 1, 1)[0]).toBe(0);
    expect(rgba(per, 2, 1)[0]).toBe(255);
    expect(rgba(per, 4, 1)[0]).toBe(0);
    expect(rgba(per, 5, 1)[0]).toBe(255);
    const glob = makeGrid([a, b], { ...opts, normalize: 'global' });
    expect(rgba(glob, 2, 1)[0]).toBe(128); // 1 of 0..2
    expect(rgba(glob, 5, 1)[0]).toBe(255);
    const none = makeGrid([map(2, 1, [0.5, 3]), b], { ...opts, normalize: 'none' });
    expect(rgba(none, 1, 1)[0]).toBe(128);
    expect(rgba(none, 2, 1)[0]).toBe(255); // clamped
    expectCnnvisError(() => makeGrid([a], { normalize: 'all' as 'global' }), /'all'/, /global, per-tile, none/);
  });

  it('scale, pad colour, image tiles and size checks', () => {
    const g = makeGrid([map(1, 1, [0]), map(1, 1, [1])], { colormap: 'gray', scale: 3, padding: 0, padColor: [9, 9, 9, 255], normalize: 'global' });
    expect([g.width, g.height]).toEqual([6, 3]);
    expect(rgba(g, 2, 2)[0]).toBe(0);
    expect(rgba(g, 3, 0)[0]).toBe(255);
    expect(g.layout.tiles[1]).toEqual({ index: 1, x: 3, y: 0, width: 3, height: 3 });
    const red: RGBImage = { width: 1, height: 1, data: Uint8Array.from([255, 0, 0]) };
    const imgs = makeGrid([red, red, red], { nrow: 2, padding: 1, padColor: [0, 0, 255, 255] });
    expect([imgs.width, imgs.height]).toEqual([5, 5]);
    expect(rgba(imgs, 3, 3)).toEqual([0, 0, 255, 255]); // empty slot keeps the pad colour
    expect(rgba(imgs, 1, 3)).toEqual([255, 0, 0, 255]);
    expectCnnvisError(() => makeGrid([map(1, 1, [0]), map(2, 1, [0, 0])]), /same size/, /2×1/);
  });

  it('mapsFromHWC splits channels-last activations', () => {
    // H=1, W=2, C=3: pixel 0 = (1, 2, 3), pixel 1 = (4, 5, 6)
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const all = mapsFromHWC(data, 1, 2, 3);
    expect(all.map((m) => Array.from(m.data))).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(mapsFromHWC(data, 1, 2, 3, [2, 0]).map((m) => Array.from(m.data))).toEqual([[3, 6], [1, 4]]);
    expectCnnvisError(() => mapsFromHWC(data, 1, 2, 3, [3]), /channel 3/, /0\.\.2/);
    expectCnnvisError(() => mapsFromHWC(data, 2, 2, 3), /\[2, 2, 3\]/);
  });
});

describe('overlay', () => {
  const photo: RGBImage = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).map((_, i) => (i * 7) % 256) };
  const cam = map(2, 2, [1, 0.2, 0.1, 0]);

  it('alpha 0 is the image, alpha 1 is the colormap', () => {
    const zero = overlayHeatmap(photo, cam, { alpha: 0 });
    for (let i = 0; i < 64; i++) {
      expect(Array.from(zero.data.subarray(i * 4, i * 4 + 3))).toEqual(Array.from(photo.data.subarray(i * 3, i * 3 + 3)));
    }
    const one = overlayHeatmap(photo, cam, { alpha: 1, colormap: 'jet' });
    const expected = applyColormap(upsampleBilinear(cam, 8, 8), 'jet');
    expect(Array.from(one.data)).toEqual(Array.from(expected.data));
  });

  it('the hot region is where the map is high; threshold leaves cold pixels untouched', () => {
    const grey: RGBImage = { width: 8, height: 8, data: new Uint8Array(192).fill(128) };
    const o = overlayHeatmap(grey, cam, { alpha: 0.6 });
    const hot = rgba(o, 0, 0);
    const cold = rgba(o, 7, 7);
    expect(hot[0]).toBeGreaterThan(hot[2] + 50); // red-ish under jet's high end
    expect(cold[2]).toBeGreaterThan(cold[0] + 50); // blue-ish under jet's low end
    const t = overlayHeatmap(grey, cam, { alpha: 0.6, threshold: 0.5 });
    expect(rgba(t, 7, 7)).toEqual([128, 128, 128, 255]);
    expect(rgba(t, 0, 0)).toEqual(hot);
    expectCnnvisError(() => overlayHeatmap(grey, cam, { alpha: 2 }), /alpha/, /\[0, 1\]/);
  });

  it('maskImage keeps the image where the mask is 1', () => {
    const m = maskImage(photo, map(2, 2, [1, 0, 0.5, NaN]), { background: [0, 0, 0] });
    const src = (x: number, y: number) => Array.from(photo.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
    const out = (x: number, y: number) => Array.from(m.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
    expect(out(0, 0)).toEqual(src(0, 0));
    expect(out(7, 0)).toEqual([0, 0, 0]);
    expect(out(7, 7)).toEqual([0, 0, 0]);
    expect(out(0, 7)).toEqual(src(0, 7).map((v) => Math.round(v * 0.5)));
  });
});

describe('colorbar and compose', () => {
  it('colorbar strips and ticks', () => {
    const h = colorbar('viridis', { width: 256, height: 4, min: 0, max: 1 });
    expect(rgba(h.image, 0, 0).slice(0, 3)).toEqual(colorAt('viridis', 0));
    expect(rgba(h.image, 255, 3).slice(0, 3)).toEqual(colorAt('viridis', 1));
    expect(h.ticks.map((t) => t.label)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    expect(h.ticks[5].position).toBe(256);
    const v = colorbar('gray', { orientation: 'vertical', min: -5, max: 5, height: 100, width: 3 });
    expect([v.image.width, v.image.height]).toEqual([3, 100]);
    expect(rgba(v.image, 0, 0)[0]).toBeGreaterThan(250); // max on top
    expect(rgba(v.image, 0, 99)[0]).toBeLessThan(5);
    const zero = v.ticks.find((t) => t.value === 0);
    expect(zero?.position).toBe(50);
    expect(niceTicks(0, 250, 5).values).toEqual([0, 50, 100, 150, 200, 250]);
    expectCnnvisError(() => colorbar('nope'), /valid: viridis/);
  });

  it('hconcat, vconcat, pad and scaleNearest', () => {
    const a: RGBImage = { width: 2, height: 1, data: Uint8Array.from([1, 1, 1, 2, 2, 2]) };
    const b: RGBAImage = { width: 1, height: 2, data: Uint8Array.from([3, 3, 3, 255, 4, 4, 4, 255]) };
    const h = hconcat([a, b], 1);
    expect([h.width, h.height]).toEqual([4, 2]);
    expect(rgba(h, 1, 0)).toEqual([2, 2, 2, 255]);
    expect(rgba(h, 2, 0)).toEqual([0, 0, 0, 0]); // gap
    expect(rgba(h, 0, 1)).toEqual([0, 0, 0, 0]); // below the shorter image
    expect(rgba(h, 3, 1)).toEqual([4, 4, 4, 255]);
    const v = vconcat([a, b], 0, { align: 'end', background: [9, 9, 9, 255] });
    expect([v.width, v.height]).toEqual([2, 3]);
    expect(rgba(v, 1, 1)).toEqual([3, 3, 3, 255]);
    expect(rgba(v, 0, 1)).toEqual([9, 9, 9, 255]);
    const p = pad(a, { left: 2, top: 1 }, [5, 5, 5, 255]);
    expect([p.width, p.height]).toEqual([4, 2]);
    expect(rgba(p, 2, 1)).toEqual([1, 1, 1, 255]);
    expect(rgba(p, 0, 0)).toEqual([5, 5, 5, 255]);
    const s = scaleNearest(a, 2);
    expect([s.width, s.height]).toEqual([4, 2]);
    expect(rgba(s, 1, 1)).toEqual([1, 1, 1, 255]);
    expect(rgba(s, 2, 1)).toEqual([2, 2, 2, 255]);
    expectCnnvisError(() => hconcat([]), /at least one/);
  });
});
