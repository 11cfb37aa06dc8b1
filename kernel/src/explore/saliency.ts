/**
 * SaliencyExplorer: one image through one model, the gradient family for any class.
 *
 *   const ex = await cnnvis.explore.saliency(model, 'cat_dog.png', {method: 'guided-backprop'});
 *
 * Kept from the image's forward pass: the preprocessed batch, the class probabilities (top-k list)
 * and every map computed so far (by method and class). A class or method change runs that method's
 * gradients once on the kept batch (SmoothGrad and Integrated Gradients run many in one step);
 * opacity, colormap and display mode are applied in the browser. Colours saturate at range_max, the
 * clip_percentile-th percentile of |map| (the colour bar says so); guided backprop and the deconvnet also
 * send the gradient image itself (RGB, render/gradient). The display mode shows the map alone, over the
 * photo, or photo | map (| gradient image); the PNG picture is at least 320 px wide. Maps equal those of `cnnvis.saliency(...)` and
 * the other attribution functions for the same image and class. `convention: 'captum'` computes them as
 * Captum does where it differs (Integrated Gradients' Gauss–Legendre rule; METHODS.md), as the functions
 * do with the same option; the title names it for the methods it changes.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageSource } from '../basics/input';
import { initBackend } from '../engine/backend';
import { CnnvisError } from '../errors';
import { attributionContext, AttributionMethod, AttributionOptions, reduceChannels } from '../explain/attribution/base';
import { ATTRIBUTION_METHODS, attributionMethod } from '../explain/attribution/index';
import type { GuidedGradCamOptions } from '../explain/attribution/guidedGradCam';
import type { IntegratedGradientsOptions } from '../explain/attribution/integratedGradients';
import { mapRange } from '../explain/attribution/result';
import { checkConvention, Convention } from '../explain/cam/base';
import type { SmoothGradOptions } from '../explain/attribution/smoothgrad';
import { CnnModel } from '../models/model';
import {
  classMapTitle,
  EXPLORERS,
  ExplorerColormap,
  ExplorerDisplay,
  MethodInfo,
  saliencyDefaults,
  SaliencyExplorerState,
  SaliencyResultData,
} from '../schema/explorers';
import { Map2D, RGBAImage, RGBImage } from '../types';
import { toRGBA } from '../images/encode';
import { resizeImage } from '../images/resize';
import { scaleNearest } from '../render/compose';
import { figure, FigurePanel } from '../render/figure';
import { checkDisplayMode, CLIP_PERCENTILE, gradientImage } from '../render/gradient';
import { overlayHeatmap } from '../render/overlay';
import { ClassPickOptions, ExplorerInputOptions, explorerModel, openImage, snapshotClasses, topCount } from './classes';
import { bytesToBase64, checkColormap, checkSnapshotBudget, checkUnit, ImageExplorer, explorerSpec, LruCache, overlayPicture, Step } from './explorer';
import { appliedConvention, conventionTitle } from './cam';

/** Options the methods take (SmoothGrad samples and sigma, Integrated Gradients steps and baseline, the guided Grad-CAM layer, batch size). */
export type SaliencyMethodOptions = Omit<SmoothGradOptions & IntegratedGradientsOptions & GuidedGradCamOptions, keyof AttributionOptions> &
  Pick<AttributionOptions, 'batchSize'>;

/** One saved map of a saliency snapshot. */
type SaliencyEntry = SaliencyResultData['maps'][number];

export interface SaliencyExplorerOptions extends ExplorerInputOptions, ClassPickOptions {
  /** Byte budget of the saved snapshot's maps (default DEFAULT_SNAPSHOT_BYTES); beyond it the latest are kept. */
  snapshot?: number;
  /** Method id or name (default 'saliency'); see saliencyMethods(). */
  method?: string;
  /** Default 'coolwarm' (diverging, centred on 0 for signed maps). */
  colormap?: ExplorerColormap;
  opacity?: number;
  methodOptions?: SaliencyMethodOptions;
  display?: boolean;
  /** 'map' (the map alone), 'overlay' (over the photo) or 'side-by-side' (photo | map | gradient image; default). */
  displayMode?: ExplorerDisplay;
  /** Whose conventions the maps follow where the anchors differ: 'cnnvis' (default) or 'captum' (METHODS.md). */
  convention?: Convention;
  /** Guided Grad-CAM's layer, as guidedGradCam takes it (the same as methodOptions.layer). */
  layer?: string;
}

/** The conventions the saliency explorer offers (Captum is the anchor with gradient attributions). */
export const SALIENCY_EXPLORER_CONVENTIONS: readonly Convention[] = ['cnnvis', 'captum'];

/** Methods whose maps a snapshot saves for every saved class (one gradient each). */
const CHEAP = ['saliency', 'gradxinput', 'guided-backprop', 'deconvnet'];
const MAX_CACHED_MAPS = 64;
/** Methods whose per-channel gradient is also shown as an image (as the papers draw it). */
const RGB_METHODS = ['guided-backprop', 'deconvnet'];
/** The explorer's PNG picture is at least this wide. */
export const MIN_PICTURE_WIDTH = 320;

interface ComputedMap {
  map: Map2D;
  /** The gradient image (RGB_METHODS with three input channels), else null. */
  rgba: RGBAImage | null;
}

/** The gradient family and guided Grad-CAM (every attribution method but occlusion, which has its own explorer). */
export function saliencyMethods(): MethodInfo[] {
  // Black-box (occlusion, RISE) and CAM-like (FullGrad, in the CAM explorer) methods are left to their own menus.
  return ATTRIBUTION_METHODS.filter((m) => !['occlusion', 'rise', 'fullgrad'].includes(m.id)).map((m) => ({ id: m.id, name: m.name }));
}

function findSaliencyMethod(name: string): AttributionMethod {
  const m = attributionMethod(name);
  if (m.id === 'occlusion') throw new CnnvisError(`occlusion has its own explorer: cnnvis.explore.occlusion(model, image)`);
  return m;
}

/** A raw map as bytes: [0, max] → 0..255 unsigned, [−max, max] → 0..255 signed (127.5 = 0). */
export function saliencyBytes(map: Map2D, signed: boolean, max: number): Uint8Array {
  const out = new Uint8Array(map.data.length);
  for (let i = 0; i < out.length; i++) {
    const t = signed ? 0.5 + map.data[i] / (2 * max) : map.data[i] / max;
    out[i] = Math.round(Math.min(1, Math.max(0, t || 0)) * 255);
  }
  return out;
}

export class SaliencyExplorer extends ImageExplorer<SaliencyExplorerState, SaliencyEntry> {
  private readonly methodOptions: SaliencyMethodOptions;
  /** The convention asked for (each method follows it where it knows it). */
  readonly convention: Convention;
  private readonly maps = new LruCache<ComputedMap>(MAX_CACHED_MAPS);
  /** Number of maps computed (not taken from the cache). */
  computed = 0;

  private constructor(
    model: CnnModel,
    prepared: { image: RGBImage; batch: tf.Tensor4D; name: string },
    state: SaliencyExplorerState,
    probs: Float32Array,
    methodOptions: SaliencyMethodOptions,
    convention: Convention,
  ) {
    super(explorerSpec(EXPLORERS.saliency), state, ['class_index', 'method'], model, prepared, probs);
    this.methodOptions = methodOptions;
    this.convention = convention;
  }

  static async open(m: CnnModel | tf.LayersModel, image: ImageSource, opts: SaliencyExplorerOptions = {}): Promise<SaliencyExplorer> {
    await initBackend();
    const model = explorerModel(m, image, opts);
    const method = findSaliencyMethod(opts.method ?? saliencyDefaults().method);
    const convention = checkConvention(opts.convention, SALIENCY_EXPLORER_CONVENTIONS, 'the saliency explorer');
    const methodOptions = { ...(opts.layer !== undefined ? { layer: opts.layer } : {}), ...(opts.methodOptions ?? {}) };
    for (const x of ATTRIBUTION_METHODS) x.checkOptions(methodOptions as AttributionOptions, model);
    const d = saliencyDefaults();
    const colormap = checkColormap(opts.colormap ?? d.colormap);
    const opacity = checkUnit('opacity', opts.opacity ?? d.opacity);
    const displayMode = checkDisplayMode(opts.displayMode ?? d.display_mode);
    topCount(opts);
    const budget = checkSnapshotBudget(opts.snapshot);
    const { prepared, probs, state: opened } = openImage(model, image, opts);
    const state: SaliencyExplorerState = {
      ...d,
      title: `${method.name} · ${model.name} · ${prepared.name}${conventionTitle(appliedConvention(method.id, convention))}`,
      ...opened,
      colormap,
      methods: saliencyMethods(),
      method: method.id,
      opacity,
      clip_percentile: CLIP_PERCENTILE,
      display_mode: displayMode,
    };
    const ex = new SaliencyExplorer(model, prepared, state, probs, methodOptions, convention);
    ex.saved.budget = budget;
    await ex.start();
    await ex.prepareSnapshot();
    if (opts.display ?? true) ex.show();
    return ex;
  }

  /** The raw map (input size; signed for the 'sum' methods) of a method for a class; cached. */
  async map(methodId: string, classIndex: number): Promise<Map2D> {
    return (await this.computed_(methodId, classIndex)).map;
  }

  /** The gradient image (RGBA, input size) of guided backprop or the deconvnet for a class; null for other methods. */
  async gradientImage(methodId: string, classIndex: number): Promise<RGBAImage | null> {
    return (await this.computed_(methodId, classIndex)).rgba;
  }

  private computed_(methodId: string, classIndex: number): Promise<ComputedMap> {
    return this.maps.getOrMake(`${methodId}\u0000${classIndex}`, async () => {
      const map = await this.computeMap(findSaliencyMethod(methodId), classIndex);
      this.computed++;
      return map;
    });
  }

  private async computeMap(method: AttributionMethod, classIndex: number): Promise<ComputedMap> {
    method.checkTarget(classIndex);
    const o = this.methodOptions;
    const ctx = attributionContext(this.model, this.batch, this.input, classIndex, classIndex, { batchSize: o.batchSize, progress: false });
    const attr = await method.attribute(ctx, { ...o, convention: appliedConvention(method.id, this.convention) } as AttributionOptions);
    try {
      const [, H, W, C] = attr.shape;
      const raw = attr.dataSync().slice() as Float32Array;
      const rgba = RGB_METHODS.includes(method.id) && C === 3 ? gradientImage(raw, W, H, CLIP_PERCENTILE) : null;
      return { map: reduceChannels(raw, W, H, C, method.reduction), rgba };
    } finally {
      attr.dispose();
    }
  }

  protected override normalize(changes: Partial<SaliencyExplorerState>): Partial<SaliencyExplorerState> {
    if (changes.class_index !== undefined) this.model.checkClass(changes.class_index);
    if (changes.method !== undefined) changes = { ...changes, method: findSaliencyMethod(changes.method).id };
    if (changes.opacity !== undefined) checkUnit('opacity', changes.opacity, RangeError);
    if (changes.colormap !== undefined) checkColormap(changes.colormap);
    if (changes.display_mode !== undefined) checkDisplayMode(changes.display_mode, RangeError);
    return changes;
  }

  /** The bytes, sign and range of a map as the views get them. */
  private encoded(methodId: string, map: Map2D): { heatmap: Uint8Array; signed: boolean; range_max: number } {
    const signed = findSaliencyMethod(methodId).reduction === 'sum';
    const range_max = mapRange(map, signed).max;
    return { heatmap: saliencyBytes(map, signed, range_max), signed, range_max };
  }

  protected async update(step: Step): Promise<void> {
    const { class_index: cls, method } = this.state;
    const m = findSaliencyMethod(method);
    await step(-1, `${m.name} for ${this.model.label(cls)}`);
    const { map, rgba } = await this.computed_(method, cls);
    await step(1, 'drawing');
    this.set({
      ...this.encoded(method, map),
      gradient_rgba: rgba ? rgba.data : new Uint8Array(0),
      heatmap_width: map.width,
      heatmap_height: map.height,
      shown: { class_index: cls, label: this.model.label(cls), probability: this.probabilities[cls], method },
      title: `${classMapTitle(m.name, this.model.label(cls), this.probabilities[cls])} · ${this.model.name} · ${this.imageName}${conventionTitle(appliedConvention(method, this.convention))}`,
    });
    this.save(method, cls, { map, rgba }, true);
  }

  /** Saves a map (and its gradient image) into the snapshot, as the latest. */
  private save(method: string, index: number, { map, rgba }: ComputedMap, shown = false): void {
    const e = this.encoded(method, map);
    const label = this.model.label(index);
    this.keep(`${method}\u0000${index}`, `${findSaliencyMethod(method).name} for class ${index} '${label}'`, {
      method,
      index,
      label,
      probability: this.probabilities[index],
      signed: e.signed,
      range_max: e.range_max,
      heatmap: bytesToBase64(e.heatmap),
      width: map.width,
      height: map.height,
      ...(rgba ? { gradient_rgba: bytesToBase64(rgba.data) } : {}),
    }, shown);
  }

  /**
   * Saves the one-gradient methods' maps for the top classes and the shown one into the snapshot (a
   * costly current method — SmoothGrad, IG, guided Grad-CAM — for the shown class only).
   */
  async prepareSnapshot(): Promise<void> {
    const { method: current, class_index: cls } = this.state;
    for (const id of [...new Set([current, ...CHEAP])]) {
      const classes = CHEAP.includes(id) ? snapshotClasses(this.state) : [cls];
      for (const index of classes) this.save(id, index, await this.computed_(id, index));
    }
  }

  snapshot(): SaliencyResultData {
    const s = this.state;
    const { entries: maps, ...head } = this.savedPart('saliency', `${this.model.name} · ${this.imageName}${conventionTitle(this.convention)}`);
    return {
      ...head,
      image: this.savedImage(),
      opacity: s.opacity,
      clip_percentile: s.clip_percentile,
      display_mode: s.display_mode,
      maps,
      methods: [...new Set(maps.map((m) => m.method))].map((id) => ({ id, name: findSaliencyMethod(id).name })),
    };
  }

  /**
   * What the view shows, as one picture at least MIN_PICTURE_WIDTH px wide: the title over the panels of
   * the display mode (map | over the photo | photo and map side by side, then the gradient image when
   * there is one), each enlarged by one whole factor (nearest neighbour), a colour bar under the map
   * labelled with its clip value (±range_max when signed).
   */
  picture(): RGBAImage {
    const s = this.state;
    const photo: RGBAImage = { width: s.image_width, height: s.image_height, data: s.image };
    if (s.heatmap.length === 0) return scaleNearest(photo, Math.max(1, Math.ceil(MIN_PICTURE_WIDTH / Math.max(1, photo.width))));
    const heat: Map2D = { width: s.heatmap_width, height: s.heatmap_height, data: Float32Array.from(s.heatmap, (v) => v / 255) };
    const colour = (alpha: number) => overlayHeatmap(photo, heat, { alpha, colormap: s.colormap, min: 0, max: 1 });
    const colorbar = { colormap: s.colormap, min: s.signed ? -s.range_max : 0, max: s.range_max, ends: true };
    const images: RGBAImage[] = [];
    if (s.display_mode === 'side-by-side') images.push(photo);
    images.push(s.display_mode === 'overlay' ? overlayPicture(s, s.heatmap, s.heatmap_width, s.heatmap_height, s.opacity) : colour(1));
    const barAt = images.length - 1;
    if (s.gradient_rgba.length === s.heatmap_width * s.heatmap_height * 4 && s.gradient_rgba.length > 0) {
      const g: RGBAImage = { width: s.heatmap_width, height: s.heatmap_height, data: s.gradient_rgba };
      images.push(g.width === photo.width && g.height === photo.height ? g : toRGBA(resizeImage(g, photo.width, photo.height, { interpolation: 'bilinear' })));
    }
    const gap = 6;
    const widths = images.reduce((a, im) => a + im.width, 0);
    const factor = Math.max(1, Math.ceil((MIN_PICTURE_WIDTH - gap * (images.length - 1)) / widths));
    const panels: FigurePanel[] = images.map((im, i) => ({ image: scaleNearest(im, factor), ...(i === barAt ? { colorbar } : {}) }));
    return figure(s.title, panels, { gap, minSize: 1 });
  }

  summary(): string {
    const s = this.state;
    const shown = s.shown;
    const what = shown ? `class ${shown.class_index} '${shown.label}' (p=${shown.probability.toFixed(3)})` : 'nothing yet';
    return `SaliencyExplorer(${findSaliencyMethod(s.method).name}, ${this.model.name}, ${this.imageName}: ${what}, ${s.signed ? 'signed' : 'unsigned'} map, |max| ${s.range_max.toPrecision(3)})`;
  }

  protected release(): void {
    this.maps.clear();
  }
}

/** `cnnvis.explore.saliency(model, image, options)`: see SaliencyExplorer. */
export function saliency(model: CnnModel | tf.LayersModel, image: ImageSource, opts?: SaliencyExplorerOptions): Promise<SaliencyExplorer> {
  return SaliencyExplorer.open(model, image, opts);
}
