import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { generateBatch, generateScene, SHAPE_CLASSES, mulberry32 } from '../kernel/src/data/shapes';
import {
  buildDemoModel,
  DEMO_ASSET_DIR,
  DEMO_CLASSES,
  DEMO_INPUT_SIZE,
  DEMO_LAST_CONV,
  loadDemoModel,
} from '../kernel/src/models/demo';
import { registerWasmConvGradients } from '../kernel/src/engine/wasmConvGrads';
import { DEMO_SEEDS, evaluateDemo } from '../kernel/src/models/demoTraining';
import { CnnvisError } from '../kernel/src/errors';
import { forEachConvTap } from './helpers/convTaps';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('shape scene generator', () => {
  test('the PRNG is deterministic and roughly uniform', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 2000 }, () => a());
    expect(Array.from({ length: 2000 }, () => b())).toEqual(xs);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  test('a seed always gives the same scene; neighbouring seeds differ', () => {
    const s1 = generateScene(123);
    const s2 = generateScene(123);
    expect(Buffer.from(s1.image.data).equals(Buffer.from(s2.image.data))).toBe(true);
    expect(s2.box).toEqual(s1.box);
    expect(s2.label).toBe(s1.label);
    const s3 = generateScene(124);
    expect(Buffer.from(s3.image.data).equals(Buffer.from(s1.image.data))).toBe(false);
  });

  test('boxes lie inside the image, the mask lies inside the box, sizes follow the recipe', () => {
    for (const size of [64, 96]) {
      for (let seed = 0; seed < 30; seed++) {
        const s = generateScene(seed, { size });
        const { x, y, w, h } = s.box;
        expect(s.image.width).toBe(size);
        expect(s.image.data.length).toBe(size * size * 3);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(x + w).toBeLessThanOrEqual(size);
        expect(y + h).toBeLessThanOrEqual(size);
        expect(w).toBeGreaterThanOrEqual(Math.round(0.25 * size));
        expect(w).toBeLessThanOrEqual(Math.round(0.45 * size));
        let inMask = 0;
        let outside = 0;
        for (let py = 0; py < size; py++) {
          for (let px = 0; px < size; px++) {
            if (!s.mask[py * size + px]) continue;
            inMask++;
            if (!(px >= x && px < x + w && py >= y && py < y + h)) outside++;
          }
        }
        expect(outside).toBe(0);
        expect(inMask).toBeGreaterThan(0.2 * w * h);
        expect(SHAPE_CLASSES[s.label]).toBe(s.className);
      }
    }
  });

  test('the class can be forced, by index or name, and bad classes are refused', () => {
    expect(generateScene(5, { cls: 3 }).className).toBe(SHAPE_CLASSES[3]);
    expect(generateScene(5, { cls: 'ring' }).label).toBe(SHAPE_CLASSES.indexOf('ring'));
    expect(() => generateScene(5, { cls: 6 })).toThrow(CnnvisError);
    expect(() => generateScene(5, { cls: 'hexagon' as never })).toThrow(CnnvisError);
  });

  test('the object stands out: its pixels differ from the background just around its box', () => {
    let clear = 0;
    for (let seed = 0; seed < 40; seed++) {
      const s = generateScene(seed);
      const n = s.image.width;
      const mean = (pick: (px: number, py: number) => boolean): number[] => {
        const m = [0, 0, 0];
        let c = 0;
        for (let py = 0; py < n; py++) {
          for (let px = 0; px < n; px++) {
            if (!pick(px, py)) continue;
            c++;
            for (let k = 0; k < 3; k++) m[k] += s.image.data[(py * n + px) * 3 + k];
          }
        }
        return m.map((v) => v / Math.max(c, 1));
      };
      const fg = mean((px, py) => s.mask[py * n + px] === 1);
      const { x, y, w, h } = s.box;
      const inBox = (px: number, py: number, m: number): boolean =>
        px >= x - m && px < x + w + m && py >= y - m && py < y + h + m;
      const bg = mean((px, py) => inBox(px, py, 3) && !inBox(px, py, 0));
      if (Math.hypot(fg[0] - bg[0], fg[1] - bg[1], fg[2] - bg[2]) > 60) clear++;
    }
    expect(clear).toBeGreaterThanOrEqual(34);
  });

  test('batches are balanced, in [0,1] and match the scenes of the same seeds', () => {
    const b = generateBatch(600, 12);
    try {
      expect(b.xs.shape).toEqual([12, 64, 64, 3]);
      expect(b.ys.shape).toEqual([12, 6]);
      const counts = new Array(6).fill(0);
      b.labels.forEach((l) => counts[l]++);
      expect(counts).toEqual([2, 2, 2, 2, 2, 2]);
      const s = generateScene(603, { cls: b.labels[3] });
      const px = b.xs.slice([3, 0, 0, 0], [1, 64, 64, 3]).dataSync();
      expect(Math.round(px[100] * 255)).toBe(s.image.data[100]);
      expect(b.boxes[3]).toEqual(s.box);
      expect(Array.from(b.ys.argMax(-1).dataSync())).toEqual(b.labels);
      expect(b.xs.max().dataSync()[0]).toBeLessThanOrEqual(1);
      expect(b.xs.min().dataSync()[0]).toBeGreaterThanOrEqual(0);
    } finally {
      b.xs.dispose();
      b.ys.dispose();
    }
  });
});

describe('wasm convolution gradients used for training', () => {
  /** Brute-force gradients of sum(conv2d(x, w) * dy) with respect to x and w. */
  function reference(
    x: number[][][][],
    w: number[][][][],
    dy: number[][][][],
    stride: number,
    padTop: number,
    padLeft: number,
  ): { dx: Float64Array; dw: Float64Array } {
    const [B, H, W, C] = [x.length, x[0].length, x[0][0].length, x[0][0][0].length];
    const [KH, KW, , O] = [w.length, w[0].length, 0, w[0][0][0].length];
    const [OH, OW] = [dy[0].length, dy[0][0].length];
    const dx = new Float64Array(B * H * W * C);
    const dw = new Float64Array(KH * KW * C * O);
    forEachConvTap({ batch: B, inH: H, inW: W, outH: OH, outW: OW, kh: KH, kw: KW, stride, padTop, padLeft }, (b, oy, ox, i, j, yy, xx) => {
      for (let c = 0; c < C; c++)
        for (let o = 0; o < O; o++) {
          dw[((i * KW + j) * C + c) * O + o] += x[b][yy][xx][c] * dy[b][oy][ox][o];
          dx[((b * H + yy) * W + xx) * C + c] += w[i][j][c][o] * dy[b][oy][ox][o];
        }
    });
    return { dx, dw };
  }

  type Shape4 = [number, number, number, number];
  const cases: Array<[Shape4, Shape4, number, 'same' | 'valid', number, number]> = [
    [[2, 9, 9, 3], [3, 3, 3, 4], 1, 'same', 1, 1],
    [[2, 8, 7, 2], [3, 3, 2, 5], 1, 'valid', 0, 0],
    [[1, 9, 8, 3], [3, 3, 3, 2], 2, 'same', 1, 0],
    [[1, 10, 10, 2], [3, 3, 2, 3], 2, 'valid', 0, 0],
  ];
  test.each(cases)('input %j filter %j stride %d %s match a brute-force reference', (xs, ws, stride, pad, pt, pl) => {
    registerWasmConvGradients();
    expect(tf.getBackend()).toBe('wasm');
    const x = tf.randomNormal(xs, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal(ws, 0, 1, 'float32', 2) as tf.Tensor4D;
    const outShape = tf.conv2d(x, w, stride, pad).shape;
    const dy = tf.randomNormal(outShape, 0, 1, 'float32', 3) as tf.Tensor4D;
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), dy)),
    )([x, w]);
    const ref = reference(x.arraySync(), w.arraySync(), dy.arraySync(), stride, pt, pl);
    const maxErr = (got: Float32Array | Int32Array | Uint8Array, want: Float64Array): number =>
      want.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
    expect(maxErr(gw.dataSync(), ref.dw)).toBeLessThan(1e-3);
    expect(maxErr(gx.dataSync(), ref.dx)).toBeLessThan(1e-3);
    expect(ref.dw.some((v) => Math.abs(v) > 0.1)).toBe(true);
    tf.dispose([x, w, dy, gx, gw]);
  });
});

describe('the committed demo model', () => {
  let model: tf.LayersModel;
  beforeAll(async () => {
    model = await loadDemoModel();
  });
  afterAll(() => model?.dispose());

  test('has the documented VGG-style architecture with a GAP + dense softmax head', () => {
    expect(model.inputs[0].shape).toEqual([null, DEMO_INPUT_SIZE, DEMO_INPUT_SIZE, 3]);
    const names = model.layers.map((l) => l.name);
    expect(names.slice(1)).toEqual([
      'block1_conv1',
      'block1_conv2',
      'block1_pool',
      'block2_conv1',
      'block2_conv2',
      'block2_pool',
      'block3_conv1',
      'block3_conv2',
      'global_average_pooling2d',
      'predictions',
    ]);
    expect(names[names.length - 2]).toBe('global_average_pooling2d');
    expect(model.getLayer('global_average_pooling2d').getClassName()).toBe('GlobalAveragePooling2D');
    const head = model.getLayer('predictions');
    expect(head.getClassName()).toBe('Dense');
    expect((head.getConfig() as { activation: string }).activation).toBe('softmax');
    expect(model.outputs[0].shape).toEqual([null, DEMO_CLASSES.length]);
    expect(model.getLayer(DEMO_LAST_CONV).outputShape).toEqual([null, 16, 16, 64]);
    // The committed topology is the one buildDemoModel() makes.
    const fresh = buildDemoModel();
    expect(fresh.layers.map((l) => [l.name, JSON.stringify(l.outputShape)])).toEqual(
      model.layers.map((l) => [l.name, JSON.stringify(l.outputShape)]),
    );
    fresh.dispose();
  });

  test('weighs under 2 MB and its files agree', () => {
    const json = JSON.parse(fs.readFileSync(path.join(DEMO_ASSET_DIR, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest.map((g: { paths: string[] }) => g.paths)).toEqual([['weights.bin']]);
    const bytes = fs.statSync(path.join(DEMO_ASSET_DIR, 'weights.bin')).size;
    expect(bytes).toBe(model.countParams() * 4);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
    expect(fs.existsSync(path.join(DEMO_ASSET_DIR, 'TRAINING.md'))).toBe(true);
  });

  test('classifies at least 95% of 200 scenes from seeds never used in training', () => {
    const acc = evaluateDemo(model, DEMO_SEEDS.test, 200);
    expect(acc).toBeGreaterThanOrEqual(0.95);
  });

  test('the summed last-conv activation peaks on the object in at least 80% of fresh scenes', () => {
    const n = 120;
    const tap = tf.model({ inputs: model.inputs, outputs: model.getLayer(DEMO_LAST_CONV).output as tf.SymbolicTensor });
    const b = generateBatch(DEMO_SEEDS.test + 10_000, n);
    const peaks = tf.tidy(() => {
      const act = tap.predict(b.xs) as tf.Tensor4D; // [n, 16, 16, 64]
      const summed = act.sum(-1, true) as tf.Tensor4D;
      const up = tf.image.resizeBilinear(summed, [DEMO_INPUT_SIZE, DEMO_INPUT_SIZE]);
      return up.reshape([n, DEMO_INPUT_SIZE * DEMO_INPUT_SIZE]).argMax(-1).dataSync();
    });
    const margin = 3;
    let hits = 0;
    b.boxes.forEach((box, i) => {
      const px = peaks[i] % DEMO_INPUT_SIZE;
      const py = Math.floor(peaks[i] / DEMO_INPUT_SIZE);
      if (px >= box.x - margin && px < box.x + box.w + margin && py >= box.y - margin && py < box.y + box.h + margin) hits++;
    });
    tf.dispose([b.xs, b.ys]);
    expect(hits / n).toBeGreaterThanOrEqual(0.8);
  });
});
