/** Activation maximization ("feature visualization"): objectives, parameterizations, transforms, render loop. */
export * from './objectives';
export * from './param';
export { fft, fftFactors, RealDft2d, inverseRealDft2d, inverseRealDft2dAdjoint } from './fft';
export { Sampler } from './sampler';
export type { SampleMap } from './sampler';
export * from './transforms';
export * from './regularizers';
export * from './render';
export { Rng } from './rng';
export { ensureInputGradients, addedKernels } from '../engine/wasmGradients';
export { withFastLayers } from '../engine/fastLayers';
