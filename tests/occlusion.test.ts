/** Occlusion sensitivity on a model whose output is a known function of one corner; masks. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { topPercentMask, thresholdMask, occlusionMask, topPercentPicture } from '../kernel/src/explain/masks';
import { occlusion, patchOrigins, spreadPatches } from '../kernel/src/explain/occlusion';
import { CnnModel } from '../kernel/src/models/model';
import { RGBImage } from '../kernel/src/types';

/**
 * input 8×8×3 (pixels / 255) → keep the top-left 4×4 corner → mean per channel → logits
 * (K·Σ_c mean_c, 0). So p(class 0) = sigmoid(K · corner sum / 16) with the corner sum over 48 values.
 */
const K = 0.5;
function cornerNet(): CnnModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'img' });
  let x = tf.layers.cropping2D({ cropping: [[0, 4], [0, 4]], name: 'corner' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 2, useBias: false, activation: 'softmax', name: 'out' }).apply(x) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: x, name: 'corner' });
  net.getLayer('out').setWeights([tf.tensor2d([[K, 0], [K, 0], [K, 0]])]);
  return new CnnModel(net, { name: 'corner', preprocess: 'unit', labels: { names: ['corner', 'none'], source: 'test' } });
}

/** Corner pixels 230, the rest a fixed pattern. */
function picture(): RGBImage {
  const data = new Uint8Array(8 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (let c = 0; c < 3; c++) data[(y * 8 + x) * 3 + c] = x < 4 && y < 4 ? 230 : (37 * x + 11 * y + 50 * c) % 256;
  return { width: 8, height: 8, data };
}

/** p(class 0) computed by hand from the pixels. */
function pCorner(px: Uint8Array): number {
  let s = 0;
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 3; c++) s += px[(y * 8 + x) * 3 + c] / 255;
  return 1 / (1 + Math.exp(-K * (s / 16)));
}

beforeAll(async () => {
  await initBackend();
});

test('patch origins reach the edge; pixels get the mean of the patches covering them', () => {
  expect(patchOrigins(8, 2, 2)).toEqual([0, 2, 4, 6]);
  expect(patchOrigins(8, 3, 2)).toEqual([0, 2, 4, 5]);
  expect(patchOrigins(5, 5, 3)).toEqual([0]);
  // One row of 3 pixels, patches 1×2 at x = 0 and 1 with values 2 and 4: pixels (2, (2 + 4) / 2, 4).
  expect(Array.from(spreadPatches(new Float32Array([2, 4]), [0], [0, 1], 1, 2, 1, 3).data)).toEqual([2, 3, 4]);
});

test('occlusion of a model that only sees one corner: the hand-computed drop in probability there, zero elsewhere', async () => {
  const model = cornerNet();
  const img = picture();
  const p0 = pCorner(img.data);
  const r = await occlusion(model, img, { classIndex: 0, patchSize: 2, stride: 2, fill: 'gray', batchSize: 5, display: false });
  expect(r.target).toMatchObject({ kind: 'class', index: 0 });
  if (r.target.kind === 'class') expect(r.target.score).toBeCloseTo(p0, 5);
  const low = r.lowRes!;
  expect([low.width, low.height]).toEqual([4, 4]);
  for (let a = 0; a < 4; a++) {
    for (let b = 0; b < 4; b++) {
      const occluded = img.data.slice();
      for (let y = 2 * a; y < 2 * a + 2; y++) for (let x = 2 * b; x < 2 * b + 2; x++) occluded.fill(128, (y * 8 + x) * 3, (y * 8 + x) * 3 + 3);
      const expected = p0 - pCorner(occluded);
      expect(low.data[a * 4 + b]).toBeCloseTo(expected, 5);
      if (a < 2 && b < 2) expect(expected).toBeGreaterThan(0.01);
      else expect(expected).toBe(0);
      // Stride = patch: every pixel lies in one patch and takes its value.
      for (let y = 2 * a; y < 2 * a + 2; y++) for (let x = 2 * b; x < 2 * b + 2; x++) expect(r.map.data[y * 8 + x]).toBeCloseTo(low.data[a * 4 + b], 6);
    }
  }
  expect(r.signed).toBe(true);
  expect(r.details.patches).toBe(16);

  // The thresholded occlusion mask keeps exactly the corner (all four corner patches drop equally).
  const m = occlusionMask(r, { threshold: 0.5 });
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(m.mask.data[y * 8 + x]).toBe(x < 4 && y < 4 ? 1 : 0);
  expect(m.kept).toBeCloseTo(16 / 64, 6);
  expect(Array.from(m.image.data.slice(0, 3))).toEqual([230, 230, 230]);
  expect(Array.from(m.image.data.slice((7 * 8 + 7) * 3, (7 * 8 + 7) * 3 + 3))).toEqual([0, 0, 0]);
  // Top 25 % of the map: the same 16 pixels.
  expect(Array.from(topPercentPicture(r, 25).mask.data)).toEqual(Array.from(m.mask.data));
});

test('overlapping patches average onto pixels; mean and blur fills of a flat image change nothing', async () => {
  const model = cornerNet();
  const img = picture();
  const r = await occlusion(model, img, { classIndex: 0, patchSize: 2, stride: 1, display: false });
  const low = r.lowRes!;
  expect([low.width, low.height]).toEqual([7, 7]);
  // Pixel (1, 1) lies in the patches at origins (0..1, 0..1).
  const mean4 = (low.data[0] + low.data[1] + low.data[7] + low.data[8]) / 4;
  expect(r.map.data[1 * 8 + 1]).toBeCloseTo(mean4, 6);
  // Pixel (0, 0) only in the first patch.
  expect(r.map.data[0]).toBeCloseTo(low.data[0], 6);

  const flat: RGBImage = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(200) };
  for (const fill of ['mean', 'blur'] as const) {
    const f = await occlusion(model, flat, { classIndex: 0, patchSize: 3, stride: 2, fill, display: false });
    expect(Math.max(...Array.from(f.lowRes!.data).map(Math.abs))).toBeLessThan(1e-6);
  }
  const g = await occlusion(model, flat, { classIndex: 0, patchSize: 3, stride: 2, fill: 'gray', display: false });
  expect(Math.max(...Array.from(g.lowRes!.data))).toBeGreaterThan(0.01);
  await expect(occlusion(model, img, { patchSize: 9 })).rejects.toThrow(/patchSize 9×9 is larger than the input 8×8/);
  await expect(occlusion(model, img, { stride: 0 })).rejects.toThrow(/stride must be a positive integer/);
  await expect(occlusion(model, img, { fill: 'pink' as never })).rejects.toThrow(/unknown fill 'pink'; valid: gray, mean, blur/);
});

test('top-percent and threshold masks pick the expected pixels', () => {
  const map = { width: 3, height: 2, data: new Float32Array([5, 1, 3, 3, 9, -7]) };
  expect(Array.from(topPercentMask(map, 50).data)).toEqual([1, 0, 1, 0, 1, 0]); // 9, 5, then the first 3
  expect(Array.from(topPercentMask(map, 50, { abs: true }).data)).toEqual([1, 0, 0, 0, 1, 1]); // 9, −7, 5
  expect(Array.from(topPercentMask(map, 0).data)).toEqual([0, 0, 0, 0, 0, 0]);
  expect(Array.from(topPercentMask(map, 100).data)).toEqual([1, 1, 1, 1, 1, 1]);
  expect(Array.from(thresholdMask(map, 3).data)).toEqual([1, 0, 1, 1, 1, 0]);
  expect(Array.from(thresholdMask(map, 0.5, { relative: true }).data)).toEqual([1, 0, 0, 0, 1, 0]); // ≥ 4.5
  expect(() => topPercentMask(map, 120)).toThrow(/percent must be in 0\.\.100/);
  expect(() => thresholdMask({ width: 1, height: 1, data: new Float32Array([-1]) }, 0.5, { relative: true })).toThrow(/positive values/);
});
