/**
 * Static results (RESULT_MIME): a snapshot saved in the notebook, explored in the browser with no
 * kernel. The CAM snapshot switches between its precomputed classes; the feature-map snapshot
 * between its precomputed layers. Colormap, opacity and normalization work as in the live view.
 */
import {
  base64ToBytes,
  CamResultData,
  FeatureMapResultData,
  RESULT_SCHEMA_VERSION,
  ResultData,
} from 'cnnvis/dist/schema/explorers';
import { CamPanel, CamPanelState } from './camPanel';
import { el } from './dom';
import { FeatureMapPanel, FeatureMapPanelState } from './featureMapPanel';

export class StaticCam {
  readonly panel: CamPanel;
  private state: CamPanelState;
  private readonly heatmaps: Uint8Array[];

  constructor(private readonly data: CamResultData) {
    this.heatmaps = data.maps.map((m) => base64ToBytes(m.heatmap));
    const image = base64ToBytes(data.image.rgba);
    this.state = {
      title: `${data.title} (saved: ${data.maps.length} classes)`,
      status: 'idle',
      progress: 0,
      message: '',
      image,
      imageWidth: data.image.width,
      imageHeight: data.image.height,
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

  private update(changes: Partial<CamPanelState>): void {
    this.state = { ...this.state, ...changes };
    this.panel.render(this.state);
  }
}

export class StaticFeatureMaps {
  readonly panel: FeatureMapPanel;
  private state: FeatureMapPanelState;
  private readonly pages: Float32Array[];

  constructor(private readonly data: FeatureMapResultData) {
    this.pages = data.layers.map((l) => {
      const b = base64ToBytes(l.data);
      return Float32Array.from(b, (v) => l.min + (v / 255) * (l.max - l.min));
    });
    this.state = {
      title: `${data.title} (saved: ${data.layers.length} layers, first channels)`,
      status: 'idle',
      progress: 0,
      message: '',
      image: base64ToBytes(data.image.rgba),
      imageWidth: data.image.width,
      imageHeight: data.image.height,
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

  private update(changes: Partial<FeatureMapPanelState>): void {
    this.state = { ...this.state, ...changes };
    this.panel.render(this.state);
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
  else host.append(el('div', 'cnnvis-note', `unknown cnnvis result kind ${JSON.stringify((data as { kind?: unknown }).kind)}`));
  return host;
}
