/**
 * Image input: bytes (PNG, JPEG), files, raw pixel arrays and tensors → RGBImage.
 *
 * Policies, in one place:
 * - The format is detected from the magic bytes, never from the file name.
 * - Alpha is composited onto a background colour, white by default (what a browser shows on a white
 *   page); pass `background` to choose another. Fully opaque pixels keep their exact values.
 * - 16-bit PNGs are reduced to 8 bits (round(v·255/65535)); grey, grey+alpha and palette PNGs become RGB.
 * - Images larger than `maxSide` (default 4096) on their long side are downscaled on decode with a box
 *   (area) filter, so everything after decoding works on a bounded size. Before decoding, the header
 *   is read and images above `maxMegapixels` (default 64) are refused, which bounds decode memory.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import type { RGBImage } from '../types';
import { assertPositiveInt, compositeRGBA, floatScale, RGB, toByte, WHITE } from './pixels';
import { resizeImage } from './resize';

/** Kinds of file `detectFormat` recognizes; only 'png' and 'jpeg' can be decoded. */
export type ImageFormat =
  | 'png'
  | 'jpeg'
  | 'gif'
  | 'webp'
  | 'bmp'
  | 'tiff'
  | 'ico'
  | 'avif'
  | 'heic'
  | 'pdf'
  | 'svg'
  | 'html'
  | 'unknown';

export const SUPPORTED_FORMATS: readonly ImageFormat[] = ['png', 'jpeg'];

export interface DecodeOptions {
  /** Longest side kept after decoding; larger images are box-downscaled to it. Default 4096. */
  maxSide?: number;
  /** Images with more pixels than this (in millions, read from the header) are refused. Default 64. */
  maxMegapixels?: number;
  /** Memory limit handed to the JPEG decoder, in MB. Default 1024. */
  maxMemoryMB?: number;
  /** Colour that transparent pixels are composited onto. Default white. */
  background?: RGB;
}

export const DEFAULT_MAX_SIDE = 4096;
export const DEFAULT_MAX_MEGAPIXELS = 64;
export const DEFAULT_MAX_MEMORY_MB = 1024;

const FORMAT_LABEL: Record<ImageFormat, string> = {
  png: 'PNG',
  jpeg: 'JPEG',
  gif: 'GIF',
  webp: 'WebP',
  bmp: 'BMP',
  tiff: 'TIFF',
  ico: 'ICO',
  avif: 'AVIF',
  heic: 'HEIC',
  pdf: 'PDF',
  svg: 'SVG',
  html: 'HTML (maybe an error page saved instead of the image)',
  unknown: 'unknown',
};

function startsWith(bytes: Uint8Array, sig: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[offset + i] !== sig[i]) return false;
  return true;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < Math.min(end, bytes.length); i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** The kind of file these bytes are, from their magic bytes. */
export function detectFormat(bytes: Uint8Array): ImageFormat {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  const head = ascii(bytes, 0, 12);
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'webp';
  if (head.startsWith('BM')) return 'bmp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00])) return 'ico';
  if (head.slice(4, 8) === 'ftyp') {
    const brand = head.slice(8, 12);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (/^(heic|heix|hevc|hevx|mif1|msf1)$/.test(brand)) return 'heic';
  }
  if (head.startsWith('%PDF')) return 'pdf';
  const text = ascii(bytes, 0, 512).replace(/^\uFEFF?\s*/, '').toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'svg';
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) return 'html';
  return 'unknown';
}

function label(name: string | undefined): string {
  return name ? `image '${name}'` : 'image';
}

/** Width and height from a PNG IHDR chunk (always the first chunk). */
function pngSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 24 || ascii(bytes, 12, 16) !== 'IHDR') return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/** Width and height from the first JPEG start-of-frame marker, or null when none is reached. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = (bytes[i + 2] << 8) | bytes[i + 3];
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return { height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8] };
    i += 2 + len;
  }
  return null;
}

function checkSize(size: { width: number; height: number }, what: string, maxMegapixels: number): void {
  if (size.width === 0 || size.height === 0) {
    throw new CnnvisError(`${what} declares an empty size ${size.width}×${size.height}; the file is corrupt`);
  }
  const mp = (size.width * size.height) / 1e6;
  if (mp > maxMegapixels) {
    throw new CnnvisError(
      `${what} is ${size.width}×${size.height} (${mp.toFixed(1)} megapixels), above the limit of ` +
        `${maxMegapixels} megapixels; shrink it first or raise maxMegapixels`,
    );
  }
}

function corrupt(kind: string, what: string, e: unknown): CnnvisError {
  const why = e instanceof Error ? e.message : String(e);
  return new CnnvisError(`${what} could not be decoded as ${kind}: the file is truncated or corrupt (${why})`);
}

/** Downscales so the long side is at most maxSide, keeping the aspect ratio (box filter). */
function capSize(img: RGBImage, maxSide: number): RGBImage {
  const long = Math.max(img.width, img.height);
  if (long <= maxSide) return img;
  const s = maxSide / long;
  const w = Math.max(1, Math.round(img.width * s));
  const h = Math.max(1, Math.round(img.height * s));
  return resizeImage(img, w, h, { interpolation: 'area' });
}

/**
 * Decodes PNG or JPEG bytes to RGB. `name` (a file name or URL) only appears in error messages.
 * See the module comment for alpha, bit depth and size policies.
 */
export function decodeImage(bytes: Uint8Array, name?: string, options: DecodeOptions = {}): RGBImage {
  const what = label(name);
  const maxSide = options.maxSide ?? DEFAULT_MAX_SIDE;
  const maxMegapixels = options.maxMegapixels ?? DEFAULT_MAX_MEGAPIXELS;
  const background = options.background ?? WHITE;
  assertPositiveInt(maxSide, 'maxSide');
  if (bytes.length === 0) throw new CnnvisError(`${what} is empty (0 bytes); expected a PNG or JPEG file`);
  const format = detectFormat(bytes);
  let img: RGBImage;
  if (format === 'png') {
    const size = pngSize(bytes);
    if (!size) throw new CnnvisError(`${what} has a PNG signature but no header; the file is truncated or corrupt`);
    checkSize(size, what, maxMegapixels);
    let png: ReturnType<typeof PNG.sync.read>;
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      throw corrupt('PNG', what, e);
    }
    const pixels = png.width * png.height;
    img = { width: png.width, height: png.height, data: compositeRGBA(png.data, pixels, background) };
  } else if (format === 'jpeg') {
    const size = jpegSize(bytes);
    if (!size) throw new CnnvisError(`${what} has a JPEG signature but no frame header; the file is truncated or corrupt`);
    checkSize(size, what, maxMegapixels);
    let raw: { width: number; height: number; data: Uint8Array };
    try {
      raw = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: false,
        maxResolutionInMP: maxMegapixels,
        maxMemoryUsageInMB: options.maxMemoryMB ?? DEFAULT_MAX_MEMORY_MB,
      });
    } catch (e) {
      throw corrupt('JPEG', what, e);
    }
    img = { width: raw.width, height: raw.height, data: raw.data };
  } else {
    const kind = FORMAT_LABEL[format];
    const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new CnnvisError(
      format === 'unknown'
        ? `${what} is not a supported image (first bytes: ${hex}); supported formats: PNG, JPEG`
        : `${what} is ${kind}, which is not supported; supported formats: PNG, JPEG — convert it first`,
      ['PNG', 'JPEG'],
    );
  }
  return capSize(img, maxSide);
}

/** Reads and decodes an image file (PNG or JPEG). */
export function loadImageFile(file: string, options: DecodeOptions = {}): RGBImage {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CnnvisError(`image file not found: '${file}' (looked at ${path.resolve(file)})`);
    }
    if (code === 'EISDIR') throw new CnnvisError(`'${file}' is a directory; expected a PNG or JPEG file`);
    throw new CnnvisError(`cannot read image file '${file}': ${(e as Error).message}`);
  }
  return decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file, options);
}

/**
 * An RGBImage from raw interleaved pixels (row-major, `channels` values per pixel):
 * 1 = grey (copied to R, G, B), 3 = RGB, 4 = RGBA (alpha composited onto `background`, default white).
 * Uint8Array/Uint8ClampedArray values are bytes. Float32Array values are read as [0, 1] when their
 * maximum is ≤ 1, else as [0, 255] (rounded, clamped); clearly signed data is refused.
 */
export function imageFromPixels(
  data: Uint8Array | Uint8ClampedArray | Float32Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  background: RGB = WHITE,
): RGBImage {
  assertPositiveInt(width, 'width');
  assertPositiveInt(height, 'height');
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new CnnvisError(`channels must be 1, 3 or 4, got ${channels}`, ['1', '3', '4']);
  }
  const pixels = width * height;
  if (data.length !== pixels * channels) {
    throw new CnnvisError(
      `pixel data has ${data.length} values but ${width}×${height}×${channels} needs ${pixels * channels}`,
    );
  }
  let bytes: ArrayLike<number> = data;
  if (data instanceof Float32Array) {
    const scale = floatScale(data, 'pixel data');
    const b = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) b[i] = toByte(data[i] * scale);
    bytes = b;
  }
  if (channels === 4) return { width, height, data: compositeRGBA(bytes, pixels, background) };
  const out = new Uint8Array(pixels * 3);
  if (channels === 3) {
    out.set(bytes);
  } else {
    for (let i = 0; i < pixels; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = bytes[i];
  }
  return { width, height, data: out };
}

/**
 * An RGBImage from an image tensor [H, W, C] or [1, H, W, C] with C = 1, 3 or 4. Values are read as
 * [0, 255], or as [0, 1] when the maximum is ≤ 1 (see imageFromPixels). The tensor is not disposed.
 */
export function imageFromTensor(t: Tensor3D | Tensor4D, background: RGB = WHITE): RGBImage {
  let shape = t.shape as number[];
  if (shape.length === 4) {
    if (shape[0] !== 1) {
      throw new CnnvisError(`image tensor has batch size ${shape[0]} (shape [${shape}]); pass one image: [1, H, W, C] or [H, W, C]`);
    }
    shape = shape.slice(1);
  }
  if (shape.length !== 3) {
    throw new CnnvisError(`image tensor must have shape [H, W, C] or [1, H, W, C], got [${t.shape}]`);
  }
  const [h, w, c] = shape;
  if (c !== 1 && c !== 3 && c !== 4) {
    throw new CnnvisError(`image tensor has ${c} channels (shape [${t.shape}]); valid: 1, 3 or 4`, ['1', '3', '4']);
  }
  const values = t.dataSync();
  const data = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  return imageFromPixels(data, w, h, c, background);
}
