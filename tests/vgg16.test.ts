/**
 * VGG16 in code with Keras' layer names, and loading Keras' VGG16 weights-file layout. The weights
 * files are small VGG-shaped fixtures written by tests/fixtures/make_keras_h5.py (h5py), with the
 * expected outputs computed by numpy there; the real 528 MB file is too big for tests.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { CnnvisError } from '../kernel/src/errors';
import { buildVgg16, loadVgg16Weights, Vgg16Options } from '../kernel/src/models/vgg16';
import { generatedFixtures, pythonHasH5py } from './helpers/pyFixtures';

const hasH5py = pythonHasH5py('fixture tests');
const withFixtures = hasH5py ? describe : describe.skip;

const KERAS_VGG16_LAYERS = [
  'input_1',
  'block1_conv1', 'block1_conv2', 'block1_pool',
  'block2_conv1', 'block2_conv2', 'block2_pool',
  'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_pool',
  'block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_pool',
  'block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_pool',
  'flatten', 'fc1', 'fc2', 'predictions',
]; // prettier-ignore

interface VggFixture {
  inputShape: [number, number, number];
  filters: [number, number, number, number, number];
  fcUnits: number;
  classes: number;
  input: number[];
  predictions: number[];
  logits: number[];
  block1_conv1_first_pixels: number[];
  checksums: Record<string, Array<[number, number]>>;
}

const fixtures = generatedFixtures('make_keras_h5.py', 'cnnvis-vgg-', hasH5py);
let fx: VggFixture;
beforeAll(async () => {
  await initBackend();
  if (hasH5py) fx = JSON.parse(fs.readFileSync(path.join(fixtures(), 'vgg_small.json'), 'utf8'));
});

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CnnvisError);
    return e as Error;
  }
  throw new Error('expected an error');
}

async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CnnvisError);
    return e as Error;
  }
  throw new Error('expected a rejection');
}

function checksum(values: Float32Array): [number, number] {
  let s = 0;
  let w = 0;
  values.forEach((v, i) => {
    s += v;
    w += v * ((i % 7) + 1);
  });
  return [s, w];
}

describe('buildVgg16 architecture', () => {
  test('the full ImageNet VGG16: Keras layer names, shapes and 138,357,544 parameters', () => {
    const t0 = Date.now();
    const m = buildVgg16();
    expect(Date.now() - t0).toBeLessThan(30000); // zero init, no random initializers
    expect(m.layers.map((l) => l.name)).toEqual(KERAS_VGG16_LAYERS);
    expect(m.countParams()).toBe(138357544);
    expect(m.getLayer('block5_pool').outputShape).toEqual([null, 7, 7, 512]);
    expect(m.getLayer('fc1').weights[0].shape).toEqual([25088, 4096]);
    expect(m.outputs[0].shape).toEqual([null, 1000]);
    m.dispose();
  });

  test('without the top: 14,714,688 parameters; pooling and logits options', () => {
    const m = buildVgg16({ includeTop: false });
    expect(m.layers.map((l) => l.name)).toEqual(KERAS_VGG16_LAYERS.slice(0, 19));
    expect(m.countParams()).toBe(14714688);
    expect(m.outputs[0].shape).toEqual([null, 7, 7, 512]);
    m.dispose();
    const small = { inputShape: [48, 64, 3], filters: [2, 2, 2, 2, 3], fcUnits: 4 } as Vgg16Options;
    const p = buildVgg16({ ...small, includeTop: false, pooling: 'max' });
    expect(p.outputs[0].shape).toEqual([null, 3]);
    expect(p.layers[p.layers.length - 1].name).toBe('global_max_pooling2d');
    p.dispose();
    const l = buildVgg16({ ...small, classes: 5, classifierActivation: 'linear' });
    expect(l.getLayer('flatten').outputShape).toEqual([null, 1 * 2 * 3]);
    expect(l.getLayer('predictions').getConfig().activation).toBe('linear');
    l.dispose();
  });

  test('random init on request; zeros by default', () => {
    const small: Vgg16Options = { inputShape: [32, 32, 3], filters: [2, 2, 2, 2, 2], fcUnits: 4, classes: 3 };
    const z = buildVgg16(small);
    const r = buildVgg16({ ...small, initWeights: 'random' });
    const absSum = (m: tf.LayersModel) => tf.tidy(() => tf.abs(m.getLayer('block1_conv1').getWeights()[0]).sum().dataSync()[0]);
    expect(absSum(z)).toBe(0);
    expect(absSum(r)).toBeGreaterThan(0);
    z.dispose();
    r.dispose();
  });

  test('bad options are refused with what is valid', () => {
    expect(errorOf(() => buildVgg16({ inputShape: [16, 224, 3] })).message).toMatch(/at least 32×32.*16×224/);
    expect(errorOf(() => buildVgg16({ classes: 0 })).message).toMatch(/classes must be a positive integer, got 0/);
    expect(
      errorOf(() => buildVgg16({ classifierActivation: 'tanh' as unknown as 'softmax' })).message,
    ).toMatch(/unknown VGG16 classifierActivation 'tanh'; valid: softmax, linear, sigmoid/);
    expect(errorOf(() => buildVgg16({ pooling: 'avg' })).message).toMatch(/only with includeTop: false/);
  });
});

withFixtures('loadVgg16Weights on Keras-layout weights files', () => {
  const build = (o: Vgg16Options = {}) =>
    buildVgg16({ inputShape: fx.inputShape, filters: fx.filters, fcUnits: fx.fcUnits, classes: fx.classes, ...o });

  function expectExactWeights(m: tf.LayersModel, layers: string[]): void {
    for (const name of layers) {
      const want = fx.checksums[name];
      const got = m.getLayer(name).getWeights();
      expect(got).toHaveLength(want.length);
      got.forEach((w, i) => {
        const [s, ws] = checksum(w.dataSync() as Float32Array);
        expect(Math.abs(s - want[i][0])).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[i][0])));
        expect(Math.abs(ws - want[i][1])).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[i][1])));
      });
    }
  }

  test.each(['vgg_small_old.h5', 'vgg_small_new.h5'])('%s: every layer gets its weights; output matches numpy', async (file) => {
    const m = build();
    const report = await loadVgg16Weights(m, path.join(fixtures(), file));
    const withWeights = KERAS_VGG16_LAYERS.filter((n) => /conv|fc|predictions/.test(n));
    expect(report.loaded.map((l) => l.layer)).toEqual(withWeights);
    expect(report.ignoredInFile).toEqual([]);
    expectExactWeights(m, withWeights);

    const x = tf.tensor4d(fx.input, [1, ...fx.inputShape]);
    const probs = Array.from((m.predict(x) as tf.Tensor).dataSync());
    probs.forEach((p, i) => expect(Math.abs(p - fx.predictions[i])).toBeLessThan(1e-5));
    expect(probs.indexOf(Math.max(...probs))).toBe(fx.predictions.indexOf(Math.max(...fx.predictions)));

    // block1_conv1 at the 2×2 top-left pixels: numpy's value, and by hand here (zero 'same' padding + ReLU).
    const tap = tf.model({ inputs: m.inputs, outputs: m.getLayer('block1_conv1').output as tf.SymbolicTensor });
    const conv = (tap.predict(x) as tf.Tensor4D).arraySync()[0];
    const [k, b] = m.getLayer('block1_conv1').getWeights().map((w) => w.arraySync()) as [number[][][][], number[]];
    const img = x.arraySync()[0];
    const F = fx.filters[0];
    let n = 0;
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 2; c++) {
        for (let f = 0; f < F; f++) {
          let acc = b[f];
          for (let i = 0; i < 3; i++) {
            for (let j = 0; j < 3; j++) {
              const y = r + i - 1;
              const xx = c + j - 1;
              if (y < 0 || xx < 0) continue;
              for (let ch = 0; ch < 3; ch++) acc += img[y][xx][ch] * k[i][j][ch][f];
            }
          }
          const byHand = Math.max(0, acc);
          expect(conv[r][c][f]).toBeCloseTo(byHand, 3);
          expect(conv[r][c][f]).toBeCloseTo(fx.block1_conv1_first_pixels[n++], 3);
        }
      }
    }
    x.dispose();
    m.dispose();
  });

  test('logits (linear classifier) match numpy for every class', async () => {
    const m = build({ classifierActivation: 'linear' });
    await loadVgg16Weights(m, path.join(fixtures(), 'vgg_small_old.h5'));
    const x = tf.tensor4d(fx.input, [1, ...fx.inputShape]);
    const logits = Array.from((m.predict(x) as tf.Tensor).dataSync());
    logits.forEach((v, i) => expect(Math.abs(v - fx.logits[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(fx.logits[i]))));
    x.dispose();
    m.dispose();
  });

  test('the no-top file fits includeTop: false, and is refused for a model with the top', async () => {
    const notop = path.join(fixtures(), 'vgg_small_notop.h5');
    const m = build({ includeTop: false });
    const report = await loadVgg16Weights(m, notop);
    expect(report.loaded).toHaveLength(13);
    expectExactWeights(m, report.loaded.map((l) => l.layer));
    m.dispose();

    const top = build();
    expect((await rejectionOf(loadVgg16Weights(top, notop))).message).toMatch(
      /no fc1\/fc2\/predictions weights \(it is the no-top VGG16 file\); build the model with buildVgg16\(\{ includeTop: false \}\)/,
    );
    top.dispose();

    // A full file onto a no-top model: the top layers are ignored and reported.
    const m2 = build({ includeTop: false });
    const r2 = await loadVgg16Weights(m2, path.join(fixtures(), 'vgg_small_old.h5'));
    expect(r2.ignoredInFile).toEqual(['fc1', 'fc2', 'predictions']);
    m2.dispose();
  });

  test('mismatches name the layer and both shapes', async () => {
    const file = path.join(fixtures(), 'vgg_small_old.h5');
    const wide = build({ filters: [4, 4, 8, 8, 16] });
    expect((await rejectionOf(loadVgg16Weights(wide, file))).message).toMatch(
      /layer 'block5_conv1' weight 'block5_conv1\/kernel': the file has 'block5_conv1_W_1:0' with shape \[3,3,8,8\] but the model expects \[3,3,8,16\]/,
    );
    wide.dispose();
    const big = build({ inputShape: [64, 64, 3] });
    expect((await rejectionOf(loadVgg16Weights(big, file))).message).toMatch(
      /layer 'fc1'.*shape \[8,16\] but the model expects \[32,16\].*need a 224×224 input; this model takes 64×64/,
    );
    big.dispose();
    const m = build();
    expect((await rejectionOf(loadVgg16Weights(m, path.join(fixtures(), 'tiny_k2.h5')))).message).toMatch(
      /not a VGG16 weights file: it has no layers block1_conv1, .*its layers are: input_1, conv, bn, gap, dense/,
    );
    expect((await rejectionOf(loadVgg16Weights(m, path.join(fixtures(), 'plain.h5')))).message).toMatch(
      /is an HDF5 file but not a Keras weights file/,
    );
    m.dispose();
  });
});
