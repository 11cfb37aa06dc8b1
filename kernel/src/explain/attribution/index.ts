/**
 * The attribution methods (gradient family, occlusion, RISE): as objects, in registry order
 * (registry.ts describes and finds them), and as the notebook functions with their option types that
 * the package exports (index.ts).
 */
import { Occlusion, occlusion, OcclusionOptions } from '../occlusion';
import { findMethod } from '../registry';
import { AttributionMethod, AttributionOptions } from './base';
import { GradientXInput, gradientXInput } from './gradxinput';
import { Deconvnet, deconvnet, GuidedBackprop, guidedBackprop } from './guided';
import { FullGrad, fullGrad } from './fullgrad';
import { GuidedGradCam, guidedGradCam, GuidedGradCamOptions } from './guidedGradCam';
import { IntegratedGradients, integratedGradients, IntegratedGradientsOptions } from './integratedGradients';
import { Rise, rise, RiseOptions } from './rise';
import { Saliency, saliency } from './saliency';
import { SmoothGrad, smoothGrad, SmoothGradOptions } from './smoothgrad';

export const ATTRIBUTION_METHODS: readonly AttributionMethod<AttributionOptions>[] = [
  new Saliency(),
  new GradientXInput(),
  new GuidedBackprop(),
  new Deconvnet(),
  new SmoothGrad(),
  new IntegratedGradients(),
  new GuidedGradCam(),
  new Occlusion(),
  new FullGrad(),
  new Rise(),
];

/** An attribution or perturbation method by id ('saliency', 'integrated-gradients', …), alias ('ig') or display name (registry.ts findMethod). */
export function attributionMethod(name: string): AttributionMethod<AttributionOptions> {
  const id = findMethod(name, { kinds: ['attribution', 'perturbation'], family: 'attribution method' }).id;
  return ATTRIBUTION_METHODS.find((m) => m.id === id) as AttributionMethod<AttributionOptions>;
}

export { saliency, gradientXInput, guidedBackprop, deconvnet, smoothGrad, integratedGradients, guidedGradCam, occlusion, fullGrad, rise };
export type { SmoothGradOptions, IntegratedGradientsOptions, GuidedGradCamOptions, OcclusionOptions, RiseOptions };
