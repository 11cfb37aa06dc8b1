/**
 * Pooling layers: MaxPooling2D (the gradient goes to each window's first maximum, as in TF.js),
 * AveragePooling2D (TF divides by the in-image cells of each window) and the global poolings.
 */
import { Converter, LayerContext, LayerKernel, tfPad, Unsupported } from '../graph';
import { DT } from '../proto';

export const pooling: Converter = {
  classes: ['MaxPooling2D', 'AveragePooling2D'],
  convert(ctx: LayerContext): LayerKernel {
    const { cfg, cls, inDims, outDims } = ctx;
    const [kh, kw] = cfg.poolSize as number[];
    const [sh, sw] = (cfg.strides as number[] | null) ?? [kh, kw];
    const [C, H, W] = inDims[0];
    const ph = tfPad(H, kh, sh, 1, cfg.padding as string);
    const pw = tfPad(W, kw, sw, 1, cfg.padding as string);
    const pads = [ph.before, pw.before, ph.after, pw.after];
    const attrs = { kernel_shape: [kh, kw], strides: [sh, sw], pads };
    const [, Ho, Wo] = outDims;
    if (cls === 'MaxPooling2D') {
      return ctx.unary(
        ['x'],
        (b) => b.one('MaxPool', ['x0'], attrs),
        (b) => {
          // Each window's gradient goes to its (first) maximum; overlapping windows add up. The
          // indices are found here, not kept from the forward pass: MaxPool with indices is 5-10x
          // slower than without, and most forward passes are never back-propagated through a pool.
          const [, idx] = b.op('MaxPool', ['x0'], attrs, 2);
          const shape = b.one('Shape', ['x0']);
          // Windows that do not overlap: each input cell is the maximum of at most one window, so
          // placing each window's gradient at its index (MaxUnpool, zeros elsewhere) is the sum.
          if (sh >= kh && sw >= kw) return b.one('MaxUnpool', ['g', idx, shape], attrs);
          const flat = b.i64([-1]);
          const zeros = b.one('Reshape', [b.one('ConstantOfShape', [shape]), flat]);
          const scattered = b.one('ScatterElements', [zeros, b.one('Reshape', [idx, flat]), b.one('Reshape', ['g', flat])], { axis: 0, reduction: 'add' });
          return b.one('Reshape', [scattered, shape]);
        },
      );
    }
    // Average pooling: TF divides by the number of in-image cells of each window.
    const count = new Float32Array(Ho * Wo);
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++) {
        const r0 = i * sh - ph.before;
        const c0 = j * sw - pw.before;
        const rows = Math.min(H, r0 + kh) - Math.max(0, r0);
        const cols = Math.min(W, c0 + kw) - Math.max(0, c0);
        count[i * Wo + j] = 1 / (rows * cols);
      }
    return ctx.unary(
      [],
      (b) => b.one('AveragePool', ['x0'], { ...attrs, count_include_pad: 0 }),
      (b) => {
        const scaled = b.one('Mul', ['g', b.f32([1, 1, Ho, Wo], count)]);
        const opad = [H - (sh * (Ho - 1) + kh - ph.before - ph.after), W - (sw * (Wo - 1) + kw - pw.before - pw.after)];
        const ones = b.f32([C, 1, kh, kw], new Float32Array(C * kh * kw).fill(1));
        return b.one('ConvTranspose', [scaled, ones], { ...attrs, group: C, output_padding: opad });
      },
    );
  },
};

export const globalPooling: Converter = {
  classes: ['GlobalAveragePooling2D', 'GlobalMaxPooling2D'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cls, inDims, outDims, outTf, rank } = ctx;
    // Keras' keepdims (models/layerClasses.ts): [C, 1, 1] instead of [C].
    const keep = rank === 4;
    if (keep ? outDims[1] !== 1 || outDims[2] !== 1 : rank !== 2) throw new Unsupported(`global pooling to shape [${outTf.join(', ')}] in layer '${layer.name}'`);
    const [C, H, W] = inDims[0];
    const avg = cls === 'GlobalAveragePooling2D';
    return ctx.unary(
      ['x'],
      (b) => {
        const pooled = b.one(avg ? 'GlobalAveragePool' : 'GlobalMaxPool', ['x0']);
        return keep ? pooled : b.one('Flatten', [pooled], { axis: 1 });
      },
      (b) => {
        const g4 = b.one('Reshape', ['g', b.i64([-1, C, 1, 1])]);
        if (avg) return b.one('Mul', [b.one('Expand', [g4, b.one('Shape', ['x0'])]), b.scalar(1 / (H * W))]);
        const m = b.one('Cast', [b.one('Equal', ['x0', b.one('GlobalMaxPool', ['x0'])])], { to: DT.FLOAT });
        return b.one('Mul', [m, g4]);
      },
    );
  },
};
