/** The attribution methods (gradient family and occlusion) by id, for the CLI and code that picks one by name. */
import { CnnvisError } from '../../errors';
import { Occlusion } from '../occlusion';
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

const ALIASES: Record<string, string> = { ig: 'integrated-gradients', guided: 'guided-backprop', 'gradient-x-input': 'gradxinput', 'grad-x-input': 'gradxinput' };

/** A method by id ('saliency', 'integrated-gradients', …), alias ('ig') or display name, case-insensitive. */
export function attributionMethod(name: string): AttributionMethod<AttributionOptions> {
  const key = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');
  const k = key(ALIASES[name.toLowerCase()] ?? name);
  const m = ATTRIBUTION_METHODS.find((x) => key(x.id) === k || key(x.name) === k);
  if (!m) {
    const ids = ATTRIBUTION_METHODS.map((x) => x.id);
    throw new CnnvisError(`unknown attribution method '${name}'; methods: ${ids.join(', ')}`, ids);
  }
  return m;
}
