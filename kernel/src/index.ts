/**
 * cnnvis: see inside convolutional networks from TypeScript notebooks.
 *
 *   import * as cnnvis from 'cnnvis';
 *   const model = await cnnvis.loadModel('mobilenet_v1_0.75_224');
 *   await cnnvis.predict(model, 'cat_dog.png');
 *   await cnnvis.featureMaps(model, 'cat_dog.png', {layer: 'conv_pw_1_relu'});
 *
 * In a notebook every call shows its result inline; the returned object keeps the raw numbers.
 */
export { initBackend, backendName, backendReport } from './engine/backend';
export { accelStatus, setAccelEnabled, ortUnsupportedReason, engineFor } from './engine';
export type { Engine, ReluRule } from './engine';
export { CnnvisError } from './errors';
export * from './types';

export { loadModel } from './models/load';
export type { LoadModelOptions } from './models/load';
export { CnnModel, asCnnModel } from './models/model';
export { NAMED_MODELS, namedModelNames, ensureCached, modelCacheDir, modelInCache } from './models/registry';
export { cnnvisHome } from './models/cache';
export { loadTfjsLayersModel } from './models/tfjs';
export { loadKerasH5, loadKerasWeightsH5 } from './models/keras';
export { buildVgg16, loadVgg16Weights } from './models/vgg16';
export { writeLayerWeights } from './models/writeWeights';
export { buildDemoModel, loadDemoModel, DEMO_CLASSES } from './models/demo';
export { preprocessTensor, deprocessTensor, imageToBatch } from './models/preprocess';

export { readImage, prepareInput, findImageFile } from './basics/input';
export type { ImageSource } from './basics/input';
export { predict, PredictionResult, topK } from './basics/predict';
export type { Prediction } from './basics/predict';
export { featureMaps, layerOutputs, FeatureMapResult, LayerOutputsResult, channelMeans, rankChannels } from './basics/featureMaps';
export { filters, FilterResult, weightStats, convLayerNames } from './basics/filters';
export { summary, layerConfig, layerWeights, SummaryResult } from './basics/summary';
export type { LayerRow } from './basics/summary';
export { runTaps, tapModel, spatialLayerNames } from './taps';

export { gradCam } from './explain/cam/gradcam';
export { gradCamPlusPlus } from './explain/cam/gradcampp';
export type { GradCamPlusPlusOptions } from './explain/cam/gradcampp';
export { ablationCam } from './explain/cam/ablationcam';
export type { AblationCamOptions } from './explain/cam/ablationcam';
export { eigenGradCam } from './explain/cam/eigengradcam';
export { gradCamElementWise } from './explain/cam/gradcamelementwise';
export { kpcaCam } from './explain/cam/kpcacam';
export type { KpcaCamOptions, KpcaKernel } from './explain/cam/kpcacam';
export { finerCam } from './explain/cam/finercam';
export type { FinerCamOptions } from './explain/cam/finercam';
export { fem } from './explain/cam/fem';
export type { FemOptions } from './explain/cam/fem';
export { xGradCam } from './explain/cam/xgradcam';
export { layerCam } from './explain/cam/layercam';
export { hiResCam } from './explain/cam/hirescam';
export { cam } from './explain/cam/cam';
export { eigenCam } from './explain/cam/eigencam';
export type { EigenCamOptions } from './explain/cam/eigencam';
export { scoreCam } from './explain/cam/scorecam';
export type { ScoreCamOptions } from './explain/cam/scorecam';
export { CamMethod, CONVENTIONS } from './explain/cam/base';
export type { CamOptions, Convention } from './explain/cam/base';
export { CAM_METHODS, camMethod } from './explain/methods';
export { ExplainResult } from './explain/explainResult';
export { float32Rows, float32Value } from './explain/json';
export { parseLayerChannel, toTarget } from './explain/targets';
export type { ExplainedClass, LayerChannel, Target, TargetSpec } from './explain/targets';
export { Head, modelHead } from './models/head';
export type { HeadKind } from './models/head';
export { layerGradients, inputGradients, logitsOf } from './explain/gradients';
export { explainMethod, explainMethodIds, explainMethods, findMethod, registerExplainMethod, METHOD_KINDS } from './explain/registry';
export type { ExplainMethodInfo, ExplainOptions, MethodKind } from './explain/registry';
export { saliency } from './explain/attribution/saliency';
export { gradientXInput } from './explain/attribution/gradxinput';
export { guidedBackprop, deconvnet } from './explain/attribution/guided';
export { smoothGrad } from './explain/attribution/smoothgrad';
export type { SmoothGradOptions } from './explain/attribution/smoothgrad';
export { integratedGradients } from './explain/attribution/integratedGradients';
export type { IntegratedGradientsOptions } from './explain/attribution/integratedGradients';
export { guidedGradCam } from './explain/attribution/guidedGradCam';
export { fullGrad } from './explain/attribution/fullgrad';
export { rise } from './explain/attribution/rise';
export type { RiseOptions } from './explain/attribution/rise';
export type { GuidedGradCamOptions } from './explain/attribution/guidedGradCam';
export { occlusion } from './explain/occlusion';
export type { OcclusionOptions } from './explain/occlusion';
export { topPercentMask, thresholdMask, occlusionMask, topPercentPicture } from './explain/masks';
export { AttributionMethod } from './explain/attribution/base';
export type { AttributionOptions } from './explain/attribution/base';
export { AttributionResult } from './explain/attribution/result';
export { ATTRIBUTION_METHODS, attributionMethod } from './explain/attribution';
export * as evaluation from './explain/eval';
export { maximize, filterPatterns, ActivationMaxResult, FilterPatternsResult } from './optvis/render';
export * as optvis from './optvis';

export { Result, showing } from './display/result';
export { ImageResult } from './display/imageResult';
export { displayBundle, inNotebook } from './display/jupyter';
export { Progress } from './display/progress';
export { buildReport } from './report/report';
export { generateScene } from './data/shapes';

export * as images from './images/decode';
export { encodePng, pngDataUrl, toRGBA } from './images/encode';
export { resizeImage, centerCrop, loadForModel } from './images/resize';
export { applyColormap, colormapNames } from './render/colormaps';
export { makeGrid } from './render/grid';
export { overlayHeatmap } from './render/overlay';
export { upsampleBilinear } from './render/upsample';

import * as tf from '@tensorflow/tfjs';
/** The TensorFlow.js instance cnnvis computes with. */
export { tf };

export * as widgets from './widgets';
export { display } from './widgets/display';

export * as explore from './explore';
