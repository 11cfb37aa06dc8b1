/**
 * PyTorch models through ONNX (issue 15): torchvision architectures exported at test time with seeded
 * random weights by tests/fixtures/export_torch.py (BatchNorm statistics away from identity; opsets 11–17),
 * loaded with loadModel('x.onnx') and checked against PyTorch's own numbers on the identical picture:
 * the model's output (1e-4 of its scale), inner activations named by PyTorch module paths, Grad-CAM at the
 * reference module (torch hooks), the input gradient of the class logit (saliency) and guided
 * backpropagation (torch with every ReLU / ReLU6 replaced by the guided rule) — on the engine (ONNX
 * Runtime) and on the TF.js path (setAccelEnabled(false)). Filters come from the exporter's OIHW weights
 * (read by the python onnx package). Malformed and unsupported files are one clear CnnvisError each.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  CnnModel,
  CnnvisError,
  filters,
  gradCam,
  guidedBackprop,
  initBackend,
  inputGradients,
  loadModel,
  ortUnsupportedReason,
  prepareInput,
  runTaps,
  saliency,
  setAccelEnabled,
} from '../kernel/src/index';
import { detectModelFile } from '../kernel/src/models/detect';
import { deprocessTensor, preprocessTensor } from '../kernel/src/models/preprocess';

jest.setTimeout(240_000);

const PY = '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`SKIPPING ONNX import tests: ${PY} cannot import torch, torchvision and onnx (apt install python3-torchvision python3-onnx)`);
const withTorch = hasTorch ? describe : describe.skip;

interface Ref {
  name: string;
  size: number;
  cls: number;
  cam: string;
  pixels: number[];
  output: number[];
  taps: Record<string, number[]>;
  tapShapes: Record<string, number[]>;
  gradcam: number[];
  saliency: number[];
  guided: number[];
  firstConv: { node: string; dims: number[]; data: number[] };
}

let dir = '';
beforeAll(async () => {
  await initBackend();
  if (!hasTorch) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-onnx-'));
  const r = spawnSync(PY, [path.join(__dirname, 'fixtures/export_torch.py'), dir], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`export_torch.py failed: ${r.stderr.slice(-2000)}`);
});
afterAll(() => {
  setAccelEnabled(true);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const ref = (name: string): Ref => JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Ref;
const picture = (r: Ref) => ({ width: r.size, height: r.size, data: Uint8Array.from(r.pixels) });

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Every value within `rel` of the reference's largest magnitude. */
function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rel: number): void {
  expect(got.length).toBe(want.length);
  const scale = Math.max(maxAbs(want), 1e-12);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  if (worst > rel * scale) throw new Error(`${what}: max difference ${worst.toExponential(3)} > ${rel} × ${scale.toExponential(3)}`);
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function expectCorrelated(what: string, got: ArrayLike<number>, want: ArrayLike<number>, min: number): void {
  expect(got.length).toBe(want.length);
  expect(maxAbs(want)).toBeGreaterThan(0);
  const r = pearson(got, want);
  if (!(r > min)) throw new Error(`${what}: Pearson r ${r} ≤ ${min}`);
}

const PATHS = ['engine', 'tfjs'] as const;

/** Every reference of one model on both paths. */
async function checkModel(name: string, engineExpected: boolean): Promise<CnnModel> {
  const r = ref(name);
  const model = await loadModel(path.join(dir, `${name}.onnx`));
  expect(model.preprocess).toBe('torch');
  expect([model.inputHeight, model.inputWidth, model.inputChannels]).toEqual([r.size, r.size, 3]);
  const img = picture(r);
  const off = { display: false };
  const reason = ortUnsupportedReason(model.net);
  if (engineExpected) expect(reason).toBe('');
  for (const p of PATHS) {
    setAccelEnabled(p === 'engine');
    const tag = `${name} (${p})`;
    const input = prepareInput(model, img);
    const taps = Object.keys(r.taps);
    const run = runTaps(model.net, input.batch, taps.map((t) => model.layerName(t)));
    expectClose(`${tag} output`, run.output.dataSync(), r.output, 1e-4);
    taps.forEach((t, i) => {
      expect(run.taps[i].shape.slice(1)).toEqual(r.tapShapes[t]);
      expectClose(`${tag} activation of ${t}`, run.taps[i].dataSync(), r.taps[t], 1e-4);
    });
    tf.dispose([...run.taps, run.output]);

    const g = inputGradients(model, input.batch, r.cls);
    expectClose(`${tag} input gradient`, g.gradient.dataSync(), r.saliency, 1e-3);
    tf.dispose([g.gradient, g.logits]);
    input.batch.dispose();

    const before = tf.memory().numTensors;
    const cam = await gradCam(model, img, { ...off, layer: r.cam, classIndex: r.cls });
    expect(cam.lowRes.data.length).toBe(r.gradcam.length);
    expectClose(`${tag} Grad-CAM at ${r.cam}`, cam.lowRes.data, r.gradcam, 2e-3);
    if (r.gradcam.length > 2 && new Set(r.gradcam).size > 2) expectCorrelated(`${tag} Grad-CAM`, cam.lowRes.data, r.gradcam, 0.999);
    const sal = await saliency(model, img, { ...off, classIndex: r.cls });
    expectCorrelated(`${tag} saliency`, sal.channels as Float32Array, r.saliency, 0.9999);
    const gb = await guidedBackprop(model, img, { ...off, classIndex: r.cls });
    expectCorrelated(`${tag} guided backprop`, gb.channels as Float32Array, r.guided, 0.999);
    expect(tf.memory().numTensors).toBe(before);
  }
  setAccelEnabled(true);
  return model;
}

withTorch('torchvision models exported by torch.onnx.export give PyTorch numbers', () => {
  test('resnet18 (opset 11): module paths name layers, filters are the OIHW weights', async () => {
    const model = await checkModel('resnet18', true);
    const r = ref('resnet18');
    // A module path names the last layer inside it; ONNX node and output names work too.
    expect(model.layerName('layer4')).toBe('layer4.1.relu_1');
    expect(model.layerName('layer4.1')).toBe('layer4.1.relu_1');
    expect(model.layerName('/layer4/layer4.1/relu_1/Relu')).toBe('layer4.1.relu_1');
    expect(model.layerName('/layer1/layer1.0/Add_output_0')).toBe('layer1.0.add');
    expect(model.spatialLayers().pop()).toBe('layer4.1.relu_1');
    // 1000 outputs: ImageNet labels (when the label file is available) and a linear (logit) head.
    expect(model.numClasses).toBe(1000);
    expect(model.head.kind).toBe('linear');
    // Filters of the first convolution: the exporter's OIHW kernel (BatchNorm folded), transposed to HWIO.
    const f = await filters(model, { layer: 'conv1', display: false });
    const [O, I, kh, kw] = r.firstConv.dims;
    expect(f.shape).toEqual([kh, kw, I, O]);
    const want = new Float32Array(O * I * kh * kw);
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) want[((y * kw + x) * I + i) * O + o] = r.firstConv.data[((o * I + i) * kh + y) * kw + x];
    expectClose('conv1 kernel', f.kernel, want, 1e-7);
    // --layer layer4 for the CAM family.
    const g = await gradCam(model, picture(r), { display: false, layer: 'layer4', classIndex: r.cls });
    expect(g.layer).toBe('layer4.1.relu_1');
  });

  test('mobilenet_v2 (opset 13): depthwise convolutions, ReLU6 as Clip', async () => {
    const model = await checkModel('mobilenet_v2', true);
    expect(model.layer('features.18.2').getClassName()).toBe('ReLU');
  });

  test('vgg11 features (opset 12): max pooling, flattening in C, H, W order, Gemm', async () => {
    await checkModel('vgg11', true);
  });

  test('squeezenet1_1 (opset 14): ceil-mode max pooling, Fire concatenations', async () => {
    const model = await checkModel('squeezenet1_1', true);
    expect(model.layerName('features.12')).toBe('features.12');
    expect(model.layer('features.12').getClassName()).toBe('Concatenate');
  });

  test('densenet121 (opset 15): BatchNormalization after concatenation, average-pool transitions', async () => {
    const model = await checkModel('densenet121', true);
    expect(model.layer('features.norm5').getClassName()).toBe('BatchNormalization');
  });

  test('efficientnet_b0 (opset 17): SiLU as Sigmoid × x, squeeze-excitation', async () => {
    await checkModel('efficientnet_b0', true);
  });

  test('a model of other ops (LeakyReLU, Hardswish, grouped and dilated conv, F.pad, max pool over signed values, view, softmax head)', async () => {
    const model = await checkModel('tiny', false);
    expect(model.head.kind).toBe('softmax');
    // A max pool padded over signed values repeats the edges (TF.js runs it when the engine does not).
    expect(ortUnsupportedReason(model.net)).toMatch(/concatenation over axis|Concatenate/);
  });
});

withTorch('ONNX files cnnvis cannot use', () => {
  async function rejects(file: string, pattern: RegExp): Promise<void> {
    let err: unknown;
    try {
      await loadModel(path.join(dir, file));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CnnvisError);
    const msg = (err as Error).message;
    expect(msg).toMatch(pattern);
    expect(msg).not.toMatch(/\n/);
    expect(msg.length).toBeLessThan(600);
  }

  test('truncated, external data missing, an unsupported op, two inputs: one clear line each', async () => {
    await rejects('truncated.onnx', /truncated\.onnx' is not a complete ONNX model.*torch\.onnx\.export/);
    await rejects('external_missing.onnx', /keeps its weights in the external file 'tiny_external\.weights', which is not in .*beside the \.onnx file/);
    await rejects('unsupported_op.onnx', /node '\/Cos' \(Cos\): op 'Cos' is not supported; cnnvis converts Conv, BatchNormalization, Relu/);
    await rejects('two_inputs.onnx', /has 2 inputs .*one image input/);
  });

  test('external data beside the file loads; an ONNX file under another name is detected by content', async () => {
    const ext = await loadModel(path.join(dir, 'external', 'tiny_external.onnx'));
    const inner = await loadModel(path.join(dir, 'tiny.onnx'));
    const x = tf.randomUniform([1, 32, 32, 3]);
    const a = ext.net.predict(x) as tf.Tensor;
    const b = inner.net.predict(x) as tf.Tensor;
    expectClose('external vs inline weights', a.dataSync(), b.dataSync(), 0);
    tf.dispose([x, a, b]);
    const renamed = path.join(dir, 'tiny.model');
    fs.copyFileSync(path.join(dir, 'tiny.onnx'), renamed);
    expect(detectModelFile(renamed).kind).toBe('onnx');
  });
});

test("the 'torch' preset is torchvision's Normalize(mean, std) after ToTensor, and deprocessing inverts it", () => {
  const rgb = tf.tensor3d([255, 0, 128, 10, 200, 30], [1, 2, 3]);
  const x = preprocessTensor(rgb, 'torch');
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const want = [255, 0, 128, 10, 200, 30].map((v, i) => (v / 255 - mean[i % 3]) / std[i % 3]);
  expectClose('torch preprocessing', x.dataSync(), want, 1e-6);
  const back = deprocessTensor(x, 'torch');
  expectClose('torch deprocessing', back.dataSync(), rgb.dataSync(), 1e-6);
  tf.dispose([rgb, x, back]);
});
