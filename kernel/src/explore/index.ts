/**
 * Explorers: one cell call opens an interactive view of one image through one model.
 *
 *   await cnnvis.explore.cam(model, 'cat_dog.png');          // class / layer / method / opacity
 *   await cnnvis.explore.featureMaps(model, 'cat_dog.png');  // layer slider, channel pages
 *   await cnnvis.explore.saliency(model, 'cat_dog.png');     // gradient family: method / class / opacity
 *   await cnnvis.explore.occlusion(model, 'cat_dog.png');    // patch / stride / class, threshold → mask
 *   await cnnvis.explore.filters(model);                     // conv layers: weights, activation maximization
 */
export { cam, CamExplorer, explorerMethods } from './cam';
export type { CamExplorerOptions } from './cam';
export { featureMaps, FeatureMapExplorer } from './featureMaps';
export type { FeatureMapExplorerOptions } from './featureMaps';
export { saliency, SaliencyExplorer, saliencyMethods } from './saliency';
export type { SaliencyExplorerOptions, SaliencyMethodOptions } from './saliency';
export { occlusion, OcclusionExplorer } from './occlusion';
export type { OcclusionExplorerOptions } from './occlusion';
export { filters, FilterExplorer } from './filters';
export type { FilterExplorerOptions } from './filters';
export { Explorer } from './explorer';
export * from '../schema/explorers';
