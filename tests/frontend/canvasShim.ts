/**
 * jsdom has no canvas. This shim gives HTMLCanvasElement a 2D context that keeps the pixels put on
 * it (createImageData / putImageData / getImageData), so tests read back exactly what a view drew.
 */
interface ShimImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

const pixels = new WeakMap<HTMLCanvasElement, ShimImage>();

export function installCanvasShim(): void {
  const proto = HTMLCanvasElement.prototype as unknown as { getContext: (kind: string) => unknown };
  proto.getContext = function (this: HTMLCanvasElement, kind: string) {
    if (kind !== '2d') return null;
    const canvas = this;
    return {
      canvas,
      imageSmoothingEnabled: true,
      createImageData: (w: number, h: number): ShimImage => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
      putImageData: (img: ShimImage, x: number, y: number) => {
        const cur = pixels.get(canvas);
        const target = cur && cur.width === canvas.width && cur.height === canvas.height ? cur : { width: canvas.width, height: canvas.height, data: new Uint8ClampedArray(canvas.width * canvas.height * 4) };
        for (let r = 0; r < img.height; r++) {
          if (y + r >= target.height) break;
          const row = img.data.subarray(r * img.width * 4, r * img.width * 4 + Math.min(img.width, target.width - x) * 4);
          target.data.set(row, ((y + r) * target.width + x) * 4);
        }
        pixels.set(canvas, target);
      },
    };
  };
}

/** The RGBA at (x, y) of what was drawn on `canvas`. */
export function pixelAt(canvas: HTMLCanvasElement, x: number, y: number): [number, number, number, number] {
  const img = pixels.get(canvas);
  if (!img) throw new Error('nothing was drawn on this canvas');
  if (img.width !== canvas.width || img.height !== canvas.height) throw new Error('canvas was resized after drawing');
  const o = (y * img.width + x) * 4;
  return [img.data[o], img.data[o + 1], img.data[o + 2], img.data[o + 3]];
}

export function drawn(canvas: HTMLCanvasElement): Uint8ClampedArray {
  const img = pixels.get(canvas);
  if (!img) throw new Error('nothing was drawn on this canvas');
  return img.data;
}
