/**
 * Static results (RESULT_MIME): a snapshot saved in the notebook, explored in the browser with no
 * kernel. A snapshot holds what was explored in the live view (the maps or pages computed there,
 * within its size budget); the saved view offers exactly those: the CAM snapshot its methods, layers
 * and classes, the saliency snapshot its methods and classes, the occlusion snapshot its classes and
 * patch geometries, the feature-map and filter snapshots their layers and pages (filters with the
 * patterns that were made). It opens on what the live view showed when saved. Colormap, opacity,
 * normalization, display mode and the occlusion threshold work as in the live view. A line under the
 * panel says how much of the budget the snapshot takes and what it dropped.
 */
import {
  CamResultData,
  classMapTitle,
  ClassScore,
  FeatureMapResultData,
  featureMapTitle,
  FilterResultData,
  filterTitle,
  OcclusionResultData,
  occlusionTitle,
  savedTitle,
  RESULT_SCHEMA_VERSION,
  ResultData,
  SaliencyResultData,
  snapshotNote,
} from 'cnnvis/dist/schema/explorers';
import { base64ToBytes, base64ToFloats } from './base64';
import { CamPanel, CamPanelState, clipNote, saliencyScale } from './camPanel';
import { el } from './dom';
import { FeatureMapPanel, FeatureMapPanelState } from './featureMapPanel';
import { FilterPanel, FilterPanelState } from './filterPanel';
import { OcclusionPanel, OcclusionPanelState } from './occlusionPanel';

/** The status fields of a saved result's panel state. */
function savedStatus(title: string) {
  return { title: `${title} (saved)`, status: 'idle' as const, progress: 0, message: '' };
}

/** The status and photo fields of a saved result's panel state. */
function savedImage(title: string, image: { width: number; height: number; rgba: string }) {
  return { ...savedStatus(title), image: base64ToBytes(image.rgba), imageWidth: image.width, imageHeight: image.height };
}

/** Distinct values in first-seen order. */
function distinct<T>(values: T[]): T[] {
  return [...new Set(values)];
}

/**
 * The saved entry closest to what is asked for: the first that matches every key, else the first that
 * matches the most keys in order of importance (an entry always exists: a snapshot saves at least one).
 */
function closest<E>(entries: readonly E[], wanted: Array<(e: E) => boolean>): number {
  for (let n = wanted.length; n > 0; n--) {
    const i = entries.findIndex((e) => wanted.slice(0, n).every((ok) => ok(e)));
    if (i >= 0) return i;
  }
  return 0;
}

/** Where a snapshot opens: the entry the live view showed when saved (0 in older snapshots). */
function opening(data: { shown?: number }, count: number): number {
  const i = data.shown ?? 0;
  return Number.isInteger(i) && i >= 0 && i < count ? i : 0;
}

/** A saved result drawn with a live panel: the panel redraws from a state its controls change locally. */
abstract class StaticView<PS, P extends { node: HTMLElement; render(state: PS): void }> {
  abstract readonly panel: P;
  protected abstract state: PS;

  protected update(changes: Partial<PS>): void {
    this.state = { ...this.state, ...changes };
    this.panel.render(this.state);
  }
}

/** A saved class map (CAM or saliency): its class, and its method and layer where it has them. */
type SavedMap = ClassScore & { method?: string; layer?: string; width: number; height: number };

/**
 * A saved CAM or saliency explorer: the method, layer and class menus offer the saved maps; moving one
 * shows the saved map closest to the others' values (the same class where saved).
 */
abstract class StaticMaps<M extends SavedMap> extends StaticView<CamPanelState, CamPanel> {
  readonly panel: CamPanel;
  protected state: CamPanelState;
  private readonly heatmaps: Uint8Array[];
  protected current = 0;

  protected constructor(
    protected readonly maps: M[],
    image: { width: number; height: number; rgba: string },
    title: string,
    colormap: string,
    opacity: number,
    private readonly names: Record<string, string>,
    extra: Partial<CamPanelState>,
  ) {
    super();
    this.heatmaps = maps.map((m) => base64ToBytes((m as unknown as { heatmap: string }).heatmap));
    this.state = {
      ...savedImage(title, image),
      heatmap: new Uint8Array(0),
      heatWidth: 0,
      heatHeight: 0,
      colormap,
      opacity,
      choices: [],
      position: 0,
      caption: '',
      top: [],
      layers: [],
      layer: '',
      methods: [],
      method: '',
      ...extra,
    };
    this.panel = new CamPanel({
      position: (p) => this.pick(this.method(this.current), this.layer(this.current), this.state.choices[p]?.index ?? -1),
      layer: (l) => this.pick(this.method(this.current), l, this.maps[this.current].index),
      method: (id) => this.pick(id, this.layer(this.current), this.maps[this.current].index),
      opacity: (v) => this.update({ opacity: v }),
      colormap: (c) => this.update({ colormap: c }),
      display: extra.display !== undefined ? (d) => this.update({ display: d }) : undefined,
    });
  }

  protected abstract method(i: number): string;
  protected abstract layer(i: number): string;
  /** Panel fields of saved map i besides the heat map (scale, gradient image, caption). */
  protected abstract extra(i: number): Partial<CamPanelState>;

  private pick(method: string, layer: string, index: number): void {
    this.show(closest(this.maps, [(m) => this.method(this.maps.indexOf(m)) === method, (m) => this.layer(this.maps.indexOf(m)) === layer, (m) => m.index === index]));
  }

  protected show(i: number): void {
    const m = this.maps[i];
    if (!m) return;
    this.current = i;
    const method = this.method(i);
    const layer = this.layer(i);
    const same = this.maps.filter((x, k) => this.method(k) === method && this.layer(k) === layer);
    const classes = distinct(same.map((x) => x.index))
      .map((index) => same.find((x) => x.index === index) as M)
      .sort((a, b) => b.probability - a.probability)
      .map((x) => ({ index: x.index, label: x.label, probability: x.probability }));
    const methods = distinct(this.maps.map((_, k) => this.method(k)));
    const layers = layer ? distinct(this.maps.map((_, k) => k).filter((k) => this.method(k) === method).map((k) => this.layer(k))) : [];
    this.update({
      methods: methods.map((id) => ({ id, name: this.names[id] ?? id })),
      method,
      layers,
      layer,
      choices: classes,
      top: classes,
      position: classes.findIndex((c) => c.index === m.index),
      heatmap: this.heatmaps[i],
      heatWidth: m.width,
      heatHeight: m.height,
      ...this.extra(i),
    });
  }
}

export class StaticCam extends StaticMaps<CamResultData['maps'][number]> {
  constructor(private readonly data: CamResultData) {
    const names: Record<string, string> = Object.fromEntries((data.methods ?? []).map((m) => [m.id, m.name]));
    super(data.maps, data.image, data.title, data.colormap, data.opacity, names, {});
    this.show(opening(data, data.maps.length));
  }

  protected method(i: number): string {
    return this.data.maps[i].method ?? this.data.method;
  }

  protected layer(i: number): string {
    return this.data.maps[i].layer ?? this.data.layer;
  }

  protected extra(i: number): Partial<CamPanelState> {
    const m = this.data.maps[i];
    const name = this.data.methods?.find((x) => x.id === this.method(i))?.name ?? this.method(i);
    return {
      title: savedTitle(classMapTitle(name, m.label, m.probability, this.layer(i)), this.data.title),
      caption: `class ${m.index} · ${m.label} · p=${m.probability.toFixed(3)} · ${this.layer(i)}`,
    };
  }
}

/** A saved saliency explorer: its methods and classes, each pair that was saved. */
export class StaticSaliency extends StaticMaps<SaliencyResultData['maps'][number]> {
  private readonly gradients: Uint8Array[];

  constructor(private readonly data: SaliencyResultData) {
    const names: Record<string, string> = Object.fromEntries((data.methods ?? []).map((m) => [m.id, m.name]));
    super(data.maps, data.image, data.title, data.colormap, data.opacity, names, {
      display: data.display_mode ?? 'overlay',
      clipNote: clipNote(data.clip_percentile ?? 99.5),
    });
    this.gradients = data.maps.map((m) => (m.gradient_rgba ? base64ToBytes(m.gradient_rgba) : new Uint8Array(0)));
    this.show(opening(data, data.maps.length));
  }

  protected method(i: number): string {
    return this.data.maps[i].method;
  }

  protected layer(): string {
    return '';
  }

  protected extra(i: number): Partial<CamPanelState> {
    const m = this.data.maps[i];
    const name = this.data.methods?.find((x) => x.id === m.method)?.name ?? m.method;
    return {
      title: savedTitle(classMapTitle(name, m.label, m.probability), this.data.title),
      gradient: this.gradients[i],
      scale: saliencyScale(m.signed, m.range_max),
      caption: `class ${m.index} · ${m.label} · p=${m.probability.toFixed(3)} · ${name}`,
    };
  }
}

/** A saved occlusion explorer: its classes at each saved patch size and stride; any threshold. */
export class StaticOcclusion extends StaticView<OcclusionPanelState, OcclusionPanel> {
  readonly panel: OcclusionPanel;
  protected state: OcclusionPanelState;
  private readonly maps: Float32Array[];
  private current = 0;

  constructor(private readonly data: OcclusionResultData) {
    super();
    this.maps = data.maps.map((m) => base64ToFloats(m.map));
    this.state = {
      ...savedImage(data.title, data.image),
      map: new Float32Array(0),
      mapWidth: 0,
      mapHeight: 0,
      colormap: data.colormap,
      opacity: data.opacity,
      threshold: data.threshold,
      patchSize: data.patch_size,
      stride: data.stride,
      choices: [],
      position: 0,
      caption: '',
      top: [],
    };
    const geometries = distinct(data.maps.map((_, i) => this.geometry(i).join()));
    const several = geometries.length > 1;
    this.panel = new OcclusionPanel({
      position: (p) => this.pick(this.geometry(this.current), this.state.choices[p]?.index ?? -1),
      // Patch and stride move over the saved geometries only (the nearest saved one).
      patchSize: several ? (v) => this.near(v, 0) : undefined,
      stride: several ? (v) => this.near(v, 1) : undefined,
      threshold: (v) => this.update({ threshold: v }),
      opacity: (v) => this.update({ opacity: v }),
      colormap: (c) => this.update({ colormap: c }),
    });
    this.show(opening(data, data.maps.length));
  }

  private geometry(i: number): [number, number] {
    const m = this.data.maps[i];
    return [m.patch_size ?? this.data.patch_size, m.stride ?? this.data.stride];
  }

  /** The saved geometry nearest to `v` in patch size (k = 0) or stride (k = 1), the other kept where saved. */
  private near(v: number, k: 0 | 1): void {
    const now = this.geometry(this.current);
    const options = distinct(this.data.maps.map((_, i) => this.geometry(i)[k]));
    const best = options.reduce((a, b) => (Math.abs(b - v) < Math.abs(a - v) ? b : a), options[0]);
    const want: [number, number] = k === 0 ? [best, now[1]] : [now[0], best];
    const index = this.data.maps[this.current].index;
    this.show(closest(this.data.maps, [(m) => this.geometry(this.data.maps.indexOf(m))[k] === best, (m) => this.geometry(this.data.maps.indexOf(m)).join() === want.join(), (m) => m.index === index]));
  }

  private pick(geometry: [number, number], index: number): void {
    this.show(closest(this.data.maps, [(m) => this.geometry(this.data.maps.indexOf(m)).join() === geometry.join(), (m) => m.index === index]));
  }

  private show(i: number): void {
    const m = this.data.maps[i];
    if (!m) return;
    this.current = i;
    const [patch, stride] = this.geometry(i);
    const same = this.data.maps.filter((_, k) => this.geometry(k).join() === `${patch},${stride}`);
    const classes = same.map((x) => ({ index: x.index, label: x.label, probability: x.probability })).sort((a, b) => b.probability - a.probability);
    this.update({
      choices: classes,
      top: classes,
      position: classes.findIndex((c) => c.index === m.index),
      patchSize: patch,
      stride,
      map: this.maps[i],
      mapWidth: m.width,
      mapHeight: m.height,
      title: savedTitle(occlusionTitle(m.label, m.probability, patch, stride), this.data.title),
      caption: `class ${m.index} · ${m.label} · p=${m.probability.toFixed(3)} · patch ${patch} stride ${stride}`,
    });
  }
}

/** Saved pages (feature maps, filters) by layer: the layers in saved order, each layer's pages. */
class SavedPages<E extends { name: string }> {
  readonly names: string[];
  constructor(readonly pages: readonly E[]) {
    this.names = distinct(pages.map((p) => p.name));
  }

  /** The pages of layer `k` (its index in `names`). */
  of(k: number): E[] {
    return this.pages.filter((p) => p.name === this.names[k]);
  }

  /** Layer index and page position of saved page i. */
  where(i: number): { layer: number; page: number } {
    const p = this.pages[i];
    const layer = this.names.indexOf(p.name);
    return { layer, page: this.of(layer).indexOf(p) };
  }

  /** Saved page index of layer k's page at position p (clamped). */
  at(k: number, p: number): number {
    const list = this.of(k);
    return this.pages.indexOf(list[Math.min(Math.max(0, p), list.length - 1)]);
  }
}

export class StaticFeatureMaps extends StaticView<FeatureMapPanelState, FeatureMapPanel> {
  readonly panel: FeatureMapPanel;
  protected state: FeatureMapPanelState;
  private readonly pages: Float32Array[];
  private readonly saved: SavedPages<FeatureMapResultData['layers'][number]>;

  constructor(private readonly data: FeatureMapResultData) {
    super();
    this.saved = new SavedPages(data.layers);
    this.pages = data.layers.map((l) => {
      const b = base64ToBytes(l.data);
      return Float32Array.from(b, (v) => l.min + (v / 255) * (l.max - l.min));
    });
    this.state = {
      ...savedImage(data.title, data.image),
      layers: this.saved.names.map((name) => ({ name, shape: (data.layers.find((l) => l.name === name) as FeatureMapResultData['layers'][number]).shape })),
      layerIndex: 0,
      shownLayer: 0,
      page: 0,
      pageCount: 1,
      channels: [],
      data: new Float32Array(0),
      tileWidth: 0,
      tileHeight: 0,
      means: [],
      layerMin: 0,
      layerMax: 0,
      colormap: data.colormap,
      normalization: data.normalization,
      topChannel: 0,
      topData: new Float32Array(0),
      showTop: false,
    };
    this.panel = new FeatureMapPanel({
      layer: (k) => this.show(this.saved.at(k, 0)),
      page: (p) => this.show(this.saved.at(this.state.layerIndex, p)),
      colormap: (c) => this.update({ colormap: c }),
      normalization: (n) => this.update({ normalization: n }),
      showTop: (on) => this.update({ showTop: on }),
    });
    this.show(opening(data, data.layers.length));
  }

  private show(i: number): void {
    const l = this.data.layers[i];
    if (!l) return;
    const { layer, page } = this.saved.where(i);
    const area = l.width * l.height;
    // The top channel among the saved ones.
    let best = 0;
    l.channels.forEach((ch, k) => {
      if (l.means[ch] > l.means[l.channels[best]]) best = k;
    });
    this.update({
      layerIndex: layer,
      shownLayer: layer,
      page,
      pageCount: this.saved.of(layer).length,
      channels: l.channels,
      data: this.pages[i],
      tileWidth: l.width,
      tileHeight: l.height,
      means: l.means,
      layerMin: l.min,
      layerMax: l.max,
      topChannel: l.channels[best] ?? 0,
      topData: this.pages[i].subarray(best * area, (best + 1) * area),
      title: savedTitle(featureMapTitle(l.name, l.channels, l.shape[2], l.width, l.height), this.data.title),
    });
  }
}

/** A saved filter explorer: the pages of weights that were saved, with the patterns that were made. */
export class StaticFilters extends StaticView<FilterPanelState, FilterPanel> {
  readonly panel: FilterPanel;
  protected state: FilterPanelState;
  private readonly saved: SavedPages<FilterResultData['layers'][number]>;

  constructor(private readonly data: FilterResultData) {
    super();
    this.saved = new SavedPages(data.layers);
    this.state = {
      ...savedStatus(data.title),
      layers: this.saved.names.map((name) => {
        const l = data.layers.find((x) => x.name === name) as FilterResultData['layers'][number];
        return { name: l.name, shape: l.shape, view: l.view, filters: l.filters };
      }),
      layerIndex: 0,
      shownLayer: 0,
      page: 0,
      pageCount: 1,
      filters: [],
      weights: new Uint8Array(0),
      weightChannels: 1,
      weightWidth: 0,
      weightHeight: 0,
      tilesPerFilter: 1,
      norms: [],
      dead: [],
      scaling: 'auto',
      weightScaling: 'tile',
      weightRange: [0, 1],
      weightDiverging: false,
      weightCells: 0,
      colormap: data.colormap,
      mode: 'weights',
      steps: 0,
      patterns: new Uint8Array(0),
      patternWidth: 0,
      patternHeight: 0,
      patternFilters: [],
      patternValues: [],
      patternFlat: [],
    };
    this.panel = new FilterPanel({
      layer: (k) => this.show(this.saved.at(k, 0)),
      page: (p) => this.show(this.saved.at(this.state.layerIndex, p)),
      colormap: (c) => this.update({ colormap: c }),
    });
    // Older snapshots have no `shown`: open on a layer with patterns if there is one.
    this.show(data.shown !== undefined ? opening(data, data.layers.length) : Math.max(0, data.layers.findIndex((l) => l.patterns)));
  }

  private show(i: number): void {
    const l = this.data.layers[i];
    if (!l) return;
    const { layer, page } = this.saved.where(i);
    const p = l.patterns;
    this.update({
      title: savedTitle(filterTitle(l, l.page_filters, !!p), this.data.title),
      layerIndex: layer,
      shownLayer: layer,
      page,
      pageCount: this.saved.of(layer).length,
      filters: l.page_filters,
      weights: base64ToBytes(l.weights),
      weightChannels: l.channels,
      weightWidth: l.width,
      weightHeight: l.height,
      tilesPerFilter: l.tiles_per_filter,
      norms: l.norms,
      dead: l.dead ?? [],
      scaling: l.scaling ?? 'tile',
      weightScaling: l.scaling ?? 'tile',
      weightRange: l.range ?? [0, 1],
      weightDiverging: l.diverging ?? false,
      weightCells: l.cells ?? l.width * l.height,
      mode: p ? 'patterns' : 'weights',
      steps: p?.steps ?? 0,
      patterns: p ? base64ToBytes(p.rgba) : new Uint8Array(0),
      patternWidth: p?.width ?? 0,
      patternHeight: p?.height ?? 0,
      patternFilters: p?.filters ?? [],
      patternValues: p?.values ?? [],
      patternFlat: p?.flat ?? [],
    });
  }
}

/** What a saved snapshot's entries are called in its budget note. */
const NOUNS: Record<ResultData['kind'], string> = { cam: 'map', saliency: 'map', occlusion: 'map', 'feature-maps': 'page', filters: 'page' };

/** Renders a result bundle into a new element; unknown kinds or versions get a plain message. */
export function renderResult(data: ResultData): HTMLElement {
  const version = (data as { version?: unknown }).version;
  if (version !== RESULT_SCHEMA_VERSION) {
    return el('div', 'cnnvis-note', `cnnvis result version ${String(version)} is not supported by this extension (expects ${RESULT_SCHEMA_VERSION})`);
  }
  const host = el('div', 'cnnvis-widget cnnvis-static');
  if (data.kind === 'cam') host.append(new StaticCam(data).panel.node);
  else if (data.kind === 'feature-maps') host.append(new StaticFeatureMaps(data).panel.node);
  else if (data.kind === 'saliency') host.append(new StaticSaliency(data).panel.node);
  else if (data.kind === 'occlusion') host.append(new StaticOcclusion(data).panel.node);
  else if (data.kind === 'filters') host.append(new StaticFilters(data).panel.node);
  else {
    host.append(el('div', 'cnnvis-note', `unknown cnnvis result kind ${JSON.stringify((data as { kind?: unknown }).kind)}`));
    return host;
  }
  const note = snapshotNote(data.saved, NOUNS[data.kind]);
  if (note) host.append(el('div', 'cnnvis-note cnnvis-saved', note));
  return host;
}
