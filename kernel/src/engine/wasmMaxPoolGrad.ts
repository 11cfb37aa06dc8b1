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

let registered = false;

/** Replaces the wasm backend's MaxPoolGrad with the correct one above (wasm only; idempotent). */
export function fixWasmMaxPoolGrad(): void {
  if (registered || tf.getBackend() !== 'wasm') return;
  if (tf.getKernel('MaxPoolGrad', 'wasm')) tf.unregisterKernel('MaxPoolGrad', 'wasm');
  tf.registerKernel({ kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad });
  registered = true;
}
