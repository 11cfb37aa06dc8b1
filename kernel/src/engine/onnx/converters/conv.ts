/**
 * Convolutions: Conv2D, DepthwiseConv2D, SeparableConv2D (depthwise then pointwise) and Conv2DTranspose,
 * with TF's padding, strides and dilations, and an activation, a folded batch norm and ReLU layer (Fold),
 * or a subset of the output channels (the backward pass of a gradient that reaches only those).
 *
 * Input gradients of stride-1 convolutions run as a forward convolution with the flipped, transposed
 * kernel (ONNX Runtime's ConvTranspose is several times slower than its Conv). Strided ones use
 * ConvTranspose where the kernel is fed; in graphs composed once for many runs (kernels constant) they
 * run as a stride-1 convolution of the gradient's phases (phaseGradient), and a batch norm's scale is
 * folded into the backward kernels.
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
    // The flipped kernel of the stride-1 input gradient, made once for every backward graph that feeds
    // it (a copy per graph was 56 MB per graph kind on VGG16); a graph that embeds it makes its own.
    let flipped: Float32Array | undefined;
    /**
     * The input gradient of a (grouped) convolution x [Ci, H, W] → [Co, ...] with ONNX kernel [Co, Ci/group, kh, kw]
     * (`kernel`); `embed`: the kernel is a constant of the graph, not fed (and not cached here).
     */
    const convInputGrad = (b: Builder, gp: string, Co: number, Ci: number, kernel: () => Float32Array, embed: boolean): string => {
      const I = Ci / group;
      if (sh === 1 && sw === 1 && dh === 1 && dw === 1 && (group === 1 || Co === Ci)) {
        // Stride 1: the input gradient is a convolution with the flipped kernel, transposed (per group).
        const flip = () => (group === 1 ? flipTranspose(kernel(), Co, Ci, kh, kw) : flipTranspose(kernel(), Ci, 1, kh, kw));
        const wf = embed ? flip : () => (flipped ??= flip());
        return b.one('Conv', [gp, b.weight(group === 1 ? [Ci, Co, kh, kw] : [Ci, 1, kh, kw], wf)], {
          kernel_shape: [kh, kw],
          pads: [kh - 1 - ph.before, kw - 1 - pw.before, kh - 1 - ph.after, kw - 1 - pw.after],
          group,
        });
      }
      // Strided, kernel constant: the s² phases of the gradient as one stride-1 convolution (the runtime's
      // blocked convolution; its ConvTranspose runs at a third of that speed).
      const phased = embed && group === 1 && sh === sw && dh === 1 && dw === 1 ? phaseGradient(b, gp, { Co, Ci, kh, kw, s: sh, H, W, Ho: ph.out, Wo: pw.out, top: ph.before, left: pw.before }, kernel) : null;
      if (phased) return phased;
      const opad = [H - (sh * (ph.out - 1) + (kh - 1) * dh + 1 - ph.before - ph.after), W - (sw * (pw.out - 1) + (kw - 1) * dw + 1 - pw.before - pw.after)];
      return b.one('ConvTranspose', [gp, b.weight([Co, I, kh, kw], kernel)], { ...convAttrs, output_padding: opad });
    };
    return {
      outDims,
      saved,
      usesRule,
      forward: (embed) => ctx.forwardSpec(embed, (b) => applyAct(b, pre(b), act, rank), bnFed(embed) ? bnInputs : []),
      backward: (rule, embedGraph = false) => {
        const s = bnFeeds?.bn_s.data;
        // A graph composed for many runs gets this layer's backward kernels as constants where that
        // changes the computation: a batch norm's scale folded in, a strided gradient as phases. A
        // plain stride-1 kernel stays fed (one flipped copy for every graph): as a constant it ran no
        // faster (VGG16) and cost the runtime's copy of it in each graph.
        const embed = embedGraph && (s !== undefined || sh > 1 || sw > 1);
        const b = new Builder(embed);
        let gp = actBackward(b, 'g', 'y', act, rule, FROM_INPUT.has(act) ? pre(b) : undefined);
        // The batch norm's scale: a multiply of the gradient, or, in a graph that embeds the kernels,
        // folded into them (output channel o of the forward kernel times s[o]).
        const fold = embed && s !== undefined;
        if (s && !fold) gp = b.one('Mul', [gp, 'bn_s']);
        const scaled = (w: () => Float32Array, axis: 0 | 1, dims: number[]) => (fold ? () => scaleChannels(w(), dims, axis, s!) : w);
        let gx: string;
        if (transpose) {
          // The input gradient of a transposed convolution is the convolution with the same kernel.
          gx = b.one('Conv', [gp, b.weight([C, O, kh, kw], scaled(kernelOnnx, 1, [C, O, kh, kw]))], { kernel_shape: [kh, kw], strides: [sh, sw], pads });
        } else if (separable) {
          const gd = b.one('Conv', [gp, b.weight([C * M, O, 1, 1], scaled(pointwiseT, 1, [C * M, O, 1, 1]))], { kernel_shape: [1, 1] });
          gx = convInputGrad(b, gd, C * M, C, kernelOnnx, embed);
        } else {
          gx = convInputGrad(b, gp, O, C, scaled(kernelOnnx, 0, [O, depthwise ? 1 : C, kh, kw]), embed);
        }
        b.output(gx, 'gx0');
        return b.spec([...ctx.bwdInputs(saved), ...(s && !fold ? [bnInputs[0]] : [])], ctx.gxOut);
      },
      feeds: bnFeeds,
    };
  },
};

/** A copy of the 4-d array `w` (dims `dims`) with each index c along `axis` scaled by s[c]. */
function scaleChannels(w: Float32Array, dims: number[], axis: 0 | 1, s: Float32Array): Float32Array {
  const out = new Float32Array(w.length);
  const inner = dims.slice(axis + 1).reduce((a, d) => a * d, 1);
  const n = dims[axis];
  for (let i = 0; i < w.length; i++) out[i] = w[i] * s[Math.floor(i / inner) % n];
  return out;
}

/** One axis of a strided convolution's input gradient split into phases (see phaseGradient). */
interface PhaseAxis {
  /** Per phase r (input positions s·q + r): its first kernel tap, its number of taps, and the offset of its output rows. */
  phases: { a0: number; n: number; e: number }[];
  /** The stride-1 convolution's kernel length and padding; `rows`: its output length (≥ ⌈input / s⌉). */
  K: number;
  before: number;
  after: number;
  rows: number;
}

function phaseAxis(k: number, s: number, pad: number, inSize: number, outSize: number): PhaseAxis | null {
  const phases = Array.from({ length: s }, (_, r) => {
    const a0 = (r + pad) % s;
    return { a0, n: a0 < k ? Math.ceil((k - a0) / s) : 0, e: Math.floor((r + pad) / s) };
  });
  const used = phases.filter((p) => p.n > 0);
  const lo = Math.min(...used.map((p) => p.e - p.n + 1));
  const hi = Math.max(...used.map((p) => p.e));
  const K = hi - lo + 1;
  const before = -lo;
  if (before < 0) return null;
  const after = Math.max(0, Math.ceil(inSize / s) - outSize - before + K - 1);
  return { phases, K, before, after, rows: outSize + before + after - K + 1 };
}

/**
 * The input gradient of a convolution with stride s on both axes (group 1, no dilation) from its
 * output gradient `g` [Co, Ho, Wo]: a stride-1 convolution computes the phases of the input gradient
 * — pixel (s·q + rh, s·q' + rw) is phase (rh, rw) — as channels, then a transposed convolution with
 * one-hot s×s kernels (one group per channel) puts each phase at its pixels (the runtime's
 * DepthToSpace is several times slower). Input position s·q + r receives output position q + e − j
 * through kernel tap a0 + s·j (tap a of output o reads input o·s + a − pad), so each phase is a
 * stride-1 correlation with every s-th tap; one kernel window holds every phase's taps, zeros where a
 * phase has fewer. Phases no tap reaches (kernels smaller than the stride) are left out (zeros).
 * Channels are padded so the convolution's output fills blocks of 16 (the runtime's blocked layout).
 * Null when a phase's first row would need negative padding.
 */
function phaseGradient(
  b: Builder,
  g: string,
  d: { Co: number; Ci: number; kh: number; kw: number; s: number; H: number; W: number; Ho: number; Wo: number; top: number; left: number },
  kernel: () => Float32Array,
): string | null {
  const { Co, Ci, kh, kw, s } = d;
  const ah = phaseAxis(kh, s, d.top, d.H, d.Ho);
  const aw = phaseAxis(kw, s, d.left, d.W, d.Wo);
  if (!ah || !aw) return null;
  const live: [number, number][] = [];
  for (let rh = 0; rh < s; rh++) for (let rw = 0; rw < s; rw++) if (ah.phases[rh].n > 0 && aw.phases[rw].n > 0) live.push([rh, rw]);
  const m = live.length;
  // The fewest channels ≥ Ci whose m phases fill blocks of 16: a multiple of 16 / gcd(m, 16).
  const q = 16 / Math.min(m & -m, 16);
  const Cp = Math.ceil(Ci / q) * q;
  const { K: Kh } = ah;
  const { K: Kw } = aw;
  // Output channel c·m + i: phase live[i] of input channel c.
  const V = () => {
    const w = kernel();
    const v = new Float32Array(Cp * m * Co * Kh * Kw);
    live.forEach(([rh, rw], i) => {
      const fh = ah.phases[rh];
      const fw = aw.phases[rw];
      for (let ci = 0; ci < Ci; ci++)
        for (let co = 0; co < Co; co++) {
          const dst = ((ci * m + i) * Co + co) * Kh * Kw;
          const src = (co * Ci + ci) * kh * kw;
          for (let jh = 0; jh < fh.n; jh++)
            for (let jw = 0; jw < fw.n; jw++) v[dst + (fh.e - jh + ah.before) * Kw + (fw.e - jw + aw.before)] = w[src + (fh.a0 + s * jh) * kw + (fw.a0 + s * jw)];
        }
    });
    return v;
  };
  const y = b.one('Conv', [g, b.weight([Cp * m, Co, Kh, Kw], V)], { kernel_shape: [Kh, Kw], pads: [ah.before, aw.before, ah.after, aw.after] });
  // Channel c·m + i to pixel (s·q + rh, s·q' + rw) of channel c.
  const place = new Float32Array(Cp * m * s * s);
  for (let c = 0; c < Cp; c++) live.forEach(([rh, rw], i) => (place[(c * m + i) * s * s + rh * s + rw] = 1));
  let x = b.one('ConvTranspose', [y, b.f32([Cp * m, 1, s, s], place)], { kernel_shape: [s, s], strides: [s, s], group: Cp });
  if (Cp !== Ci || s * ah.rows !== d.H || s * aw.rows !== d.W) x = b.one('Slice', [x, b.i64([0, 0, 0]), b.i64([Ci, d.H, d.W]), b.i64([1, 2, 3])]);
  return x;
}
