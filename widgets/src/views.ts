/**
 * Front-end views of the explorers: each maps its model's state to a panel and the panel's requests
 * back to the model (ExplorerView.change sends them to the kernel). Opacity and colormap are redrawn here
 * at once; the kernel is only asked for what needs its computation. Snapshots the kernel sends
 * (what has been explored) go up the DOM as SNAPSHOT_EVENT for the notebook output to keep.
 */
import { DOMWidgetView } from '@jupyter-widgets/base';
import type {
  CamExplorerState,
  ClassPickState,
  ExplorerBaseState,
  ExplorerRequest,
  ExplorerSnapshotMessage,
  FeatureMapExplorerState,
  FilterExplorerState,
  OcclusionExplorerState,
  SaliencyExplorerState,
} from 'cnnvis/dist/schema/explorers';
import { SNAPSHOT_EVENT } from 'cnnvis/dist/schema/explorers';
import { CamPanel, CamPanelState, clipNote, saliencyScale } from './camPanel';
import { FeatureMapPanel, FeatureMapPanelState } from './featureMapPanel';
import { FilterPanel, FilterPanelState } from './filterPanel';
import { OcclusionPanel, OcclusionPanelState } from './occlusionPanel';

/**
 * What every explorer view shares: a panel drawn from the model's state on every change, and control
 * changes and cancel requests sent to the kernel-side model.
 */
export abstract class ExplorerView<S, PS, P extends { node: HTMLElement; render(state: PS): void }> extends DOMWidgetView {
  panel!: P;

  /** The panel, with its controls wired to `change` and `cancel`. */
  protected abstract makePanel(): P;

  /** What the panel draws, from the model's state. */
  protected abstract panelState(s: S): PS;

  override render(): void {
    this.panel = this.makePanel();
    this.el.classList.add('cnnvis-widget');
    this.el.appendChild(this.panel.node);
    this.listenTo(this.model, 'change', () => this.update());
    this.listenTo(this.model, 'msg:custom', (content: unknown) => this.received(content));
    this.update();
  }

  /** A snapshot from the kernel goes up the DOM as SNAPSHOT_EVENT, for the output that holds this view to save. */
  private received(content: unknown): void {
    const m = content as ExplorerSnapshotMessage | null;
    if (m?.event !== 'snapshot' || typeof m.data !== 'object' || m.data === null) return;
    this.el.dispatchEvent(new CustomEvent(SNAPSHOT_EVENT, { bubbles: true, detail: m.data }));
  }

  override update(): void {
    this.panel.render(this.panelState(this.explorerState));
  }

  /** Sets controls on the model and sends them to the kernel (which computes what they need). */
  protected change(values: Partial<S>): void {
    this.model.set(values);
    this.model.save_changes();
  }

  /** Asks the kernel to stop the running computation. */
  protected cancel(): void {
    this.send({ event: 'cancel' } satisfies ExplorerRequest);
  }

  /** The model's state, typed. */
  protected get explorerState(): S {
    return this.model.attributes as unknown as S;
  }
}

/** The status part of every panel state. */
function statusPart(s: ExplorerBaseState) {
  return { title: s.title, status: s.status, progress: s.progress, message: s.message };
}

/** The photo, for the explorers of one image. */
function imagePart(s: ExplorerBaseState) {
  return { image: s.image, imageWidth: s.image_width, imageHeight: s.image_height };
}

/** The class picker of the explorers that explain a class. */
function classPart(s: ClassPickState) {
  return { choices: s.classes.map((label, index) => ({ index, label })), position: s.class_index, top: s.top };
}

/** The heat-map part of the CAM and saliency panels: status, photo, map bytes, colours and the class picker. */
function heatmapPart(s: CamExplorerState | SaliencyExplorerState) {
  return {
    ...statusPart(s),
    ...imagePart(s),
    heatmap: s.heatmap,
    heatWidth: s.heatmap_width,
    heatHeight: s.heatmap_height,
    colormap: s.colormap,
    opacity: s.opacity,
    ...classPart(s),
  };
}

export function camPanelState(s: CamExplorerState): CamPanelState {
  const shown = s.shown;
  return {
    ...heatmapPart(s),
    caption: shown ? `class ${shown.class_index} · ${shown.label} · p=${shown.probability.toFixed(3)} · ${shown.layer}` : '',
    layers: s.layers,
    layer: s.layer,
    methods: s.methods,
    method: s.method,
  };
}

export class CamExplorerView extends ExplorerView<CamExplorerState, CamPanelState, CamPanel> {
  protected makePanel(): CamPanel {
    return new CamPanel({
      position: (i) => this.change({ class_index: i }),
      layer: (l) => this.change({ layer: l }),
      method: (m) => this.change({ method: m }),
      opacity: (v) => this.change({ opacity: v }),
      colormap: (c) => this.change({ colormap: c as CamExplorerState['colormap'] }),
      cancel: () => this.cancel(),
    });
  }

  protected panelState(s: CamExplorerState): CamPanelState {
    return camPanelState(s);
  }
}

export function featureMapPanelState(s: FeatureMapExplorerState): FeatureMapPanelState {
  const layer = s.layers[s.layer_index];
  return {
    ...statusPart(s),
    ...imagePart(s),
    layers: s.layers,
    layerIndex: s.layer_index,
    shownLayer: s.shown_layer,
    page: s.page,
    pageCount: layer ? Math.max(1, Math.ceil(layer.shape[2] / s.page_size)) : 1,
    channels: s.page_channels,
    data: s.page_data,
    tileWidth: s.tile_width,
    tileHeight: s.tile_height,
    means: s.channel_means,
    layerMin: s.layer_min,
    layerMax: s.layer_max,
    colormap: s.colormap,
    normalization: s.normalization,
    topChannel: s.top_channel,
    topData: s.top_data,
    showTop: s.show_top,
  };
}

export class FeatureMapExplorerView extends ExplorerView<FeatureMapExplorerState, FeatureMapPanelState, FeatureMapPanel> {
  protected makePanel(): FeatureMapPanel {
    return new FeatureMapPanel({
      layer: (i) => this.change({ layer_index: i }),
      page: (p) => this.change({ page: p }),
      colormap: (c) => this.change({ colormap: c as FeatureMapExplorerState['colormap'] }),
      normalization: (n) => this.change({ normalization: n }),
      showTop: (on) => this.change({ show_top: on }),
      cancel: () => this.cancel(),
    });
  }

  protected panelState(s: FeatureMapExplorerState): FeatureMapPanelState {
    return featureMapPanelState(s);
  }
}

export function saliencyPanelState(s: SaliencyExplorerState): CamPanelState {
  const shown = s.shown;
  const methodName = (id: string) => s.methods.find((m) => m.id === id)?.name ?? id;
  return {
    ...heatmapPart(s),
    caption: shown ? `class ${shown.class_index} · ${shown.label} · p=${shown.probability.toFixed(3)} · ${methodName(shown.method)}` : '',
    layers: [],
    layer: '',
    methods: s.methods,
    method: s.method,
    scale: saliencyScale(s.signed, s.range_max),
    display: s.display_mode,
    gradient: s.gradient_rgba,
    clipNote: clipNote(s.clip_percentile),
  };
}

/** The saliency explorer draws with the CAM panel (no layer picker; signed colour bar). */
export class SaliencyExplorerView extends ExplorerView<SaliencyExplorerState, CamPanelState, CamPanel> {
  protected makePanel(): CamPanel {
    return new CamPanel({
      position: (i) => this.change({ class_index: i }),
      method: (m) => this.change({ method: m }),
      opacity: (v) => this.change({ opacity: v }),
      colormap: (c) => this.change({ colormap: c as SaliencyExplorerState['colormap'] }),
      display: (d) => this.change({ display_mode: d as SaliencyExplorerState['display_mode'] }),
      cancel: () => this.cancel(),
    });
  }

  protected panelState(s: SaliencyExplorerState): CamPanelState {
    return saliencyPanelState(s);
  }
}

export function occlusionPanelState(s: OcclusionExplorerState): OcclusionPanelState {
  const shown = s.shown;
  return {
    ...statusPart(s),
    ...imagePart(s),
    map: s.map,
    mapWidth: s.map_width,
    mapHeight: s.map_height,
    colormap: s.colormap,
    opacity: s.opacity,
    threshold: s.threshold,
    patchSize: s.patch_size,
    stride: s.stride,
    ...classPart(s),
    caption: shown
      ? `class ${shown.class_index} · ${shown.label} · p=${shown.probability.toFixed(3)} · patch ${shown.patch_size} stride ${shown.stride} (${shown.patches} patches)`
      : '',
  };
}

export class OcclusionExplorerView extends ExplorerView<OcclusionExplorerState, OcclusionPanelState, OcclusionPanel> {
  protected makePanel(): OcclusionPanel {
    return new OcclusionPanel({
      position: (i) => this.change({ class_index: i }),
      patchSize: (v) => this.change({ patch_size: v }),
      stride: (v) => this.change({ stride: v }),
      threshold: (v) => this.change({ threshold: v }),
      opacity: (v) => this.change({ opacity: v }),
      colormap: (c) => this.change({ colormap: c as OcclusionExplorerState['colormap'] }),
      cancel: () => this.cancel(),
    });
  }

  protected panelState(s: OcclusionExplorerState): OcclusionPanelState {
    return occlusionPanelState(s);
  }
}

export function filterPanelState(s: FilterExplorerState): FilterPanelState {
  const layer = s.layers[s.layer_index];
  return {
    ...statusPart(s),
    layers: s.layers,
    layerIndex: s.layer_index,
    shownLayer: s.shown_layer,
    page: s.page,
    pageCount: layer ? Math.max(1, Math.ceil(layer.filters / s.page_size)) : 1,
    filters: s.page_filters,
    weights: s.weights,
    weightChannels: s.weight_channels,
    weightWidth: s.weight_width,
    weightHeight: s.weight_height,
    tilesPerFilter: s.tiles_per_filter,
    norms: s.filter_norms,
    dead: s.filter_dead,
    scaling: s.scaling,
    weightScaling: s.weight_scaling,
    weightRange: s.weight_range,
    weightDiverging: s.weight_diverging,
    weightCells: s.weight_cells,
    colormap: s.colormap,
    mode: s.mode,
    steps: s.steps,
    patterns: s.patterns,
    patternWidth: s.pattern_width,
    patternHeight: s.pattern_height,
    patternFilters: s.pattern_filters,
    patternValues: s.pattern_values,
  };
}

export class FilterExplorerView extends ExplorerView<FilterExplorerState, FilterPanelState, FilterPanel> {
  protected makePanel(): FilterPanel {
    return new FilterPanel({
      layer: (i) => this.change({ layer_index: i }),
      page: (p) => this.change({ page: p }),
      colormap: (c) => this.change({ colormap: c as FilterExplorerState['colormap'] }),
      scaling: (v) => this.change({ scaling: v }),
      mode: (m) => this.change({ mode: m }),
      steps: (n) => this.change({ steps: n }),
      cancel: () => this.cancel(),
    });
  }

  protected panelState(s: FilterExplorerState): FilterPanelState {
    return filterPanelState(s);
  }
}
