/**
 * Writing loaded weights into a freshly built model without a second copy.
 *
 * A model built for loading holds zero weights; `layer.setWeights` then allocates every value a second
 * time before the zeros are freed. On the wasm backend that high-water mark stays for good (its heap
 * never shrinks): 0.5 GB for VGG16. `writeLayerWeights` copies the values into the variables' own
 * memory instead, when that is safe: the variable's data has no other user and nothing has read it yet
 * (the compute engine has not compiled it; the finite-weights check forgets what it verified).
 * Otherwise — another backend, shared data, a variable in use — it falls back to `setWeights`.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { forgetFiniteCheck } from './finite';

interface HeapBackend {
  refCount?(dataId: object): number;
  typedArrayFromHeap?(t: tf.Tensor): Float32Array;
  data?: { get(dataId: object): { values?: unknown } | undefined };
}

/** The float32 storage of a tensor's data, writable in place, or null where the backend hides it. */
function storage(t: tf.Tensor): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const backend = tf.backend() as unknown as HeapBackend;
  if (typeof backend.refCount !== 'function' || backend.refCount(t.dataId) !== 1) return null;
  const name = tf.getBackend();
  if (name === 'wasm' && typeof backend.typedArrayFromHeap === 'function') return backend.typedArrayFromHeap(t);
  if (name === 'cpu') {
    const values = backend.data?.get(t.dataId)?.values;
    return values instanceof Float32Array && values.length === t.size ? values : null;
  }
  return null;
}

/** The ONNX Runtime engine watches a variable by giving it its own `assign` (it rebuilds its graphs after a change). */
function watched(v: tf.Variable): boolean {
  return Object.prototype.hasOwnProperty.call(v, 'assign');
}

/**
 * Sets `layer`'s weights (in `layer.weights` order) to `values`, in place where safe (see above).
 * Shapes are checked: each array must hold exactly its weight's number of values.
 */
export function writeLayerWeights(layer: tf.layers.Layer, values: readonly Float32Array[]): void {
  const ws = layer.weights;
  if (values.length !== ws.length) {
    throw new CnnvisError(`layer '${layer.name}' has ${ws.length} weights, got ${values.length} arrays`);
  }
  ws.forEach((w, i) => {
    const size = w.shape.reduce((a: number, d) => a * (d as number), 1);
    if (values[i].length !== size) {
      throw new CnnvisError(`layer '${layer.name}' weight '${w.originalName}' has shape [${w.shape.join(', ')}] (${size} values), got ${values[i].length}`);
    }
  });
  const vars = ws.map((w) => w.read() as tf.Variable);
  const places = vars.map((v) => (watched(v) ? null : storage(v)));
  if (places.every((p) => p !== null)) {
    places.forEach((p, i) => p!.set(values[i]));
    ws.forEach((w) => forgetFiniteCheck(w));
    return;
  }
  const tensors = values.map((v, i) => tf.tensor(v, ws[i].shape as number[], 'float32'));
  try {
    layer.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}
