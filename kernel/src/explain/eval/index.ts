/** Evaluating explanations: faithfulness curves, localization, sanity checks, map statistics. */
export { deletionCurve, insertionCurve, gaussianBlur, pixelOrder } from './perturbation';
export type { PerturbationBaseline, PerturbationCurve, PerturbationOptions } from './perturbation';
export { road, noisyLinearImpute, RoadResult } from './road';
export type { RoadCurve, RoadOptions } from './road';
export { confidenceChange, averageDropIncrease } from './confidence';
export type { ConfidenceChange } from './confidence';
export { curvesChart, showCurves, CurvesResult } from './charts';
export type { ChartCurve, CurveLike } from './charts';
export { pointingAccuracy, pointingGame } from './pointing';
export type { PixelBox, PointingOptions, PointingResult } from './pointing';
export { cascadingRandomization, layersFromTop, modelRandomization, randomizedWeights } from './randomization';
export type { ExplainFn, RandomizationOptions, RandomizationResult, RandomizationStep } from './randomization';
export { maxAbsDiff, pearson, ranks, spearman, trapezoid } from './stats';
