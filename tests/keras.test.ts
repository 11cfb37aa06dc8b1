/**
 * Keras HDF5 loading: the real Keras 2.2.4 MobileNet file against its TF.js conversion, and small
 * files written by tests/fixtures/make_keras_h5.py (h5py) with outputs computed by numpy.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { initBackend } from '../kernel/src/engine/backend';
import { CnnvisError } from '../kernel/src/errors';
import { openH5 } from '../kernel/src/models/hdf5';
import { loadKerasH5, loadKerasWeightsH5, normalizeKerasConfig } from '../kernel/src/models/keras';
import { loadTfjsLayersModel } from '../kernel/src/models/tfjs';
import { generatedFixtures, pythonHasH5py } from './helpers/pyFixtures';

const SHARED = process.env.CNNVIS_SHARED ?? path.resolve(__dirname, '../../shared');
const KERAS_H5 = path.join(SHARED, 'data/models/keras_mobilenet_0.25_224_h5/keras.h5');
const TFJS_DIR = path.join(SHARED, 'data/models/mobilenet_v1_0.25_224');
const IMAGES = path.join(SHARED, 'data/images');

const hasH5py = pythonHasH5py('fixture tests');
const withFixtures = hasH5py ? describe : describe.skip;

beforeAll(async () => {
  await initBackend();
});
const fixtures = generatedFixtures('make_keras_h5.py', 'cnnvis-keras-', hasH5py);
const fx = (name: string) => path.join(fixtures(), name);

async function expectCnnvisError(p: Promise<unknown> | (() => unknown), pattern: RegExp): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CnnvisError);
  expect((err as Error).message).toMatch(pattern);
}

function decodeImage(file: string): tf.Tensor3D {
  const bytes = fs.readFileSync(file);
  let width: number;
  let height: number;
  let rgba: Uint8Array;
  if (file.endsWith('.png')) {
    const png = PNG.sync.read(bytes);
    ({ width, height } = png);
    rgba = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
  } else {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    ({ width, height } = img);
    rgba = img.data;
  }
  const rgb = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[3 * i] = rgba[4 * i];
    rgb[3 * i + 1] = rgba[4 * i + 1];
    rgb[3 * i + 2] = rgba[4 * i + 2];
  }
  return tf.tensor3d(rgb, [height, width, 3]);
}

describe('real Keras 2.2.4 MobileNet 0.25 file vs its TF.js conversion', () => {
  let keras: tf.LayersModel;
  let tfjs: tf.LayersModel;
  beforeAll(async () => {
    keras = await loadKerasH5(KERAS_H5);
    tfjs = await loadTfjsLayersModel(TFJS_DIR);
  });
  afterAll(() => {
    keras?.dispose();
    tfjs?.dispose();
  });

  test('reads the file attributes', () => {
    const f = openH5(KERAS_H5);
    expect(f.root.stringAttr('keras_version')).toBe('2.2.4-tf');
    const layerNames = f.root.group('model_weights').stringListAttr('layer_names') ?? [];
    expect(layerNames).toHaveLength(93);
    expect(layerNames.slice(0, 3)).toEqual(['input_1', 'conv1_pad', 'conv1']);
    const bn = f.root.group('model_weights/conv1_bn');
    expect(bn.stringListAttr('weight_names')).toEqual([
      'conv1_bn/gamma:0',
      'conv1_bn/beta:0',
      'conv1_bn/moving_mean:0',
      'conv1_bn/moving_variance:0',
    ]);
    const k = f.root.dataset('model_weights/conv1/conv1/kernel:0');
    expect(k.shape).toEqual([3, 3, 3, 8]);
    expect(k.toFloat32()).toHaveLength(216);
  });

  test('same layers and bit-identical weights', () => {
    expect(keras.layers.map((l) => l.name)).toEqual(tfjs.layers.map((l) => l.name));
    let compared = 0;
    for (const layer of keras.layers) {
      const a = layer.getWeights();
      const b = tfjs.getLayer(layer.name).getWeights();
      expect(a.length).toBe(b.length);
      a.forEach((w, i) => {
        expect(w.shape).toEqual(b[i].shape);
        expect(tf.max(tf.abs(tf.sub(w, b[i]))).dataSync()[0]).toBe(0);
        compared += w.size;
      });
    }
    expect(compared).toBe(475544); // every parameter, BN statistics included
    expect(keras.countParams()).toBe(475544);
  });

  test('identical top-5 and probabilities on every photo', async () => {
    const files = fs.readdirSync(IMAGES).filter((f) => /\.(jpe?g|png)$/i.test(f));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) {
      const x = tf.tidy(() => {
        const img = decodeImage(path.join(IMAGES, file));
        return tf.image.resizeBilinear(img, [224, 224]).div(127.5).sub(1).expandDims(0);
      });
      const probs = (m: tf.LayersModel) => Float32Array.from(tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync()));
      const pk = probs(keras);
      const pt = probs(tfjs);
      x.dispose();
      const top5 = (p: Float32Array) =>
        Array.from(p.keys()).sort((i, j) => p[j] - p[i]).slice(0, 5);
      expect(top5(pk)).toEqual(top5(pt));
      let maxDiff = 0;
      for (let i = 0; i < pk.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pk[i] - pt[i]));
      expect(maxDiff).toBeLessThan(1e-5);
      expect(pk.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
  });
});

withFixtures('small Keras files written by h5py', () => {
  let tiny: { input: number[]; output: number[] };
  beforeAll(() => {
    tiny = JSON.parse(fs.readFileSync(fx('tiny.json'), 'utf8'));
  });

  async function runTiny(model: tf.LayersModel): Promise<number[]> {
    const y = model.predict(tf.tensor4d(tiny.input, [1, 8, 8, 3])) as tf.Tensor;
    return Array.from(await y.data());
  }

  test.each([
    ['tiny_k2.h5', 'Keras 2.2 functional (class Model)'],
    ['tiny_k3.h5', 'Keras 3 style config'],
    ['tiny_seq21.h5', 'Keras 2.1 Sequential (bare layer list)'],
    ['tiny_permuted.h5', 'weights stored in reverse order, matched by name'],
  ])('%s (%s) gives the numpy output', async (file) => {
    const model = await loadKerasH5(fx(file));
    const got = await runTiny(model);
    expect(got).toHaveLength(3);
    got.forEach((v, i) => expect(Math.abs(v - tiny.output[i])).toBeLessThan(1e-5));
    // BN statistics went to the right variables (gamma/beta/moving_mean/moving_variance by name).
    const bnNames = model.getLayer('bn').weights.map((w) => w.originalName.split('/').pop());
    expect(bnNames).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    model.dispose();
  });

  test('loads from bytes too', async () => {
    const model = await loadKerasH5(new Uint8Array(fs.readFileSync(fx('tiny_k2.h5'))));
    const got = await runTiny(model);
    got.forEach((v, i) => expect(Math.abs(v - tiny.output[i])).toBeLessThan(1e-5));
    model.dispose();
  });

  test('weights of a full-model file onto a model built in code (by order and by name)', async () => {
    const build = () => {
      const input = tf.input({ shape: [8, 8, 3] });
      let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' }).apply(input);
      x = tf.layers.batchNormalization({ name: 'bn' }).apply(x);
      x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x);
      x = tf.layers.dense({ units: 3, activation: 'softmax', name: 'dense' }).apply(x);
      return tf.model({ inputs: input, outputs: x as tf.SymbolicTensor });
    };
    for (const byName of [false, true]) {
      const model = build();
      const report = await loadKerasWeightsH5(model, fx('tiny_k2.h5'), { byName });
      expect(report.loaded.map((l) => l.layer)).toEqual(['conv', 'bn', 'dense']);
      expect(report.loaded.map((l) => l.weights)).toEqual([2, 4, 2]);
      const got = await runTiny(model);
      got.forEach((v, i) => expect(Math.abs(v - tiny.output[i])).toBeLessThan(1e-5));
      model.dispose();
    }
  });

  test('a shape mismatch names the layer and both shapes', async () => {
    await expectCnnvisError(
      loadKerasH5(fx('tiny_badshape.h5')),
      /layer 'dense' weight 'dense\/kernel'.*shape \[5,3\] but the model expects \[4,3\]/,
    );
  });

  test('missing layers are named', async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv' }).apply(input);
    x = tf.layers.flatten().apply(x);
    x = tf.layers.dense({ units: 3, name: 'head' }).apply(x);
    const model = tf.model({ inputs: input, outputs: x as tf.SymbolicTensor });
    await expectCnnvisError(loadKerasWeightsH5(model, fx('tiny_k2.h5'), { byName: true }), /no weights for model layer head;.*conv, bn, dense/);
    await expectCnnvisError(
      loadKerasWeightsH5(model, fx('tiny_k2.h5')),
      /3 layers with weights but the model has 2; missing from the file: head; not in the model: bn, dense/,
    );
    model.dispose();
  });

  test('files that are not Keras models get clear errors', async () => {
    await expectCnnvisError(loadKerasH5(fx('not_hdf5.h5')), /not_hdf5\.h5' is not an HDF5 file: it does not start with the HDF5 signature/);
    await expectCnnvisError(
      loadKerasH5(fx('plain.h5')),
      /plain\.h5' is an HDF5 file but not a Keras model: it has no model_config attribute and no model_weights group \/ layer_names/,
    );
    await expectCnnvisError(loadKerasH5(fx('vgg_small_old.h5')), /holds only weights .*loadKerasWeightsH5/);
    await expectCnnvisError(loadKerasH5(fx('nope.h5')), /nope\.h5' does not exist/);
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    await expectCnnvisError(loadKerasWeightsH5(model, fx('plain.h5')), /not a Keras model/);
    model.dispose();
  });

  test('hdf5 reader: datasets, attributes, chunked lists, missing children', () => {
    const f = openH5(fx('plain.h5'));
    expect(f.root.stringAttr('title')).toBe('not a model');
    const d = f.root.dataset('data');
    expect(d.shape).toEqual([2, 3]);
    expect(d.dtype).toBe('<f4');
    expect(Array.from(d.toFloat32())).toEqual([0, 1, 2, 3, 4, 5]);
    expect(f.root.child('nothing')).toBeUndefined();
    expect(() => f.root.group('nothing')).toThrow(/no group 'nothing' in \/; it has: data/);
    expect(() => f.root.group('data')).toThrow(/is a dataset, not a group/);
    const n = openH5(fx('vgg_small_new.h5'));
    const names = n.root.stringListAttr('layer_names') ?? [];
    expect(names[0]).toBe('input_1');
    expect(names[names.length - 1]).toBe('predictions');
    expect(names).toHaveLength(23);
    expect(n.root.group('block1_pool').stringListAttr('weight_names')).toEqual([]);
  });
});

describe('config normalization (no files)', () => {
  test('Keras 3 nodes, shapes and dtype policies become Keras 2 form', () => {
    const cfg = normalizeKerasConfig({
      module: 'keras',
      class_name: 'Functional',
      registered_name: 'Functional',
      config: {
        name: 'm',
        layers: [
          { class_name: 'InputLayer', name: 'in', config: { batch_shape: [null, 4], name: 'in', ragged: false }, inbound_nodes: [] },
          {
            class_name: 'Dense',
            name: 'd',
            module: 'keras.layers',
            config: { name: 'd', units: 2, dtype: { class_name: 'DTypePolicy', config: { name: 'mixed_float16' } } },
            inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: { keras_history: ['in', 0, 0] } }], kwargs: {} }],
          },
        ],
        input_layers: ['in', 0, 0],
        output_layers: [['d', 0, 0]],
      },
    });
    expect(cfg).toEqual({
      class_name: 'Functional',
      config: {
        name: 'm',
        layers: [
          { class_name: 'InputLayer', name: 'in', config: { batch_input_shape: [null, 4], name: 'in' }, inbound_nodes: [] },
          { class_name: 'Dense', name: 'd', config: { name: 'd', units: 2, dtype: 'float32' }, inbound_nodes: [[['in', 0, 0, {}]]] },
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['d', 0, 0]],
      },
    });
  });

  test('unsupported model classes and grouped convolutions are refused clearly', () => {
    expect(() => normalizeKerasConfig({ class_name: 'MyModel', config: {} })).toThrow(/model class is 'MyModel'.*Sequential, Model or Functional/);
    expect(() =>
      normalizeKerasConfig({
        class_name: 'Sequential',
        config: { layers: [{ class_name: 'Conv2D', config: { name: 'c', groups: 2 } }] },
      }),
    ).toThrow(/layer 'c' \(Conv2D\) uses groups=2/);
  });
});
