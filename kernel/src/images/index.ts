/** The image stage: decode (PNG, JPEG, pixels, tensors), resize/crop for a model, encode PNG. */
export * from './decode';
export * from './resize';
export * from './encode';
export type { RGB, RGBA } from './pixels';
export { WHITE } from './pixels';
