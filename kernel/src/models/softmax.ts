/**
 * Where a model's softmax is, so callers can read the pre-softmax logits: walking back from the output
 * over layers that leave values unchanged in meaning (reshape, flatten, dropout, linear activation),
 * either a separate Softmax / Activation('softmax') layer (the logits are its single input) or a Dense /
 * Conv layer with the softmax fused in (the logits are that layer with a linear activation). Used by
 * the TF.js gradient taps (explain/gradients.ts) and the ONNX Runtime engine (engine/onnx/net.ts).
 */
import * as tf from '@tensorflow/tfjs';

const PASS_THROUGH = new Set(['Reshape', 'Flatten', 'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout']);

function activationName(layer: tf.layers.Layer): string | undefined {
  if (layer.getClassName() === 'Softmax') return 'softmax';
  const cfg = layer.getConfig() as { activation?: unknown };
  return typeof cfg.activation === 'string' ? cfg.activation : undefined;
}

/** The layer holding the model's softmax and whether it is fused, or null (no softmax: logits = output). */
export function softmaxSite(net: tf.LayersModel): { layer: tf.layers.Layer; fused: boolean } | null {
  let layer: tf.layers.Layer | undefined = net.outputLayers[0];
  for (let hops = 0; layer && hops < 8; hops++) {
    const act = activationName(layer);
    const cls = layer.getClassName();
    const inbound: tf.layers.Layer[] = layer.inboundNodes[0]?.inboundLayers ?? [];
    if (act === 'softmax') {
      if (inbound.length !== 1) return null;
      return { layer, fused: cls !== 'Softmax' && cls !== 'Activation' };
    }
    if (!PASS_THROUGH.has(cls) && !(cls === 'Activation' && act === 'linear')) return null;
    layer = inbound.length === 1 ? inbound[0] : undefined;
  }
  return null;
}
