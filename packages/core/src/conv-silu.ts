import type { Tensor } from '@mamba3/tensor';
import { defineFusedOp, formatShape, ShapeError, silu, sliceAxis, split } from '@mamba3/tensor';
import { causalConv1d } from './conv.js';

/*
 * The Mamba-1/2 prefill's conv: channels [offset, offset + C) of in_proj's output through the
 * causal depthwise conv1d (continuing from `state`) and SiLU, as the fused op
 * `causalConv1dSilu`; a backend kernel reads the channels in place (no split copy) and writes
 * the new state beside y. Mamba-2 takes `causalConv1dSiluXBC`, whose y comes as x, B and C. Shapes: xz [b, L, W]; weight [C, 1, K]; bias [C]; state [b, C, K]
 * -> y [b, L, C], state [b, C, K] (see conv.ts for the cache's layout).
 */

export type ConvSiluInputs = { xz: Tensor; weight: Tensor; bias?: Tensor; state?: Tensor };
export type ConvSiluResult = { y: Tensor; state: Tensor };
export interface ConvSiluAttrs {
  /** The first conv channel in xz's last axis. */
  offset: number;
}

/** The output shapes of a conv over channels [offset, offset + C) of xz, checked: y and the new cache. */
function checkConvSilu(op: string, inp: ConvSiluInputs, a: ConvSiluAttrs): { y: number[]; state: number[] } {
  if (inp.xz.rank !== 3) throw new ShapeError(`${op}: input ${formatShape(inp.xz.shape)} should be [batch, seqlen, width]`);
  const [b, L, W] = inp.xz.shape;
  const [C, one, K] = inp.weight.shape;
  if (inp.weight.rank !== 3 || one !== 1) throw new ShapeError(`${op}: conv1d.weight ${formatShape(inp.weight.shape)} should be [channels, 1, d_conv]`);
  if (!Number.isInteger(a.offset) || a.offset < 0 || a.offset + C > W) throw new ShapeError(`${op}: channels [${a.offset}, ${a.offset + C}) do not fit the input's ${W}`);
  if (inp.bias && (inp.bias.rank !== 1 || inp.bias.shape[0] !== C)) throw new ShapeError(`${op}: conv1d.bias ${formatShape(inp.bias.shape)} should be [${C}]`);
  if (inp.state && formatShape(inp.state.shape) !== formatShape([b, C, K])) throw new ShapeError(`${op}: state.conv ${formatShape(inp.state.shape)} should be ${formatShape([b, C, K])}`);
  return { y: [b, L, C], state: [b, C, K] };
}

export const causalConv1dSilu = defineFusedOp<ConvSiluInputs, ConvSiluAttrs, ConvSiluResult>({
  name: 'causalConv1dSilu',
  inputNames: ['xz', 'weight', 'bias', 'state'],
  outputNames: ['y', 'state'],
  check: (inp, a) => checkConvSilu('causalConv1dSilu', inp, a),
  composite: (inp, a) => {
    const C = inp.weight.shape[0];
    const W = inp.xz.shape[2];
    const x = a.offset === 0 && C === W ? inp.xz : sliceAxis(inp.xz, -1, a.offset, a.offset + C);
    const r = causalConv1d(x, inp.weight, inp.bias ?? null, inp.state);
    return { y: silu(r.y), state: r.state };
  },
});

export type ConvSiluXBCResult = { x: Tensor; B: Tensor; C: Tensor; state: Tensor };
export interface ConvSiluXBCAttrs extends ConvSiluAttrs {
  /** Channels of x, then of B and of C each (x + 2·bc conv channels: Mamba-2's d_ssm and ngroups·d_state). */
  x: number;
  bc: number;
}

/**
 * Mamba-2's prefill conv over xBC, written as x, B and C: causalConv1dSilu and the split of its
 * output in one op, so a backend kernel writes the three tensors itself instead of the split
 * copying them out of y.
 */
export const causalConv1dSiluXBC = defineFusedOp<ConvSiluInputs, ConvSiluXBCAttrs, ConvSiluXBCResult>({
  name: 'causalConv1dSiluXBC',
  inputNames: ['xz', 'weight', 'bias', 'state'],
  outputNames: ['x', 'B', 'C', 'state'],
  check: (inp, a) => {
    const op = 'causalConv1dSiluXBC';
    const s = checkConvSilu(op, inp, a);
    const [b, L, C] = s.y;
    if (!Number.isInteger(a.x) || !Number.isInteger(a.bc) || a.x < 0 || a.bc < 0 || a.x + 2 * a.bc !== C) {
      throw new ShapeError(`${op}: x ${a.x} and B, C ${a.bc} channels each do not make the conv's ${C}`);
    }
    return { x: [b, L, a.x], B: [b, L, a.bc], C: [b, L, a.bc], state: s.state };
  },
  composite: (inp, a) => {
    const r = causalConv1dSilu(inp, { offset: a.offset });
    const [x, B, C] = split(r.y, [a.x, a.bc, a.bc], -1);
    return { x, B, C, state: r.state };
  },
});
