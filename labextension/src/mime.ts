/**
 * MIME renderer for cnnvis result bundles outside notebooks (output views, other documents): the
 * static, client-side interactive snapshot. Notebooks get the live-or-static renderer of plugin.ts.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { RESULT_MIME } from '@cnnvis/widgets';
import { StaticResultRenderer } from './renderer';

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RESULT_MIME],
  createRenderer: () => new StaticResultRenderer(),
};

const extension: IRenderMime.IExtension = {
  id: '@cnnvis/jupyterlab:result-renderer',
  description: 'Renders cnnvis result bundles (application/vnd.cnnvis.result.v1+json)',
  rendererFactory,
  rank: 10,
  dataType: 'json',
};

export default extension;
