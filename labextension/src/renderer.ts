/**
 * Rendering a cnnvis result bundle: live widget or static snapshot.
 *
 * An explorer's output carries the widget view and RESULT_MIME. When the notebook's kernel is
 * connected and still has the widget's comm (comm_info), the widget view is rendered through the
 * notebook's own rendermime (jupyterlab-manager's renderer); otherwise the snapshot is rendered in
 * the browser from the saved data.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Panel, Widget } from '@lumino/widgets';
import { renderResult, RESULT_MIME } from '@cnnvis/widgets';
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

class NotebookResultRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(private readonly panel: NotebookPanel) {
    super();
    this.addClass('cnnvis-result');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const view = model.data[WIDGET_VIEW_MIME] as { model_id?: string } | undefined;
    const rendermime = this.panel.content.rendermime;
    for (const w of [...this.widgets]) w.dispose();
    if (view?.model_id && rendermime.mimeTypes.includes(WIDGET_VIEW_MIME) && (await kernelHasModel(this.panel, view.model_id))) {
      const live = rendermime.createRenderer(WIDGET_VIEW_MIME);
      this.addWidget(live);
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
