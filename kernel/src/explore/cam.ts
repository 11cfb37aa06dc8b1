/**
 * CamExplorer: one image through one model, any class, layer and explanation method.
 *
 *   const ex = await cnnvis.explore.cam(model, 'cat_dog.png');
 *
 * Kept from the image's forward pass: the preprocessed batch, the class probabilities (top-k list),
 * each layer's activation for gradient-free methods, and every map computed so far (by method, layer
 * and class). A class or layer change computes one map (one backward pass for gradient methods);
 * opacity and colormap are applied in the browser and need no kernel work.
 *
 * `convention: 'pytorch-grad-cam'` computes every map as that library does where it differs from cnnvis
 * (METHODS.md), exactly as `cnnvis.gradCamPlusPlus(model, image, {convention})` and the others do; the
 * title names it. Methods outside the CAM family that have no such convention compute their own.
 */
import { canonicalLayer } from '../models/flatten';
import * as tf from '@tensorflow/tfjs';
import { ImageSource } from '../basics/input';
import { initBackend } from '../engine/backend';
import { CnnvisError, listChoices } from '../errors';
import { camMaps, CamMethod, CamOptions, checkConvention, Convention } from '../explain/cam/base';
import { ATTRIBUTION_METHODS } from '../explain/attribution/index';
import { activationAndLogits, layerGradients, logitsOf } from '../explain/gradients';
import { CAM_METHODS } from '../explain/methods';
import { explainMethod, explainMethodIds } from '../explain/registry';
import { CnnModel } from '../models/model';
import { scaleNearest } from '../render/compose';
import {
  classMapTitle,
  explorerScale,
  camDefaults,
  CamExplorerState,
  CamResultData,
  EXPLORERS,
  ExplorerColormap,
  MethodInfo,
} from '../schema/explorers';
import { Map2D, RGBAImage, RGBImage } from '../types';
import type { ScoreCamOptions } from '../explain/cam/scorecam';
import type { AblationCamOptions } from '../explain/cam/ablationcam';
import type { EigenCamOptions } from '../explain/cam/eigencam';
import type { KpcaCamOptions } from '../explain/cam/kpcacam';
import type { FinerCamOptions } from '../explain/cam/finercam';
import { ClassPickOptions, ExplorerInputOptions, explorerModel, openImage, snapshotClasses, topCount } from './classes';
import { bytesToBase64, checkColormap, checkSnapshotBudget, checkUnit, ImageExplorer, explorerSpec, LruCache, overlayPicture, Step, unitBytes } from './explorer';

/** One saved map of a CAM snapshot. */
type CamEntry = CamResultData['maps'][number];

export interface CamExplorerOptions extends ExplorerInputOptions, ClassPickOptions {
  /** Byte budget of the saved snapshot's maps (default DEFAULT_SNAPSHOT_BYTES); beyond it the latest are kept. */
  snapshot?: number;
  /** Default: the method's default layer (the last with a spatial output). */
  layer?: string;
  /** Method id or name (default 'gradcam'). */
  method?: string;
  colormap?: ExplorerColormap;
  opacity?: number;
  /** Show in the notebook (default: when running in one). */
  display?: boolean;
  /** Whose conventions the maps follow where the anchors differ: 'cnnvis' (default) or 'pytorch-grad-cam' (METHODS.md). */
  convention?: Convention;
  /** The methods' own options, as their functions take them (Score-CAM topN / batchSize, Ablation-CAM ablationValue, Eigen-CAM center, KPCA-CAM kernel…). */
  methodOptions?: CamMethodOptions;
}

/** Options of the CAM methods besides the common ones, passed to each method that takes them. */
export type CamMethodOptions = Omit<ScoreCamOptions & AblationCamOptions & EigenCamOptions & KpcaCamOptions & FinerCamOptions, keyof CamOptions>;

/** The conventions the CAM explorer offers (those of the CAM family). */
export const CAM_EXPLORER_CONVENTIONS: readonly Convention[] = ['cnnvis', 'pytorch-grad-cam'];

/** The conventions a registered method knows ('cnnvis' only for methods that declare none). */
export function methodConventions(id: string): readonly Convention[] {
  return CAM_METHODS.find((m) => m.id === id)?.conventions ?? ATTRIBUTION_METHODS.find((m) => m.id === id)?.conventions ?? ['cnnvis'];
}

/** The convention a method follows in an explorer set to `wanted`: that one where the method knows it, else 'cnnvis'. */
export function appliedConvention(methodId: string, wanted: Convention): Convention {
  return methodConventions(methodId).includes(wanted) ? wanted : 'cnnvis';
}

/** ' · pytorch-grad-cam convention' for a title, or nothing for cnnvis' own. */
export function conventionTitle(c: Convention): string {
  return c === 'cnnvis' ? '' : ` · ${c} convention`;
}

/** Every method the explorer offers: the CAM family first, then other registered methods. */
export function explorerMethods(): MethodInfo[] {
  const cams = CAM_METHODS.map((m) => ({ id: m.id, name: m.name }));
  const others = explainMethodIds()
    .filter((id) => !cams.some((c) => c.id === id))
    .map((id) => ({ id, name: explainMethod(id).name }));
  return [...cams, ...others];
}

const MAX_CACHED_MAPS = 64;

function toBytes(map: Map2D): Uint8Array {
  return unitBytes(map.data);
}

export class CamExplorer extends ImageExplorer<CamExplorerState, CamEntry> {
  private readonly activations = new Map<string, { activation: tf.Tensor3D; scores: Float32Array }>();
  private readonly maps = new LruCache<Map2D>(MAX_CACHED_MAPS);
  private readonly topCount: number;
  /** The convention asked for (each method follows it where it knows it). */
  readonly convention: Convention;
  private readonly methodOptions: CamMethodOptions;
  /** Number of maps computed (not taken from the cache), for tests and the curious. */
  computed = 0;

  private constructor(
    model: CnnModel,
    prepared: { image: RGBImage; batch: tf.Tensor4D; name: string },
    state: CamExplorerState,
    topCount: number,
    probs: Float32Array,
    convention: Convention,
    methodOptions: CamMethodOptions,
  ) {
    super(explorerSpec(EXPLORERS.cam), state, ['class_index', 'layer', 'method'], model, prepared, probs);
    this.topCount = topCount;
    this.convention = convention;
    this.methodOptions = methodOptions;
  }

  /** Opens an explorer on `image`, computes the first map and the snapshot, and shows it in a notebook. */
  static async open(m: CnnModel | tf.LayersModel, image: ImageSource, opts: CamExplorerOptions = {}): Promise<CamExplorer> {
    await initBackend();
    const model = explorerModel(m, image, opts);
    const methods = explorerMethods();
    const method = findMethod(methods, opts.method ?? camDefaults().method);
    const convention = checkConvention(opts.convention, CAM_EXPLORER_CONVENTIONS, 'the CAM explorer');
    const layers = model.spatialLayers();
    if (!layers.length) throw new CnnvisError(`model '${model.name}' has no layer with a spatial output to explain`);
    const layer = opts.layer !== undefined ? canonicalLayer(model.net, opts.layer) : layers[layers.length - 1];
    model.spatialLayer(layer);
    const d = camDefaults();
    const colormap = checkColormap(opts.colormap ?? d.colormap);
    const opacity = checkUnit('opacity', opts.opacity ?? d.opacity);
    const k = topCount(opts);
    const budget = checkSnapshotBudget(opts.snapshot);
    const { prepared, probs, state: opened } = openImage(model, image, opts);
    const state: CamExplorerState = { ...d, title: `${model.name} · ${prepared.name}${conventionTitle(convention)}`, ...opened, colormap, layers, layer, methods, method: method.id, opacity };
    const ex = new CamExplorer(model, prepared, state, k, probs, convention, { ...(opts.methodOptions ?? {}) });
    ex.saved.budget = budget;
    await ex.start();
    await ex.prepareSnapshot();
    if (opts.display ?? true) ex.show();
    return ex;
  }

  /** The map (input size, values in [0, 1]) for a method, layer and class; cached. */
  async map(methodId: string, layer: string, classIndex: number): Promise<Map2D> {
    return this.maps.getOrMake(`${methodId}\u0000${layer}\u0000${classIndex}`, async () => {
      const map = await this.computeMap(methodId, layer, classIndex);
      this.computed++;
      return map;
    });
  }

  private async computeMap(methodId: string, layer: string, classIndex: number): Promise<Map2D> {
    const cam = CAM_METHODS.find((c) => c.id === methodId);
    const convention = appliedConvention(methodId, this.convention);
    if (!cam) {
      // Methods outside the CAM family run their own pipeline on the picture.
      const r = await explainMethod(methodId).run(this.model, this.input, { ...this.methodOptions, classIndex, layer, display: false, convention });
      return r.map;
    }
    cam.check(this.model, layer);
    const raw = this.camRaw(cam, layer, classIndex, { ...this.methodOptions, convention });
    // Normalized and upsampled as the method's own function does under the convention (cam/base.ts).
    return camMaps(raw, this.model.inputWidth, this.model.inputHeight, convention).map;
  }

  /** ReLU(Σ w·A) at the layer's resolution (the CAM pipeline on the kept batch). */
  private camRaw(cam: CamMethod<CamOptions>, layer: string, classIndex: number, opts: CamOptions): Map2D {
    let activation: tf.Tensor3D;
    let gradient: tf.Tensor3D | null = null;
    let passScores: Float32Array | undefined;
    let owned = false;
    if (cam.usesGradients) {
      // Finer-CAM and the like differentiate a score built from the image's class scores.
      let scores: Float32Array | undefined;
      if (cam.targetUsesScores) {
        const l = logitsOf(this.model, this.batch);
        scores = l.dataSync().slice() as Float32Array;
        l.dispose();
      }
      const g = layerGradients(this.model, this.batch, layer, cam.scoreTarget(classIndex, scores, opts));
      activation = tf.tidy(() => g.activation.squeeze([0]) as tf.Tensor3D);
      gradient = tf.tidy(() => g.gradient.squeeze([0]) as tf.Tensor3D);
      g.activation.dispose();
      g.gradient.dispose();
      g.logits.dispose();
      owned = true;
    } else {
      ({ activation, scores: passScores } = this.activation(layer));
    }
    try {
      // The class scores of the pass the activation came from, as the method's own function has them.
      const raw = cam.rawMap({ model: this.model, layer, classIndex, batch: this.batch, activation, gradient, scores: passScores }, opts);
      const [h, w] = raw.shape;
      const data = raw.dataSync().slice() as Float32Array;
      raw.dispose();
      return { width: w, height: h, data };
    } finally {
      if (owned) activation.dispose();
      gradient?.dispose();
    }
  }

  /** A layer's activation for the kept batch and the class scores of that pass (one forward pass per layer, kept). */
  private activation(layer: string): { activation: tf.Tensor3D; scores: Float32Array } {
    const hit = this.activations.get(layer);
    if (hit) return hit;
    const r = activationAndLogits(this.model, this.batch, layer);
    const a = { activation: tf.tidy(() => r.activation.squeeze([0]) as tf.Tensor3D), scores: r.logits.dataSync().slice() as Float32Array };
    r.activation.dispose();
    r.logits.dispose();
    this.activations.set(layer, a);
    return a;
  }

  protected override normalize(changes: Partial<CamExplorerState>): Partial<CamExplorerState> {
    if (changes.class_index !== undefined) this.model.checkClass(changes.class_index);
    if (changes.layer !== undefined && !this.get('layers').includes(changes.layer)) {
      throw new CnnvisError(`layer '${changes.layer}' has no spatial output; layers: ${listChoices(this.get('layers'), 200)}`, this.get('layers'));
    }
    if (changes.method !== undefined) changes = { ...changes, method: findMethod(this.get('methods'), changes.method).id };
    if (changes.opacity !== undefined) checkUnit('opacity', changes.opacity, RangeError);
    if (changes.colormap !== undefined) checkColormap(changes.colormap, RangeError);
    return changes;
  }

  protected async update(step: Step): Promise<void> {
    const { class_index: cls, layer, method } = this.state;
    const name = findMethod(this.get('methods'), method).name;
    await step(0, `${name} for ${this.model.label(cls)} at ${layer}`);
    const map = await this.map(method, layer, cls);
    await step(1, 'drawing');
    this.set({
      heatmap: toBytes(map),
      heatmap_width: map.width,
      heatmap_height: map.height,
      shown: { class_index: cls, label: this.model.label(cls), probability: this.probabilities[cls], layer, method },
      title: `${classMapTitle(name, this.model.label(cls), this.probabilities[cls], layer)} · ${this.model.name} · ${this.imageName}${conventionTitle(appliedConvention(method, this.convention))}`,
    });
    this.save(method, layer, cls, map, true);
  }

  /** Saves a map into the snapshot (as the latest). */
  private save(method: string, layer: string, index: number, map: Map2D, shown = false): void {
    const name = findMethod(this.get('methods'), method).name;
    const label = this.model.label(index);
    const key = `${method}\u0000${layer}\u0000${index}`;
    this.keep(key, `${name} at ${layer} for class ${index} '${label}'`, {
      method,
      layer,
      index,
      label,
      probability: this.probabilities[index],
      heatmap: bytesToBase64(toBytes(map)),
      width: map.width,
      height: map.height,
    }, shown);
  }

  /** Saves the top classes' maps and the shown one (current method and layer) into the snapshot, highest probability first. */
  async prepareSnapshot(): Promise<void> {
    const { method, layer } = this.state;
    for (const index of snapshotClasses(this.state)) this.save(method, layer, index, await this.map(method, layer, index));
  }

  snapshot(): CamResultData {
    const s = this.state;
    const { entries: maps, ...head } = this.savedPart('cam', `${this.model.name} · ${this.imageName}${conventionTitle(this.convention)}`);
    return {
      ...head,
      method: findMethod(s.methods, s.method).name,
      layer: s.layer,
      image: this.savedImage(),
      opacity: s.opacity,
      maps,
      methods: [...new Set(maps.map((m) => m.method as string))].map((id) => findMethod(s.methods, id)),
    };
  }

  /** The map over the photo, small models' enlarged (explorerScale) as the live view draws it. */
  picture(): RGBAImage {
    const s = this.state;
    return scaleNearest(overlayPicture(s, s.heatmap, s.heatmap_width, s.heatmap_height, s.opacity), explorerScale(s.image_width));
  }

  summary(): string {
    const s = this.state;
    const shown = s.shown;
    const what = shown ? `class ${shown.class_index} '${shown.label}' (p=${shown.probability.toFixed(3)}) at ${shown.layer}` : 'nothing yet';
    const conv = appliedConvention(s.method, this.convention);
    return `CamExplorer(${findMethod(s.methods, s.method).name}, ${this.model.name}, ${this.imageName}: ${what}${conv === 'cnnvis' ? '' : `, ${conv} convention`})`;
  }

  protected release(): void {
    this.activations.forEach((a) => a.activation.dispose());
    this.activations.clear();
    this.maps.clear();
  }
}

function findMethod(methods: readonly MethodInfo[], name: string): MethodInfo {
  const key = (s: string) => s.toLowerCase().replace(/\+\+/g, 'pp').replace(/[^a-z0-9]/g, '');
  const m = methods.find((x) => key(x.id) === key(name) || key(x.name) === key(name));
  if (!m) throw new CnnvisError(`unknown method '${name}'; methods: ${methods.map((x) => x.id).join(', ')}`, methods.map((x) => x.id));
  return m;
}

/** `cnnvis.explore.cam(model, image, options)`: see CamExplorer. */
export function cam(model: CnnModel | tf.LayersModel, image: ImageSource, opts?: CamExplorerOptions): Promise<CamExplorer> {
  return CamExplorer.open(model, image, opts);
}
