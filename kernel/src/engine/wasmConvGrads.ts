/**
 * Fast convolution gradients for the wasm backend (tfjs-backend-wasm 4.22): Conv2DBackpropFilter is
 * missing there, and its Conv2DBackpropInput is many times slower than the forward convolution. Both
 * are built here from the backend's own forward kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/**
 * The gradient of a 2-D convolution with respect to its filter, dW[i,j,c,o] = Σ x[b, y·s+i−p, x·s+j−p, c] ·
 * dy[b, y, x, o], computed as one forward convolution: batch and channels of x swap places, dy becomes the
 * filter, and the forward stride becomes the filter's dilation.
 */
function conv2dFilterGrad(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const a = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | number[][];
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (a.dataFormat !== 'NHWC') throw new CnnvisError('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad as 'same',
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const { top, left } = info.padInfo;
  const bottom = (info.outHeight - 1) * info.strideHeight + kh - info.inHeight - top;
  const right = (info.outWidth - 1) * info.strideWidth + kw - info.inWidth - left;
  const be = backend as tf.KernelBackend;
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const conv = tf.getKernel('Conv2D', 'wasm')!.kernelFunc;
  const slice = tf.getKernel('Slice', 'wasm')!.kernelFunc;
  const run = (f: KernelFunc, ins: tf.NamedTensorInfoMap, at: tf.NamedAttrMap): tf.TensorInfo =>
    f({ inputs: ins, attrs: at, backend }) as tf.TensorInfo;
  // Rows/columns past the last window never meet the filter: crop them (negative bottom/right padding).
  const cropped =
    bottom < 0 || right < 0
      ? run(slice, { x }, {
          begin: [0, 0, 0, 0],
          size: [x.shape[0], info.inHeight + Math.min(bottom, 0), info.inWidth + Math.min(right, 0), x.shape[3]],
        })
      : null;
  const xT = run(transpose, { x: cropped ?? x }, { perm: [3, 1, 2, 0] }); // [c, H, W, b]
  const dyT = run(transpose, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, b, o]
  const r = run(
    conv,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, Math.max(bottom, 0)],
        [left, Math.max(right, 0)],
        [0, 0],
      ],
      dilations: [info.strideHeight, info.strideWidth],
      dataFormat: 'NHWC',
    } as unknown as tf.NamedAttrMap,
  ); // [c, kh, kw, o]
  const out = run(transpose, { x: r }, { perm: [1, 2, 0, 3] });
  for (const t of [xT, dyT, r]) be.disposeData(t.dataId);
  if (cropped) be.disposeData(cropped.dataId);
  return out;
}

let wasmInputGradFallback: KernelFunc | null = null;

/**
 * The gradient of a stride-1 convolution with respect to its input: a forward convolution of dy with the
 * filter flipped in space and with its channel axes swapped. The wasm backend's own kernel for this is a
 * plain loop, several times slower than its Conv2D; other strides still go to that kernel.
 */
function conv2dInputGrad(args: Parameters<KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { inputs, attrs, backend } = args;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const a = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | number[][];
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape: [number, number, number, number];
  };
  const stride = Array.isArray(a.strides) ? a.strides : [a.strides, a.strides];
  if (a.dataFormat !== 'NHWC' || stride[0] !== 1 || stride[1] !== 1) return wasmInputGradFallback!(args);
  const info = tf.backend_util.computeConv2DInfo(
    a.inputShape,
    filter.shape as [number, number, number, number],
    1,
    1,
    a.pad as 'same',
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const { top, bottom, left, right } = info.padInfo;
  const pads = [kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right];
  if (pads.some((p) => p < 0)) return wasmInputGradFallback!(args);
  const be = backend as tf.KernelBackend;
  const run = (name: string, ins: tf.NamedTensorInfoMap, at: tf.NamedAttrMap): tf.TensorInfo =>
    tf.getKernel(name, 'wasm')!.kernelFunc({ inputs: ins, attrs: at, backend }) as tf.TensorInfo;
  const flipped = run('Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh, kw, o, c]
  const out = run(
    'Conv2D',
    { x: dy, filter: swapped },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [pads[0], pads[1]],
        [pads[2], pads[3]],
        [0, 0],
      ],
      dilations: [1, 1],
      dataFormat: 'NHWC',
    } as unknown as tf.NamedAttrMap,
  );
  be.disposeData(flipped.dataId);
  be.disposeData(swapped.dataId);
  return out;
}

/**
 * Makes the wasm backend able to train convolutions fast: adds Conv2DBackpropFilter (missing) and
 * replaces the stride-1 path of Conv2DBackpropInput (slow). Idempotent.
 */
export function registerWasmConvGradients(): void {
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dFilterGrad });
  }
  const current = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (current && current.kernelFunc !== conv2dInputGrad) {
    wasmInputGradFallback = current.kernelFunc;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({ ...current, kernelFunc: conv2dInputGrad });
  }
}
