/** @cnnvis/jupyterlab: the plugin (default export); the MIME extension is lib/mime.js. */
export { default } from './plugin';
export { rendererFactory } from './mime';
