/**
 * Layers that join several inputs: the element-wise merges (Add, Subtract, Average, Multiply, Maximum,
 * Minimum) and Concatenate (over channels).
 */
import { B, Builder, channelAxis, Converter, internalDims, LayerContext, LayerKernel, Port, Unsupported } from '../graph';

export const concatenate: Converter = {
  classes: ['Concatenate'],
  convert(ctx: LayerContext): LayerKernel {
    const { layer, cfg, ins, inDims, outDims, rank } = ctx;
    if (channelAxis(cfg.axis ?? -1, rank) !== rank - 1) throw new Unsupported(`concatenation over axis ${JSON.stringify(cfg.axis)} in layer '${layer.name}'`);
    const names = ins.map((_, i) => `x${i}`);
    const sizes = inDims.map((d) => d[0]);
    return {
      outDims,
      saved: [],
      usesRule: false,
      forward: () => {
        const b = new Builder();
        b.output(b.one('Concat', names, { axis: 1 }), 'y');
        return b.spec(ctx.io(names, inDims), ctx.yOut);
      },
      backward: () => {
        const b = new Builder();
        const parts = b.op('Split', ['g', b.i64(sizes)], { axis: 1 }, sizes.length);
        parts.forEach((p, i) => b.output(p, `gx${i}`));
        return b.spec(ctx.bwdInputs([]), gradOuts(ctx));
      },
    };
  },
};

/** The gradients of every input, gx0, gx1, … */
function gradOuts(ctx: LayerContext): Port[] {
  return ctx.inDims.map((d, i) => ({ name: `gx${i}`, dims: [B, ...d] }));
}

export const merge: Converter = {
  classes: ['Add', 'Subtract', 'Average', 'Multiply', 'Maximum', 'Minimum'],
  convert: (ctx) => mergeKernel(ctx),
};


/**
 * Element-wise merges (Add, Subtract, Average, Multiply, Maximum, Minimum) with TF.js' broadcasting: an
 * input of lower rank gets size-1 axes after the batch axis ([C] against [H, W, C] is [1, 1, C]: a
 * squeeze-excitation scale), then sizes of 1 broadcast. TF.js folds the inputs left to right
 * (((x0 ∘ x1) ∘ x2) …); gradients follow its rules for each step: Multiply's go to each factor times the
 * other, Maximum's to the first operand where it is ≥ the second (else the second), Minimum's to the first
 * where it is ≤, and a broadcast operand's gradient is summed over the axes it was broadcast along.
 */
function mergeKernel(ctx: LayerContext): LayerKernel {
  const { cls, ins, inDims, outTf, outDims } = ctx;
  const name = ctx.layer.name;
  const R = outTf.length;
  const n = ins.length;
  if (cls === 'Subtract' && n !== 2) throw new Unsupported(`layer '${name}' (Subtract) has ${n} inputs`);
  // Each input's internal dims after TF.js' expansion to the output's rank.
  const exp = ins.map((s, i) => {
    if (s.length === R) return inDims[i];
    if (s.length !== 1 || R !== 3) throw new Unsupported(`layer '${name}' (${cls}) merges inputs of rank ${s.length + 1} and ${R + 1}`);
    return internalDims([1, 1, s[0]]);
  });
  for (const d of exp) {
    if (d.length !== outDims.length || d.some((v, k) => v !== 1 && v !== outDims[k])) throw new Unsupported(`layer '${name}' (${cls}) merges shapes that do not broadcast`);
  }
  const same = exp.every((d) => d.join() === outDims.join());
  const names = ins.map((_, i) => `x${i}`);
  const inputs = ctx.io(names, inDims);
  if (cls === 'Add' && same) {
    return {
      outDims,
      sumGradient: true,
      saved: [],
      usesRule: false,
      forward: () => {
        const b = new Builder();
        b.output(b.one('Sum', names), 'y');
        return b.spec(inputs, ctx.yOut);
      },
    };
  }
  /** Input i at the output's rank. */
  const expanded = (b: Builder, i: number) => (exp[i].length === inDims[i].length ? names[i] : b.one('Reshape', [names[i], b.i64([-1, ...exp[i]])]));
  /** Sums gradient t of shape `from` down to shape `to` (both internal, without batch); then back to input i's dims. */
  const reduce = (b: Builder, t: string, from: number[], to: number[]): string => {
    const axes = to.flatMap((d, k) => (d === 1 && from[k] !== 1 ? [k + 1] : []));
    return axes.length ? b.one('ReduceSum', [t, b.i64(axes)], { keepdims: 1 }) : t;
  };
  const toInput = (b: Builder, t: string, i: number) => (exp[i].length === inDims[i].length ? t : b.one('Reshape', [t, b.i64([-1, ...inDims[i]])]));
  const bshape = (a: number[], c: number[]) => a.map((d, k) => Math.max(d, c[k]));
  const binary = cls === 'Multiply' ? 'Mul' : cls === 'Maximum' ? 'Max' : cls === 'Minimum' ? 'Min' : null;
  /** The left-to-right fold of a binary op: the partial results and their shapes. */
  const fold = (b: Builder, xs: string[]) => {
    const parts = [xs[0]];
    const shapes = [exp[0]];
    for (let i = 1; i < n; i++) {
      parts.push(b.one(binary!, [parts[i - 1], xs[i]]));
      shapes.push(bshape(shapes[i - 1], exp[i]));
    }
    return { parts, shapes };
  };
  return {
    outDims,
    saved: binary ? ['x'] : [],
    usesRule: false,
    forward: () => {
      const b = new Builder();
      const xs = names.map((_, i) => expanded(b, i));
      let y: string;
      if (binary) y = fold(b, xs).parts[n - 1];
      else if (cls === 'Subtract') y = b.one('Sub', xs);
      else if (cls === 'Average') y = b.one('Mul', [b.one('Sum', xs), b.scalar(1 / n)]);
      else y = b.one('Sum', xs);
      b.output(y, 'y');
      return b.spec(inputs, ctx.yOut);
    },
    backward: () => {
      const b = new Builder();
      const gx: string[] = new Array(n);
      if (!binary) {
        const g = cls === 'Average' ? b.one('Mul', ['g', b.scalar(1 / n)]) : 'g';
        for (let i = 0; i < n; i++) {
          const gi = cls === 'Subtract' && i === 1 ? b.one('Neg', [g]) : g;
          gx[i] = toInput(b, reduce(b, gi, outDims, exp[i]), i);
        }
      } else {
        const xs = names.map((_, i) => expanded(b, i));
        const { parts, shapes } = fold(b, xs);
        let g = 'g';
        for (let i = n - 1; i >= 1; i--) {
          // parts[i] = parts[i−1] ∘ xs[i]; g has shape shapes[i].
          const a = parts[i - 1];
          const x = xs[i];
          let ga: string;
          let gb: string;
          if (binary === 'Mul') {
            ga = b.one('Mul', [g, x]);
            gb = b.one('Mul', [g, a]);
          } else {
            // Max: b wins where a < b; Min: b wins where a > b (ties go to a, as in TF.js).
            const bWins = b.one(binary === 'Max' ? 'Less' : 'Greater', [a, x]);
            const zero = b.scalar(0);
            gb = b.one('Where', [bWins, g, zero]);
            ga = b.one('Where', [bWins, zero, g]);
          }
          gx[i] = toInput(b, reduce(b, gb, shapes[i], exp[i]), i);
          g = reduce(b, ga, shapes[i], shapes[i - 1]);
        }
        gx[0] = toInput(b, g, 0);
      }
      gx.forEach((v, i) => b.output(v, `gx${i}`));
      return b.spec(
        [...ctx.bwdInputs([]), ...(binary ? inputs : [])],
        gradOuts(ctx),
      );
    },
  };
}
