/**
 * Static results (RESULT_MIME): a snapshot saved in the notebook, explored in the browser with no
 * kernel. The CAM and occlusion snapshots switch between their precomputed classes, the saliency
 * snapshot between its precomputed methods and classes, the feature-map snapshot between its
 * precomputed layers, the filter snapshot between its layers' first pages. Colormap, opacity,
 * normalization and the occlusion threshold work as in the live view.
 */
import {
  base64ToBytes,
  base64ToFloats,
  CamResultData,
  FeatureMapResultData,
  FilterResultData,
  OcclusionResultData,
  RESULT_SCHEMA_VERSION,
  ResultData,
  SaliencyResultData,
} from 'cnnvis/dist/schema/explorers';
import { CamPanel, CamPanelState, clipNote, saliencyScale } from './camPanel';
import { el } from './dom';
import { FeatureMapPanel, FeatureMapPanelState } from './featureMapPanel';
import { FilterPanel, FilterPanelState } from './filterPanel';
import { OcclusionPanel, OcclusionPanelState } from './occlusionPanel';

/** The status fields of a saved result's panel state. */
function savedStatus(title: string) {
  return { title, status: 'idle' as const, progress: 0, message: '' };
}

/** The status and photo fields of a saved result's panel state. */
function savedImage(title: string, image: { width: number; height: number; rgba: string }) {
  return { ...savedStatus(title), image: base64ToBytes(image.rgba), imageWidth: image.width, imageHeight: image.height };
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

export class StaticCam extends StaticView<CamPanelState, CamPanel> {
  readonly panel: CamPanel;
  protected state: CamPanelState;
  private readonly heatmaps: Uint8Array[];

  constructor(private readonly data: CamResultData) {
    super();
    this.heatmaps = data.maps.map((m) => base64ToBytes(m.heatmap));
    this.state = {
      ...savedImage(`${data.title} (saved: ${data.maps.length} classes)`, data.image),
      heatmap: new Uint8Array(0),
      heatWidth: 0,
      heatHeight: 0,
      colormap: data.colormap,
      opacity: data.opacity,
      choices: data.maps.map((m) => ({ index: m.index, label: m.label, probability: m.probability })),
      position: 0,
      caption: '',
      top: data.maps.map((m) => ({ index: m.index, label: m.label, probability: m.probability })),
      layers: [data.layer],
      layer: data.layer,
      methods: [{ id: data.method, name: data.method }],
      method: data.method,
    };
    this.panel = new CamPanel({
      position: (i) => this.show(i),
      opacity: (v) => this.update({ opacity: v }),
      colormap: (c) => this.update({ colormap: c }),
    });
    this.show(0);
  }

  private show(i: number): void {
    if (i < 0 || i >= this.data.maps.length) return;
    const m = this.data.maps[i];
    this.update({
      position: i,
      heatmap: this.heatmaps[i],
      heatWidth: m.width,
      heatHeight: m.height,
      caption: `class ${m.index} · ${m.label} · p=${m.probability.toFixed(3)} · ${this.data.layer}`,
    });
  }

}

export class StaticFeatureMaps extends StaticView<FeatureMapPanelState, FeatureMapPanel> {
  readonly panel: FeatureMapPanel;
  protected state: FeatureMapPanelState;
  private readonly pages: Float32Array[];

  constructor(private readonly data: FeatureMapResultData) {
    super();
    this.pages = data.layers.map((l) => {
      const b = base64ToBytes(l.data);
      return Float32Array.from(b, (v) => l.min + (v / 255) * (l.max - l.min));
    });
    this.state = {
      ...savedImage(`${data.title} (saved: ${data.layers.length} layers, first channels)`, data.image),
      layers: data.layers.map((l) => ({ name: l.name, shape: l.shape })),
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
      layer: (i) => this.show(i),
      page: () => undefined,
      colormap: (c) => this.update({ colormap: c }),
      normalization: (n) => this.update({ normalization: n }),
      showTop: (on) => this.update({ showTop: on }),
    });
    this.show(0);
  }

  private show(i: number): void {
    const l = this.data.layers[i];
    if (!l) return;
    const area = l.width * l.height;
    // The top channel among the saved ones.
    let best = 0;
    l.channels.forEach((ch, k) => {
      if (l.means[ch] > l.means[l.channels[best]]) best = k;
    });
    this.update({
      layerIndex: i,
      shownLayer: i,
      channels: l.channels,
      data: this.pages[i],
      tileWidth: l.width,
      tileHeight: l.height,
      means: l.means,
      layerMin: l.min,
      layerMax: l.max,
      topChannel: l.channels[best] ?? 0,
      topData: this.pages[i].subarray(best * area, (best + 1) * area),
    });
  }

}

const METHOD_NAMES: Record<string, string> = {
  saliency: 'Saliency',
  gradxinput: 'Gradient × Input',
  'guided-backprop': 'Guided Backpropagation',
  deconvnet: 'Deconvnet',
  smoothgrad: 'SmoothGrad',
  'integrated-gradients': 'Integrated Gradients',
  'guided-gradcam': 'Guided Grad-CAM',
};

/** A saved saliency explorer: its methods and classes, each pair that was precomputed. */
export class StaticSaliency extends StaticView<CamPanelState, CamPanel> {
  readonly panel: CamPanel;
  protected state: CamPanelState;
  private readonly heatmaps: Uint8Array[];
  private readonly gradients: Uint8Array[];
  private method: string;

  constructor(private readonly data: SaliencyResultData) {
    super();
    this.heatmaps = data.maps.map((m) => base64ToBytes(m.heatmap));
    this.gradients = data.maps.map((m) => (m.gradient_rgba ? base64ToBytes(m.gradient_rgba) : new Uint8Array(0)));
    const methods = [...new Set(data.maps.map((m) => m.method))];
    this.method = methods[0] ?? '';
    this.state = {
      ...savedImage(`${data.title} (saved: ${data.maps.length} maps)`, data.image),
      heatmap: new Uint8Array(0),
      heatWidth: 0,
      heatHeight: 0,
      colormap: data.colormap,
      opacity: data.opacity,
      choices: [],
      position: 0,
      caption: '',
      top: [],
      layers: [],
      layer: '',
      methods: methods.map((id) => ({ id, name: METHOD_NAMES[id] ?? id })),
      method: this.method,
      display: data.display_mode ?? 'overlay',
      clipNote: clipNote(data.clip_percentile ?? 99.5),
    };
    this.panel = new CamPanel({
      position: (i) => this.show(this.method, i),
      method: (m) => this.show(m, -1),
      opacity: (v) => this.update({ opacity: v }),
      colormap: (c) => this.update({ colormap: c }),
      display: (d) => this.update({ display: d }),
    });
    this.show(this.method, 0);
  }

  /** Shows a method's map for the class at `position` among its saved classes (-1: the class shown now, if saved). */
  private show(method: string, position: number): void {
    const saved = this.data.maps.map((m, i) => ({ m, i })).filter((x) => x.m.method === method);
    if (!saved.length) return;
    const now = this.state.choices[this.state.position]?.index;
    const p = position >= 0 ? position : Math.max(0, saved.findIndex((x) => x.m.index === now));
    const pick = saved[p];
    if (!pick) return;
    this.method = method;
    const m = pick.m;
    this.update({
      method,
      choices: saved.map((x) => ({ index: x.m.index, label: x.m.label, probability: x.m.probability })),
      top: saved.map((x) => ({ index: x.m.index, label: x.m.label, probability: x.m.probability })),
      position: p,
      heatmap: this.heatmaps[pick.i],
      gradient: this.gradients[pick.i],
      heatWidth: m.width,
      heatHeight: m.height,
      scale: saliencyScale(m.signed, m.range_max),
      caption: `class ${m.index} · ${m.label} · p=${m.probability.toFixed(3)} · ${METHOD_NAMES[method] ?? method}`,
    });
  }

}

/** A saved occlusion explorer: its classes at the saved patch size and stride; any threshold. */
export class StaticOcclusion extends StaticView<OcclusionPanelState, OcclusionPanel> {
  readonly panel: OcclusionPanel;
  protected state: OcclusionPanelState;
  private readonly maps: Float32Array[];

  constructor(private readonly data: OcclusionResultData) {
    super();
    this.maps = data.maps.map((m) => base64ToFloats(m.map));
    const scores = data.maps.map((m) => ({ index: m.index, label: m.label, probability: m.probability }));
    this.state = {
      ...savedImage(`${data.title} (saved: ${data.maps.length} classes)`, data.image),
      map: new Float32Array(0),
      mapWidth: 0,
      mapHeight: 0,
      colormap: data.colormap,
      opacity: data.opacity,
      threshold: data.threshold,
      patchSize: data.patch_size,
      stride: data.stride,
      choices: scores,
      position: 0,
      caption: '',
      top: scores,
    };
    this.panel = new OcclusionPanel({
      position: (i) => this.show(i),
      threshold: (v) => this.update({ threshold: v }),
      opacity: (v) => this.update({ opacity: v }),
      colormap: (c) => this.update({ colormap: c }),
    });
    this.show(0);
  }

  private show(i: number): void {
    const m = this.data.maps[i];
    if (!m) return;
    this.update({
      position: i,
      map: this.maps[i],
      mapWidth: m.width,
      mapHeight: m.height,
      caption: `class ${m.index} · ${m.label} · p=${m.probability.toFixed(3)} · patch ${this.data.patch_size} stride ${this.data.stride}`,
    });
  }

}

/** A saved filter explorer: one page of weights per saved layer, and the patterns that were made. */
export class StaticFilters extends StaticView<FilterPanelState, FilterPanel> {
  readonly panel: FilterPanel;
  protected state: FilterPanelState;

  constructor(private readonly data: FilterResultData) {
    super();
    this.state = {
      ...savedStatus(`${data.title} (saved: ${data.layers.length} layers, one page each)`),
      layers: data.layers.map((l) => ({ name: l.name, shape: l.shape, view: l.view, filters: l.filters })),
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
    };
    this.panel = new FilterPanel({
      layer: (i) => this.show(i),
      page: () => undefined,
      colormap: (c) => this.update({ colormap: c }),
    });
    this.show(Math.max(0, data.layers.findIndex((l) => l.patterns)));
  }

  private show(i: number): void {
    const l = this.data.layers[i];
    if (!l) return;
    const p = l.patterns;
    this.update({
      layerIndex: i,
      shownLayer: i,
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
      patterns: p ? base64ToBytes(p.rgba) : new Uint8Array(0),
      patternWidth: p?.width ?? 0,
      patternHeight: p?.height ?? 0,
      patternFilters: p?.filters ?? [],
      patternValues: p?.values ?? [],
    });
  }

}

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
  else host.append(el('div', 'cnnvis-note', `unknown cnnvis result kind ${JSON.stringify((data as { kind?: unknown }).kind)}`));
  return host;
}
