/**
 * The JupyterLab 4 plugin: registers the explorer models and views with the ipywidgets manager
 * (@jupyter-widgets/jupyterlab-manager), and gives every notebook a renderer for cnnvis result
 * bundles that shows the live widget while its kernel still has the model, and the static,
 * client-side interactive snapshot otherwise (a notebook reopened without a kernel).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import * as widgets from '@cnnvis/widgets';
import '@cnnvis/widgets/style/index.css';
import { RESULT_RENDERER_RANK, resultFactory } from './renderer';

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@cnnvis/jupyterlab:plugin',
  description: 'cnnvis explorers (Jupyter widgets) and the cnnvis result renderer',
  autoStart: true,
  requires: [IJupyterWidgetRegistry],
  activate: (app: JupyterFrontEnd, registry: IJupyterWidgetRegistry) => {
    registry.registerWidget({
      name: widgets.MODULE_NAME,
      version: widgets.MODULE_VERSION,
      exports: {
        CamExplorerModel: widgets.CamExplorerModel,
        CamExplorerView: widgets.CamExplorerView,
        FeatureMapExplorerModel: widgets.FeatureMapExplorerModel,
        FeatureMapExplorerView: widgets.FeatureMapExplorerView,
        SaliencyExplorerModel: widgets.SaliencyExplorerModel,
        SaliencyExplorerView: widgets.SaliencyExplorerView,
        OcclusionExplorerModel: widgets.OcclusionExplorerModel,
        OcclusionExplorerView: widgets.OcclusionExplorerView,
        FilterExplorerModel: widgets.FilterExplorerModel,
        FilterExplorerView: widgets.FilterExplorerView,
      },
    });
    // A widget extension runs as each notebook panel is created, before its outputs render (a
    // tracker's widgetAdded comes later: a reopened notebook's saved outputs would render without it).
    const resultRenderer: DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> = {
      createNew: (panel) => {
        // Preferred over the widget view: the renderer itself picks live or static.
        panel.content.rendermime.addFactory(resultFactory(panel), RESULT_RENDERER_RANK);
      },
    };
    app.docRegistry.addWidgetExtension('Notebook', resultRenderer);
  },
};

export default plugin;
