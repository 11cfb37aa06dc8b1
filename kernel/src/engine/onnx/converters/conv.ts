/**
 * Convolutions: Conv2D, DepthwiseConv2D, SeparableConv2D (depthwise then pointwise) and Conv2DTranspose,
 * with TF's padding, strides and dilations, and an activation, a folded batch norm and ReLU layer (Fold),
 * or a subset of the output channels (the backward pass of a gradient that reaches only those).
 *
 * Input gradients of stride-1 convolutions run as a forward convolution with the flipped, transposed
 * kernel (ONNX Runtime's ConvTranspose is several times slower than its Conv); strided ones use
 * ConvTranspose.
 */
import { activationOf, actBackward, applyAct, FROM_INPUT, isRelu, savedFor } from '../activation';
import { Builder, Converter, Embed, flipTranspose, LayerContext, LayerKernel, ohwiFromTf, pair, tfPad, Unsupported, weightValues } from '../graph';

export const convolutions: Converter = {
  classes: ['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cfg, cls, inDims, outDims, fullDims, rank, fold, linear, outChannels } = ctx;
    if (rank !== 4) throw new Unsupported(`layer '${layer.name}' of rank ${rank}`);
    if (outChannels && cls !== 'Conv2D') throw new Unsupported(`output channels of layer '${layer.name}' (${cls})`);
    const depthwise = cls === 'DepthwiseConv2D';
    const separable = cls === 'SeparableConv2D';
    const transpose = cls === 'Conv2DTranspose';
    const act = fold?.act ?? (linear ? 'linear' : activationOf(layer));
    const [kh, kw] = pair(cfg.kernelSize, 1);
    const [sh, sw] = pair(cfg.strides, 1);
    const [dh, dw] = pair(cfg.dilationRate, 1);
    if (transpose && (dh !== 1 || dw !== 1)) throw new Unsupported(`dilated transposed convolution '${layer.name}'`);
    const [C, H, W] = inDims[0];
    const O = outDims[0];
    // Padding of the (forward) convolution: for a transposed one, the convolution from its output to its input.
    const ph = transpose ? tfPad(outDims[1], kh, sh, 1, cfg.padding as string) : tfPad(H, kh, sh, dh, cfg.padding as string);
    const pw = transpose ? tfPad(outDims[2], kw, sw, 1, cfg.padding as string) : tfPad(W, kw, sw, dw, cfg.padding as string);
    if (transpose ? ph.out !== H || pw.out !== W : ph.out !== outDims[1] || pw.out !== outDims[2]) throw new Unsupported(`layer '${layer.name}': output size mismatch`);
    // The TF kernel [kh, kw, C, O] (or a bias, s, t) restricted to the kept output channels.
    const pick = (v: Float32Array): Float32Array => {
      if (!outChannels) return v;
      const full = fullDims[0];
      const out = new Float32Array((v.length / full) * O);
      for (let r = 0, o = 0; r < v.length; r += full) for (const c of outChannels) out[o++] = v[r + c];
      return out;
    };
    // Channel multiplier of the depthwise part (DepthwiseConv2D, SeparableConv2D).
    const M = depthwise ? O / C : separable ? ((layer.weights.find((v) => /depthwise_kernel/.test(v.originalName ?? v.name))?.shape[3] as number | undefined) ?? 1) : 1;
    // Weights are read when a graph is built (not kept here: a VGG16 is 528 MB).
    // ONNX kernel [O, I/group, kh, kw]; for depthwise, output channel c·M + m reads input channel c.
    // Transposed: TF [kh, kw, O, C] → ONNX ConvTranspose [C, O, kh, kw] (also the Conv kernel of its input gradient).
    let onnxKernel: Float32Array | undefined;
    const kernelOnnx = () => {
      if (onnxKernel) return onnxKernel;
      if (transpose) return (onnxKernel = ohwiFromTf(weightValues(layer, /kernel/)!.data, kh, kw, O, C));
      const k = pick(weightValues(layer, depthwise || separable ? /depthwise_kernel/ : /kernel/)!.data);
      return (onnxKernel = depthwise || separable ? ohwiFromTf(k, kh, kw, 1, C * M) : ohwiFromTf(k, kh, kw, C, O));
    };
    // SeparableConv2D's pointwise kernel: TF [1, 1, C·M, O] → ONNX [O, C·M, 1, 1], and transposed for the backward pass.
    const pointwise = () => ohwiFromTf(weightValues(layer, /pointwise_kernel/)!.data, 1, 1, C * M, O);
    // ([1, 1, C·M, O] in TF's order is already the [C·M, O, 1, 1] kernel of the pointwise part's input gradient.)
    const pointwiseT = () => weightValues(layer, /pointwise_kernel/)!.data;
    const hasBias = layer.weights.some((v) => /bias/.test(v.originalName ?? v.name));
    const biasValues = (): Float32Array => pick(weightValues(layer, /bias/)!.data);
    // A folded batch norm stays a separate multiply and add, rounding as TF.js computes it (a kernel
    // with the batch norm folded in moves ReLU6 boundaries by an ulp and flips gradient masks): s and
    // t are graph inputs, which the runtime cannot fold, unless the graph embeds its weights (Embed):
    // then they are constants, folded into the kernel by the runtime (true: values that feed no
    // gradient mask), or the weights of a 1×1 depthwise convolution of their own ('weights').
    const bnFeeds = fold?.bn ? { bn_s: { data: pick(fold.bn.s), dims: [1, O, 1, 1] }, bn_t: { data: pick(fold.bn.t), dims: [1, O, 1, 1] } } : undefined;
    /** A graph that embeds its weights exactly ('weights') has a 2-d convolution's batch norm as a convolution of its own. */
    const bnAsConv = (embed: Embed | undefined) => embed === 'weights' && rank === 4;
    /** Whether the batch norm's s and t are graph inputs (fed), in the forward graph and its spec alike. */
    const bnFed = (embed: Embed | undefined) => embed !== true && !bnAsConv(embed);
    const bnInputs = fold?.bn ? [{ name: 'bn_s', dims: [1, O, 1, 1] }, { name: 'bn_t', dims: [1, O, 1, 1] }] : [];
    const group = depthwise || separable ? C : 1;
    const pads = [ph.before, pw.before, ph.after, pw.after];
    const convAttrs = { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads, group };
    const saved = savedFor(act);
    if (outChannels && FROM_INPUT.has(act)) throw new Unsupported(`output channels of layer '${layer.name}' with activation '${act}'`);
    if (bnFeeds && FROM_INPUT.has(act)) throw new Unsupported(`a batch norm folded before '${act}' in layer '${layer.name}'`);
    const usesRule = isRelu(act);
    /** The pre-activation value from x0 (batch norm applied). */
    const pre = (b: Builder): string => {
      const bias = hasBias ? [b.f32([O], biasValues())] : [];
      let z: string;
      if (transpose) {
        const opad = [outDims[1] - (sh * (H - 1) + kh - ph.before - ph.after), outDims[2] - (sw * (W - 1) + kw - pw.before - pw.after)];
        z = b.one('ConvTranspose', ['x0', b.weight([C, O, kh, kw], kernelOnnx), ...bias], { kernel_shape: [kh, kw], strides: [sh, sw], pads, output_padding: opad });
      } else if (separable) {
        const d = b.one('Conv', ['x0', b.weight([C * M, 1, kh, kw], kernelOnnx)], convAttrs);
        z = b.one('Conv', [d, b.weight([O, C * M, 1, 1], pointwise), ...bias], { kernel_shape: [1, 1] });
      } else {
        z = b.one('Conv', ['x0', b.weight([O, depthwise ? 1 : C, kh, kw], kernelOnnx), ...bias], convAttrs);
      }
      if (bnFeeds && bnAsConv(b.embed)) {
        // x·s + t per channel as a 1×1 depthwise convolution: no rewrite folds one convolution into
        // another, and its kernel rounds x·s, then adds t, as the multiply and add do.
        z = b.one('Conv', [z, b.f32([O, 1, 1, 1], bnFeeds.bn_s.data), b.f32([O], bnFeeds.bn_t.data)], { kernel_shape: [1, 1], group: O });
      } else if (bnFeeds) {
        const [bs, bt] = bnFed(b.embed) ? ['bn_s', 'bn_t'] : [b.f32([1, O, 1, 1], bnFeeds.bn_s.data), b.f32([1, O, 1, 1], bnFeeds.bn_t.data)];
        z = b.one('Add', [b.one('Mul', [z, bs]), bt]);
      }
      return z;
    };
    // The flipped kernel of the stride-1 input gradient, made once for every backward graph of the
    // layer (a copy per graph was 56 MB per graph kind on VGG16).
    let flipped: Float32Array | undefined;
    /** The input gradient of a (grouped) convolution x [Ci, H, W] → [Co, ...] with ONNX kernel [Co, Ci/group, kh, kw]. */
    const convInputGrad = (b: Builder, gp: string, Co: number, Ci: number, kernel: () => Float32Array): string => {
      const I = Ci / group;
      if (sh === 1 && sw === 1 && dh === 1 && dw === 1 && (group === 1 || Co === Ci)) {
        // Stride 1: the input gradient is a convolution with the flipped kernel, transposed (per group).
        const wf = () => (flipped ??= group === 1 ? flipTranspose(kernel(), Co, Ci, kh, kw) : flipTranspose(kernel(), Ci, 1, kh, kw));
        return b.one('Conv', [gp, b.weight(group === 1 ? [Ci, Co, kh, kw] : [Ci, 1, kh, kw], wf)], {
          kernel_shape: [kh, kw],
          pads: [kh - 1 - ph.before, kw - 1 - pw.before, kh - 1 - ph.after, kw - 1 - pw.after],
          group,
        });
      }
      const opad = [H - (sh * (ph.out - 1) + (kh - 1) * dh + 1 - ph.before - ph.after), W - (sw * (pw.out - 1) + (kw - 1) * dw + 1 - pw.before - pw.after)];
      return b.one('ConvTranspose', [gp, b.weight([Co, I, kh, kw], kernel)], { ...convAttrs, output_padding: opad });
    };
    return {
      outDims,
      saved,
      usesRule,
      forward: (embed) => ctx.forwardSpec(embed, (b) => applyAct(b, pre(b), act, rank), bnFed(embed) ? bnInputs : []),
      backward: (rule) => {
        const b = new Builder();
        let gp = actBackward(b, 'g', 'y', act, rule, FROM_INPUT.has(act) ? pre(b) : undefined);
        if (bnFeeds) gp = b.one('Mul', [gp, 'bn_s']);
        let gx: string;
        if (transpose) {
          // The input gradient of a transposed convolution is the convolution with the same kernel.
          gx = b.one('Conv', [gp, b.weight([C, O, kh, kw], kernelOnnx)], { kernel_shape: [kh, kw], strides: [sh, sw], pads });
        } else if (separable) {
          const gd = b.one('Conv', [gp, b.weight([C * M, O, 1, 1], pointwiseT)], { kernel_shape: [1, 1] });
          gx = convInputGrad(b, gd, C * M, C, kernelOnnx);
        } else {
          gx = convInputGrad(b, gp, O, C, kernelOnnx);
        }
        b.output(gx, 'gx0');
        return b.spec([...ctx.bwdInputs(saved), ...(bnFeeds ? [bnInputs[0]] : [])], ctx.gxOut);
      },
      feeds: bnFeeds,
    };
  },
};
