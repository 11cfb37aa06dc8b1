/**
 * Rendering a cnnvis result bundle: live widget or static snapshot.
 *
 * An explorer's output carries the widget view and RESULT_MIME. When the notebook's kernel is
 * connected and still has the widget's comm (comm_info), the widget view is rendered through the
 * notebook's own rendermime (jupyterlab-manager's renderer); otherwise the snapshot is rendered in
 * the browser from the saved data. While live, each snapshot the explorer sends (SNAPSHOT_EVENT from
 * its view: what has been explored so far) is written into the output's data, so saving the notebook
 * saves what the user saw; that write does not re-render the live view.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Panel, Widget } from '@lumino/widgets';
import { renderResult, RESULT_MIME, SNAPSHOT_EVENT } from '@cnnvis/widgets';
import type { ResultData } from 'cnnvis/dist/schema/explorers';

const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';

/** A static-only renderer (the MIME extension, and the fallback of the notebook renderer). */
export class StaticResultRenderer extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('cnnvis-result');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.node.replaceChildren(renderResult(model.data[RESULT_MIME] as unknown as ResultData));
  }
}

async function kernelHasModel(panel: NotebookPanel, modelId: string): Promise<boolean> {
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel || kernel.connectionStatus !== 'connected' || kernel.status === 'dead') return false;
  try {
    const reply = await kernel.requestCommInfo({ target_name: 'jupyter.widget' });
    const content = reply.content as { status: string; comms?: Record<string, unknown> };
    return content.status === 'ok' && !!content.comms && modelId in content.comms;
  } catch {
    return false;
  }
}

/** Writes a snapshot bundle (RESULT_MIME, image/png, text/plain) into an output's data, keeping its other types. */
export function saveSnapshot(model: IRenderMime.IMimeModel, bundle: Record<string, unknown>): void {
  const data: Record<string, unknown> = { ...model.data };
  for (const [mime, value] of Object.entries(bundle)) {
    if (mime === RESULT_MIME || mime === 'image/png' || mime === 'text/plain') data[mime] = value;
  }
  model.setData({ data: data as IRenderMime.IMimeModel['data'] });
}

export class NotebookResultRenderer extends Panel implements IRenderMime.IRenderer {
  /** The widget model the live view shows; null when static. */
  private liveId: string | null = null;
  private model: IRenderMime.IMimeModel | null = null;

  constructor(private readonly panel: NotebookPanel) {
    super();
    this.addClass('cnnvis-result');
    this.node.addEventListener(SNAPSHOT_EVENT, (e) => {
      e.stopPropagation();
      const bundle = (e as CustomEvent).detail as Record<string, unknown> | null;
      if (this.model && this.liveId && bundle && typeof bundle === 'object') saveSnapshot(this.model, bundle);
    });
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const view = model.data[WIDGET_VIEW_MIME] as { model_id?: string } | undefined;
    this.model = model;
    // The output changed its data (a snapshot written above, or another output of the cell): a live
    // view of the same widget stays as it is.
    if (this.liveId && view?.model_id === this.liveId && this.widgets.length && !this.widgets[0].isDisposed) return;
    const rendermime = this.panel.content.rendermime;
    for (const w of [...this.widgets]) w.dispose();
    this.liveId = null;
    if (view?.model_id && rendermime.mimeTypes.includes(WIDGET_VIEW_MIME) && (await kernelHasModel(this.panel, view.model_id))) {
      const live = rendermime.createRenderer(WIDGET_VIEW_MIME);
      this.addWidget(live);
      this.liveId = view.model_id;
      await live.renderModel(model);
      return;
    }
    const still = new StaticResultRenderer();
    this.addWidget(still);
    await still.renderModel(model);
  }
}

/**
 * Rank of the notebook's result renderer: it must win over jupyterlab-manager's widget-view renderer,
 * which that manager registers at rank -10 in each notebook (lower ranks are preferred).
 */
export const RESULT_RENDERER_RANK = -20;

export function resultFactory(panel: NotebookPanel): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [RESULT_MIME],
    defaultRank: RESULT_RENDERER_RANK,
    createRenderer: () => new NotebookResultRenderer(panel),
  };
}
