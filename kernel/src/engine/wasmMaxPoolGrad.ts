/**
 * A correct MaxPoolGrad for the wasm backend. tfjs-backend-wasm 4.22's own kernel drops the gradient
 * of every pooling window whose maximum is ≤ 0 (after a ReLU, all-zero windows are common), which made
 * Grad-CAM wrong at layers that feed a max-pool (found by the PyTorch parity test). This kernel routes
 * each output gradient to the first maximum of its window, like the cpu backend and PyTorch.
 */
import * as tf from '@tensorflow/tfjs';

type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];

interface WasmBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

function maxPoolGrad({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const dy = inputs.dy as tf.TensorInfo;
  const x = inputs.input as tf.TensorInfo;
  const a = attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const be = backend as unknown as WasmBackendLike;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const xv = be.readSync(x.dataId) as Float32Array;
  const dyv = be.readSync(dy.dataId) as Float32Array;
  const [B, H, W, C] = x.shape;
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = new Float32Array(B * H * W * C);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let wy = 0; wy < fh; wy += dh) {
            const y = oy * sh - top + wy;
            if (y < 0 || y >= H) continue;
            for (let wx = 0; wx < fw; wx += dw) {
              const xx = ox * sw - left + wx;
              if (xx < 0 || xx >= W) continue;
              const i = ((b * H + y) * W + xx) * C + c;
              if (xv[i] > best) {
                best = xv[i];
                at = i;
              }
            }
          }
          if (at >= 0) dx[at] += dyv[((b * OH + oy) * OW + ox) * C + c];
        }
      }
    }
  }
  return be.makeOutput([...x.shape], 'float32', undefined, dx);
}

/**
 * A correct AvgPoolGrad (wasm and cpu). TF.js 4.22's kernels divide every window's gradient by the
 * full window size, but its forward pass (like TF's) averages only the cells inside the image, so
 * gradients at the borders of 'same'-padded average pooling were wrong (found by comparing with the
 * ONNX Runtime engine and finite differences). This one divides by each window's own cell count.
 */
function avgPoolGrad({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const dy = inputs.dy as tf.TensorInfo;
  const x = inputs.input as tf.TensorInfo;
  const a = attrs as unknown as { filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  const be = backend as unknown as WasmBackendLike & { makeTensorInfo?(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo };
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const dyv = be.readSync(dy.dataId) as Float32Array;
  const [B, H, W, C] = x.shape;
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = new Float32Array(B * H * W * C);
  for (let oy = 0; oy < OH; oy++) {
    const y0 = Math.max(0, oy * sh - top);
    const y1 = Math.min(H, oy * sh - top + fh);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = Math.max(0, ox * sw - left);
      const x1 = Math.min(W, ox * sw - left + fw);
      const n = (y1 - y0) * (x1 - x0);
      if (n <= 0) continue;
      for (let b = 0; b < B; b++) {
        const o = ((b * OH + oy) * OW + ox) * C;
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const i = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) dx[i + c] += dyv[o + c] / n;
          }
        }
      }
    }
  }
  return be.makeOutput ? be.makeOutput([...x.shape], 'float32', undefined, dx) : be.makeTensorInfo!([...x.shape], 'float32', dx);
}

let registered = false;
const avgFixed = new Set<string>();

/** Replaces AvgPoolGrad on the wasm and cpu backends with the one above (idempotent). */
export function fixAvgPoolGrad(): void {
  const name = tf.getBackend();
  if (avgFixed.has(name) || (name !== 'wasm' && name !== 'cpu')) return;
  if (tf.getKernel('AvgPoolGrad', name)) tf.unregisterKernel('AvgPoolGrad', name);
  tf.registerKernel({ kernelName: 'AvgPoolGrad', backendName: name, kernelFunc: avgPoolGrad });
  avgFixed.add(name);
}

/** Replaces the wasm backend's MaxPoolGrad with the correct one above (wasm only; idempotent). */
export function fixWasmMaxPoolGrad(): void {
  if (registered || tf.getBackend() !== 'wasm') return;
  if (tf.getKernel('MaxPoolGrad', 'wasm')) tf.unregisterKernel('MaxPoolGrad', 'wasm');
  tf.registerKernel({ kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad });
  registered = true;
}
