/** @cnnvis/widgets: the explorers' front end (models, views, panels) and the static result renderer. */
export { EXPLORER_MODULE as MODULE_NAME, EXPLORER_MODULE_VERSION as MODULE_VERSION, RESULT_MIME } from 'cnnvis/dist/schema/explorers';
export { CamExplorerModel, FeatureMapExplorerModel, SaliencyExplorerModel, OcclusionExplorerModel, camDefaults, featureMapDefaults, saliencyDefaults, occlusionDefaults } from './models';
export { ExplorerView, CamExplorerView, FeatureMapExplorerView, SaliencyExplorerView, OcclusionExplorerView, camPanelState, featureMapPanelState, saliencyPanelState, occlusionPanelState } from './views';
export { CamPanel } from './camPanel';
export type { CamPanelState, CamChoice } from './camPanel';
export { FeatureMapPanel } from './featureMapPanel';
export type { FeatureMapPanelState } from './featureMapPanel';
export { ClassPicker } from './classPicker';
export type { ClassChoice } from './classPicker';
export { OcclusionPanel } from './occlusionPanel';
export type { OcclusionPanelState } from './occlusionPanel';
export { renderResult, StaticCam, StaticFeatureMaps, StaticSaliency, StaticOcclusion } from './static';
export { setChartDrawer, topChartSpec } from './chart';
