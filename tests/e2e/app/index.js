/**
 * The JupyterLab 4 front end of the end-to-end test: the core extensions a notebook needs, the
 * ipywidgets 8 manager and cnnvis' own lab extension, all imported at build time (no prebuilt
 * extension loading). Keep the list in step with package.json's jupyterlab.extensions, which tells
 * the build whose schemas and themes to copy.
 */
import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';

// Chunks and assets load from the server's static URL for this app.
// eslint-disable-next-line no-undef
__webpack_public_path__ = `${PageConfig.getOption('fullStaticUrl')}/`;

const styles = import('./build/style.js');

/**
 * Plugins left out: the language servers (a server extension jupyter_server 1.x lacks), the news
 * announcements (they would ask the network), and the notebook's table of contents and raw-cell
 * metadata form, whose providers (toc-extension, metadataform-extension) this app does not include.
 */
const LEFT_OUT = [':language-server', 'apputils-extension:announcements', 'notebook-extension:toc', 'notebook-extension:update-raw-mimetype'];

/** A module's plugins: its default export, one plugin or a list. */
function pluginsOf(mod) {
  const exported = mod.default ?? mod;
  return Array.isArray(exported) ? exported : [exported];
}

async function start() {
  await styles;
  const extensions = await Promise.all([
    import('@jupyterlab/application-extension'),
    import('@jupyterlab/apputils-extension'),
    import('@jupyterlab/codemirror-extension'),
    import('@jupyterlab/completer-extension'),
    import('@jupyterlab/console-extension'),
    import('@jupyterlab/docmanager-extension'),
    import('@jupyterlab/documentsearch-extension'),
    import('@jupyterlab/filebrowser-extension'),
    import('@jupyterlab/mainmenu-extension'),
    import('@jupyterlab/notebook-extension'),
    import('@jupyterlab/rendermime-extension'),
    import('@jupyterlab/running-extension'),
    import('@jupyterlab/shortcuts-extension'),
    import('@jupyterlab/statusbar-extension'),
    import('@jupyterlab/theme-light-extension'),
    import('@jupyterlab/translation-extension'),
    import('@jupyterlab/ui-components-extension'),
    import('@jupyter-widgets/jupyterlab-manager'),
    import('@cnnvis/jupyterlab'),
  ]);
  const mimeExtensions = await Promise.all([import('@cnnvis/jupyterlab/lib/mime.js')]);
  const lab = new JupyterLab({ mimeExtensions: mimeExtensions.map((m) => m.default) });
  lab.registerPlugins(extensions.flatMap(pluginsOf).filter((p) => !LEFT_OUT.some((part) => p.id.includes(part))));
  // The test drives documents through the app's own commands and reads kernel state from it.
  window.cnnvisLab = lab;
  await lab.start();
  await lab.restored;
  document.body.dataset.cnnvisLab = 'restored';
}

window.addEventListener('load', () => {
  start().catch((e) => {
    console.error('cnnvis e2e app failed to start', e);
  });
});
