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
import { liveSnapshotNote, SNAPSHOT_EVENT } from 'cnnvis/dist/schema/explorers';
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
  /** One line under the panel: the snapshot's size against its budget and what the budget dropped. */
  readonly snapshotLine = Object.assign(document.createElement('div'), { className: 'cnnvis-note cnnvis-snapshot-live' });
  /** What the snapshot's entries are called in that line ('map', 'page'). */
  protected readonly noun: string = 'map';

  /** The panel, with its controls wired to `change` and `cancel`. */
  protected abstract makePanel(): P;

  /** What the panel draws, from the model's state. */
  protected abstract panelState(s: S): PS;

  override render(): void {
    this.panel = this.makePanel();
    this.el.classList.add('cnnvis-widget');
    this.el.append(this.panel.node, this.snapshotLine);
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
    const s = this.explorerState;
    this.panel.render(this.panelState(s));
    this.snapshotLine.textContent = liveSnapshotNote((s as unknown as ExplorerBaseState).snapshot_info, this.noun);
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

/** What a view gives its panel: `change` (controls to the kernel) and the handlers every panel has. */
export interface ViewLink<S> {
  change(values: Partial<S>): void;
  /** Opacity (where the state has it), colormap and cancel. */
  common: { opacity(v: number): void; colormap(name: string): void; cancel(): void };
}

/** An explorer view class: its panel (built with the view's link) and the panel state of a model state. */
export function explorerView<S extends ExplorerBaseState, PS, P extends { node: HTMLElement; render(state: PS): void }>(
  makePanel: (link: ViewLink<S>) => P,
  panelState: (s: S) => PS,
  noun = 'map',
): typeof DOMWidgetView & (new (options: ConstructorParameters<typeof DOMWidgetView>[0]) => ExplorerView<S, PS, P>) {
  return class extends ExplorerView<S, PS, P> {
    protected override readonly noun = noun;

    protected makePanel(): P {
      const change = (values: Partial<S>) => this.change(values);
      return makePanel({
        change,
        common: {
          opacity: (v) => change({ opacity: v } as unknown as Partial<S>),
          colormap: (c) => change({ colormap: c } as Partial<S>),
          cancel: () => this.cancel(),
        },
      });
    }

    protected panelState(s: S): PS {
      return panelState(s);
    }
  };
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

export const CamExplorerView = explorerView<CamExplorerState, CamPanelState, CamPanel>(
  (v) => new CamPanel({ ...v.common, position: (i) => v.change({ class_index: i }), layer: (l) => v.change({ layer: l }), method: (m) => v.change({ method: m }) }),
  camPanelState,
);
export type CamExplorerView = InstanceType<typeof CamExplorerView>;

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

export const FeatureMapExplorerView = explorerView<FeatureMapExplorerState, FeatureMapPanelState, FeatureMapPanel>(
  (v) =>
    new FeatureMapPanel({
      ...v.common,
      layer: (i) => v.change({ layer_index: i }),
      page: (p) => v.change({ page: p }),
      normalization: (n) => v.change({ normalization: n }),
      showTop: (on) => v.change({ show_top: on }),
    }),
  featureMapPanelState,
  'page',
);
export type FeatureMapExplorerView = InstanceType<typeof FeatureMapExplorerView>;

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
export const SaliencyExplorerView = explorerView<SaliencyExplorerState, CamPanelState, CamPanel>(
  (v) =>
    new CamPanel({
      ...v.common,
      position: (i) => v.change({ class_index: i }),
      method: (m) => v.change({ method: m }),
      display: (d) => v.change({ display_mode: d as SaliencyExplorerState['display_mode'] }),
    }),
  saliencyPanelState,
);
export type SaliencyExplorerView = InstanceType<typeof SaliencyExplorerView>;

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

export const OcclusionExplorerView = explorerView<OcclusionExplorerState, OcclusionPanelState, OcclusionPanel>(
  (v) =>
    new OcclusionPanel({
      ...v.common,
      position: (i) => v.change({ class_index: i }),
      patchSize: (n) => v.change({ patch_size: n }),
      stride: (n) => v.change({ stride: n }),
      threshold: (t) => v.change({ threshold: t }),
    }),
  occlusionPanelState,
);
export type OcclusionExplorerView = InstanceType<typeof OcclusionExplorerView>;

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
    patternFlat: s.pattern_flat,
  };
}

export const FilterExplorerView = explorerView<FilterExplorerState, FilterPanelState, FilterPanel>(
  (v) =>
    new FilterPanel({
      ...v.common,
      layer: (i) => v.change({ layer_index: i }),
      page: (p) => v.change({ page: p }),
      scaling: (x) => v.change({ scaling: x }),
      mode: (m) => v.change({ mode: m }),
      steps: (n) => v.change({ steps: n }),
    }),
  filterPanelState,
  'page',
);
export type FilterExplorerView = InstanceType<typeof FilterExplorerView>;
