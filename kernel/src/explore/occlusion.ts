/**
 * OcclusionExplorer: one image through one model, occlusion maps for any class, patch size and
 * stride, and the thresholded mask.
 *
 *   const ex = await cnnvis.explore.occlusion(model, 'cat_dog.png', {patchSize: 28, stride: 14});
 *
 * One occlusion run (a forward pass per patch position, in batches, with progress and cancel) keeps
 * every class's probability for every patch, so a class change needs no forward pass; only a new
 * patch size or stride runs again. The threshold makes the mask and the masked picture from the
 * kept map — in the browser, and here for the PNG — and never recomputes the map. Maps equal those
 * of `cnnvis.occlusion(model, image, {classIndex, patchSize, stride, fill})` (fill and blurSigma as it takes them).
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource } from '../basics/input';
import { initBackend } from '../engine/backend';
import { CnnvisError } from '../errors';
import { logitsOf } from '../explain/gradients';
import { modelHead } from '../models/head';
import { Occlusion, occludedBatch, OcclusionFill, spreadPatches } from '../explain/occlusion';
import { CnnModel } from '../models/model';
import { hconcat, scaleNearest } from '../render/compose';
import {
  EXPLORERS,
  ExplorerColormap,
  occlusionTitle,
  explorerScale,
  occlusionDefaults,
  OcclusionExplorerState,
  OcclusionResultData,
  relativeMask,
} from '../schema/explorers';
import { Map2D, RGBAImage, RGBImage } from '../types';
import { ClassPickOptions, ExplorerInputOptions, explorerModel, openImage, snapshotClasses, topCount } from './classes';
import { floatsToBase64, checkColormap, checkSnapshotBudget, checkUnit, ImageExplorer, explorerSpec, LruCache, overlayPicture, quietStep, Step } from './explorer';

/** One saved map of an occlusion snapshot. */
type OcclusionEntry = OcclusionResultData['maps'][number];

export interface OcclusionExplorerOptions extends ExplorerInputOptions, ClassPickOptions {
  /** Byte budget of the saved snapshot's maps (default DEFAULT_SNAPSHOT_BYTES); beyond it the latest are kept. */
  snapshot?: number;
  /** Square patch side in input pixels (default: input size / 8). */
  patchSize?: number;
  /** Step between patches (default: half the patch). */
  stride?: number;
  /** Mask threshold relative to the largest drop (default 0.5). */
  threshold?: number;
  colormap?: ExplorerColormap;
  opacity?: number;
  /** Occluded images per forward pass (default 16). */
  batchSize?: number;
  /** What covers a patch, as cnnvis.occlusion takes it: 'gray' (default), 'mean' (the image's mean colour) or 'blur'. */
  fill?: OcclusionFill;
  /** Blur σ in pixels for fill 'blur' (default: patch size / 2). */
  blurSigma?: number;
  display?: boolean;
}

/** One occlusion run: every class's probability with each patch covered. */
interface OcclusionRun {
  ys: number[];
  xs: number[];
  ph: number;
  pw: number;
  /** Class probabilities of the uncovered input. */
  base: Float32Array;
  /** [patches × classes] probabilities with patch i covered. */
  probs: Float32Array;
}

const MAX_CACHED_RUNS = 8;
const FILLS: readonly OcclusionFill[] = ['gray', 'mean', 'blur'];
const occlusionMethod = new Occlusion();

/** Class probabilities of a batch (the model's head: models/head.ts), [B × classes] (how occlusion scores classes). */
function probabilitiesOf(model: CnnModel, x: tf.Tensor4D): Float32Array {
  const l = logitsOf(model, x);
  const p = modelHead(model.net).probabilities(l);
  const out = p.dataSync().slice() as Float32Array;
  tf.dispose([l, p]);
  return out;
}

export class OcclusionExplorer extends ImageExplorer<OcclusionExplorerState, OcclusionEntry> {
  private readonly batchSize: number;
  private readonly fill: { fill: OcclusionFill; blurSigma?: number };
  private readonly runs = new LruCache<OcclusionRun>(MAX_CACHED_RUNS);
  /** Occlusion runs done (each a forward pass per patch position). */
  runsDone = 0;
  /** Occluded images passed forward so far. */
  forwards = 0;

  private constructor(
    model: CnnModel,
    prepared: { image: RGBImage; batch: tf.Tensor4D; name: string },
    state: OcclusionExplorerState,
    probs: Float32Array,
    batchSize: number,
    fill: { fill: OcclusionFill; blurSigma?: number },
  ) {
    super(explorerSpec(EXPLORERS.occlusion), state, ['class_index', 'patch_size', 'stride'], model, prepared, probs);
    this.batchSize = batchSize;
    this.fill = fill;
  }

  static async open(m: CnnModel | tf.LayersModel, image: ImageSource, opts: OcclusionExplorerOptions = {}): Promise<OcclusionExplorer> {
    await initBackend();
    const model = explorerModel(m, image, opts);
    const side = Math.min(model.inputHeight, model.inputWidth);
    const patch = opts.patchSize ?? Math.max(1, Math.round(side / 8));
    const stride = opts.stride ?? Math.max(1, Math.floor(patch / 2));
    checkGeometry(model, patch, stride);
    const batchSize = opts.batchSize ?? 16;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new CnnvisError(`batchSize must be a positive integer, got ${batchSize}`);
    const d = occlusionDefaults();
    const colormap = checkColormap(opts.colormap ?? d.colormap);
    const opacity = checkUnit('opacity', opts.opacity ?? d.opacity);
    const threshold = checkUnit('threshold', opts.threshold ?? d.threshold);
    const fill = { fill: opts.fill ?? 'gray', ...(opts.blurSigma !== undefined ? { blurSigma: opts.blurSigma } : {}) };
    if (!FILLS.includes(fill.fill)) throw new CnnvisError(`unknown fill '${fill.fill}'; valid: ${FILLS.join(', ')}`, [...FILLS]);
    if (fill.blurSigma !== undefined && !(fill.blurSigma > 0)) throw new CnnvisError(`blurSigma must be a positive number of pixels, got ${fill.blurSigma}`);
    topCount(opts);
    const budget = checkSnapshotBudget(opts.snapshot);
    const { prepared, probs, state: opened } = openImage(model, image, opts);
    const state: OcclusionExplorerState = { ...d, title: `Occlusion · ${model.name} · ${prepared.name}`, ...opened, colormap, patch_size: patch, stride, threshold, opacity };
    const ex = new OcclusionExplorer(model, prepared, state, probs, batchSize, fill);
    ex.saved.budget = budget;
    await ex.start();
    ex.prepareSnapshot();
    if (opts.display ?? true) ex.show();
    return ex;
  }

  /** The occlusion run for a patch size and stride (cached); `step` reports progress and stops it when superseded. */
  private async run(patch: number, stride: number, step: Step): Promise<OcclusionRun> {
    return this.runs.getOrMake(`${patch}\u0000${stride}`, async () => {
      const plan = occlusionMethod.plan(this.model, this.batch, this.input, { patchSize: patch, stride, ...this.fill });
      const k = this.model.numClasses;
      try {
        const base = probabilitiesOf(this.model, this.batch);
        const probs = new Float32Array(plan.count * k);
        for (let i0 = 0; i0 < plan.count; i0 += this.batchSize) {
          await step(i0 / plan.count, `occlusion ${patch}×${patch} stride ${stride}: ${i0} of ${plan.count} patches`);
          const i1 = Math.min(plan.count, i0 + this.batchSize);
          const occluded = occludedBatch(this.batch, plan, i0, i1);
          try {
            probs.set(probabilitiesOf(this.model, occluded), i0 * k);
          } finally {
            occluded.dispose();
          }
          this.forwards += i1 - i0;
        }
        this.runsDone++;
        return { ys: plan.ys, xs: plan.xs, ph: plan.ph, pw: plan.pw, base, probs };
      } finally {
        plan.fill.dispose();
      }
    });
  }

  /** The occlusion map of a class from a run: the probability drop, averaged over the patches covering each pixel. */
  private mapOf(run: OcclusionRun, classIndex: number): Map2D {
    const k = this.model.numClasses;
    const n = run.ys.length * run.xs.length;
    const drops = new Float32Array(n);
    for (let i = 0; i < n; i++) drops[i] = run.base[classIndex] - run.probs[i * k + classIndex];
    return spreadPatches(drops, run.ys, run.xs, run.ph, run.pw, this.model.inputHeight, this.model.inputWidth);
  }

  /** The map for a class, patch size and stride (runs the occlusion when that geometry has not run yet). */
  async map(classIndex: number, patch = this.get('patch_size'), stride = this.get('stride')): Promise<Map2D> {
    const run = await this.run(patch, stride, quietStep);
    return this.mapOf(run, classIndex);
  }

  protected override normalize(changes: Partial<OcclusionExplorerState>): Partial<OcclusionExplorerState> {
    if (changes.class_index !== undefined) this.model.checkClass(changes.class_index);
    if (changes.patch_size !== undefined || changes.stride !== undefined) {
      checkGeometry(this.model, changes.patch_size ?? this.get('patch_size'), changes.stride ?? this.get('stride'), RangeError);
    }
    for (const key of ['threshold', 'opacity'] as const) {
      const v = changes[key];
      if (v !== undefined) checkUnit(key, v, RangeError);
    }
    if (changes.colormap !== undefined) checkColormap(changes.colormap);
    return changes;
  }

  protected async update(step: Step): Promise<void> {
    const { class_index: cls, patch_size: patch, stride } = this.state;
    await step(0, `occlusion for ${this.model.label(cls)}`);
    const run = await this.run(patch, stride, step);
    await step(1, 'drawing');
    const map = this.mapOf(run, cls);
    this.set({
      map: map.data,
      map_width: map.width,
      map_height: map.height,
      shown: { class_index: cls, label: this.model.label(cls), probability: run.base[cls], patch_size: patch, stride, patches: run.ys.length * run.xs.length },
      title: `${occlusionTitle(this.model.label(cls), run.base[cls], patch, stride)} · ${this.model.name} · ${this.imageName}`,
    });
    this.save(run, cls, patch, stride, true);
  }

  /** Saves a class's map of a run into the snapshot, as the latest. */
  private save(run: OcclusionRun, index: number, patch: number, stride: number, shown = false): void {
    const map = this.mapOf(run, index);
    const label = this.model.label(index);
    this.keep(`${index}\u0000${patch}\u0000${stride}`, `class ${index} '${label}' at patch ${patch} stride ${stride}`, {
      index,
      label,
      probability: run.base[index],
      map: floatsToBase64(map.data),
      width: map.width,
      height: map.height,
      patch_size: patch,
      stride,
    }, shown);
  }

  /** The shown map's mask at the current threshold (1 = kept), at input size. */
  mask(): Map2D {
    const s = this.state;
    return { width: s.map_width, height: s.map_height, data: Float32Array.from(relativeMask(s.map, s.threshold)) };
  }

  /** Saves the shown geometry's maps for the top classes and the shown one into the snapshot (no new forward pass). */
  prepareSnapshot(): void {
    const s = this.state;
    const run = this.runs.get(`${s.patch_size}\u0000${s.stride}`);
    if (!run) return;
    for (const index of snapshotClasses(s)) this.save(run, index, s.patch_size, s.stride);
  }

  snapshot(): OcclusionResultData {
    const s = this.state;
    const { entries: maps, ...head } = this.savedPart('occlusion', `${this.model.name} · ${this.imageName}`);
    return { ...head, image: this.savedImage(), opacity: s.opacity, threshold: s.threshold, patch_size: s.patch_size, stride: s.stride, maps };
  }

  /** Map over the picture | the masked picture (black where the mask is 0), small models' enlarged (explorerScale). */
  picture(): RGBAImage {
    const s = this.state;
    let max = 0;
    for (const v of s.map) if (v > max) max = v;
    const heat = Uint8Array.from(s.map, (v) => (max > 0 ? Math.round(Math.min(1, Math.max(0, v / max)) * 255) : 0));
    const factor = explorerScale(s.image_width);
    const over = scaleNearest(overlayPicture(s, heat, s.map_width, s.map_height, s.opacity), factor);
    if (s.map.length === 0) return over;
    const mask = relativeMask(s.map, s.threshold);
    const masked = new Uint8Array(s.image.length);
    for (let i = 0; i < mask.length; i++) {
      for (let c = 0; c < 3; c++) masked[i * 4 + c] = mask[i] ? s.image[i * 4 + c] : 0;
      masked[i * 4 + 3] = 255;
    }
    return hconcat([over, scaleNearest({ width: s.image_width, height: s.image_height, data: masked }, factor)], 4, { background: [255, 255, 255, 255] });
  }

  summary(): string {
    const s = this.state;
    const shown = s.shown;
    if (!shown) return `OcclusionExplorer(${this.model.name}, ${this.imageName}: nothing yet)`;
    let kept = 0;
    const mask = relativeMask(s.map, s.threshold);
    for (const v of mask) kept += v;
    return `OcclusionExplorer(${this.model.name}, ${this.imageName}: class ${shown.class_index} '${shown.label}' (p=${shown.probability.toFixed(3)}), ` +
      `patch ${shown.patch_size} stride ${shown.stride} (${shown.patches} patches), threshold ${s.threshold} keeps ${((100 * kept) / Math.max(1, mask.length)).toFixed(1)}% of the pixels)`;
  }

  protected release(): void {
    this.runs.clear();
  }
}

function checkGeometry(model: CnnModel, patch: number, stride: number, E: new (m: string) => Error = CnnvisError): void {
  const side = Math.min(model.inputHeight, model.inputWidth);
  if (!Number.isInteger(patch) || patch < 1 || patch > side) throw new E(`patch size must be an integer in 1..${side}, got ${patch}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > side) throw new E(`stride must be an integer in 1..${side}, got ${stride}`);
}

/** `cnnvis.explore.occlusion(model, image, options)`: see OcclusionExplorer. */
export function occlusion(model: CnnModel | tf.LayersModel, image: ImageSource, opts?: OcclusionExplorerOptions): Promise<OcclusionExplorer> {
  return OcclusionExplorer.open(model, image, opts);
}
