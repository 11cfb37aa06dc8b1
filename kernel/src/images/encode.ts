/** Image output: PNG bytes, data URLs, and RGB → RGBA. */
import { PNG } from 'pngjs';
import { CnnvisError } from '../errors';
import type { RGBAImage, RGBImage } from '../types';
import { channelsOf } from './pixels';

/**
 * An RGBA image from an RGB(A) image (alpha 0..255, default opaque), or from [H, W, 3] floats in
 * [0, 1] (clamped, scaled to bytes, opaque).
 */
export function toRGBA(img: RGBImage | RGBAImage, alpha?: number): RGBAImage;
export function toRGBA(pixels: Float32Array, width: number, height: number): RGBAImage;
export function toRGBA(src: RGBImage | RGBAImage | Float32Array, a = 255, height?: number): RGBAImage {
  if (src instanceof Float32Array) {
    const width = a;
    const n = width * (height as number);
    const data = new Uint8Array(n * 4);
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.round(Math.min(1, Math.max(0, src[p * 3 + c])) * 255);
      data[p * 4 + 3] = 255;
    }
    return { width, height: height as number, data };
  }
  const img = src;
  const alpha = a;
  if (!Number.isInteger(alpha) || alpha < 0 || alpha > 255) {
    throw new CnnvisError(`alpha must be an integer in 0..255, got ${alpha}`);
  }
  const n = img.width * img.height;
  if (channelsOf(img) === 4) return { width: img.width, height: img.height, data: img.data.slice() };
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[4 * i] = img.data[3 * i];
    out[4 * i + 1] = img.data[3 * i + 1];
    out[4 * i + 2] = img.data[3 * i + 2];
    out[4 * i + 3] = alpha;
  }
  return { width: img.width, height: img.height, data: out };
}

/**
 * Encodes an image as an 8-bit PNG: RGB images as colour type 2 (no alpha), RGBA images as colour
 * type 6. Decoding the result gives back the exact bytes.
 */
export function encodePng(img: RGBAImage | RGBImage): Uint8Array {
  const c = channelsOf(img);
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const buf = PNG.sync.write(png, {
    colorType: c === 4 ? 6 : 2,
    inputColorType: c === 4 ? 6 : 2,
    inputHasAlpha: c === 4,
  });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A `data:image/png;base64,…` URL of the image, for HTML output and notebooks. */
export function pngDataUrl(img: RGBAImage | RGBImage): string {
  const png = encodePng(img);
  return 'data:image/png;base64,' + Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64');
}
