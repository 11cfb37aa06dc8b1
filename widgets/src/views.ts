/**
 * Front-end views of the explorers: each maps its model's state to a panel and the panel's requests
 * back to the model (save_changes sends them to the kernel). Opacity and colormap are redrawn here
 * at once; the kernel is only asked for what needs its computation.
 */
import { DOMWidgetView } from '@jupyter-widgets/base';
import type { CamExplorerState, ExplorerRequest, FeatureMapExplorerState } from 'cnnvis/dist/schema/explorers';
import { CamPanel, CamPanelState } from './camPanel';
import { FeatureMapPanel, FeatureMapPanelState } from './featureMapPanel';

export function camPanelState(s: CamExplorerState): CamPanelState {
  const shown = s.shown;
  return {
    title: s.title,
    status: s.status,
    progress: s.progress,
    message: s.message,
    image: s.image,
    imageWidth: s.image_width,
    imageHeight: s.image_height,
    heatmap: s.heatmap,
    heatWidth: s.heatmap_width,
    heatHeight: s.heatmap_height,
    colormap: s.colormap,
    opacity: s.opacity,
    choices: s.classes.map((label, index) => ({ index, label })),
    position: s.class_index,
    caption: shown ? `class ${shown.class_index} · ${shown.label} · p=${shown.probability.toFixed(3)} · ${shown.layer}` : '',
    top: s.top,
    layers: s.layers,
    layer: s.layer,
    methods: s.methods,
    method: s.method,
  };
}

export class CamExplorerView extends DOMWidgetView {
  panel!: CamPanel;

  override render(): void {
    this.el.classList.add('cnnvis-widget');
    this.panel = new CamPanel({
      position: (i) => this.change({ class_index: i }),
      layer: (l) => this.change({ layer: l }),
      method: (m) => this.change({ method: m }),
      opacity: (v) => this.change({ opacity: v }),
      colormap: (c) => this.change({ colormap: c as CamExplorerState['colormap'] }),
      cancel: () => this.send({ event: 'cancel' } satisfies ExplorerRequest),
    });
    this.el.appendChild(this.panel.node);
    this.listenTo(this.model, 'change', () => this.update());
    this.update();
  }

  private change(values: Partial<CamExplorerState>): void {
    this.model.set(values);
    this.model.save_changes();
  }

  override update(): void {
    this.panel.render(camPanelState(this.model.attributes as unknown as CamExplorerState));
  }
}

export function featureMapPanelState(s: FeatureMapExplorerState): FeatureMapPanelState {
  const layer = s.layers[s.layer_index];
  return {
    title: s.title,
    status: s.status,
    progress: s.progress,
    message: s.message,
    image: s.image,
    imageWidth: s.image_width,
    imageHeight: s.image_height,
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

export class FeatureMapExplorerView extends DOMWidgetView {
  panel!: FeatureMapPanel;

  override render(): void {
    this.el.classList.add('cnnvis-widget');
    this.panel = new FeatureMapPanel({
      layer: (i) => this.change({ layer_index: i }),
      page: (p) => this.change({ page: p }),
      colormap: (c) => this.change({ colormap: c as FeatureMapExplorerState['colormap'] }),
      normalization: (n) => this.change({ normalization: n }),
      showTop: (on) => this.change({ show_top: on }),
      cancel: () => this.send({ event: 'cancel' } satisfies ExplorerRequest),
    });
    this.el.appendChild(this.panel.node);
    this.listenTo(this.model, 'change', () => this.update());
    this.update();
  }

  private change(values: Partial<FeatureMapExplorerState>): void {
    this.model.set(values);
    this.model.save_changes();
  }

  override update(): void {
    const s = this.model.attributes as unknown as FeatureMapExplorerState;
    this.panel.render(featureMapPanelState(s));
  }
}
