/** The attribution methods (gradient family, occlusion, RISE) as objects, in registry order (registry.ts describes and finds them). */
import { Occlusion } from '../occlusion';
import { findMethod } from '../registry';
import { AttributionMethod, AttributionOptions } from './base';
import { GradientXInput } from './gradxinput';
import { Deconvnet, GuidedBackprop } from './guided';
import { FullGrad } from './fullgrad';
import { GuidedGradCam } from './guidedGradCam';
import { IntegratedGradients } from './integratedGradients';
import { Rise } from './rise';
import { Saliency } from './saliency';
import { SmoothGrad } from './smoothgrad';

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
