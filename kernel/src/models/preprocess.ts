/** Model input preprocessing: each model family's pixel convention, applied to an RGB image. */
import { INFERENCE_IDENTITY } from './layerClasses';
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { PREPROCESS_NAMES, PreprocessName, RGBImage } from '../types';

/** ImageNet channel means in BGR order, as Keras' caffe-style preprocessing subtracts them. */
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];
/** torchvision's ImageNet normalization (and Keras' mode='torch'): RGB / 255, then these mean and std. */
export const TORCH_MEAN = [0.485, 0.456, 0.406];
export const TORCH_STD = [0.229, 0.224, 0.225];

export function parsePreprocess(name: string): PreprocessName {
  if ((PREPROCESS_NAMES as readonly string[]).includes(name)) return name as PreprocessName;
  throw new CnnvisError(`unknown preprocessing '${name}'; valid: ${PREPROCESS_NAMES.join(', ')}`, PREPROCESS_NAMES);
}

/** The family's preprocessing when a model name says mobilenet or vgg, else undefined. */
export function preprocessFromName(name: string): PreprocessName | undefined {
  if (/mobilenet/i.test(name)) return 'mobilenet';
  if (/vgg/i.test(name)) return 'vgg16';
  return undefined;
}

/** Applies preprocessing to a float tensor of RGB pixels in [0, 255] with shape [..., 3]. */
export function preprocessTensor(rgb255: tf.Tensor, mode: PreprocessName): tf.Tensor {
  return tf.tidy(() => {
    switch (mode) {
      case 'mobilenet':
        return rgb255.div(127.5).sub(1);
      case 'vgg16': {
        const bgr = tf.reverse(rgb255, -1);
        return bgr.sub(tf.tensor1d(CAFFE_MEAN_BGR));
      }
      case 'torch':
        return rgb255.div(255).sub(tf.tensor1d(TORCH_MEAN)).div(tf.tensor1d(TORCH_STD));
      case 'unit':
        return rgb255.div(255);
      case 'none':
        return rgb255.clone();
    }
  });
}

/** An RGB image (already at the model's input size) as a preprocessed [1, H, W, 3] batch. */
export function imageToBatch(img: RGBImage, mode: PreprocessName): tf.Tensor4D {
  return tf.tidy(() => {
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32').toFloat();
    return preprocessTensor(t, mode).expandDims(0) as tf.Tensor4D;
  });
}

/** Inverse of preprocessTensor for display: back to RGB in [0, 255]. */
export function deprocessTensor(x: tf.Tensor, mode: PreprocessName): tf.Tensor {
  return tf.tidy(() => {
    switch (mode) {
      case 'mobilenet':
        return x.add(1).mul(127.5);
      case 'vgg16':
        return tf.reverse(x.add(tf.tensor1d(CAFFE_MEAN_BGR)), -1);
      case 'torch':
        return x.mul(tf.tensor1d(TORCH_STD)).add(tf.tensor1d(TORCH_MEAN)).mul(255);
      case 'unit':
        return x.mul(255);
      case 'none':
        return x.clone();
    }
  });
}

/** Layers that change an image's size but not its pixel scale. */
const RESIZE = new Set(['Resizing', 'CenterCrop', 'RandomCrop']);

/**
 * Preprocessing that lives in the model: a Rescaling or Normalization layer at the start of the graph
 * (after augmentation and resizing layers, which leave pixel values in their range). Then the model
 * takes raw 0–255 pixels and cnnvis' default preprocessing is 'none'.
 */
export function inModelPreprocessing(net: tf.LayersModel): { layer: string; note: string } | null {
  let layer: tf.layers.Layer | undefined = net.inputLayers?.[0] ?? net.layers[0];
  for (let hops = 0; layer && hops < 16; hops++) {
    const next: tf.layers.Layer[] = layer.outboundNodes.map((n) => n.outboundLayer as tf.layers.Layer);
    if (next.length !== 1) return null;
    layer = next[0];
    const cls = layer.getClassName();
    if (cls === 'Rescaling') {
      const cfg = layer.getConfig() as { scale?: number; offset?: number };
      const offset = cfg.offset ? ` ${cfg.offset < 0 ? '−' : '+'} ${Math.abs(cfg.offset)}` : '';
      return { layer: layer.name, note: `the model scales its own input (layer '${layer.name}': x × ${+(cfg.scale ?? 1).toPrecision(6)}${offset}), so it takes pixels 0–255` };
    }
    if (cls === 'Normalization') {
      return { layer: layer.name, note: `the model normalizes its own input (layer '${layer.name}'), so it takes pixels 0–255` };
    }
    if (!INFERENCE_IDENTITY.has(cls) && !RESIZE.has(cls)) return null;
  }
  return null;
}
