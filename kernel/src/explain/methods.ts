/** All CAM methods by id, for the CLI and for code that picks a method by name. */
import { CnnvisError } from '../errors';
import { CamMethod, CamOptions } from './cam/base';
import { AblationCam } from './cam/ablationcam';
import { Cam } from './cam/cam';
import { EigenCam } from './cam/eigencam';
import { EigenGradCam } from './cam/eigengradcam';
import { Fem } from './cam/fem';
import { FinerCam } from './cam/finercam';
import { GradCam } from './cam/gradcam';
import { GradCamElementWise } from './cam/gradcamelementwise';
import { GradCamPlusPlus } from './cam/gradcampp';
import { HiResCam } from './cam/hirescam';
import { KpcaCam } from './cam/kpcacam';
import { LayerCam } from './cam/layercam';
import { ScoreCam } from './cam/scorecam';
import { XGradCam } from './cam/xgradcam';

export const CAM_METHODS: readonly CamMethod<CamOptions>[] = [
  new GradCam(),
  new GradCamPlusPlus(),
  new XGradCam(),
  new LayerCam(),
  new HiResCam(),
  new Cam(),
  new EigenCam(),
  new ScoreCam(),
  new AblationCam(),
  new EigenGradCam(),
  new GradCamElementWise(),
  new KpcaCam(),
  new FinerCam(),
  new Fem(),
];

/** A method by id ('gradcam', 'gradcampp', …) or display name ('Grad-CAM++'), case-insensitive. */
export function camMethod(name: string): CamMethod<CamOptions> {
  const key = name.toLowerCase().replace(/[^a-z+]/g, '').replace(/\+\+/g, 'pp');
  const m = CAM_METHODS.find((x) => x.id === key || x.name.toLowerCase().replace(/[^a-z+]/g, '').replace(/\+\+/g, 'pp') === key);
  if (!m) throw new CnnvisError(`unknown CAM method '${name}'; methods: ${CAM_METHODS.map((x) => x.id).join(', ')}`, CAM_METHODS.map((x) => x.id));
  return m;
}
