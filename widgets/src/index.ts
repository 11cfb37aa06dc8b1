/** @cnnvis/widgets: the explorers' front end (models, views, panels) and the static result renderer. */
export { EXPLORER_MODULE as MODULE_NAME, EXPLORER_MODULE_VERSION as MODULE_VERSION, RESULT_MIME } from 'cnnvis/dist/schema/explorers';
export { CamExplorerModel, FeatureMapExplorerModel, camDefaults, featureMapDefaults } from './models';
export { CamExplorerView, FeatureMapExplorerView, camPanelState, featureMapPanelState } from './views';
export { CamPanel } from './camPanel';
export type { CamPanelState, CamChoice } from './camPanel';
export { FeatureMapPanel } from './featureMapPanel';
export type { FeatureMapPanelState } from './featureMapPanel';
export { renderResult, StaticCam, StaticFeatureMaps } from './static';
export { setChartDrawer, topChartSpec } from './chart';
