/** The loop that naive (brute-force) 2-D convolution references in the tests are written on. */

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  kh: number;
  kw: number;
  stride: number;
  padTop: number;
  padLeft: number;
}

/**
 * Calls visit(b, oy, ox, ky, kx, iy, ix) for every kernel tap (ky, kx) of every output position
 * (b, oy, ox) whose input pixel (iy, ix) = (oy·stride + ky − padTop, ox·stride + kx − padLeft) lies
 * inside the input (taps on the zero padding are skipped).
 */
export function forEachConvTap(g: ConvGeometry, visit: (b: number, oy: number, ox: number, ky: number, kx: number, iy: number, ix: number) => void): void {
  for (let b = 0; b < g.batch; b++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let ky = 0; ky < g.kh; ky++)
          for (let kx = 0; kx < g.kw; kx++) {
            const iy = oy * g.stride + ky - g.padTop;
            const ix = ox * g.stride + kx - g.padLeft;
            if (iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW) visit(b, oy, ox, ky, kx, iy, ix);
          }
}
