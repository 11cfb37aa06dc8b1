/**
 * Activation layers: Activation, ReLU (with Keras' max value, negative slope and threshold), Softmax,
 * LeakyReLU, ELU, ThresholdedReLU and PReLU. ReLU and ReLU6 gradients follow the ReLU rule; the others
 * keep their gradient under every rule, as on the TF.js path.
 */
import * as tf from '@tensorflow/tfjs';
import { Act, activationOf, actBackward, applyAct, isRelu, reluBackward, savedFor } from '../activation';
import { Converter, internalDims, LayerContext, LayerKernel, weightValues } from '../graph';
import { DT } from '../proto';

/** The function of a stand-alone ReLU-like layer (ReLU, ReLU6, Activation relu/relu6), else null. */
export function reluLayerAct(layer: tf.layers.Layer): Act | null {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as Record<string, unknown>;
  if (cls === 'ReLU') {
    if (cfg.negativeSlope || cfg.threshold) return null;
    const mv = cfg.maxValue as number | null | undefined;
    return mv === null || mv === undefined ? 'relu' : mv === 6 ? 'relu6' : null;
  }
  if (cls === 'Activation') {
    const a = activationOf(layer);
    return a === 'relu' || a === 'relu6' ? a : null;
  }
  return null;
}

/** TF.js' leaky ReLU: x > 0 ? x : alpha·x; gradient dy where x > 0, else alpha·dy (every ReLU rule keeps it, as on TF.js). */
function leaky(ctx: LayerContext, alpha: number): LayerKernel {
  return ctx.unary(
    ['x'],
    (b) => b.one('LeakyRelu', ['x0'], { alpha: { float: alpha } }),
    (b) => b.one('Where', [b.one('Greater', ['x0', b.scalar(0)]), 'g', b.one('Mul', ['g', b.scalar(alpha)])]),
  );
}

export const activations: Converter = {
  classes: ['Activation', 'ReLU', 'Softmax'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cls, cfg, linear } = ctx;
    if (cls === 'Activation' && (linear || activationOf(layer) === 'linear')) return ctx.identity();
    let act: Act;
    if (cls === 'ReLU') {
      const mv = cfg.maxValue as number | null | undefined;
      const slope = (cfg.negativeSlope as number | undefined) ?? 0;
      const thr = (cfg.threshold as number | undefined) ?? 0;
      if (thr || (slope && mv !== null && mv !== undefined)) {
        // Keras' general form (models/layerClasses.ts): y = clip(x·[x > t], 0, m) − s·relu(t − x); TF.js'
        // gradient: [x > t]·[0 ≤ x ≤ m] (the clip's, when m is set) + s·[x < t]. Not a ReLU for the rules.
        const cap = mv === null || mv === undefined ? undefined : mv;
        return ctx.unary(
          ['x'],
          (b) => {
            let y = thr ? b.one('Mul', ['x0', b.one('Cast', [b.one('Greater', ['x0', b.scalar(thr)])], { to: DT.FLOAT })]) : b.one('Relu', ['x0']);
            if (cap !== undefined) y = b.one('Clip', [y, b.scalar(0), b.scalar(cap)]);
            return slope ? b.one('Sub', [y, b.one('Mul', [b.one('Relu', [b.one('Sub', [b.scalar(thr), 'x0'])]), b.scalar(slope)])]) : y;
          },
          (b) => {
            let open = b.one('Greater', ['x0', b.scalar(thr)]);
            if (cap !== undefined) open = b.one('And', [open, b.one('And', [b.one('Not', [b.one('Less', ['x0', b.scalar(0)])]), b.one('Not', [b.one('Greater', ['x0', b.scalar(cap)])])])]);
            let d = b.one('Cast', [open], { to: DT.FLOAT });
            if (slope) d = b.one('Add', [d, b.one('Mul', [b.one('Cast', [b.one('Less', ['x0', b.scalar(thr)])], { to: DT.FLOAT }), b.scalar(slope)])]);
            return b.one('Mul', ['g', d]);
          },
        );
      }
      if (slope) {
        // Keras' leaky form (models/layerClasses.ts computes it with tf.leakyRelu); not a ReLU for the rules.
        return leaky(ctx, slope);
      }
      if (mv === null || mv === undefined) act = 'relu';
      else if (mv === 6) act = 'relu6';
      else {
        // relu, then a clip at mv (TF.js' ReLU layer); its gradient follows the ReLU rules like ReLU6's.
        if (linear) return ctx.identity();
        return ctx.unary(
          ['y'],
          (b) => b.one('Clip', ['x0', b.scalar(0), b.scalar(mv)]),
          (b, rule) => reluBackward(b, 'g', 'y', mv, rule),
          true,
        );
      }
    } else if (cls === 'Softmax') {
      act = 'softmax';
    } else {
      act = activationOf(layer);
    }
    if (linear) act = 'linear';
    if (act === 'linear') return ctx.identity();
    return ctx.unary(
      savedFor(act),
      (b) => applyAct(b, 'x0', act, ctx.rank),
      (b, rule) => actBackward(b, 'g', 'y', act, rule, 'x0'),
      isRelu(act),
    );
  },
};

/** Keras' ReLU variants with one setting: LeakyReLU (alpha), ELU (alpha) and ThresholdedReLU (theta). */
export const reluVariants: Converter = {
  classes: ['LeakyReLU', 'ELU', 'ThresholdedReLU'],
  convert(ctx: LayerContext): LayerKernel {
    const { cls, cfg } = ctx;
    if (cls === 'LeakyReLU') return leaky(ctx, (cfg.alpha ?? cfg.negativeSlope ?? cfg.negative_slope ?? 0.3) as number);
    if (cls === 'ELU') {
      const alpha = (cfg.alpha ?? 1) as number;
      return ctx.unary(
        ['x'],
        (b) => b.one('Elu', ['x0'], { alpha: { float: alpha } }),
        // x ≤ 0: alpha·e^x.
        (b) => b.one('Where', [b.one('Greater', ['x0', b.scalar(0)]), 'g', b.one('Mul', ['g', b.one('Mul', [b.one('Exp', ['x0']), b.scalar(alpha)])])]),
      );
    }
    const theta = (cfg.theta ?? 1) as number;
    return ctx.unary(
      ['x'],
      (b) => b.one('Mul', ['x0', b.one('Cast', [b.one('Greater', ['x0', b.scalar(theta)])], { to: DT.FLOAT })]),
      (b) => b.one('Where', [b.one('Greater', ['x0', b.scalar(theta)]), 'g', b.scalar(0)]),
    );
  },
};

export const prelu: Converter = {
  classes: ['PReLU'],
  convert(ctx: LayerContext): LayerKernel {
    // alpha has the input's shape (1 along shared axes); internally [C, H, W].
    const a = weightValues(ctx.layer, /alpha/)!;
    const ad = a.shape.length === 3 ? internalDims(a.shape) : a.shape;
    let slope = a.data;
    if (a.shape.length === 3) {
      const [h, w, c] = a.shape;
      slope = new Float32Array(a.data.length);
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) slope[(k * h + i) * w + j] = a.data[(i * w + j) * c + k];
    }
    const sl = Float32Array.from(slope);
    return ctx.unary(
      ['x'],
      (b) => b.one('PRelu', ['x0', b.f32(ad, sl)]),
      (b) => b.one('Where', [b.one('Greater', ['x0', b.scalar(0)]), 'g', b.one('Mul', ['g', b.f32(ad, sl)])]),
    );
  },
};
