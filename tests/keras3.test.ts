/**
 * Keras 3 `.keras` archives, format detection by content, Teachable Machine exports and the layer
 * classes TF.js lacks. Small archives are written by tests/fixtures/make_keras3.py (h5py, Keras 3's
 * on-disk layout) with outputs from a numpy forward pass; the real potato-disease file is checked
 * against a numpy forward pass over its own weights.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import * as jpeg from 'jpeg-js';
import { initBackend } from '../kernel/src/engine/backend';
import { CnnvisError } from '../kernel/src/errors';
import { detectModelFile } from '../kernel/src/models/detect';
import { loadKerasH5 } from '../kernel/src/models/keras';
import { kerasSnakeCase, loadKeras3 } from '../kernel/src/models/keras3';
import { labelsFromLabelsTxt } from '../kernel/src/models/labels';
import { loadModel } from '../kernel/src/models/load';
import { detectTeachableMachine } from '../kernel/src/models/teachable';
import { maxAbsDiff } from './helpers/compare';
import { thrown } from './helpers/errors';
import { generatedFixtures, PY, pythonHasH5py } from './helpers/pyFixtures';

const SHARED = process.env.CNNVIS_SHARED ?? path.resolve(__dirname, '../../shared');
const WILD = path.join(SHARED, 'data/wild');
const POTATO = path.join(WILD, 'potato_disease_k3/model.keras');
const RICE = path.join(WILD, 'rice_leaf_tm_tfjs');
const EYE = path.join(WILD, 'eye_state_h5/model.keras');
const GENERATOR = path.join(__dirname, 'fixtures/make_keras3.py');

const hasH5py = pythonHasH5py('Keras 3 fixture tests');
const withFixtures = hasH5py ? describe : describe.skip;
const withWild = fs.existsSync(POTATO) ? describe : describe.skip;

interface Encoded {
  shape: number[];
  values: number[];
}
let expected: Record<string, Record<string, Encoded>> = {};
const fixtures = generatedFixtures('make_keras3.py', 'cnnvis-keras3-', hasH5py);
beforeAll(async () => {
  await initBackend();
  if (hasH5py) expected = JSON.parse(fs.readFileSync(path.join(fixtures(), 'expected.json'), 'utf8'));
});

const fx = (name: string) => path.join(fixtures(), name);
const tensorOf = (e: Encoded) => tf.tensor(e.values, e.shape, 'float32');

/** A clean user error: CnnvisError, one line, no control characters (no file bytes). */
async function expectCleanError(p: Promise<unknown> | (() => unknown), pattern: RegExp): Promise<void> {
  const e = await thrown(p);
  expect(e).toBeInstanceOf(CnnvisError);
  expect(e.message).toMatch(pattern);
  expect(e.message).not.toMatch(/[\x00-\x1f\x7f]/);
}

/** Predicts `x` and compares with numpy's `y`; disposes everything and checks for leaks. */
async function expectPrediction(model: tf.LayersModel, e: Record<string, Encoded>, tol: number): Promise<void> {
  const before = tf.memory().numTensors;
  const x = tensorOf(e.x);
  const y = model.predict(x) as tf.Tensor;
  expect(y.shape).toEqual(e.y.shape);
  expect(maxAbsDiff(await y.data(), e.y.values)).toBeLessThan(tol);
  tf.dispose([x, y]);
  expect(tf.memory().numTensors).toBe(before);
}

describe('Keras snake_case (the h5 group names)', () => {
  it('matches Keras naming.to_snake_case', () => {
    expect(kerasSnakeCase('Conv2D')).toBe('conv2d');
    expect(kerasSnakeCase('BatchNormalization')).toBe('batch_normalization');
    expect(kerasSnakeCase('MaxPooling2D')).toBe('max_pooling2d');
    expect(kerasSnakeCase('DepthwiseConv2D')).toBe('depthwise_conv2d');
    expect(kerasSnakeCase('Conv2DTranspose')).toBe('conv2d_transpose');
    expect(kerasSnakeCase('GlobalAveragePooling2D')).toBe('global_average_pooling2d');
    expect(kerasSnakeCase('ReLU')).toBe('re_lu');
    expect(kerasSnakeCase('Functional')).toBe('functional');
  });
});

withFixtures('Keras 3 .keras archives written like Keras 3 (numpy reference)', () => {
  it('Sequential: Rescaling, RandomFlip, conv2d/conv2d_1/conv2d_2 counters, BatchNormalization', async () => {
    const before = tf.memory().numTensors;
    const m = await loadKeras3(fx('seq.keras'));
    // Config names are kept; the file's counters (conv2d_2 holds 'conv2d_7') are not names.
    expect(m.layers.map((l) => l.name)).toEqual(
      expect.arrayContaining(['feat_b', 'bn_x', 'feat_a', 'conv2d_7', 'logits', 'random_flip']),
    );
    await expectPrediction(m, expected['seq.keras'], 1e-5);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('functional with a nested Sequential base, Add, and a nested functional head (name attributes, Keras 3 node numbering)', async () => {
    const m = await loadKeras3(fx('functional_nested.keras'));
    expect(m.getLayer('base')).toBeInstanceOf(tf.LayersModel);
    expect((m.getLayer('head') as tf.LayersModel).getLayer('h2')).toBeDefined();
    await expectPrediction(m, expected['functional_nested.keras'], 1e-5);
    m.dispose();
  });

  it('the same nested model as a Keras-3-written legacy .h5 (batch_shape, DTypePolicy, weight names without :0)', async () => {
    const m = await loadKerasH5(fx('functional_nested_k3.h5'));
    await expectPrediction(m, expected['functional_nested.keras'], 1e-5);
    m.dispose();
  });

  it('Normalization from weights (adapt) and from the config, augmentation layers as identity', async () => {
    const m = await loadKeras3(fx('norm.keras'));
    const e = expected['norm.keras'];
    const probe = tf.model({ inputs: m.inputs, outputs: m.getLayer('fixed').output as tf.SymbolicTensor });
    const x = tensorOf(e.x);
    const n = probe.predict(x) as tf.Tensor;
    expect(maxAbsDiff(await n.data(), e.normalized.values)).toBeLessThan(1e-4);
    tf.dispose([x, n]);
    await expectPrediction(m, e, 1e-5);
    for (const cls of ['RandomRotation', 'RandomZoom', 'RandomContrast']) {
      expect(m.layers.some((l) => l.getClassName() === cls)).toBe(true);
    }
    m.dispose();
  });

  it('Resizing with crop_to_aspect_ratio, CenterCrop and RandomCrop sample like Keras (pixel centres)', async () => {
    const m = await loadKeras3(fx('resize.keras'));
    expect(m.getLayer('resize').outputShape).toEqual([null, 6, 6, 3]);
    await expectPrediction(m, expected['resize.keras'], 1e-4);
    m.dispose();
  });

  it('is found by content whatever the name, and loads through loadModel', async () => {
    const renamed = fx('model_without_extension');
    fs.copyFileSync(fx('seq.keras'), renamed);
    expect(detectModelFile(renamed)).toEqual({ kind: 'keras3', path: renamed });
    const model = await loadModel(renamed);
    const e = expected['seq.keras'];
    const x = tensorOf(e.x);
    const y = model.net.predict(x) as tf.Tensor;
    expect(maxAbsDiff(await y.data(), e.y.values)).toBeLessThan(1e-5);
    tf.dispose([x, y]);
  });
});

withFixtures('files that are not models: one clean line each', () => {
  it('a Keras 3 weights-only file', async () => {
    await expectCleanError(loadModel(fx('seq.weights.h5')), /holds only weights .*save it with model\.save\('model\.keras'\)/);
  });
  it('a zip that is not a Keras archive', async () => {
    await expectCleanError(loadModel(fx('notkeras.zip')), /is a zip archive but not a Keras model archive.*it holds: readme\.txt, data\.csv/);
  });
  it('a PyTorch checkpoint', async () => {
    await expectCleanError(loadModel(fx('torch_model.pt')), /is a PyTorch checkpoint/);
  });
  it('a truncated .keras file', async () => {
    await expectCleanError(loadModel(fx('truncated.keras')), /truncated or corrupt/);
  });
  it('npz weights', async () => {
    await expectCleanError(loadModel(fx('npz.keras')), /model\.weights\.npz, which cnnvis cannot read/);
  });
  it('an empty file and a text file', async () => {
    fs.writeFileSync(fx('empty.keras'), '');
    fs.writeFileSync(fx('notes.h5'), 'just some notes\n');
    await expectCleanError(loadModel(fx('empty.keras')), /is an empty file/);
    await expectCleanError(loadModel(fx('notes.h5')), /is a text file, not a model/);
  });
  it('random binary bytes never reach the message', async () => {
    const bytes = new Uint8Array(256).map((_, i) => (i * 37 + 11) % 256);
    bytes[0] = 0x01;
    fs.writeFileSync(fx('noise.bin'), bytes);
    await expectCleanError(loadModel(fx('noise.bin')), /not a model file cnnvis recognizes.*weights \.bin is loaded through its model\.json/);
  });
});

withWild('real files from ../shared/data/wild', () => {
  it("a TF.js weights.bin passed as the model names its model.json", async () => {
    await expectCleanError(loadModel(path.join(RICE, 'weights.bin')), /is a weight file of the TF\.js model .*model\.json': pass that model\.json or its folder/);
  });

  it('an HDF5 file named .keras is read as Keras HDF5', async () => {
    expect(detectModelFile(EYE).kind).toBe('keras-h5');
    const m = await loadKerasH5(EYE);
    expect(m.outputs[0].shape).toEqual([null, 1]);
    m.dispose();
  });

  it('Teachable Machine TF.js export: labels from metadata.json, [-1, 1] preprocessing', async () => {
    const tm = detectTeachableMachine(RICE);
    expect(tm).not.toBeNull();
    expect(tm!.labels!.names).toEqual(['Bacterial leaf blight', 'Brown spot', 'Leaf smut']);
    expect(tm!.preprocess).toBe('mobilenet');
    expect(tm!.imageSize).toBe(224);
    expect(detectTeachableMachine(path.dirname(POTATO), POTATO)).toBeNull();
  });

  it('the Keras 3.10 potato model equals a numpy forward pass over its own weights', async () => {
    if (!hasH5py) return;
    const before = tf.memory().numTensors;
    const m = await loadKeras3(POTATO);
    // The sample leaf, nearest-neighbour stretched to 256×256, raw 0–255 pixels (the model rescales).
    const img = jpeg.decode(fs.readFileSync(path.join(WILD, 'potato_disease_k3/sample_leaf_rr.jpg')), { useTArray: true, formatAsRGBA: true });
    const S = 256;
    const px = new Float32Array(S * S * 3);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const sy = Math.floor((y * img.height) / S);
        const sx = Math.floor((x * img.width) / S);
        for (let c = 0; c < 3; c++) px[(y * S + x) * 3 + c] = img.data[(sy * img.width + sx) * 4 + c];
      }
    }
    const input = fx('potato_in.bin');
    fs.writeFileSync(input, Buffer.from(px.buffer));
    fs.writeFileSync(`${input}.json`, JSON.stringify({ shape: [1, S, S, 3] }));
    const r = spawnSync(PY, [GENERATOR, '--potato', POTATO, input, fx('potato_out.json')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`numpy reference failed: ${r.stderr}`);
    const ref = JSON.parse(fs.readFileSync(fx('potato_out.json'), 'utf8')) as Encoded;
    const x = tf.tensor4d(px, [1, S, S, 3]);
    const y = m.predict(x) as tf.Tensor;
    const p = await y.data();
    expect(p.length).toBe(3);
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 5);
    expect(maxAbsDiff(p, ref.values)).toBeLessThan(1e-4);
    tf.dispose([x, y]);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('labels.txt (Teachable Machine Keras export)', () => {
  it('reads "0 Cat" lines as labels and marks keras_model.h5 + labels.txt as Teachable Machine', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-tm-'));
    try {
      fs.writeFileSync(path.join(dir, 'labels.txt'), '0 Cat\n1 Dog\n2 Hot dog\n');
      fs.writeFileSync(path.join(dir, 'keras_model.h5'), '');
      expect(labelsFromLabelsTxt(dir)!.names).toEqual(['Cat', 'Dog', 'Hot dog']);
      const tm = detectTeachableMachine(dir, path.join(dir, 'keras_model.h5'));
      expect(tm!.preprocess).toBe('mobilenet');
      expect(tm!.labels!.names).toEqual(['Cat', 'Dog', 'Hot dog']);
      expect(detectModelFile(dir)).toEqual({ kind: 'keras-h5', path: path.join(dir, 'keras_model.h5') });
      fs.writeFileSync(path.join(dir, 'labels.txt'), 'cat\ndog\n');
      expect(labelsFromLabelsTxt(dir)!.names).toEqual(['cat', 'dog']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('layer classes TF.js lacks', () => {
  it('Normalization with a scalar config mean/variance (axis None)', () => {
    const norm = tf.serialization.SerializationMap.getMap().classNameMap.Normalization;
    expect(norm).toBeDefined();
    const input = tf.input({ shape: [2, 2, 3] });
    const layer = (norm[1] as (c: unknown, cfg: tf.serialization.ConfigDict) => tf.layers.Layer)(norm[0], {
      name: 'n',
      axis: null,
      mean: 3,
      variance: 4,
      invert: false,
    } as unknown as tf.serialization.ConfigDict);
    const m = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    const x = tf.tensor4d([1, 3, 5, 7, 9, 11, 0, 2, 4, 6, 8, 10], [1, 2, 2, 3]);
    const y = m.predict(x) as tf.Tensor;
    // numpy: (x - 3) / 2
    expect(Array.from(y.dataSync())).toEqual([-1, 0, 1, 2, 3, 4, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5]);
    tf.dispose([x, y]);
    m.dispose();
  });
});
