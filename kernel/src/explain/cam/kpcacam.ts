/**
 * KPCA-CAM (Karmani et al. 2024, pytorch-grad-cam's KPCA_CAM): Eigen-CAM with kernel PCA. The
 * activation's rows (one per position, c channels) are centred over the positions; the kernel matrix
 * K_ij = k(x_i, x_j) over the positions is double-centred (K̃ = K − 1K − K1 + 1K1, 1 = ones / n); the map is the
 * first kernel principal component, v·√λ with (λ, v) the eigenpair of K̃ with the largest eigenvalue
 * (0 when λ ≤ 0), signed as scikit-learn does (v's entry of largest magnitude positive). Kernels as in
 * scikit-learn: 'sigmoid' (default) tanh(γ⟨x, y⟩ + coef0), 'rbf' exp(−γ‖x − y‖²), 'poly'
 * (γ⟨x, y⟩ + coef0)^degree, 'linear' ⟨x, y⟩, 'cosine'; γ defaults to 1 / c, coef0 to 1, degree to 3.
 * The eigenpair comes from power iteration (shifted when the dominant eigenvalue is negative).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { mulberry32 } from '../../random';
import { CamContext, camFunction, CamOptions } from './base';
import { ActivationCam } from './weights';

export type KpcaKernel = 'sigmoid' | 'rbf' | 'poly' | 'linear' | 'cosine';
const KERNELS: readonly KpcaKernel[] = ['sigmoid', 'rbf', 'poly', 'linear', 'cosine'];

export interface KpcaCamOptions extends CamOptions {
  /** Kernel (default 'sigmoid', pytorch-grad-cam's default). */
  kernel?: KpcaKernel;
  /** Kernel coefficient (default 1 / channels). */
  gamma?: number;
  /** Independent term of 'sigmoid' and 'poly' (default 1). */
  coef0?: number;
  /** Degree of 'poly' (default 3). */
  degree?: number;
}

/** Positions a layer may have (the kernel matrix is positions × positions). */
export const KPCA_MAX_POSITIONS = 4096;

/** The kernel matrix [n, n] of the rows of x [n, c]. */
export function kernelMatrix(x: tf.Tensor2D, o: KpcaCamOptions): tf.Tensor2D {
  return tf.tidy(() => {
    const c = x.shape[1];
    const gamma = o.gamma ?? 1 / c;
    const coef0 = o.coef0 ?? 1;
    const dot = tf.matMul(x, x, false, true);
    switch (o.kernel ?? 'sigmoid') {
      case 'sigmoid':
        return tf.tanh(tf.add(tf.mul(dot, gamma), coef0)) as tf.Tensor2D;
      case 'poly':
        return tf.pow(tf.add(tf.mul(dot, gamma), coef0), o.degree ?? 3) as tf.Tensor2D;
      case 'linear':
        return dot as tf.Tensor2D;
      case 'rbf': {
        const sq = tf.sum(tf.square(x), 1, true);
        const d2 = tf.relu(tf.sub(tf.add(sq, sq.transpose()), tf.mul(dot, 2)));
        return tf.exp(tf.mul(d2, -gamma)) as tf.Tensor2D;
      }
      case 'cosine': {
        const norm = tf.sqrt(tf.sum(tf.square(x), 1, true));
        const safe = tf.where(tf.greater(norm, 0), norm, tf.onesLike(norm));
        return tf.div(dot, tf.mul(safe, safe.transpose())) as tf.Tensor2D;
      }
    }
  });
}

/** The eigenpair of the symmetric k [n, n] with the largest (algebraic) eigenvalue, by power iteration. */
export function topEigenpair(k: tf.Tensor2D, seed = 1, maxIterations = 2000, tol = 2e-6): { value: number; vector: Float32Array } {
  const n = k.shape[0];
  const rng = mulberry32(seed);
  const iterate = (m: tf.Tensor2D): { value: number; vector: tf.Tensor2D } => {
    let v: tf.Tensor2D = tf.tidy(() => {
      const r = tf.tensor2d(Float32Array.from({ length: n }, () => rng() - 0.5), [n, 1]);
      return tf.div(r, tf.norm(r)) as tf.Tensor2D;
    });
    let value = 0;
    for (let i = 0; i < maxIterations; i++) {
      const [next, stats] = tf.tidy(() => {
        const u = tf.matMul(m, v);
        const nv = tf.div(u, tf.maximum(tf.norm(u), 1e-30)) as tf.Tensor2D;
        // λ (Rayleigh quotient) and how far v moved (up to sign), read in one transfer.
        return [nv, tf.stack([tf.sum(tf.mul(u, v)), tf.minimum(tf.norm(tf.sub(nv, v)), tf.norm(tf.add(nv, v)))])];
      });
      const [lambda, change] = stats.dataSync();
      stats.dispose();
      v.dispose();
      v = next;
      value = lambda;
      if (change < tol) break;
    }
    return { value, vector: v };
  };
  const first = iterate(k);
  if (first.value >= 0) {
    const vector = first.vector.dataSync().slice() as Float32Array;
    first.vector.dispose();
    return { value: first.value, vector };
  }
  // The dominant eigenvalue is negative: shift the spectrum so the largest algebraic one dominates.
  first.vector.dispose();
  const shifted = tf.tidy(() => tf.sub(k, tf.mul(tf.eye(n), first.value)) as tf.Tensor2D);
  const second = iterate(shifted);
  shifted.dispose();
  const vector = second.vector.dataSync().slice() as Float32Array;
  second.vector.dispose();
  return { value: second.value + first.value, vector };
}

export class KpcaCam extends ActivationCam<KpcaCamOptions> {
  readonly name = 'KPCA-CAM';
  readonly id = 'kpcacam';

  override checkOptions(o: KpcaCamOptions): void {
    if (o.kernel !== undefined && !KERNELS.includes(o.kernel)) throw new CnnvisError(`unknown kernel '${String(o.kernel)}'; kernels: ${KERNELS.join(', ')}`, [...KERNELS]);
    for (const key of ['gamma', 'coef0', 'degree'] as const) {
      const v = o[key];
      if (v !== undefined && !Number.isFinite(v)) throw new CnnvisError(`${key} must be a number, got ${v}`);
    }
  }

  override check(model: import('../../models/model').CnnModel, layer: string): void {
    const s = model.layerShape(layer);
    const n = (s[s.length - 3] ?? 1) * (s[s.length - 2] ?? 1);
    if (n > KPCA_MAX_POSITIONS) {
      throw new CnnvisError(`KPCA-CAM builds a positions × positions kernel matrix; layer '${layer}' has ${n} positions, at most ${KPCA_MAX_POSITIONS} (e.g. 64×64) are allowed; pick a deeper layer`);
    }
  }

  weights(ctx: CamContext): tf.Tensor {
    return tf.onesLike(ctx.activation.slice([0, 0, 0], [1, 1, -1]).reshape([-1]));
  }

  override camImage(ctx: CamContext, o: KpcaCamOptions = {}): tf.Tensor2D {
    const [h, w, c] = ctx.activation.shape;
    const n = h * w;
    const centred = tf.tidy(() => {
      const x = ctx.activation.reshape([n, c]);
      const k = kernelMatrix(tf.sub(x, tf.mean(x, 0, true)) as tf.Tensor2D, o);
      const row = tf.mean(k, 0, true);
      const col = tf.mean(k, 1, true);
      return tf.add(tf.sub(tf.sub(k, row), col), tf.mean(k)) as tf.Tensor2D;
    });
    const { value, vector } = topEigenpair(centred);
    centred.dispose();
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(vector[i]) > Math.abs(vector[big])) big = i;
    const scale = (vector[big] < 0 ? -1 : 1) * Math.sqrt(Math.max(value, 0));
    if (!(value > 0)) ctx.notes?.push(`the centred kernel matrix has no positive eigenvalue (largest ${value.toPrecision(3)}), so the component is 0`);
    return tf.tensor2d(vector.map((v) => v * scale), [h, w]);
  }
}

export const kpcaCam = camFunction<KpcaCamOptions>(new KpcaCam());
