/**
 * Layers that move values without arithmetic on them, or resample them: Flatten and Reshape (through
 * TF's NHWC order, so the numbers are TF's), ZeroPadding2D, Cropping2D and UpSampling2D.
 */
import { Builder, Converter, LayerContext, LayerKernel, Unsupported } from '../graph';

export const reshape: Converter = {
  classes: ['Flatten', 'Reshape'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cls, ins, outTf, rank } = ctx;
    const inTf = ins[0];
    if (![1, 3].includes(inTf.length) || ![1, 3].includes(outTf.length)) throw new Unsupported(`${cls} from rank ${inTf.length + 1} to ${rank} in layer '${layer.name}'`);
    const toNhwc = (b: Builder, x: string, r: number) => (r === 3 ? b.one('Transpose', [x], { perm: [0, 2, 3, 1] }) : x);
    const toNchw = (b: Builder, x: string, r: number) => (r === 3 ? b.one('Transpose', [x], { perm: [0, 3, 1, 2] }) : x);
    return ctx.unary(
      [],
      (b) => toNchw(b, b.one('Reshape', [toNhwc(b, 'x0', inTf.length), b.i64([-1, ...outTf])]), outTf.length),
      (b) => toNchw(b, b.one('Reshape', [toNhwc(b, 'g', outTf.length), b.i64([-1, ...inTf])]), inTf.length),
    );
  },
};

/**
 * Adds `[top, bottom, left, right]` zero rows and columns around the map, or removes them (`crop`);
 * the gradient does the opposite.
 */
function border(ctx: LayerContext, [t, bo, l, r]: number[], crop: boolean): LayerKernel {
  // The size of the map without the border.
  const [, H, W] = crop ? ctx.outDims : ctx.inDims[0];
  const pad = (b: Builder, x: string) => b.one('Pad', [x, b.i64([0, 0, t, l, 0, 0, bo, r])]);
  const cut = (b: Builder, x: string) => b.one('Slice', [x, b.i64([t, l]), b.i64([t + H, l + W]), b.i64([2, 3])]);
  return ctx.unary(
    [],
    (b) => (crop ? cut : pad)(b, 'x0'),
    (b) => (crop ? pad : cut)(b, 'g'),
  );
}

export const zeroPadding: Converter = {
  classes: ['ZeroPadding2D'],
  convert(ctx: LayerContext): LayerKernel {
    const [[t, bo], [l, r]] = ctx.cfg.padding as number[][];
    return border(ctx, [t, bo, l, r], false);
  },
};

export const cropping: Converter = {
  classes: ['Cropping2D'],
  convert(ctx: LayerContext): LayerKernel {
    const c = ctx.cfg.cropping as number[][] | number[] | number;
    const [[t, bo], [l, r]] = typeof c === 'number' ? [[c, c], [c, c]] : typeof c[0] === 'number' ? [[c[0] as number, c[0] as number], [c[1] as number, c[1] as number]] : (c as number[][]);
    return border(ctx, [t, bo, l, r], true);
  },
};

export const upSampling: Converter = {
  classes: ['UpSampling2D'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cfg, inDims, outDims } = ctx;
    // y = Ah · x · Awᵀ per channel, with TF.js' resize weights (nearest: the source ⌊o·in/out⌋;
    // bilinear without corner alignment or half-pixel centres); the gradient is Ahᵀ · g · Aw.
    const [, H, W] = inDims[0];
    const [, Ho, Wo] = outDims;
    const interp = (cfg.interpolation ?? 'nearest') as string;
    if (interp !== 'nearest' && interp !== 'bilinear') throw new Unsupported(`upsampling with '${interp}' interpolation in layer '${layer.name}'`);
    const resize = (n: number, out: number): Float32Array => {
      const a = new Float32Array(out * n);
      const scale = Math.fround(n / out);
      for (let o = 0; o < out; o++) {
        const src = Math.fround(o * scale);
        if (interp === 'nearest') {
          a[o * n + Math.min(n - 1, Math.floor(src))] = 1;
        } else {
          const top = Math.floor(src);
          const bottom = Math.min(top + 1, n - 1);
          const f = Math.fround(src - top);
          a[o * n + top] += 1 - f;
          a[o * n + bottom] += f;
        }
      }
      return a;
    };
    const ah = resize(H, Ho);
    const aw = resize(W, Wo);
    const t = (m: Float32Array, r: number, c: number) => Float32Array.from({ length: r * c }, (_, k) => m[(k % r) * c + Math.floor(k / r)]);
    return ctx.unary(
      [],
      (b) => b.one('MatMul', [b.f32([Ho, H], ah), b.one('MatMul', ['x0', b.f32([W, Wo], t(aw, Wo, W))])]),
      (b) => b.one('MatMul', [b.f32([H, Ho], t(ah, Ho, H)), b.one('MatMul', ['g', b.f32([Wo, W], aw)])]),
    );
  },
};
