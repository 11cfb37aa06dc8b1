/**
 * Eigen-CAM (Muhammad & Yeasin 2020): the activation projected on its first principal direction.
 * With A reshaped to M [hw, c], the map is M·v₁, v₁ the first right singular vector of M (dominant
 * eigenvector of MᵀM, found by power iteration), signed so that Σ M·v₁ > 0 (the direction in which the
 * layer is active). Class-agnostic: no gradients, one forward pass.
 *
 * pytorch-grad-cam centres M's columns first (map = (M − mean)·v₁ of the centred M) and leaves the
 * sign to LAPACK's SVD; `center: true` (or convention 'pytorch-grad-cam') centres; the sign stays
 * cnnvis' rule (LAPACK's choice is not a defined convention: METHODS.md).
 */
import * as tf from '@tensorflow/tfjs';
import { CamContext, camFunction, CamOptions, CamTensors } from './base';
import { ActivationCam } from './weights';

export interface EigenCamOptions extends CamOptions {
  /** Centre each channel over the positions before the SVD (default false; true under 'pytorch-grad-cam'). */
  center?: boolean;
}

/**
 * The first principal direction v [c] of m [n, c] (of m − its column means when `center`), by power
 * iteration on the Gram matrix, signed so that Σ m·v > 0, and the projection [n] of the (centred) m on it.
 */
export function firstComponent(m: tf.Tensor2D, center: boolean, iterations = 300): { v: tf.Tensor1D; projection: tf.Tensor1D } {
  return tf.tidy(() => {
    const c = m.shape[1];
    const x = center ? tf.sub(m, tf.mean(m, 0, true)) : m;
    const gram = tf.matMul(x, x, true, false); // [c, c]
    let v: tf.Tensor2D = tf.ones([c, 1]).div(Math.sqrt(c));
    for (let i = 0; i < iterations; i++) {
      const next = tf.tidy(() => {
        const u = tf.matMul(gram, v);
        return tf.div(u, tf.maximum(tf.norm(u), 1e-30)) as tf.Tensor2D;
      });
      v.dispose();
      v = next;
    }
    const sign = tf.sign(tf.sum(tf.matMul(m, v))).dataSync()[0] || 1;
    const vs = v.mul(sign);
    return { v: vs.reshape([c]) as tf.Tensor1D, projection: tf.matMul(x, vs).reshape([-1]) as tf.Tensor1D };
  });
}

/** First right singular vector of the activation [h, w, c] reshaped to [hw, c] (uncentred). */
export function eigenCamWeights(t: Pick<CamTensors, 'activation'>, iterations = 300): tf.Tensor1D {
  return tf.tidy(() => {
    const [h, w, c] = t.activation.shape;
    return firstComponent(t.activation.reshape([h * w, c]), false, iterations).v;
  });
}

export class EigenCam extends ActivationCam<EigenCamOptions> {
  readonly name = 'Eigen-CAM';
  readonly id = 'eigencam';
  weights(ctx: CamContext): tf.Tensor {
    return eigenCamWeights(ctx);
  }
  override camImage(ctx: CamContext, o: EigenCamOptions = {}): tf.Tensor2D {
    const [h, w, c] = ctx.activation.shape;
    const center = o.center ?? o.convention === 'pytorch-grad-cam';
    return firstComponent(ctx.activation.reshape([h * w, c]), center).projection.reshape([h, w]);
  }
}

export const eigenCam = camFunction<EigenCamOptions>(new EigenCam());
