/**
 * Guided Grad-CAM (Selvaraju et al. 2017): guided backpropagation multiplied pixel-wise by the
 * Grad-CAM map of the same class, upsampled to the input and scaled to [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { GradCam } from '../cam/gradcam';
import { ChannelTarget } from '../gradients';
import { AttributionContext, attributionFunction, AttributionMethod, AttributionOptions } from './base';

export interface GuidedGradCamOptions extends AttributionOptions {
  /** Grad-CAM layer (default: the last layer with spatial output). */
  layer?: string;
}

export class GuidedGradCam extends AttributionMethod<GuidedGradCamOptions> {
  readonly name = 'Guided Grad-CAM';
  readonly id = 'guided-gradcam';
  override readonly rgbPanel = true;

  override checkTarget(t: number | ChannelTarget): void {
    if (typeof t !== 'number') throw new CnnvisError(`Guided Grad-CAM explains a class (Grad-CAM needs class scores); give classIndex or label instead of target '${t.layer}:${t.channel}'`);
  }

  async attribute(ctx: AttributionContext, o: GuidedGradCamOptions): Promise<tf.Tensor4D> {
    const cam = await new GradCam().explain(ctx.model, ctx.image, { classIndex: ctx.classIndex as number, layer: o.layer, display: false });
    ctx.details.layer = cam.layer;
    const gb = ctx.gradient(ctx.batch, 'guided');
    const out = tf.tidy(() => tf.mul(gb, tf.tensor4d(cam.map.data, [1, cam.map.height, cam.map.width, 1])) as tf.Tensor4D);
    gb.dispose();
    return out;
  }
}

export const guidedGradCam = attributionFunction<GuidedGradCamOptions>(new GuidedGradCam());
