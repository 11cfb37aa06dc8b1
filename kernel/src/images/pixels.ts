/**
 * Small pixel helpers shared by the image stage: validation, channel counting, alpha compositing and
 * the float → byte rule used for pixels and tensors.
 */
import { CnnvisError } from '../errors';
import { extent } from '../render/normalize';
import type { RGBAImage, RGBImage } from '../types';

/** An RGB colour, 0..255 per channel. */
export type RGB = readonly [number, number, number];
/** An RGBA colour, 0..255 per channel (alpha 255 = opaque). */
export type RGBA = readonly [number, number, number, number];

/** Where transparent pixels end up when an image loses its alpha channel. */
export const WHITE: RGB = [255, 255, 255];

/** Throws unless `n` is a positive integer; `what` names the argument in the message. */
export function assertPositiveInt(n: number, what: string): void {
  if (!Number.isInteger(n) || n <= 0) {
    throw new CnnvisError(`${what} must be a positive integer, got ${n}`);
  }
}

/** 3 for an RGBImage, 4 for an RGBAImage; throws when the data length fits neither. */
export function channelsOf(img: RGBImage | RGBAImage): 3 | 4 {
  const px = img.width * img.height;
  if (img.data.length === px * 3) return 3;
  if (img.data.length === px * 4) return 4;
  throw new CnnvisError(
    `image data has ${img.data.length} bytes, which fits neither RGB (${px * 3}) nor RGBA (${px * 4}) ` +
      `for ${img.width}×${img.height}`,
  );
}

/**
 * Composites RGBA bytes onto an opaque background colour: out = (c·a + bg·(255−a)) / 255, rounded.
 * Fully opaque pixels keep their exact values.
 */
export function compositeRGBA(rgba: ArrayLike<number>, pixels: number, background: RGB = WHITE): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0, j = 0; i < pixels; i++, j += 4) {
    const a = rgba[j + 3];
    const o = i * 3;
    if (a === 255) {
      out[o] = rgba[j];
      out[o + 1] = rgba[j + 1];
      out[o + 2] = rgba[j + 2];
    } else {
      const na = 255 - a;
      out[o] = Math.round((rgba[j] * a + background[0] * na) / 255);
      out[o + 1] = Math.round((rgba[j + 1] * a + background[1] * na) / 255);
      out[o + 2] = Math.round((rgba[j + 2] * a + background[2] * na) / 255);
    }
  }
  return out;
}

/**
 * How float pixel values map to bytes: when the largest value is ≤ 1 the data is taken as [0, 1] and
 * multiplied by 255, otherwise as [0, 255]. Values are rounded and clamped. Clearly signed data
 * (minimum below −0.05, e.g. MobileNet's [−1, 1] or VGG's mean-subtracted input) is rejected, because
 * it is model input, not an image. NaN is rejected too.
 */
export function floatScale(data: ArrayLike<number>, what: string): number {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new CnnvisError(`${what} contains ${data[i]} at index ${i}; pixel values must be finite numbers in [0, 255] or [0, 1]`);
    }
  }
  const { min, max } = extent(data);
  if (min < -0.05) {
    throw new CnnvisError(
      `${what} has values in [${min.toPrecision(4)}, ${max.toPrecision(4)}], which looks like preprocessed ` +
        `model input; valid pixel ranges are [0, 255] or [0, 1] — undo the preprocessing first`,
    );
  }
  return max <= 1 ? 255 : 1;
}

/** Rounds and clamps a number to a byte. */
export function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
