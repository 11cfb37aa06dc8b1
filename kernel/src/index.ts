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

export { CamMethod, CONVENTIONS } from './explain/cam/base';
export type { CamOptions, Convention } from './explain/cam/base';
export * from './explain/methods';
export { ExplainResult } from './explain/explainResult';
export { float32Rows, float32Value } from './explain/json';
export { parseLayerChannel, toTarget } from './explain/targets';
export type { ExplainedClass, LayerChannel, Target, TargetSpec } from './explain/targets';
export { Head, modelHead } from './models/head';
export type { HeadKind } from './models/head';
export { layerGradients, inputGradients, logitsOf } from './explain/gradients';
export { explainMethod, explainMethodIds, explainMethods, findMethod, registerExplainMethod, METHOD_KINDS } from './explain/registry';
export type { ExplainMethodInfo, ExplainOptions, MethodKind } from './explain/registry';
export { topPercentMask, thresholdMask, occlusionMask, topPercentPicture } from './explain/masks';
export { AttributionMethod } from './explain/attribution/base';
export type { AttributionOptions } from './explain/attribution/base';
export { AttributionResult } from './explain/attribution/result';
export * from './explain/attribution';
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
