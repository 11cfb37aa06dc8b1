/**
 * Finer-CAM (Zhang et al. 2025, pytorch-grad-cam's FinerCAM): Grad-CAM of a contrast with the classes
 * the model finds most similar to the target c. The classes are ranked by |S_j − S_c| (S the class
 * scores, models/head.ts), closest first (rank 0 is c itself); for the compared ranks (default 1, 2, 3)
 * the differentiated score is
 *   F = Σ_j p_j · (S_c − α·S_j) / (Σ_j p_j + 1e-9),   p = softmax(S),
 * with the gradient flowing through p as well (as in pytorch-grad-cam); α (default 1) sets how strongly
 * the similar classes are subtracted (α = 0 gives Grad-CAM's weights up to the factor through p).
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { ScoreTarget } from '../gradients';
import { CamContext, camFunction, CamMethod, CamOptions } from './base';
import { gradCamWeights } from './gradcam';

export interface FinerCamOptions extends CamOptions {
  /** Strength of the contrast (default 1). */
  alpha?: number;
  /** Ranks of the compared classes among the classes sorted by |S_j − S_c| (default [1, 2, 3]). */
  comparisonRanks?: number[];
}

/** The compared classes of c: the classes at the given ranks of |S_j − S_c| (ascending; ties by index). */
export function similarClasses(scores: ArrayLike<number>, c: number, ranks: readonly number[]): number[] {
  const order = Array.from({ length: scores.length }, (_, j) => j).sort((a, b) => Math.abs(scores[a] - scores[c]) - Math.abs(scores[b] - scores[c]) || (a === c ? -1 : b === c ? 1 : a - b));
  return ranks.filter((r) => r < order.length).map((r) => order[r]);
}

export class FinerCam extends CamMethod<FinerCamOptions> {
  readonly name = 'Finer-CAM';
  readonly id = 'finercam';
  override readonly targetUsesScores = true;

  override checkOptions(o: FinerCamOptions): void {
    if (o.alpha !== undefined && !Number.isFinite(o.alpha)) throw new CnnvisError(`alpha must be a number, got ${o.alpha}`);
    const r = o.comparisonRanks;
    if (r !== undefined && (!Array.isArray(r) || !r.length || r.some((v) => !Number.isInteger(v) || v < 1))) {
      throw new CnnvisError(`comparisonRanks must be a non-empty list of whole numbers ≥ 1, got ${JSON.stringify(r)}`);
    }
  }

  override scoreTarget(classIndex: number, scores: Float32Array | undefined, o: FinerCamOptions = {}): ScoreTarget {
    if (!scores) throw new Error('Finer-CAM needs the class scores of the image');
    const compared = similarClasses(scores, classIndex, o.comparisonRanks ?? [1, 2, 3]);
    if (!compared.length) throw new CnnvisError(`Finer-CAM compares with other classes; the model has only ${scores.length}`);
    const alpha = o.alpha ?? 1;
    return (l: tf.Tensor2D) =>
      tf.tidy(() => {
        // Slices, not gather: gather's gradient needs a kernel the wasm backend lacks.
        const p = tf.softmax(l);
        const col = (t: tf.Tensor2D, j: number) => t.slice([0, j], [-1, 1]);
        const sc = col(l, classIndex);
        const num = tf.addN(compared.map((j) => tf.mul(col(p, j), tf.sub(sc, tf.mul(col(l, j), alpha)))));
        const den = tf.addN(compared.map((j) => col(p, j)));
        return tf.sum(tf.div(num, tf.add(den, 1e-9))) as tf.Scalar;
      });
  }

  override basisText(classIndex: number, scores: Float32Array, o: FinerCamOptions = {}): string {
    const j = similarClasses(scores, classIndex, o.comparisonRanks ?? [1, 2, 3]);
    return `differentiates Σ_j p_j·(S_${classIndex} − ${o.alpha ?? 1}·S_j) / Σ_j p_j over the most similar classes j = ${j.join(', ')}`;
  }

  weights(ctx: CamContext): tf.Tensor {
    return gradCamWeights(ctx);
  }
}

export const finerCam = camFunction<FinerCamOptions>(new FinerCam());
