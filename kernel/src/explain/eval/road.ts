/**
 * ROAD, RemOve And Debias (Rong et al. 2022): how fast the class probability falls when the pixels a
 * map ranks highest are removed (MoRF, most relevant first: a steep fall, low area, is good) or rises
 * back … when the lowest-ranked ones are removed (LeRF, least relevant first: the probability should
 * stay, high area is good). A removed pixel is not set to a colour, which leaks the mask's shape to
 * the model, but imputed by noisy linear imputation: each removed pixel is the weighted mean of its 8
 * neighbours (weight 1/6 for the 4 sharing a side, 1/12 for the 4 diagonal ones; only neighbours inside
 * the image), solved jointly for all removed pixels (a sparse symmetric positive-definite system, by
 * conjugate gradients, per channel), plus Gaussian noise of standard deviation `noise` (default 0.01,
 * in the preprocessed space). This is the imputation of pytorch-grad-cam's metrics/road.py.
 *
 * Pixels are ranked as for deletion (highest map value first; ties in reading order) and round(f·H·W)
 * are removed at each fraction f (default 0.1 … 0.9 — pytorch-grad-cam's percentiles 90 … 10, whose
 * MoRF at percentile q removes the pixels ≥ the q-th percentile). The curves start at f = 0 (the
 * image itself). `combined` = (mean LeRF − mean MoRF) / 2 over the fractions, as pytorch-grad-cam's
 * ROADCombined (higher is better).
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource, InputOptions, modelFor, prepareInput } from '../../basics/input';
import { initBackend } from '../../engine/backend';
import { Result, since } from '../../display/result';
import { CnnvisError } from '../../errors';
import { CnnModel } from '../../models/model';
import { mulberry32 } from '../../random';
import { upsampleBilinear } from '../../render/upsample';
import { Map2D } from '../../types';
import { logitsOf } from '../gradients';
import { resolveClass, TargetOptions } from '../targets';
import { curvesChart } from './charts';
import { pixelOrder } from './perturbation';
import { trapezoid } from './stats';

export interface RoadOptions extends TargetOptions, InputOptions {
  /** Fractions of the pixels removed (default 0.1, 0.2, …, 0.9). */
  fractions?: number[];
  /** Standard deviation of the imputation noise, in the preprocessed space (default 0.01; 0: none). */
  noise?: number;
  /** Seed of the noise (default 0). */
  seed?: number;
  /** Images per forward pass (default 16). */
  batchSize?: number;
}

export interface RoadCurve {
  kind: 'ROAD MoRF' | 'ROAD LeRF';
  classIndex: number;
  /** 0 and the fractions removed. */
  fractions: Float32Array;
  /** Probability of the class at each fraction. */
  probabilities: Float32Array;
  /** Area under the curve (trapezoid rule over the fractions). */
  auc: number;
  /** Mean probability over the removal fractions (without f = 0), as pytorch-grad-cam averages. */
  mean: number;
}

/** The 8 neighbours and their weights (side 1/6, diagonal 1/12). */
const NEIGHBOURS: ReadonlyArray<readonly [number, number, number]> = [
  [-1, -1, 1 / 12], [-1, 0, 1 / 6], [-1, 1, 1 / 12],
  [0, -1, 1 / 6], [0, 1, 1 / 6],
  [1, -1, 1 / 12], [1, 0, 1 / 6], [1, 1, 1 / 12],
];

/** Standard normal numbers from a seeded generator (Box–Muller). */
function gaussian(rng: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/**
 * Noisy linear imputation of an image [H, W, C] (row-major, channels last): the pixels with
 * `removed[p]` = 1 get the values that make each of them the weighted mean of its neighbours, plus
 * noise·N(0, 1). Returns a new array. Needs at least one kept pixel.
 */
export function noisyLinearImpute(
  image: Float32Array,
  height: number,
  width: number,
  channels: number,
  removed: Uint8Array,
  noise = 0.01,
  rng: () => number = mulberry32(0),
): Float32Array {
  const n = height * width;
  if (image.length !== n * channels || removed.length !== n) throw new CnnvisError(`imputation: image or mask size does not fit ${width}×${height}×${channels}`);
  const ids = new Int32Array(n).fill(-1);
  const unknown: number[] = [];
  for (let p = 0; p < n; p++) if (removed[p]) ids[p] = unknown.push(p) - 1;
  const out = Float32Array.from(image);
  const m = unknown.length;
  if (m === 0) return out;
  if (m === n) throw new CnnvisError('imputation needs at least one kept pixel');
  // A x = b with A = D − W_rr (D: the weights of the neighbours inside the image), b = W_rk · known.
  const diag = new Float64Array(m);
  const nbr: number[][] = Array.from({ length: m }, () => []);
  const nbrW: number[][] = Array.from({ length: m }, () => []);
  const b = Array.from({ length: channels }, () => new Float64Array(m));
  for (let i = 0; i < m; i++) {
    const p = unknown[i];
    const y = Math.floor(p / width);
    const x = p % width;
    for (const [dy, dx, w] of NEIGHBOURS) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy < 0 || xx < 0 || yy >= height || xx >= width) continue;
      diag[i] += w;
      const q = yy * width + xx;
      if (ids[q] >= 0) {
        nbr[i].push(ids[q]);
        nbrW[i].push(w);
      } else {
        for (let c = 0; c < channels; c++) b[c][i] += w * image[q * channels + c];
      }
    }
  }
  const apply = (v: Float64Array, out2: Float64Array) => {
    for (let i = 0; i < m; i++) {
      let s = diag[i] * v[i];
      const ni = nbr[i];
      const wi = nbrW[i];
      for (let k = 0; k < ni.length; k++) s -= wi[k] * v[ni[k]];
      out2[i] = s;
    }
  };
  const normal = gaussian(rng);
  for (let c = 0; c < channels; c++) {
    const x = conjugateGradients(apply, b[c], m);
    for (let i = 0; i < m; i++) out[unknown[i] * channels + c] = x[i] + (noise > 0 ? noise * normal() : 0);
  }
  return out;
}

/** Conjugate gradients for the SPD operator `apply` (relative residual 1e-10, at most 10·m + 100 steps). */
function conjugateGradients(apply: (v: Float64Array, out: Float64Array) => void, b: Float64Array, m: number): Float64Array {
  const x = new Float64Array(m);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  const ap = new Float64Array(m);
  let rr = 0;
  for (let i = 0; i < m; i++) rr += r[i] * r[i];
  const stop = 1e-20 * Math.max(rr, 1e-300);
  for (let it = 0; it < 10 * m + 100 && rr > stop; it++) {
    apply(p, ap);
    let pap = 0;
    for (let i = 0; i < m; i++) pap += p[i] * ap[i];
    const alpha = rr / pap;
    let rr2 = 0;
    for (let i = 0; i < m; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * ap[i];
      rr2 += r[i] * r[i];
    }
    const beta = rr2 / rr;
    for (let i = 0; i < m; i++) p[i] = r[i] + beta * p[i];
    rr = rr2;
  }
  return x;
}

/** ROAD's two curves and their summary: see the module comment. */
export class RoadResult extends Result {
  readonly kind = 'road';
  readonly morf: RoadCurve;
  readonly lerf: RoadCurve;
  /** (mean LeRF − mean MoRF) / 2: pytorch-grad-cam's ROADCombined (higher is better). */
  readonly combined: number;
  readonly noise: number;

  constructor(meta: ConstructorParameters<typeof Result>[0], morf: RoadCurve, lerf: RoadCurve, noise: number) {
    super(meta);
    this.morf = morf;
    this.lerf = lerf;
    this.noise = noise;
    this.combined = (lerf.mean - morf.mean) / 2;
  }

  text(): string {
    const f = (v: number) => v.toPrecision(4);
    return `ROAD of ${this.meta.model} for class ${this.morf.classIndex}: MoRF AUC ${f(this.morf.auc)} (mean ${f(this.morf.mean)}, lower is better), ` +
      `LeRF AUC ${f(this.lerf.auc)} (mean ${f(this.lerf.mean)}, higher is better), combined ${f(this.combined)}; ` +
      `noisy linear imputation, noise ${this.noise} [${this.meta.backend}, ${this.meta.timeMs} ms]`;
  }

  override vegaLite(): object {
    return curvesChart(
      [this.morf, this.lerf].map((c) => ({ name: `${c.kind} (AUC ${c.auc.toFixed(3)})`, x: c.fractions, y: c.probabilities })),
      { title: `ROAD: ${this.meta.model}, class ${this.morf.classIndex}`, x: 'fraction of pixels removed (imputed)' },
    );
  }
}

function mapScores(map: Map2D, model: CnnModel): Float32Array {
  if (map.data.length !== map.width * map.height) throw new CnnvisError(`map data has ${map.data.length} values but ${map.width}×${map.height} needs ${map.width * map.height}`);
  if (map.width === model.inputWidth && map.height === model.inputHeight) return Float32Array.from(map.data);
  return upsampleBilinear(map, model.inputWidth, model.inputHeight).data;
}

/** ROAD (MoRF and LeRF curves) of a map for one image: see the module comment. */
export async function road(m: CnnModel | tf.LayersModel, image: ImageSource, map: Map2D, opts: RoadOptions = {}): Promise<RoadResult> {
  const backend = await initBackend();
  const model = modelFor(m, image);
  const fractions = opts.fractions ?? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  if (!fractions.length || fractions.some((f) => !(f > 0 && f < 1))) throw new CnnvisError(`fractions must be numbers between 0 and 1 (exclusive), got ${JSON.stringify(fractions)}`);
  const noise = opts.noise ?? 0.01;
  if (!(noise >= 0)) throw new CnnvisError(`noise must be ≥ 0, got ${noise}`);
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CnnvisError(`batchSize must be a positive whole number, got ${batchSize}`);
  const sorted = [...fractions].sort((a, b) => a - b);
  const H = model.inputHeight;
  const W = model.inputWidth;
  const order = pixelOrder(mapScores(map, model));
  const explicit = opts.classIndex !== undefined || opts.label !== undefined ? resolveClass(model, opts, null) : undefined;
  const t0 = performance.now();
  const input = prepareInput(model, image, opts);
  const rng = mulberry32(opts.seed ?? 0);
  try {
    const C = input.batch.shape[3];
    const pixels = input.batch.dataSync() as Float32Array;
    const l0 = logitsOf(model, input.batch);
    const scores0 = l0.dataSync().slice() as Float32Array;
    l0.dispose();
    const classIndex = explicit ?? resolveClass(model, {}, scores0);
    const p0 = model.head.probabilitiesData(scores0)[classIndex];
    const curve = (kind: RoadCurve['kind']): RoadCurve => {
      const images: Float32Array[] = sorted.map((f) => {
        const k = Math.round(f * H * W);
        const removed = new Uint8Array(H * W);
        for (let r = 0; r < k; r++) removed[kind === 'ROAD MoRF' ? order[r] : order[order.length - 1 - r]] = 1;
        return noisyLinearImpute(pixels, H, W, C, removed, noise, rng);
      });
      const probs = new Float32Array(sorted.length + 1);
      probs[0] = p0;
      for (let i0 = 0; i0 < images.length; i0 += batchSize) {
        const part = images.slice(i0, i0 + batchSize);
        const flat = new Float32Array(part.length * H * W * C);
        part.forEach((a, i) => flat.set(a, i * H * W * C));
        const p = tf.tidy(() => {
          const logits = logitsOf(model, tf.tensor4d(flat, [part.length, H, W, C]), batchSize);
          return model.head.probabilities(logits).slice([0, classIndex], [part.length, 1]).dataSync() as Float32Array;
        });
        probs.set(p, 1 + i0);
      }
      const xs = Float32Array.from([0, ...sorted]);
      let mean = 0;
      for (let i = 1; i < probs.length; i++) mean += probs[i] / sorted.length;
      return { kind, classIndex, fractions: xs, probabilities: probs, auc: trapezoid(probs, xs), mean };
    };
    const morf = curve('ROAD MoRF');
    const lerf = curve('ROAD LeRF');
    return new RoadResult({ model: model.name, backend: model.engine.label(backend), timeMs: since(t0), preprocess: model.preprocessNote }, morf, lerf, noise);
  } finally {
    input.batch.dispose();
  }
}
