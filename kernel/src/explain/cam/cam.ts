/**
 * CAM (Zhou et al. 2016), the original: on a network whose last feature map goes through global
 * average pooling into the output layer, the map for class c is Σ_k W[k, c]·A^k with W the output
 * layer's kernel. The output layer may be a Dense layer or a 1×1 convolution over the pooled vector
 * (as in MobileNet); Reshape / Flatten / Dropout may sit between the pooling and it.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../../errors';
import { ModelNode } from '../../models/graph';
import { CnnModel } from '../../models/model';
import { CamContext, camFunction, CamMethod } from './base';

const PASS_THROUGH = new Set(['Reshape', 'Flatten', 'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout']);

export interface CamHead {
  /** The layer whose output is pooled: the layer CAM explains. */
  featureLayer: string;
  pooling: string;
  /** The Dense / 1×1 Conv2D output layer whose kernel gives the weights. */
  outputLayer: string;
}

function only<T>(xs: readonly T[] | undefined): T | undefined {
  return xs && xs.length === 1 ? xs[0] : undefined;
}

/** Finds feature layer → global average pooling → (reshape/flatten/dropout) → Dense or 1×1 conv → logits. */
export function findCamHead(model: CnnModel): CamHead {
  const out = model.node(model.head.logitsLayer.name);
  const cls = out.kind;
  const why = (what: string) =>
    new CnnvisError(
      `CAM needs the feature map to go through global average pooling into the output layer (Dense or 1×1 Conv2D); ` +
        `model '${model.name}' ${what}. Use gradCam instead (it equals CAM on such networks) or scoreCam / eigenCam.`,
    );
  const kernelShape = out.weightShapes[0] ?? [];
  const isDense = cls === 'Dense';
  const is1x1 = cls === 'Conv2D' && kernelShape[0] === 1 && kernelShape[1] === 1;
  if (!isDense && !is1x1) throw why(`computes its logits with a ${cls} layer ('${out.name}')`);
  const input = (n: ModelNode): ModelNode | undefined => {
    const name = only(n.inputs);
    return name === undefined ? undefined : model.node(name);
  };
  let layer = input(out);
  for (let hops = 0; layer && PASS_THROUGH.has(layer.kind) && hops < 8; hops++) layer = input(layer);
  if (!layer || layer.kind !== 'GlobalAveragePooling2D') {
    throw why(`feeds '${out.name}' from ${layer ? `a ${layer.kind} layer ('${layer.name}')` : 'several layers'}, not from GlobalAveragePooling2D`);
  }
  const feature = only(layer.inputs);
  if (feature === undefined) throw why(`pools several inputs in '${layer.name}'`);
  return { featureLayer: feature, pooling: layer.name, outputLayer: out.name };
}

export class Cam extends CamMethod {
  readonly name = 'CAM';
  readonly id = 'cam';
  override readonly usesGradients = false;

  override defaultLayer(model: CnnModel): string {
    return findCamHead(model).featureLayer;
  }

  override check(model: CnnModel, layer: string): void {
    const head = findCamHead(model);
    if (layer !== head.featureLayer) {
      throw new CnnvisError(
        `CAM explains the layer that is globally pooled ('${head.featureLayer}' → '${head.pooling}'), not '${layer}'; ` +
          `leave layer out, or use gradCam for other layers`,
        [head.featureLayer],
      );
    }
  }

  /**
   * w_k = W[k, c], the output layer's weight from pooled channel k to class c's score; for a binary
   * (one-sigmoid) head the one column for class 1 and its negation for class 0 (the score −z).
   */
  weights(ctx: CamContext): tf.Tensor {
    const w = ctx.model.weights(findCamHead(ctx.model).outputLayer)[0];
    const c = ctx.activation.shape[2];
    const binary = ctx.model.head.kind === 'binary';
    return tf.tidy(() => {
      const kernel = tf.tensor(w.data, w.shape, 'float32');
      const w2 = kernel.reshape([-1, kernel.shape[kernel.shape.length - 1]]);
      if (w2.shape[0] !== c) throw new CnnvisError(`CAM: the output kernel has ${w2.shape[0]} inputs but layer '${ctx.layer}' has ${c} channels`);
      if (binary) return w2.slice([0, 0], [c, 1]).reshape([c]).mul(ctx.classIndex === 1 ? 1 : -1);
      return w2.slice([0, ctx.classIndex], [c, 1]).reshape([c]);
    });
  }
}

export const cam = camFunction(new Cam());
