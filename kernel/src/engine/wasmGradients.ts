/**
 * Input gradients on the WebAssembly backend.
 *
 * Activation maximization only needs d(objective)/d(input image), but the wasm backend of TF.js 4.22
 * cannot compute it for common CNNs out of the box:
 *
 * - `DepthwiseConv2dNativeBackpropInput` is not registered (MobileNet's depthwise layers need it);
 * - `Conv2DBackpropFilter` is not registered, and TF.js asks for it even when only the input gradient
 *   is wanted: a Conv2D layer with a linear activation runs the fused conv op, whose custom gradient
 *   computes the filter gradient together with the input gradient.
 *
 * Both are supplied here from kernels the backend has (Reshape, PadV2, Slice, Reverse, Transpose, Sum,
 * DepthwiseConv2dNative, Conv2D); the Conv2D filter gradient (and the faster stride-1 input gradient)
 * come from `registerWasmConvGradients` in engine/wasmConvGrads.ts. Other backends are left alone, and
 * nothing is registered twice.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { registerWasmConvGradients } from './wasmConvGrads';
import { fixAvgPoolGrad, fixWasmMaxPoolGrad } from './wasmMaxPoolGrad';

type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];

/** Kernels this module adds to the wasm backend when they are missing. */
export const WASM_ADDED_KERNELS = ['DepthwiseConv2dNativeBackpropInput', 'Conv2DBackpropFilter'] as const;

/**
 * dx of a depthwise convolution: dy is spread back onto the input grid (zeros between rows/columns
 * for strides > 1), padded by (filter size − 1 − forward padding), and convolved depthwise with the
 * filter flipped in space; with a channel multiplier m the m results of each input channel are summed.
 */
function depthwiseInputGrad(args: KernelArgs): tf.TensorInfo {
  const { inputs, attrs, backend } = args;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const a = attrs as unknown as {
    strides: [number, number] | number;
    dilations: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  const dil = Array.isArray(a.dilations) ? a.dilations : [a.dilations ?? 1, a.dilations ?? 1];
  if (dil[0] !== 1 || dil[1] !== 1) {
    throw new CnnvisError('DepthwiseConv2dNativeBackpropInput (cnnvis wasm kernel): dilated depthwise convolutions are not supported');
  }
  const [kh, kw, cin, mult] = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, [kh, kw, cin, mult], a.strides, 1, a.pad, a.dimRoundingMode, true);
  const [b, H, W] = a.inputShape;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const [oh, ow, cout] = [dy.shape[1], dy.shape[2], dy.shape[3]];
  const be = backend as tf.KernelBackend;
  const temps: tf.TensorInfo[] = [];
  const run = (name: string, ins: tf.NamedTensorInfoMap, at: object): tf.TensorInfo => {
    const out = tf.getKernel(name, 'wasm')!.kernelFunc({ inputs: ins, attrs: at as tf.NamedAttrMap, backend }) as tf.TensorInfo;
    temps.push(out);
    return out;
  };
  let spread = dy;
  if (sh > 1 || sw > 1) {
    const r6 = run('Reshape', { x: dy }, { shape: [b, oh, 1, ow, 1, cout] });
    const p6 = run('PadV2', { x: r6 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
    spread = run('Reshape', { x: p6 }, { shape: [b, oh * sh, ow * sw, cout] });
  }
  // Rows/columns of the spread grid: (oh − 1)·sh + 1 are meaningful, the rest are trailing zeros.
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = H + kh - 1 - ((oh - 1) * sh + 1) - top - (spread.shape[1] - ((oh - 1) * sh + 1));
  const right = W + kw - 1 - ((ow - 1) * sw + 1) - left - (spread.shape[2] - ((ow - 1) * sw + 1));
  if (top < 0 || left < 0) {
    throw new CnnvisError('DepthwiseConv2dNativeBackpropInput (cnnvis wasm kernel): padding larger than the filter is not supported');
  }
  let grid = spread;
  if (bottom < 0 || right < 0) {
    grid = run('Slice', { x: spread }, { begin: [0, 0, 0, 0], size: [b, spread.shape[1] + Math.min(0, bottom), spread.shape[2] + Math.min(0, right), cout] });
  }
  const padded = run('PadV2', { x: grid }, { paddings: [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]], constantValue: 0 });
  const flipped = run('Reverse', { x: filter }, { dims: [0, 1] });
  const perOut = mult === 1 ? flipped : run('Reshape', { x: flipped }, { shape: [kh, kw, cin * mult, 1] });
  const conv = run('DepthwiseConv2dNative', { x: padded, filter: perOut }, { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' });
  let out = conv;
  if (mult > 1) {
    const r5 = run('Reshape', { x: conv }, { shape: [b, H, W, cin, mult] });
    out = run('Sum', { x: r5 }, { axis: [4], keepDims: false });
  }
  for (const t of temps) if (t !== out) be.disposeData(t.dataId);
  return out;
}

/** Backend-specific kernels that were added, for reports ("none" on backends other than wasm). */
export function addedKernels(): string[] {
  return added.slice();
}

const added: string[] = [];

/**
 * Makes input gradients work on the wasm backend (see the file comment). Does nothing on other
 * backends; safe to call any number of times.
 */
export function ensureInputGradients(): void {
  fixAvgPoolGrad();
  if (tf.getBackend() !== 'wasm') return;
  fixWasmMaxPoolGrad();
  if (!tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')) {
    tf.registerKernel({ kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName: 'wasm', kernelFunc: depthwiseInputGrad });
    added.push('DepthwiseConv2dNativeBackpropInput');
  }
  const hadFilterGrad = !!tf.getKernel('Conv2DBackpropFilter', 'wasm');
  registerWasmConvGradients();
  if (!hadFilterGrad) added.push('Conv2DBackpropFilter');
}
