/** All CAM methods as objects, in registry order (registry.ts describes and finds them). */
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
import { findMethod } from './registry';

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

/** A CAM method by id ('gradcam', 'gradcampp', …), display name ('Grad-CAM++') or alias (registry.ts findMethod). */
export function camMethod(name: string): CamMethod<CamOptions> {
  const id = findMethod(name, { kinds: ['cam'], family: 'CAM method' }).id;
  return CAM_METHODS.find((m) => m.id === id) as CamMethod<CamOptions>;
}
