/**
 * Resizing of float maps (feature maps, heatmaps) to an image size.
 * Bilinear uses half-pixel centres (align_corners = false): the same numbers as
 * tf.image.resizeBilinear(x, size, alignCorners = false, halfPixelCenters = true) and OpenCV's
 * cv2.resize(…, INTER_LINEAR), so a 7×7 Grad-CAM lands where those libraries put it.
 */
import { CnnvisError } from '../errors';
import type { Map2D } from '../types';
import { resampleBilinear } from '../images/resize';

function checkTarget(map: Map2D, width: number, height: number): void {
  for (const [v, what] of [
    [width, 'width'],
    [height, 'height'],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new CnnvisError(`target ${what} must be a positive integer, got ${v}`);
  }
  if (map.data.length !== map.width * map.height || map.width <= 0 || map.height <= 0) {
    throw new CnnvisError(`map data has ${map.data.length} values but ${map.width}×${map.height} needs ${map.width * map.height}`);
  }
}

/** Bilinear resize of a map to width × height (half-pixel centres; works for down- and upscaling). */
export function upsampleBilinear(map: Map2D, width: number, height: number): Map2D {
  checkTarget(map, width, height);
  const data = resampleBilinear(map.data, map.width, map.height, 1, width, height, new Float32Array(width * height));
  return { width, height, data };
}

/** Nearest-neighbour resize of a map (pixel-centre sampling, as for images). */
export function resizeMapNearest(map: Map2D, width: number, height: number): Map2D {
  checkTarget(map, width, height);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(map.height - 1, Math.floor(((y + 0.5) * map.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(map.width - 1, Math.floor(((x + 0.5) * map.width) / width));
      out[y * width + x] = map.data[sy * map.width + sx];
    }
  }
  return { width, height, data: out };
}
