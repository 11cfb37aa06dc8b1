/**
 * Activation functions as graph pieces: each function (TF.js' names) forward, and its gradient from
 * the function's output y (or its input z, for FROM_INPUT functions), with TF.js' gradients (ReLU passes
 * where its output is > 0, ReLU6 where it is strictly between 0 and 6).
 *
 * Through a ReLU the gradient follows one of reluRules.ts' three rules: the plain gradient dy·m (m: the
 * ReLU's open mask), guided backpropagation max(dy, 0)·m (Springenberg et al. 2015) or the deconvnet's
 * max(dy, 0) (Zeiler & Fergus 2014). Backward graphs are compiled per rule, each with the fewest
 * element-wise operators; a graph that also runs forward (Dense) takes a `rule` input [3] = (a, b, c)
 * instead and computes dx = a·dy·m + b·max(dy, 0)·m + c·max(dy, 0).
 */
import * as tf from '@tensorflow/tfjs';
import { Builder, Rule, Saved, Unsupported } from './graph';
import { DT } from './proto';

/** The activation functions the engine compiles (TF.js' names). */
export const ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'logSoftmax', 'elu', 'celu', 'selu', 'softplus', 'softsign',
  'hardSigmoid', 'hardSigmoidKeras3', 'swish', 'silu', 'hardSilu', 'hardSwish', 'leakyRelu', 'exponential', 'gelu',
  'gelu_new', 'mish', 'hardTanh', 'logSigmoid', 'tanhShrink', 'softShrink', 'hardShrink', 'squareplus', 'sparsePlus',
  'sparseSigmoid',
] as const;
export type Act = (typeof ACTIVATIONS)[number];

/** Activations whose derivative is computed from their input z; the others' from their output y. */
export const FROM_INPUT: ReadonlySet<Act> = new Set<Act>([
  'swish', 'silu', 'hardSilu', 'hardSwish', 'gelu', 'gelu_new', 'mish', 'hardTanh', 'tanhShrink', 'softShrink', 'squareplus', 'sparsePlus', 'sparseSigmoid',
]);

export function activationOf(layer: tf.layers.Layer): Act {
  const a = (layer as unknown as { activation?: { getClassName(): string } | null }).activation;
  const name = a ? a.getClassName() : 'linear';
  if ((ACTIVATIONS as readonly string[]).includes(name)) return name as Act;
  throw new Unsupported(`layer '${layer.name}' (${layer.getClassName()}) has activation '${name}', which the engine does not compile; it compiles ${ACTIVATIONS.join(', ')}`);
}

/** SELU's constants (TF's and ONNX's defaults). */
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** Activations that are one ONNX operator of their input, with its attributes. */
const ONE_OP: Partial<Record<Act, [string, Record<string, { float: number }>?]>> = {
  relu: ['Relu'],
  sigmoid: ['Sigmoid'],
  tanh: ['Tanh'],
  elu: ['Elu', { alpha: { float: 1 } }],
  celu: ['Elu', { alpha: { float: 1 } }],
  selu: ['Selu', { alpha: { float: SELU_ALPHA }, gamma: { float: SELU_SCALE } }],
  softplus: ['Softplus'],
  softsign: ['Softsign'],
  // TF.js (Keras 2): clip(0.2·x + 0.5, 0, 1).
  hardSigmoid: ['HardSigmoid', { alpha: { float: 0.2 }, beta: { float: 0.5 } }],
  leakyRelu: ['LeakyRelu', { alpha: { float: 0.2 } }],
  exponential: ['Exp'],
};

export function applyAct(b: Builder, x: string, act: Act, rank: number): string {
  const one = ONE_OP[act];
  if (one) return b.one(one[0], [x], one[1]);
  switch (act) {
    case 'linear':
      return x;
    case 'relu6':
      return b.one('Clip', [x, b.scalar(0), b.scalar(6)]);
    case 'softmax':
    case 'logSoftmax':
      if (rank !== 2) throw new Unsupported(`${act === 'softmax' ? 'softmax' : 'log-softmax'} over a feature map`);
      return b.one(act === 'softmax' ? 'Softmax' : 'LogSoftmax', [x], { axis: 1 });
    case 'hardSigmoidKeras3':
      // relu6(x + 3) / 6, in TF.js' order of float operations.
      return hardSigmoid3(b, x);
    case 'hardSilu':
    case 'hardSwish':
      return b.one('Mul', [x, hardSigmoid3(b, x)]);
    case 'swish':
    case 'silu':
      return b.one('Mul', [x, b.one('Sigmoid', [x])]);
    case 'hardTanh':
      return b.one('Clip', [x, b.scalar(-1), b.scalar(1)]);
    case 'logSigmoid':
      return b.one('Neg', [b.one('Softplus', [b.one('Neg', [x])])]);
    case 'tanhShrink':
      return b.one('Sub', [x, b.one('Tanh', [x])]);
    case 'softShrink':
      return b.one('Sub', [x, b.one('Clip', [x, b.scalar(-0.5), b.scalar(0.5)])]);
    case 'hardShrink':
      return b.one('Mul', [x, b.one('Cast', [b.one('Greater', [b.one('Abs', [x]), b.scalar(0.5)])], { to: DT.FLOAT })]);
    case 'squareplus':
      return b.one('Div', [b.one('Add', [x, b.one('Sqrt', [b.one('Add', [b.one('Mul', [x, x]), b.scalar(4)])])]), b.scalar(2)]);
    case 'sparsePlus': {
      const q = b.one('Div', [b.one('Mul', [b.one('Add', [x, b.scalar(1)]), b.one('Add', [x, b.scalar(1)])]), b.scalar(4)]);
      return b.one('Where', [b.one('Greater', [x, b.scalar(-1)]), b.one('Where', [b.one('Less', [x, b.scalar(1)]), q, x]), b.scalar(0)]);
    }
    case 'sparseSigmoid':
      return b.one('Clip', [b.one('Add', [b.one('Mul', [x, b.scalar(0.5)]), b.scalar(0.5)]), b.scalar(0), b.scalar(1)]);
    case 'gelu':
      return b.one('Mul', [b.one('Mul', [x, b.scalar(0.5)]), b.one('Add', [b.scalar(1), b.one('Erf', [b.one('Mul', [x, b.scalar(Math.SQRT1_2)])])])]);
    case 'gelu_new':
      return b.one('Mul', [b.one('Mul', [x, b.scalar(0.5)]), b.one('Add', [b.scalar(1), b.one('Tanh', [geluNewArg(b, x)])])]);
    case 'mish':
      return b.one('Mul', [x, b.one('Tanh', [b.one('Softplus', [x])])]);
    default:
      throw new Error(`cnnvis: activation '${act}' has no forward graph`);
  }
}

/** Keras 3's hard sigmoid relu6(x + 3) / 6. */
function hardSigmoid3(b: Builder, x: string): string {
  return b.one('Div', [b.one('Clip', [b.one('Add', [x, b.scalar(3)]), b.scalar(0), b.scalar(6)]), b.scalar(6)]);
}

/** 1 where −3 < x ≤ 3 (where relu6(x + 3) passes gradients in TF.js), else 0. */
function hardSigmoid3Open(b: Builder, x: string): string {
  const s = b.one('Add', [x, b.scalar(3)]);
  return b.one('Cast', [b.one('And', [b.one('Greater', [s, b.scalar(0)]), b.one('Not', [b.one('Greater', [s, b.scalar(6)])])])], { to: DT.FLOAT });
}

/** √(2/π)·(x + 0.044715·x³), the tanh argument of the tanh approximation of GELU. */
function geluNewArg(b: Builder, x: string): string {
  const x3 = b.one('Mul', [b.one('Mul', [x, x]), x]);
  return b.one('Mul', [b.one('Add', [x, b.one('Mul', [x3, b.scalar(0.044715)])]), b.scalar(Math.sqrt(2 / Math.PI))]);
}

/** Gradient through a ReLU (capped at `cap`) from its output y, following `rule` (see actBackward). */
export function reluBackward(b: Builder, g: string, y: string, cap: number | undefined, rule: Rule | (() => string[])): string {
  const zero = () => b.scalar(0);
  if (rule === 'deconvnet') return b.one('Relu', [g]);
  let open = b.one('Greater', [y, zero()]);
  if (cap !== undefined) open = b.one('And', [open, b.one('Less', [y, b.scalar(cap)])]);
  // The mask as 0/1 floats times the gradient: the runtime threads and vectorizes Mul, while a Where
  // with a scalar branch runs element by element (ReLU masks were 12 % of a ResNet50 input gradient).
  const m = b.one('Cast', [open], { to: DT.FLOAT });
  if (rule === 'gradient') return b.one('Mul', [g, m]);
  if (rule === 'guided') return b.one('Mul', [b.one('Relu', [g]), m]);
  const [ra, rb, rc] = rule();
  const gp = b.one('Relu', [g]);
  const masked = b.one('Mul', [b.one('Add', [b.one('Mul', [g, ra]), b.one('Mul', [gp, rb])]), m]);
  return b.one('Add', [masked, b.one('Mul', [gp, rc])]);
}

/**
 * Gradient through an activation, from its output y (or its input z, for FROM_INPUT activations).
 * ReLUs follow `rule` (other activations keep their gradient, as on the TF.js path): a fixed rule
 * compiles to the fewest element-wise operators (a backward graph per rule), or the `rule` input's
 * coefficients (one graph for all rules, for the Dense graph that also runs forward).
 */
export function actBackward(b: Builder, g: string, y: string, act: Act, rule: Rule | (() => string[]), z?: string): string {
  const zero = () => b.scalar(0);
  const input = () => {
    if (!z) throw new Error(`cnnvis: the gradient of '${act}' needs its input`);
    return z;
  };
  switch (act) {
    case 'linear':
      return g;
    case 'relu':
    case 'relu6':
      return reluBackward(b, g, y, act === 'relu6' ? 6 : undefined, rule);
    case 'sigmoid':
      return b.one('Mul', [g, b.one('Mul', [y, b.one('Sub', [b.scalar(1), y])])]);
    case 'tanh':
      return b.one('Mul', [g, b.one('Sub', [b.scalar(1), b.one('Mul', [y, y])])]);
    case 'softmax': {
      const s = b.one('ReduceSum', [b.one('Mul', [g, y]), b.i64([1])], { keepdims: 1 });
      return b.one('Mul', [y, b.one('Sub', [g, s])]);
    }
    case 'logSoftmax': {
      const s = b.one('ReduceSum', [g, b.i64([1])], { keepdims: 1 });
      return b.one('Sub', [g, b.one('Mul', [b.one('Exp', [y]), s])]);
    }
    case 'celu':
    case 'elu':
      // y > 0: 1; else e^z = y + 1.
      return b.one('Where', [b.one('Greater', [y, zero()]), g, b.one('Mul', [g, b.one('Add', [y, b.scalar(1)])])]);
    case 'selu':
      return b.one('Mul', [g, b.one('Where', [b.one('Greater', [y, zero()]), b.scalar(SELU_SCALE), b.one('Add', [y, b.scalar(SELU_SCALE * SELU_ALPHA)])])]);
    case 'softplus':
      // σ(z) = 1 − e^(−y).
      return b.one('Mul', [g, b.one('Sub', [b.scalar(1), b.one('Exp', [b.one('Neg', [y])])])]);
    case 'softsign': {
      const r = b.one('Sub', [b.scalar(1), b.one('Abs', [y])]);
      return b.one('Mul', [g, b.one('Mul', [r, r])]);
    }
    case 'hardSigmoid': {
      const open = b.one('And', [b.one('Greater', [y, zero()]), b.one('Less', [y, b.scalar(1)])]);
      return b.one('Where', [open, b.one('Mul', [g, b.scalar(0.2)]), zero()]);
    }
    case 'hardSigmoidKeras3': {
      // TF.js' relu6 passes where 0 < x + 3 ≤ 6; from y (1 wherever x + 3 ≥ 6), 0 < y < 1 (they differ only at x = 3 exactly).
      const open = b.one('And', [b.one('Greater', [y, zero()]), b.one('Less', [y, b.scalar(1)])]);
      return b.one('Where', [open, b.one('Div', [g, b.scalar(6)]), zero()]);
    }
    case 'hardSilu':
    case 'hardSwish': {
      // hs(z) + z·[−3 < z ≤ 3] / 6.
      const x = input();
      const d = b.one('Add', [hardSigmoid3(b, x), b.one('Div', [b.one('Mul', [x, hardSigmoid3Open(b, x)]), b.scalar(6)])]);
      return b.one('Mul', [g, d]);
    }
    case 'leakyRelu':
      return b.one('Where', [b.one('Greater', [y, zero()]), g, b.one('Mul', [g, b.scalar(0.2)])]);
    case 'exponential':
      return b.one('Mul', [g, y]);
    case 'hardTanh': {
      // TF.js' clipByValue passes where −1 ≤ z ≤ 1.
      const x = input();
      const open = b.one('And', [b.one('Not', [b.one('Less', [x, b.scalar(-1)])]), b.one('Not', [b.one('Greater', [x, b.scalar(1)])])]);
      return b.one('Where', [open, g, zero()]);
    }
    case 'logSigmoid':
      // σ(−z) = 1 − e^y.
      return b.one('Mul', [g, b.one('Sub', [b.scalar(1), b.one('Exp', [y])])]);
    case 'tanhShrink': {
      const t = b.one('Tanh', [input()]);
      return b.one('Mul', [g, b.one('Mul', [t, t])]);
    }
    case 'softShrink': {
      // 1 − [−0.5 ≤ z ≤ 0.5].
      const x = input();
      const inside = b.one('And', [b.one('Not', [b.one('Less', [x, b.scalar(-0.5)])]), b.one('Not', [b.one('Greater', [x, b.scalar(0.5)])])]);
      return b.one('Where', [inside, zero(), g]);
    }
    case 'hardShrink':
      // y = z where |z| > 0.5, else 0.
      return b.one('Where', [b.one('Equal', [y, zero()]), zero(), g]);
    case 'squareplus': {
      const x = input();
      const r = b.one('Sqrt', [b.one('Add', [b.one('Mul', [x, x]), b.scalar(4)])]);
      return b.one('Mul', [g, b.one('Mul', [b.one('Add', [b.scalar(1), b.one('Div', [x, r])]), b.scalar(0.5)])]);
    }
    case 'sparsePlus': {
      // 0 for z ≤ −1, (z + 1)/2 for −1 < z < 1, 1 for z ≥ 1.
      const x = input();
      const mid = b.one('Div', [b.one('Add', [x, b.scalar(1)]), b.scalar(2)]);
      return b.one('Mul', [g, b.one('Where', [b.one('Greater', [x, b.scalar(-1)]), b.one('Where', [b.one('Less', [x, b.scalar(1)]), mid, b.scalar(1)]), zero()])]);
    }
    case 'sparseSigmoid': {
      // 0.5 where 0 ≤ 0.5·z + 0.5 ≤ 1.
      const u = b.one('Add', [b.one('Mul', [input(), b.scalar(0.5)]), b.scalar(0.5)]);
      const open = b.one('And', [b.one('Not', [b.one('Less', [u, zero()])]), b.one('Not', [b.one('Greater', [u, b.scalar(1)])])]);
      return b.one('Where', [open, b.one('Mul', [g, b.scalar(0.5)]), zero()]);
    }
    case 'swish':
    case 'silu': {
      // σ(z)·(1 + z·(1 − σ(z))).
      const s = b.one('Sigmoid', [input()]);
      const d = b.one('Mul', [s, b.one('Add', [b.scalar(1), b.one('Mul', [input(), b.one('Sub', [b.scalar(1), s])])])]);
      return b.one('Mul', [g, d]);
    }
    case 'gelu': {
      // Φ(z) + z·φ(z).
      const x = input();
      const cdf = b.one('Mul', [b.scalar(0.5), b.one('Add', [b.scalar(1), b.one('Erf', [b.one('Mul', [x, b.scalar(Math.SQRT1_2)])])])]);
      const pdf = b.one('Mul', [b.one('Exp', [b.one('Mul', [b.one('Mul', [x, x]), b.scalar(-0.5)])]), b.scalar(1 / Math.sqrt(2 * Math.PI))]);
      return b.one('Mul', [g, b.one('Add', [cdf, b.one('Mul', [x, pdf])])]);
    }
    case 'gelu_new': {
      // ½(1 + t) + ½·z·(1 − t²)·√(2/π)·(1 + 3·0.044715·z²), t = tanh(√(2/π)(z + 0.044715 z³)).
      const x = input();
      const t = b.one('Tanh', [geluNewArg(b, x)]);
      const left = b.one('Mul', [b.scalar(0.5), b.one('Add', [b.scalar(1), t])]);
      const dArg = b.one('Mul', [b.one('Add', [b.scalar(1), b.one('Mul', [b.one('Mul', [x, x]), b.scalar(3 * 0.044715)])]), b.scalar(Math.sqrt(2 / Math.PI))]);
      const right = b.one('Mul', [b.one('Mul', [b.one('Mul', [x, b.scalar(0.5)]), b.one('Sub', [b.scalar(1), b.one('Mul', [t, t])])]), dArg]);
      return b.one('Mul', [g, b.one('Add', [left, right])]);
    }
    case 'mish': {
      // t + z·(1 − t²)·σ(z), t = tanh(softplus(z)).
      const x = input();
      const t = b.one('Tanh', [b.one('Softplus', [x])]);
      const d = b.one('Add', [t, b.one('Mul', [b.one('Mul', [x, b.one('Sub', [b.scalar(1), b.one('Mul', [t, t])])]), b.one('Sigmoid', [x])])]);
      return b.one('Mul', [g, d]);
    }
  }
}

/** What an activation's backward graph reads: nothing (linear), its input (recomputed from x0) or its output. */
export function savedFor(act: Act): Saved[] {
  return act === 'linear' ? [] : FROM_INPUT.has(act) ? ['x'] : ['y'];
}

/** The gradient through `act` depends on the ReLU rule. */
export function isRelu(act: Act): boolean {
  return act === 'relu' || act === 'relu6';
}
