/**
 * All CAM methods: as objects, in registry order (registry.ts describes and finds them), and as the
 * notebook functions with their option types that the package exports (index.ts).
 */
import { CamMethod, CamOptions } from './cam/base';
import { AblationCam, ablationCam, AblationCamOptions } from './cam/ablationcam';
import { Cam, cam } from './cam/cam';
import { EigenCam, eigenCam, EigenCamOptions } from './cam/eigencam';
import { EigenGradCam, eigenGradCam } from './cam/eigengradcam';
import { Fem, fem, FemOptions } from './cam/fem';
import { FinerCam, finerCam, FinerCamOptions } from './cam/finercam';
import { GradCam, gradCam } from './cam/gradcam';
import { GradCamElementWise, gradCamElementWise } from './cam/gradcamelementwise';
import { GradCamPlusPlus, gradCamPlusPlus, GradCamPlusPlusOptions } from './cam/gradcampp';
import { HiResCam, hiResCam } from './cam/hirescam';
import { KpcaCam, kpcaCam, KpcaCamOptions, KpcaKernel } from './cam/kpcacam';
import { LayerCam, layerCam } from './cam/layercam';
import { ScoreCam, scoreCam, ScoreCamOptions } from './cam/scorecam';
import { XGradCam, xGradCam } from './cam/xgradcam';
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

export { gradCam, gradCamPlusPlus, xGradCam, layerCam, hiResCam, cam, eigenCam, scoreCam, ablationCam, eigenGradCam, gradCamElementWise, kpcaCam, finerCam, fem };
export type { GradCamPlusPlusOptions, AblationCamOptions, EigenCamOptions, KpcaCamOptions, KpcaKernel, FinerCamOptions, FemOptions, ScoreCamOptions };
