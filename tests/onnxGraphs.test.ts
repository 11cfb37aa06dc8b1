/**
 * The ONNX engine's compiler below the model level: the protobuf the graphs are written as (onnx-proto),
 * the converter registry (a converter added for a custom layer class), and which weights a graph embeds
 * as constants (the logits-only whole-model graph) or feeds on every run (the layer graphs of gradient
 * passes), with the numbers checked against TF.js and hand-computed values.
 */
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { initBackend } from '../kernel/src/engine/backend';
import { layerKernel, registerConverter, supportedLayers } from '../kernel/src/engine/onnx/layers';
import { ortNet, ortUnsupportedReason, toTensor } from '../kernel/src/engine/onnx/net';
import { DT, GraphSpec, modelBytes } from '../kernel/src/engine/onnx/proto';
import { ortRuntime, OrtGraph } from '../kernel/src/engine/onnx/runtime';
import { seededFloats } from '../kernel/src/random';
import { randomizeSigned } from './helpers/nets';
import { OrtEngine } from '../kernel/src/engine/ortEngine';
import { CnnModel } from '../kernel/src/models/model';
import { TfjsEngine } from '../kernel/src/engine/tfjs';

type L = tf.SymbolicTensor;

beforeAll(async () => {
  await initBackend();
});

const onOrt = ortRuntime() ? test : test.skip;


function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / scale;
}

test('onnx-proto writes every attribute kind, initializer and symbolic dimension as given', () => {
  const w = Float32Array.of(1, -2, 0.5, 4, 3, -1);
  const shape = BigInt64Array.from([-1, 3], (v) => BigInt(v));
  const spec: GraphSpec = {
    name: 'g',
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w'], outputs: ['t'], attrs: { alpha: { float: 2 }, transB: 1 } },
      { op: 'Pad', inputs: ['t', 'p'], outputs: ['u'], attrs: { mode: 'constant' } },
      { op: 'Reshape', inputs: ['u', 's'], outputs: ['y'], attrs: { perm: [3, 1, 2], scales: { floats: [0.25, 8] } } },
    ],
    initializers: [
      { name: 'w', dims: [3, 2], type: DT.FLOAT, raw: new Uint8Array(w.buffer) },
      { name: 's', dims: [2], type: DT.INT64, raw: new Uint8Array(shape.buffer) },
    ],
    inputs: [{ name: 'x', type: DT.FLOAT, dims: ['batch', 2] }],
    outputs: [{ name: 'y', type: DT.FLOAT, dims: ['batch', 3] }],
  };
  const m = onnx.ModelProto.decode(modelBytes(spec));
  expect([Number(m.irVersion), m.opsetImport.map((o) => [o.domain, Number(o.version)])]).toEqual([8, [['', 17]]]);
  const g = m.graph as onnx.GraphProto;
  expect(g.node.map((n) => [n.opType, n.input, n.output])).toEqual([
    ['Gemm', ['x', 'w'], ['t']],
    ['Pad', ['t', 'p'], ['u']],
    ['Reshape', ['u', 's'], ['y']],
  ]);
  const AT = onnx.AttributeProto.AttributeType;
  const attrs = g.node.flatMap((n) => (n.attribute ?? []).map((a) => [a.name, a.type, a.f, Number(a.i), new TextDecoder().decode(a.s ?? new Uint8Array(0)), (a.ints ?? []).map(Number), a.floats]));
  expect(attrs).toEqual([
    ['alpha', AT.FLOAT, 2, 0, '', [], []],
    ['transB', AT.INT, 0, 1, '', [], []],
    ['mode', AT.STRING, 0, 0, 'constant', [], []],
    ['perm', AT.INTS, 0, 0, '', [3, 1, 2], []],
    ['scales', AT.FLOATS, 0, 0, '', [], [0.25, 8]],
  ]);
  expect(g.initializer.map((t) => [t.name, (t.dims ?? []).map(Number), t.dataType])).toEqual([
    ['w', [3, 2], DT.FLOAT],
    ['s', [2], DT.INT64],
  ]);
  const raw = g.initializer[0].rawData!;
  expect(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)))).toEqual(Array.from(w));
  const dims = (v: onnx.IValueInfoProto) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
  expect([dims(g.input[0]), dims(g.output[0])]).toEqual([
    ['batch', 2],
    ['batch', 3],
  ]);
});

onOrt('the runtime computes a written graph: 2·x·Wᵀ + b by hand', () => {
  // Gemm with a float attribute, an int attribute and a broadcast bias.
  const W = Float32Array.of(1, -2, 0.5, 4, 3, -1); // [3, 2]
  const bias = Float32Array.of(0.25, -0.5, 1);
  const spec: GraphSpec = {
    name: 'gemm',
    nodes: [{ op: 'Gemm', inputs: ['x', 'w', 'c'], outputs: ['y'], attrs: { alpha: { float: 2 }, transB: 1 } }],
    initializers: [
      { name: 'w', dims: [3, 2], type: DT.FLOAT, raw: new Uint8Array(W.buffer) },
      { name: 'c', dims: [3], type: DT.FLOAT, raw: new Uint8Array(bias.buffer) },
    ],
    inputs: [{ name: 'x', type: DT.FLOAT, dims: ['b', 2] }],
    outputs: [{ name: 'y', type: DT.FLOAT, dims: ['b', 3] }],
  };
  const g = new OrtGraph(spec);
  const x = Float32Array.of(1, 2, -3, 0.5);
  const y = g.run({ x: { data: x, dims: [2, 2] } }).y;
  const want: number[] = [];
  for (let r = 0; r < 2; r++) for (let o = 0; o < 3; o++) want.push(2 * (x[r * 2] * W[o * 2] + x[r * 2 + 1] * W[o * 2 + 1]) + bias[o]);
  expect(y.dims).toEqual([2, 3]);
  expect(Array.from(y.data as Float32Array)).toEqual(want.map(Math.fround));
  g.dispose();
});

/** A 3×3 convolution with a 1.2 MB kernel, batch norm, ReLU6, global pooling, a 1 MiB Dense kernel and a fused softmax. */
function wide(): tf.LayersModel {
  const l = tf.layers;
  const input = tf.input({ shape: [10, 10, 3] });
  let x = l.conv2d({ filters: 128, kernelSize: 1, name: 'c1' }).apply(input) as L;
  x = l.conv2d({ filters: 256, kernelSize: 3, padding: 'same', name: 'c2' }).apply(x) as L;
  x = l.batchNormalization({ name: 'bn' }).apply(x) as L;
  x = l.reLU({ maxValue: 6, name: 'relu6' }).apply(x) as L;
  x = l.globalAveragePooling2d({ name: 'gap' }).apply(x) as L;
  x = l.dense({ units: 1024, activation: 'relu', name: 'fc' }).apply(x) as L;
  x = l.dense({ units: 7, activation: 'softmax', name: 'probs' }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x });
  randomizeSigned(net, 11);
  return net;
}

onOrt('the logits-only graph has the weights as constants (a large Dense kernel stays fed); layer graphs feed them; both equal TF.js', () => {
  const net = wide();
  const conv = net.getLayer('c2');
  const fold = { bn: { s: new Float32Array(256).fill(2), t: new Float32Array(256).fill(1) }, act: 'relu6' as const };
  const embedded = layerKernel(conv, false, fold).forward!(true);
  const fed = layerKernel(conv, false, fold).forward!(false);
  const kernelBytes = 3 * 3 * 128 * 256 * 4;
  const initBytes = (s: GraphSpec) => s.initializers.reduce((a, t) => a + t.raw.byteLength, 0);
  // Embedded: kernel, bias, the batch norm's s and t and ReLU6's two bounds inline, nothing fed; fed: the kernel and s, t are inputs.
  expect([Object.keys(embedded.bound ?? {}).length, embedded.inputs.map((i) => i.name), initBytes(embedded)]).toEqual([0, ['x0'], kernelBytes + 256 * 4 * 3 + 2 * 4]);
  expect([Object.values(fed.bound ?? {}).map((b) => b.dims), fed.inputs.map((i) => i.name).slice(0, 3)]).toEqual([[[256, 128, 3, 3]], ['x0', 'bn_s', 'bn_t']]);
  const denseFwd = layerKernel(net.getLayer('fc')).forward!(true);
  expect(Object.values(denseFwd.bound ?? {}).map((b) => b.dims)).toEqual([[256, 1024]]);

  const ort = ortNet(net)!;
  expect(ort).not.toBeNull();
  const x = tf.tensor4d(seededFloats(3 * 10 * 10 * 3, 5, -1, 1), [3, 10, 10, 3]);
  const runs0 = ort.runs.forward;
  // One runtime call: the logits-only graph.
  const whole = ort.forward(x).get(ort.logitsName);
  expect(ort.runs.forward - runs0).toBe(1);
  // Layer by layer (asking for a value inside the fused chain c2-bn-relu6), with fed weights.
  const layered = ort.forward(x, { layers: ['bn'] }).get(ort.logitsName);
  expect(ort.runs.forward - runs0).toBeGreaterThan(3);
  // Taps at the chain's end and after it, with the logits: one runtime call (the taps graph).
  const runs1 = ort.runs.forward;
  const tapped = ort.forward(x, { layers: ['relu6', 'gap'] });
  expect(ort.runs.forward - runs1).toBe(1);
  const relu6Ref = tf.tidy(() => tf.transpose(tf.model({ inputs: net.inputs, outputs: net.getLayer('relu6').output as L }).predict(x) as tf.Tensor, [0, 3, 1, 2]));
  expect(tapped.get('relu6').dims).toEqual([3, 256, 10, 10]);
  expect(maxRelErr(tapped.get('relu6').data as Float32Array, relu6Ref.dataSync())).toBeLessThan(2e-5);
  expect(Math.max(...Array.from(relu6Ref.dataSync()))).toBeGreaterThan(0);
  // TF.js: the logits are the input of the fused softmax.
  const logitsModel = tf.model({ inputs: net.inputs, outputs: net.getLayer('fc').output as L });
  const ref = tf.tidy(() => {
    const h = logitsModel.predict(x) as tf.Tensor;
    const [k, b] = net.getLayer('probs').getWeights();
    return tf.add(tf.matMul(h, k), b);
  });
  const want = ref.dataSync();
  expect(whole.dims).toEqual([3, 7]);
  expect(maxRelErr(whole.data as Float32Array, want)).toBeLessThan(2e-5);
  expect(maxRelErr(layered.data as Float32Array, want)).toBeLessThan(2e-5);
  expect(maxRelErr(tapped.get(ort.logitsName).data as Float32Array, want)).toBeLessThan(2e-5);
  tf.dispose([x, ref, relu6Ref]);
  net.dispose();
});

/** A residual block: a 3×3 convolution whose output joins a skip connection from before it, then a softmax head; and a Sequential model. */
function residual(): tf.LayersModel {
  const l = tf.layers;
  const input = tf.input({ shape: [12, 12, 3] });
  let x = l.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'a' }).apply(input) as L;
  x = l.batchNormalization({ name: 'bn' }).apply(x) as L;
  const r = l.reLU({ name: 'r' }).apply(x) as L;
  const c = l.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c' }).apply(r) as L;
  x = l.add({ name: 'add' }).apply([c, r]) as L;
  x = l.globalAveragePooling2d({ name: 'gap' }).apply(x) as L;
  x = l.dense({ units: 5, activation: 'softmax', name: 'probs' }).apply(x) as L;
  const net = tf.model({ inputs: input, outputs: x });
  randomizeSigned(net, 7);
  return net;
}

onOrt("a layer's output replaced (Ablation-CAM): the layers after it in one engine graph, skip connections fed from a taps pass, the same scores as TF.js; a value inside a fused chain runs on TF.js", () => {
  const seq = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [10, 10, 3], filters: 6, kernelSize: 3, activation: 'relu', name: 's1' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'sp' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 's2' }),
      tf.layers.flatten({ name: 'sf' }),
      tf.layers.dense({ units: 3, activation: 'sigmoid', name: 'sd' }),
    ],
  });
  randomizeSigned(seq, 3);
  // (A Sequential model runs as the flat functional model CnnModel makes of it.)
  const flat = new CnnModel(seq, { name: 'seq', preprocess: 'unit' }).net;
  const res = residual();
  const cases: [tf.LayersModel, string, number][] = [
    [res, 'c', 1],
    [res, 'r', 0],
    [flat, 'sp', 0],
  ];
  for (const [net, layer, earlier] of cases) {
    const ort = ortNet(net)!;
    const ref = new TfjsEngine(net);
    const engine = new OrtEngine(net, ref);
    const [H, W] = net.inputs[0].shape.slice(1, 3) as number[];
    const x = tf.tensor4d(seededFloats(H * W * 3, 5, 0, 1), [1, H, W, 3]);
    const out = net.getLayer(layer).output as L;
    const a = tf.model({ inputs: net.inputs, outputs: out }).predict(x) as tf.Tensor4D;
    // Each of 4 rows: the output with one channel set to 0 (and one row with all of it halved).
    const c = a.shape[3];
    const rows = tf.tidy(() => tf.concat([0, 1, 2].map((k) => tf.mul(a, tf.oneHot([k], c).reshape([1, 1, 1, c]).sub(1).neg())).concat([tf.mul(a, 0.5)])));
    const runs = ort.runs.forward;
    const tensors = tf.memory().numTensors;
    const got = engine.scoresWithLayerOutput(x, layer, rows);
    // Its result is the one tensor it leaves.
    expect([layer, ort.runs.forward - runs, tf.memory().numTensors - tensors]).toEqual([layer, earlier ? 2 : 1, 1]);
    // The same image again (Ablation-CAM's next batch of channels): the earlier values are kept, one run.
    const again = engine.scoresWithLayerOutput(x, layer, rows);
    expect([layer, ort.runs.forward - runs]).toEqual([layer, earlier ? 3 : 2]);
    expect(Array.from(again.dataSync())).toEqual(Array.from(got.dataSync()));
    again.dispose();
    const want = ref.scoresWithLayerOutput(x, layer, rows);
    expect(got.shape).toEqual(want.shape);
    expect(maxRelErr(got.dataSync(), want.dataSync())).toBeLessThan(2e-5);
    // The replacement matters: rows differ from each other.
    expect(Math.abs(want.dataSync()[0] - want.dataSync()[want.shape[1] * 3])).toBeGreaterThan(1e-4);
    tf.dispose([x, a, rows, got, want]);
  }
  // 'bn' runs fused inside the chain a-bn-r: TF.js answers (no engine run), with the same numbers.
  const net = res;
  const ort = ortNet(net)!;
  const x = tf.tensor4d(seededFloats(2 * 12 * 12 * 3, 6, 0, 1), [2, 12, 12, 3]);
  const bnOut = tf.model({ inputs: net.inputs, outputs: net.getLayer('bn').output as L }).predict(x) as tf.Tensor4D;
  const runs = ort.runs.forward;
  const tfjsEngine = new TfjsEngine(net);
  const got = new OrtEngine(net, tfjsEngine).scoresWithLayerOutput(x, 'bn', bnOut);
  expect(ort.runs.forward).toBe(runs);
  const plain = tfjsEngine.logits(x);
  expect(maxRelErr(got.dataSync(), plain.dataSync())).toBeLessThan(1e-5);
  // A replacement of the wrong shape: one line naming both shapes.
  expect(() => new OrtEngine(net, tfjsEngine).scoresWithLayerOutput(x, 'c', tf.zeros([2, 12, 12, 3]))).toThrow("layer 'c' produced shape [2, 12, 12, 8], the replacement has [2, 12, 12, 3]");
  tf.dispose([x, bnOut, got, plain]);
});

/** A custom TF.js layer: y = 3·x − 1. */
class Affine3 extends tf.layers.Layer {
  static className = 'CnnvisTestAffine3';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.sub(tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, 3), 1));
  }
}
tf.serialization.registerClass(Affine3);

/**
 * Strided convolutions of every shape class: kernels larger and smaller than the stride, 'same' and
 * 'valid' padding on odd and even sizes, three input channels (padded to a block of 16 phases),
 * non-square kernels, phases no tap reaches (kernels smaller than the stride), and strides that
 * differ, which keep ConvTranspose.
 */
const STRIDED: { k: [number, number]; s: [number, number]; pad: 'same' | 'valid'; hw: [number, number]; cin: number; f: number; phased: boolean }[] = [
  { k: [3, 3], s: [2, 2], pad: 'same', hw: [9, 8], cin: 16, f: 32, phased: true },
  { k: [3, 3], s: [2, 2], pad: 'valid', hw: [11, 10], cin: 16, f: 16, phased: true },
  { k: [7, 7], s: [2, 2], pad: 'same', hw: [15, 14], cin: 3, f: 16, phased: true },
  { k: [1, 1], s: [2, 2], pad: 'valid', hw: [9, 8], cin: 32, f: 48, phased: true },
  { k: [1, 1], s: [2, 2], pad: 'same', hw: [7, 7], cin: 16, f: 16, phased: true },
  { k: [2, 2], s: [2, 2], pad: 'valid', hw: [8, 9], cin: 5, f: 16, phased: true },
  { k: [5, 3], s: [3, 3], pad: 'same', hw: [10, 11], cin: 4, f: 8, phased: true },
  { k: [2, 2], s: [3, 3], pad: 'valid', hw: [9, 9], cin: 4, f: 8, phased: true },
  { k: [1, 3], s: [3, 3], pad: 'same', hw: [10, 8], cin: 16, f: 16, phased: true },
  { k: [3, 3], s: [2, 1], pad: 'same', hw: [9, 8], cin: 4, f: 8, phased: false },
];

onOrt("a strided convolution's input gradient in a graph with constant kernels runs as phases and equals TF.js (every kernel, stride and padding class; batch-norm scale folded)", () => {
  for (const [n, c] of STRIDED.entries()) {
    const input = tf.input({ shape: [...c.hw, c.cin] });
    const conv = tf.layers.conv2d({ filters: c.f, kernelSize: c.k, strides: c.s, padding: c.pad, name: `c${n}` });
    const net = tf.model({ inputs: input, outputs: conv.apply(input) as L });
    randomizeSigned(net, 40 + n);
    const w = conv.getWeights()[0].clone() as tf.Tensor4D;
    const s = Float32Array.from(seededFloats(c.f, 70 + n, 0.5, 2));
    const fold = { bn: { s, t: new Float32Array(c.f) } };
    const label = JSON.stringify(c);
    for (const bn of [false, true]) {
      const kernel = layerKernel(conv, false, bn ? fold : undefined);
      const spec = kernel.backward!('gradient', true);
      const ops = spec.nodes.map((nd) => nd.op);
      // Phases: a convolution, then a transposed one that places them (else ConvTranspose alone); the batch norm's scale is in the kernel (no input, no Mul).
      expect([label, bn, ops.includes('Conv'), ops.includes('ConvTranspose'), ops.includes('Mul'), spec.inputs.map((i) => i.name)]).toEqual([label, bn, c.phased, true, false, ['g']]);
      const [, Ho, Wo, F] = net.outputs[0].shape as number[];
      const x = tf.tensor4d(seededFloats(2 * c.hw[0] * c.hw[1] * c.cin, 80 + n, -1, 1), [2, ...c.hw, c.cin]);
      const g = tf.tensor4d(seededFloats(2 * Ho * Wo * F, 90 + n, -1, 1), [2, Ho, Wo, F]);
      const want = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, w, c.s, c.pad), bn ? tf.mul(g, tf.tensor1d(s)) : g)))(x).transpose([0, 3, 1, 2]));
      const graph = new OrtGraph(spec);
      const gx = graph.run({ g: { data: tf.tidy(() => g.transpose([0, 3, 1, 2])).dataSync() as Float32Array, dims: [2, F, Ho, Wo] } }).gx0;
      expect([label, bn, gx.dims]).toEqual([label, bn, want.shape]);
      expect([label, bn, maxRelErr(gx.data as Float32Array, want.dataSync()) < 1e-5]).toEqual([label, bn, true]);
      graph.dispose();
      tf.dispose([x, g, want]);
    }
    w.dispose();
    net.dispose();
  }
});

onOrt('in a graph composed for many runs, a stride-1 backward kernel is a constant only when a batch-norm scale is folded into it', () => {
  const input = tf.input({ shape: [6, 6, 256] });
  const conv = tf.layers.conv2d({ filters: 256, kernelSize: 3, padding: 'same', name: 'c' });
  const net = tf.model({ inputs: input, outputs: conv.apply(input) as L });
  const fold = { bn: { s: new Float32Array(256).fill(2), t: new Float32Array(256) } };
  const plain = layerKernel(conv).backward!('gradient', true);
  const folded = layerKernel(conv, false, fold).backward!('gradient', true);
  // 2.4 MB: fed (one flipped copy for every graph) unless the scale is folded into it.
  expect(Object.values(plain.bound ?? {}).map((w) => w.dims)).toEqual([[256, 256, 3, 3]]);
  expect([Object.keys(folded.bound ?? {}).length, folded.inputs.map((i) => i.name)]).toEqual([0, ['g']]);
  net.dispose();
});

onOrt('a converter registered for a custom layer class compiles models with it: logits and input gradients equal TF.js', () => {
  const make = () => {
    const input = tf.input({ shape: [6, 6, 2] });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'c' }).apply(input) as L;
    x = new Affine3({ name: 'aff' }).apply(x) as L;
    x = tf.layers.flatten({}).apply(x) as L;
    x = tf.layers.dense({ units: 3, name: 'out' }).apply(x) as L;
    const net = tf.model({ inputs: input, outputs: x });
    randomizeSigned(net, 3);
    return net;
  };
  const before = make();
  expect(ortUnsupportedReason(before)).toMatch(/layer 'aff' is a CnnvisTestAffine3, which the engine does not compile; it compiles Conv2D, /);
  registerConverter({
    classes: ['CnnvisTestAffine3'],
    convert: (ctx) =>
      ctx.unary(
        [],
        (b) => b.one('Sub', [b.one('Mul', ['x0', b.scalar(3)]), b.scalar(1)]),
        (b) => b.one('Mul', ['g', b.scalar(3)]),
      ),
  });
  expect(supportedLayers()).toContain('CnnvisTestAffine3');
  const net = make();
  expect(ortUnsupportedReason(net)).toBe('');
  const ort = ortNet(net)!;
  const x = tf.tensor4d(seededFloats(2 * 6 * 6 * 2, 9, -1, 1), [2, 6, 6, 2]);
  const fw = ort.forward(x, { complete: true });
  const logits = fw.get(ort.logitsName);
  const ref = net.predict(x) as tf.Tensor;
  expect(maxRelErr(logits.data as Float32Array, ref.dataSync())).toBeLessThan(1e-5);
  // d(logit 1, summed over the batch) / d input, against TF.js' gradient.
  const seed = new Float32Array(2 * 3);
  seed[1] = seed[4] = 1;
  const gx = toTensor(ort.backward(fw, ort.logitsName, { data: seed, dims: [2, 3] }, ort.inputName));
  const pick = tf.tensor2d(seed, [2, 3]);
  const want = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(net.predict(t) as tf.Tensor, pick)))(x);
  expect(gx.shape).toEqual(want.shape);
  expect(maxRelErr(gx.dataSync(), want.dataSync())).toBeLessThan(1e-5);
  expect(tf.max(tf.abs(want)).dataSync()[0]).toBeGreaterThan(0);
  tf.dispose([x, ref, gx, want, pick]);
  before.dispose();
  net.dispose();
});
