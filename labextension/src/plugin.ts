/**
 * The JupyterLab 4 plugin: registers the explorer models and views with the ipywidgets manager
 * (@jupyter-widgets/jupyterlab-manager), and gives every notebook a renderer for cnnvis result
 * bundles that shows the live widget while its kernel still has the model, and the static,
 * client-side interactive snapshot otherwise (a notebook reopened without a kernel).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import * as widgets from '@cnnvis/widgets';
import '@cnnvis/widgets/style/index.css';
import { resultFactory } from './renderer';

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@cnnvis/jupyterlab:plugin',
  description: 'cnnvis explorers (Jupyter widgets) and the cnnvis result renderer',
  autoStart: true,
  requires: [IJupyterWidgetRegistry],
  optional: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, registry: IJupyterWidgetRegistry, notebooks: INotebookTracker | null) => {
    registry.registerWidget({
      name: widgets.MODULE_NAME,
      version: widgets.MODULE_VERSION,
      exports: {
        CamExplorerModel: widgets.CamExplorerModel,
        CamExplorerView: widgets.CamExplorerView,
        FeatureMapExplorerModel: widgets.FeatureMapExplorerModel,
        FeatureMapExplorerView: widgets.FeatureMapExplorerView,
      },
    });
    notebooks?.widgetAdded.connect((_tracker, panel: NotebookPanel) => {
      // Preferred over the widget view (rank 0): the renderer itself picks live or static.
      panel.content.rendermime.addFactory(resultFactory(panel), -1);
    });
  },
};

export default plugin;
