/**
 * A pretrained PyTorch model through ONNX (notebook 09's model): tools/export_torch_mobilenet.py builds
 * MobileNet v1 0.25 as a torch nn.Module, loads Keras' ImageNet weights into it (OIHW from HWIO, depthwise
 * kernels, BatchNorm statistics) and exports it with torch.onnx.export. Loaded with the 'torch' preset, it
 * must be the same network as the Keras .h5 it came from, loaded by cnnvis' Keras reader with MobileNet's
 * [-1, 1] preprocessing: the same probabilities on a photo, the same activations under PyTorch module paths
 * (features.5.pw_relu = conv_pw_5_relu), the same Grad-CAM at the default layer. A wrong transpose, a
 * folding or padding mistake (Keras pads stride-2 layers bottom-right only) or a wrong preprocessing shows.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnModel, featureMaps, gradCam, loadModel, predict } from '../kernel/src/index';
import { ensureTorchMobilenet, KERAS_MOBILENET_H5, torchMobilenetUnavailable } from './helpers/torchMobilenet';

jest.setTimeout(180_000);

const missing = torchMobilenetUnavailable();
if (missing) console.warn(`SKIPPING the pretrained PyTorch MobileNet tests: ${missing}`);
const withTorch = missing ? describe.skip : describe;
const PHOTO = 'cat_dog.png';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i] / n; mb += b[i] / n; }
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

withTorch('a pretrained PyTorch MobileNet exported to ONNX is the Keras model it was built from', () => {
  let torchNet: CnnModel;
  let keras: CnnModel;

  beforeAll(async () => {
    torchNet = await loadModel(ensureTorchMobilenet());
    keras = await loadModel(KERAS_MOBILENET_H5);
  });

  test('torch preprocessing, ImageNet labels, module-path layer names', () => {
    expect(torchNet.preprocess).toBe('torch');
    expect(keras.preprocess).toBe('mobilenet');
    expect(torchNet.labels?.names[243]).toBe('bull_mastiff');
    const names = torchNet.net.layers.map((l) => l.name);
    expect(names).toEqual(expect.arrayContaining(['features.0.conv', 'features.5.pw_relu', 'features.13.pw_relu']));
  });

  test('the same probabilities and top-5 on a photo', async () => {
    const before = tf.memory().numTensors;
    const a = await predict(torchNet, PHOTO, { top: 5, display: false });
    const b = await predict(keras, PHOTO, { top: 5, display: false });
    expect(a.predictions.map((p) => p.index)).toEqual(b.predictions.map((p) => p.index));
    expect(b.predictions[0].probability).toBeGreaterThan(0.2); // pretrained: a confident dog class
    expect(maxAbsDiff(a.probabilities, b.probabilities)).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before);
  });

  test.each([
    ['features.0.relu', 'conv1_relu'],
    ['features.2.pw_relu', 'conv_pw_2_relu'],
    ['features.6.dw_relu', 'conv_dw_6_relu'],
    ['features', 'conv_pw_13_relu'],
  ])('activations: %s = Keras %s', async (torchLayer, kerasLayer) => {
    const a = await featureMaps(torchNet, PHOTO, { layer: torchLayer, display: false });
    const b = await featureMaps(keras, PHOTO, { layer: kerasLayer, display: false });
    expect([a.height, a.width, a.channels]).toEqual([b.height, b.width, b.channels]);
    let scale = 0;
    for (const v of b.activation) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0);
    expect(maxAbsDiff(a.activation, b.activation)).toBeLessThan(1e-4 * Math.max(scale, 1));
    expect(a.ranking.slice(0, 5)).toEqual(b.ranking.slice(0, 5));
  });

  test('Grad-CAM at the default layer (the last spatial module) is Keras Grad-CAM at conv_pw_13_relu', async () => {
    const a = await gradCam(torchNet, PHOTO, { display: false });
    const b = await gradCam(keras, PHOTO, { layer: 'conv_pw_13_relu', display: false });
    expect(a.layer).toBe('features.13.pw_relu');
    expect(a.target.index).toBe(b.target.index);
    expect(pearson(a.map.data, b.map.data)).toBeGreaterThan(0.999);
  });
});
