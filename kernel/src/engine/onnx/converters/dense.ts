/**
 * Dense layers: y = act(x·W + b). One graph runs both directions (the kernel, VGG16's fc1 is 411 MB, is
 * read from TF.js' memory on every run, so no copy of it exists); a forward-only graph serves the
 * composed whole-model pass.
 */
import { activationOf, actBackward, applyAct, FROM_INPUT, isRelu } from '../activation';
import { B, Builder, Converter, LayerContext, LayerKernel, ruleInput, Saved, Unsupported, weightValues } from '../graph';

/**
 * Whether a graph that embeds its weights embeds a large Dense kernel too. A matrix–vector product
 * reads the whole kernel once per image whether it is a constant or fed, and VGG16's two large kernels
 * (477 MB) would be copied into the runtime.
 */
const EMBED_KERNEL = false;

export const dense: Converter = {
  classes: ['Dense'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, inDims, outDims, rank, linear } = ctx;
    if (rank !== 2 || inDims[0].length !== 1) throw new Unsupported(`Dense layer '${layer.name}' on a ${inDims[0].length + 1}-d input`);
    const act = linear ? 'linear' : activationOf(layer);
    const kernelVar = layer.weights.find((v) => /kernel/.test(v.originalName ?? v.name));
    if (!kernelVar) throw new Unsupported(`Dense layer '${layer.name}' has no kernel`);
    const [I, O] = kernelVar.shape as number[];
    const hasBias = layer.weights.some((v) => /bias/.test(v.originalName ?? v.name));
    const kernel = () => weightValues(layer, /kernel/)!;
    const usesRule = isRelu(act);
    // One graph computes y = act(x·W + b) and dx = (dy·act'(y))·Wᵀ. The kernel is an input read from
    // TF.js' memory on every run, so no copy of it exists. The two directions have their own batch
    // dimension: a call feeds the other direction's inputs with zero rows, which costs nothing.
    const biasIn = (b: Builder, inputs: string[]) => (hasBias ? [...inputs, b.f32([O], weightValues(layer, /bias/)!.data)] : inputs);
    /** The kernel in graph `b`: fed even where the graph embeds its weights (see EMBED_KERNEL). */
    const w = (b: Builder) => b.weight([I, O], () => kernel().data, EMBED_KERNEL);
    /** act(x0·W + b) with kernel value `wb`. */
    const y = (b: Builder, wb: string) => applyAct(b, b.one('Gemm', biasIn(b, ['x0', wb])), act, rank);
    if (FROM_INPUT.has(act)) {
      // An activation whose gradient reads its input: separate graphs, the backward one recomputing x·W + b.
      return ctx.unary(
        ['x'],
        (b) => y(b, w(b)),
        (b) => {
          const wb = w(b);
          const gp = actBackward(b, 'g', 'y', act, 'gradient', b.one('Gemm', biasIn(b, ['x0', wb])));
          return b.one('Gemm', [gp, wb], { transB: 1 });
        },
      );
    }
    const saved: Saved[] = act === 'linear' ? [] : ['y'];
    return {
      outDims,
      saved,
      usesRule,
      forward: (embed) => ctx.forwardSpec(embed, (b) => y(b, w(b))),
      both: () => {
        const b = new Builder();
        const wb = w(b);
        b.output(y(b, wb), 'y');
        const gp = actBackward(b, 'g', 'ys', act, ruleInput(b));
        b.output(b.one('Gemm', [gp, wb], { transB: 1 }), 'gx0');
        return b.spec(
          [
            { name: 'x0', dims: [B, I] },
            { name: 'g', dims: ['bg', O] },
            ...(saved.length ? [{ name: 'ys', dims: ['bg', O] }] : []),
            ...(usesRule ? [{ name: 'rule', dims: [3] }] : []),
          ],
          [
            { name: 'y', dims: [B, O] },
            { name: 'gx0', dims: ['bg', I] },
          ],
        );
      },
    };
  },
};
