/**
 * Modified backward rules for ReLU on TF.js, for guided backpropagation and the deconvnet, applied to
 * the model's own graph during one gradient pass and restored afterwards (the TF.js engine's `backward`
 * with a rule; the ONNX Runtime engine compiles the rule into its backward graphs instead).
 *
 * Forward values never change. Backward, with x the ReLU's input and dy the incoming gradient:
 * - 'gradient' (plain):  dx = dy · [0 < x (< cap)]
 * - 'guided' (Springenberg et al. 2015): dx = dy · [0 < x (< cap)] · [dy > 0]
 * - 'deconvnet' (Zeiler & Fergus 2014): dx = max(dy, 0), whatever x was.
 *
 * Where ReLUs live in a tfjs-layers graph and how they are overridden:
 * - a Conv2D / Dense / DepthwiseConv2D / Activation layer with activation 'relu' or 'relu6': its
 *   `activation` object is swapped for one with the rule. The swapped object has a name tfjs-layers
 *   does not fuse, so a Conv2D computes conv + bias and then calls it, instead of the fused relu conv;
 * - a ReLU layer (with or without maxValue, e.g. MobileNet's ReLU6): its `call` is replaced.
 * Nested models are walked. Other activations (tanh, elu, leaky ReLU) keep their gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { CnnvisError } from '../errors';
import { ReluRule } from './engine';

/** The rules that change the backward pass (the plain gradient needs no swap). */
export type ModifiedRule = Exclude<ReluRule, 'gradient'>;

/** A ReLU (clipped at `cap` when given) whose gradient follows `rule`. */
export function ruleRelu(rule: ModifiedRule, cap?: number): (x: tf.Tensor) => tf.Tensor {
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    const value = cap === undefined ? tf.relu(x) : tf.clipByValue(x, 0, cap);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = Array.isArray(dy) ? dy[0] : dy;
        if (rule === 'deconvnet') return [tf.relu(g)];
        const xs = saved[0];
        let open = tf.greater(xs, 0);
        if (cap !== undefined) open = tf.logicalAnd(open, tf.less(xs, cap));
        return [tf.mul(tf.relu(g), tf.cast(open, g.dtype))];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x: tf.Tensor) => f(x) as tf.Tensor;
}

type CallFn = tf.layers.Layer['call'];

interface WithActivation {
  activation?: { getClassName(): string; apply(x: tf.Tensor): tf.Tensor } | null;
}
interface WithMaxValue {
  maxValue?: number | null;
}

/** The ReLU-carrying layers of a model (nested models included), as [layer, kind, cap]. */
export function reluSites(net: tf.LayersModel): { layer: tf.layers.Layer; kind: 'activation' | 'layer'; cap?: number }[] {
  const out: { layer: tf.layers.Layer; kind: 'activation' | 'layer'; cap?: number }[] = [];
  const walk = (layers: tf.layers.Layer[]) => {
    for (const layer of layers) {
      const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (Array.isArray(inner)) walk(inner);
      if (layer.getClassName() === 'ReLU') {
        // Keras' leaky or thresholded form (models/layerClasses.ts) keeps its gradient, like LeakyReLU.
        const k = layer as unknown as { negativeSlope?: number; threshold?: number };
        if (k.negativeSlope || k.threshold) continue;
        const mv = (layer as unknown as WithMaxValue).maxValue;
        out.push({ layer, kind: 'layer', cap: mv === null || mv === undefined ? undefined : mv });
        continue;
      }
      const act = (layer as unknown as WithActivation).activation;
      const name = act?.getClassName();
      if (name === 'relu') out.push({ layer, kind: 'activation' });
      else if (name === 'relu6') out.push({ layer, kind: 'activation', cap: 6 });
    }
  };
  walk(net.layers);
  return out;
}

/**
 * Runs `fn` with every ReLU of the model using the backward `rule`; the layers are restored
 * afterwards, even when `fn` throws. Returns fn's value and how many ReLU sites were overridden.
 */
export function withReluRule<T>(net: tf.LayersModel, rule: ModifiedRule, fn: () => T): { value: T; sites: number } {
  if (rule !== 'guided' && rule !== 'deconvnet') throw new CnnvisError(`unknown ReLU rule '${String(rule)}'; valid: guided, deconvnet`);
  const sites = reluSites(net);
  const restore: (() => void)[] = [];
  try {
    for (const s of sites) {
      const relu = ruleRelu(rule, s.cap);
      if (s.kind === 'activation') {
        const holder = s.layer as unknown as WithActivation;
        const original = holder.activation;
        holder.activation = { getClassName: () => `cnnvis_${rule}_relu`, apply: relu };
        restore.push(() => {
          holder.activation = original;
        });
      } else {
        const layer = s.layer;
        const hadOwn = Object.prototype.hasOwnProperty.call(layer, 'call');
        const original: CallFn = layer.call;
        const patched: CallFn = (inputs) => {
          const x = Array.isArray(inputs) ? inputs[0] : inputs;
          return relu(x);
        };
        layer.call = patched;
        restore.push(() => {
          if (hadOwn) layer.call = original;
          else delete (layer as unknown as { call?: CallFn }).call;
        });
      }
    }
    return { value: fn(), sites: sites.length };
  } finally {
    for (const r of restore.reverse()) r();
  }
}
