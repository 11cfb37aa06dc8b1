/**
 * The first stage of the pipeline: any image source → the picture at the model's input size and the
 * preprocessed batch tensor. Sources: a file path, a file name found in $CNNVIS_DATA, `scene:<seed>`
 * (a generated demo scene), encoded bytes, an RGBImage, or an image tensor.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generateScene } from '../data/shapes';
import { CnnvisError } from '../errors';
import { decodeImage, imageFromTensor, loadImageFile } from '../images/decode';
import { loadForModel, ResizeMode } from '../images/resize';
import { asCnnModel, CnnModel } from '../models/model';
import { imageToBatch } from '../models/preprocess';
import { RGBImage } from '../types';

export type ImageSource = string | Uint8Array | RGBImage | tf.Tensor3D | tf.Tensor4D;

export interface InputOptions {
  /** 'stretch' (Keras load_img(target_size), the default) or 'center-crop'. */
  resize?: ResizeMode;
}

export interface PreparedInput {
  /** The picture as the model sees it (input size, before preprocessing). */
  image: RGBImage;
  /** Preprocessed [1, H, W, C] batch. The caller disposes it. */
  batch: tf.Tensor4D;
  /** A short name for the source (file name, `scene:7`, `pixels`). */
  name: string;
}

/** The folder where image file names are looked up ($CNNVIS_DATA), if set. */
export function dataImagesDir(): string | undefined {
  const d = process.env.CNNVIS_DATA;
  return d && d.trim() ? path.resolve(d) : undefined;
}

/** Finds an image file: the path itself, or the name inside $CNNVIS_DATA. */
export function findImageFile(name: string): string {
  if (fs.existsSync(name)) return name;
  const dir = dataImagesDir();
  if (dir && !path.isAbsolute(name)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
    const available = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)) : [];
    throw new CnnvisError(
      `image '${name}' not found (nor in CNNVIS_DATA=${dir}); images there: ${available.join(', ') || 'none'}`,
      available,
    );
  }
  throw new CnnvisError(`image '${name}' not found; give a PNG or JPEG path, a file name in $CNNVIS_DATA, or scene:<seed>`);
}

/** Any image source as an RGB image at its own size. */
export function readImage(src: ImageSource, sceneSize = 64): { image: RGBImage; name: string } {
  if (typeof src === 'string') {
    const scene = /^scene:(\d+)$/.exec(src);
    if (scene) return { image: generateScene(Number(scene[1]), { size: sceneSize }).image, name: src };
    const file = findImageFile(src);
    return { image: loadImageFile(file), name: path.basename(file) };
  }
  if (src instanceof tf.Tensor) return { image: imageFromTensor(src), name: 'tensor' };
  if (src instanceof Uint8Array) return { image: decodeImage(src, 'bytes'), name: 'bytes' };
  if (src && typeof src === 'object' && 'width' in src && 'height' in src && 'data' in src) {
    const img = src as RGBImage;
    if (img.data.length !== img.width * img.height * 3) {
      throw new CnnvisError(`RGB image data has ${img.data.length} bytes; ${img.width}×${img.height}×3 needs ${img.width * img.height * 3}`);
    }
    return { image: img, name: 'pixels' };
  }
  throw new CnnvisError('unsupported image source; give a file path, a name in $CNNVIS_DATA, scene:<seed>, PNG/JPEG bytes, an RGB image {width, height, data} or an image tensor');
}

/** Longest side an any-size model runs an image at (larger images are scaled down to it). */
export const MAX_ANY_SIZE_SIDE = 1024;

/**
 * The model to explain `image` with: the model itself, or — for a model that takes any input size — the
 * model at the image's own size (scaled down to at most MAX_ANY_SIZE_SIDE a side).
 */
export function modelFor(m: CnnModel | tf.LayersModel, image: ImageSource): CnnModel {
  const model = asCnnModel(m);
  if (!model.anySize) return model;
  const { image: img } = readImage(image, model.inputHeight);
  const s = Math.min(1, MAX_ANY_SIZE_SIDE / Math.max(img.width, img.height));
  const h = Math.max(8, Math.round(img.height * s));
  const w = Math.max(8, Math.round(img.width * s));
  return model.atSize(h, w, s < 1 ? `the image scaled down to at most ${MAX_ANY_SIZE_SIDE} px a side` : "the image's own size");
}

/**
 * Reads, resizes and preprocesses an image for a model. Every image method starts here, so this is
 * also where NaN or Inf weights are reported (checked once per weight value, see models/finite).
 */
export function prepareInput(model: CnnModel, src: ImageSource, opts: InputOptions = {}): PreparedInput {
  model.assertFiniteWeights();
  const { image, name } = readImage(src, model.inputHeight);
  const sized = loadForModel(image, model.inputHeight, model.inputWidth, { mode: opts.resize ?? 'stretch' });
  let batch = imageToBatch(sized, model.preprocess);
  if (model.inputChannels === 1) {
    const gray = tf.tidy(() => batch.mean(-1, true) as tf.Tensor4D);
    batch.dispose();
    batch = gray;
  }
  return { image: sized, batch, name };
}
