import type { Tensor } from '@mamba3/tensor';
import { defineFusedOp, formatShape, ShapeError, silu, sliceAxis } from '@mamba3/tensor';
import { causalConv1d } from './conv.js';

/*
 * The Mamba-1/2 prefill's conv: channels [offset, offset + C) of in_proj's output through the
 * causal depthwise conv1d (continuing from `state`) and SiLU, as the fused op
 * `causalConv1dSilu`; a backend kernel reads the channels in place (no split copy) and writes
 * the new state beside y. Shapes: xz [b, L, W]; weight [C, 1, K]; bias [C]; state [b, C, K]
 * -> y [b, L, C], state [b, C, K] (see conv.ts for the cache's layout).
 */

export type ConvSiluInputs = { xz: Tensor; weight: Tensor; bias?: Tensor; state?: Tensor };
export type ConvSiluResult = { y: Tensor; state: Tensor };
export interface ConvSiluAttrs {
  /** The first conv channel in xz's last axis. */
  offset: number;
}

export const causalConv1dSilu = defineFusedOp<ConvSiluInputs, ConvSiluAttrs, ConvSiluResult>({
  name: 'causalConv1dSilu',
  inputNames: ['xz', 'weight', 'bias', 'state'],
  outputNames: ['y', 'state'],
  check: (inp, a) => {
    const op = 'causalConv1dSilu';
    if (inp.xz.rank !== 3) throw new ShapeError(`${op}: input ${formatShape(inp.xz.shape)} should be [batch, seqlen, width]`);
    const [b, L, W] = inp.xz.shape;
    const [C, one, K] = inp.weight.shape;
    if (inp.weight.rank !== 3 || one !== 1) throw new ShapeError(`${op}: conv1d.weight ${formatShape(inp.weight.shape)} should be [channels, 1, d_conv]`);
    if (!Number.isInteger(a.offset) || a.offset < 0 || a.offset + C > W) throw new ShapeError(`${op}: channels [${a.offset}, ${a.offset + C}) do not fit the input's ${W}`);
    if (inp.bias && (inp.bias.rank !== 1 || inp.bias.shape[0] !== C)) throw new ShapeError(`${op}: conv1d.bias ${formatShape(inp.bias.shape)} should be [${C}]`);
    if (inp.state && formatShape(inp.state.shape) !== formatShape([b, C, K])) throw new ShapeError(`${op}: state.conv ${formatShape(inp.state.shape)} should be ${formatShape([b, C, K])}`);
    return { y: [b, L, C], state: [b, C, K] };
  },
  composite: (inp, a) => {
    const C = inp.weight.shape[0];
    const W = inp.xz.shape[2];
    const x = a.offset === 0 && C === W ? inp.xz : sliceAxis(inp.xz, -1, a.offset, a.offset + C);
    const r = causalConv1d(x, inp.weight, inp.bias ?? null, inp.state);
    return { y: silu(r.y), state: r.state };
  },
});
