/** @cnnvis/widgets: the explorers' front end (models, views, panels) and the static result renderer. */
export { EXPLORER_MODULE as MODULE_NAME, EXPLORER_MODULE_VERSION as MODULE_VERSION, RESULT_MIME, SNAPSHOT_EVENT } from 'cnnvis/dist/schema/explorers';
export { CamExplorerModel, FeatureMapExplorerModel, SaliencyExplorerModel, OcclusionExplorerModel, FilterExplorerModel, camDefaults, featureMapDefaults, saliencyDefaults, occlusionDefaults, filterDefaults } from './models';
export { ExplorerView, CamExplorerView, FeatureMapExplorerView, SaliencyExplorerView, OcclusionExplorerView, FilterExplorerView, camPanelState, featureMapPanelState, saliencyPanelState, occlusionPanelState, filterPanelState } from './views';
export { CamPanel } from './camPanel';
export type { CamPanelState, CamChoice } from './camPanel';
export { FeatureMapPanel } from './featureMapPanel';
export type { FeatureMapPanelState } from './featureMapPanel';
export { ClassPicker } from './classPicker';
export type { ClassChoice } from './classPicker';
export { OcclusionPanel } from './occlusionPanel';
export type { OcclusionPanelState } from './occlusionPanel';
export { FilterPanel } from './filterPanel';
export type { FilterPanelState } from './filterPanel';
export { renderResult, StaticCam, StaticFeatureMaps, StaticSaliency, StaticOcclusion, StaticFilters } from './static';
export { setChartDrawer, topChartSpec } from './chart';
export type { ChartDrawer } from './chart';
