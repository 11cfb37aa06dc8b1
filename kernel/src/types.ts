/** Plain data types that flow through the pipeline: image → tensor → model taps → method → map → renderer. */

/** An 8-bit RGB image, row-major, 3 bytes per pixel (no alpha). */
export interface RGBImage {
  width: number;
  height: number;
  data: Uint8Array; // length width*height*3
}

/** An 8-bit RGBA image, row-major, 4 bytes per pixel: what renderers produce and PNG encodes. */
export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8Array; // length width*height*4
}

/** A single-channel float map (a feature map, a heatmap), row-major. */
export interface Map2D {
  width: number;
  height: number;
  data: Float32Array; // length width*height
}

/** How a model expects its input pixels. */
export type PreprocessName = 'mobilenet' | 'vgg16' | 'torch' | 'unit' | 'none';
export const PREPROCESS_NAMES: readonly PreprocessName[] = ['mobilenet', 'vgg16', 'torch', 'unit', 'none'];
