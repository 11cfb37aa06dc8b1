/**
 * Explorers: one cell call opens an interactive view of one image through one model.
 *
 *   await cnnvis.explore.cam(model, 'cat_dog.png');          // class / layer / method / opacity
 *   await cnnvis.explore.featureMaps(model, 'cat_dog.png');  // layer slider, channel pages
 */
export { cam, CamExplorer, explorerMethods } from './cam';
export type { CamExplorerOptions } from './cam';
export { featureMaps, FeatureMapExplorer } from './featureMaps';
export type { FeatureMapExplorerOptions } from './featureMaps';
export { Explorer } from './explorer';
export * from '../schema/explorers';
