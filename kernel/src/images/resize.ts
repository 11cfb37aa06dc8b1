/**
 * Resizing and cropping of 8-bit images (RGB or RGBA; the channel count is kept).
 *
 * Sampling conventions (pixel centres at x + 0.5):
 * - 'nearest': source = floor((x + 0.5) · srcW / dstW), the same rule as PIL, hence as Keras
 *   `load_img(target_size=...)`, whose default interpolation is nearest.
 * - 'bilinear': half-pixel centres, no antialiasing — identical to tf.image.resizeBilinear with
 *   halfPixelCenters = true and OpenCV INTER_LINEAR. Use 'area' to shrink by large factors.
 * - 'area': each output pixel is the area-weighted mean of the source pixels it covers (a box
 *   filter with exact fractional overlaps); the right choice for downscaling.
 */
import { CnnvisError } from '../errors';
import type { RGBAImage, RGBImage } from '../types';
import { assertPositiveInt, channelsOf } from './pixels';

export type Interpolation = 'bilinear' | 'nearest' | 'area';
export const INTERPOLATIONS: readonly Interpolation[] = ['bilinear', 'nearest', 'area'];

export interface ResizeOptions {
  interpolation?: Interpolation;
}

function checkInterpolation(name: string): Interpolation {
  if (!(INTERPOLATIONS as readonly string[]).includes(name)) {
    throw new CnnvisError(`unknown interpolation '${name}'; valid: ${INTERPOLATIONS.join(', ')}`, INTERPOLATIONS);
  }
  return name as Interpolation;
}

function resizeNearest(src: Uint8Array, sw: number, sh: number, c: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * c);
  const xs = new Int32Array(dw);
  for (let x = 0; x < dw; x++) xs[x] = Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / dw));
  for (let y = 0; y < dh; y++) {
    const sy = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / dh));
    const row = sy * sw;
    let o = y * dw * c;
    for (let x = 0; x < dw; x++) {
      const s = (row + xs[x]) * c;
      for (let k = 0; k < c; k++) out[o++] = src[s + k];
    }
  }
  return out;
}

/** For each output coordinate: the two source indices and the weight of the second (half-pixel centres). */
export function bilinearTaps(src: number, dst: number): { lo: Int32Array; hi: Int32Array; frac: Float64Array } {
  const lo = new Int32Array(dst);
  const hi = new Int32Array(dst);
  const frac = new Float64Array(dst);
  const scale = src / dst;
  for (let i = 0; i < dst; i++) {
    const f = (i + 0.5) * scale - 0.5;
    const fl = Math.floor(f);
    lo[i] = Math.max(fl, 0);
    hi[i] = Math.min(Math.ceil(f), src - 1);
    frac[i] = f - fl;
  }
  return { lo, hi, frac };
}

/**
 * Bilinear resampling of interleaved c-channel rows (half-pixel centres, no antialiasing) into `out`:
 * rounded when `out` holds bytes, exact when it holds floats.
 */
export function resampleBilinear<T extends Uint8Array | Float32Array>(src: ArrayLike<number>, sw: number, sh: number, c: number, dw: number, dh: number, out: T): T {
  const tx = bilinearTaps(sw, dw);
  const ty = bilinearTaps(sh, dh);
  const bytes = out instanceof Uint8Array;
  let o = 0;
  for (let y = 0; y < dh; y++) {
    const r0 = ty.lo[y] * sw;
    const r1 = ty.hi[y] * sw;
    const fy = ty.frac[y];
    for (let x = 0; x < dw; x++) {
      const fx = tx.frac[x];
      const a = (r0 + tx.lo[x]) * c;
      const b = (r0 + tx.hi[x]) * c;
      const d = (r1 + tx.lo[x]) * c;
      const e = (r1 + tx.hi[x]) * c;
      for (let k = 0; k < c; k++) {
        const top = src[a + k] + (src[b + k] - src[a + k]) * fx;
        const bottom = src[d + k] + (src[e + k] - src[d + k]) * fx;
        const v = top + (bottom - top) * fy;
        out[o++] = bytes ? Math.round(v) : v;
      }
    }
  }
  return out;
}

function resizeBilinear(src: Uint8Array, sw: number, sh: number, c: number, dw: number, dh: number): Uint8Array {
  return resampleBilinear(src, sw, sh, c, dw, dh, new Uint8Array(dw * dh * c));
}

/** Box-filter weights: output i covers source interval [i·s, (i+1)·s), s = src/dst. */
function areaWeights(src: number, dst: number): { start: Int32Array; weights: Float64Array[] } {
  const start = new Int32Array(dst);
  const weights: Float64Array[] = [];
  const s = src / dst;
  for (let i = 0; i < dst; i++) {
    const a = i * s;
    const b = Math.min((i + 1) * s, src);
    const first = Math.floor(a);
    const last = Math.min(Math.ceil(b), src); // exclusive
    const w = new Float64Array(Math.max(1, last - first));
    for (let j = first; j < last; j++) w[j - first] = (Math.min(b, j + 1) - Math.max(a, j)) / (b - a);
    start[i] = first;
    weights.push(w);
  }
  return { start, weights };
}

function resizeArea(src: Uint8Array, sw: number, sh: number, c: number, dw: number, dh: number): Uint8Array {
  const wx = areaWeights(sw, dw);
  const wy = areaWeights(sh, dh);
  // Horizontal pass into floats (sh × dw), then vertical pass into bytes.
  const tmp = new Float32Array(sh * dw * c);
  for (let y = 0; y < sh; y++) {
    const row = y * sw;
    for (let x = 0; x < dw; x++) {
      const w = wx.weights[x];
      const s0 = wx.start[x];
      const o = (y * dw + x) * c;
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let j = 0; j < w.length; j++) acc += w[j] * src[(row + s0 + j) * c + k];
        tmp[o + k] = acc;
      }
    }
  }
  const out = new Uint8Array(dw * dh * c);
  for (let y = 0; y < dh; y++) {
    const w = wy.weights[y];
    const s0 = wy.start[y];
    for (let x = 0; x < dw; x++) {
      const o = (y * dw + x) * c;
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let j = 0; j < w.length; j++) acc += w[j] * tmp[((s0 + j) * dw + x) * c + k];
        out[o + k] = Math.min(255, Math.round(acc));
      }
    }
  }
  return out;
}

/**
 * Resizes an RGB or RGBA image to width × height (default interpolation 'bilinear'; see the module
 * comment for the exact sampling of each method). Returns the same kind of image it was given.
 */
export function resizeImage<T extends RGBImage | RGBAImage>(
  img: T,
  width: number,
  height: number,
  options: ResizeOptions = {},
): T {
  assertPositiveInt(width, 'width');
  assertPositiveInt(height, 'height');
  const c = channelsOf(img);
  const interpolation = checkInterpolation(options.interpolation ?? 'bilinear');
  // A fresh plain image: extra properties of the input (e.g. a grid's layout) would be stale.
  if (width === img.width && height === img.height) return { width, height, data: img.data.slice() } as T;
  const fn = interpolation === 'nearest' ? resizeNearest : interpolation === 'area' ? resizeArea : resizeBilinear;
  return { width, height, data: fn(img.data, img.width, img.height, c, width, height) } as T;
}

/**
 * The centre width × height rectangle of an image. The offset is floor((W − w) / 2) horizontally and
 * floor((H − h) / 2) vertically (an odd excess leaves the extra pixel on the right / bottom).
 */
export function centerCrop<T extends RGBImage | RGBAImage>(img: T, width: number, height: number): T {
  assertPositiveInt(width, 'crop width');
  assertPositiveInt(height, 'crop height');
  if (width > img.width || height > img.height) {
    throw new CnnvisError(
      `cannot crop ${width}×${height} from a ${img.width}×${img.height} image; the crop must fit inside it`,
    );
  }
  return cropImage(img, Math.floor((img.width - width) / 2), Math.floor((img.height - height) / 2), width, height);
}

/** The rectangle (x, y, width, height) of an image; it must lie inside the image. */
export function cropImage<T extends RGBImage | RGBAImage>(img: T, x: number, y: number, width: number, height: number): T {
  const c = channelsOf(img);
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x + width > img.width || y + height > img.height) {
    throw new CnnvisError(
      `crop rectangle (${x}, ${y}, ${width}×${height}) is outside the ${img.width}×${img.height} image`,
    );
  }
  const out = new Uint8Array(width * height * c);
  for (let r = 0; r < height; r++) {
    const s = ((y + r) * img.width + x) * c;
    out.set(img.data.subarray(s, s + width * c), r * width * c);
  }
  return { width, height, data: out } as T;
}

export type ResizeMode = 'stretch' | 'center-crop';
export const RESIZE_MODES: readonly ResizeMode[] = ['stretch', 'center-crop'];

export interface LoadForModelOptions {
  /** 'stretch' (default, like Keras load_img(target_size)) or 'center-crop'. */
  mode?: ResizeMode;
  /** Default: 'nearest' for stretch (Keras' default), 'bilinear' for center-crop (torchvision's). */
  interpolation?: Interpolation;
}

/**
 * Brings an image to a model's input size targetH × targetW (note the Keras order: height first).
 * 'stretch' resizes both sides independently, ignoring the aspect ratio, exactly like Keras
 * `load_img(target_size=(h, w))` with its default nearest interpolation. 'center-crop' scales so the
 * image just covers the target (the short side meets it), then crops the centre.
 */
export function loadForModel<T extends RGBImage | RGBAImage>(
  img: T,
  targetH: number,
  targetW: number,
  options: LoadForModelOptions = {},
): T {
  assertPositiveInt(targetH, 'target height');
  assertPositiveInt(targetW, 'target width');
  const mode = options.mode ?? 'stretch';
  if (mode === 'stretch') {
    return resizeImage(img, targetW, targetH, { interpolation: options.interpolation ?? 'nearest' });
  }
  if (mode !== 'center-crop') {
    throw new CnnvisError(`unknown resize mode '${mode}'; valid: ${RESIZE_MODES.join(', ')}`, RESIZE_MODES);
  }
  const scale = Math.max(targetW / img.width, targetH / img.height);
  const w = Math.max(targetW, Math.round(img.width * scale));
  const h = Math.max(targetH, Math.round(img.height * scale));
  const scaled = resizeImage(img, w, h, { interpolation: options.interpolation ?? 'bilinear' });
  return centerCrop(scaled, targetW, targetH);
}
