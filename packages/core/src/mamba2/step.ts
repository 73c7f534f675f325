import type { Tensor } from '@mamba3/tensor';
import { defineFusedOp, exp, expectShape, formatShape, mul, neg, reshape, ShapeError, silu, sliceAxis, split } from '@mamba3/tensor';
import { causalConv1dStep } from '../conv.js';
import { ssdStep } from './ssd.js';

/*
 * A Mamba-2 decode step between in_proj and the norm/out_proj as one fused op
 * `mamba2StepCore`: the conv step over xBC and SiLU, dt's softplus and limit, the SSD step, D,
 * and (attrs.gate) the z gate y·silu(z). Backends may register one kernel for it.
 * Shapes: zxbcdt [b, dInProj] (in_proj's output: z0, x0 (dMlp each), z, xBC, dt); conv
 * [b, convDim, dConv]; convWeight [convDim, 1, dConv]; convBias [convDim]; dtBias, ALog [H];
 * D [H] or [H·P]; h [b, H, P, N] -> y [b, H·P], conv, state.
 */

export type Mamba2StepCoreInputs = { zxbcdt: Tensor; conv: Tensor; convWeight: Tensor; convBias?: Tensor; dtBias: Tensor; ALog: Tensor; D: Tensor; h: Tensor };
export type Mamba2StepCoreResult = { y: Tensor; conv: Tensor; state: Tensor };
export interface Mamba2StepCoreAttrs {
  /** Width of the gated-MLP part of in_proj (0 without one). */
  dMlp: number;
  ngroups: number;
  dtLimit: readonly [number, number];
  /** Multiply y by silu(z) (the gate without the norm, or before a norm taken elsewhere). */
  gate: boolean;
}

export const mamba2StepCore = defineFusedOp<Mamba2StepCoreInputs, Mamba2StepCoreAttrs, Mamba2StepCoreResult>({
  name: 'mamba2StepCore',
  inputNames: ['zxbcdt', 'conv', 'convWeight', 'convBias', 'dtBias', 'ALog', 'D', 'h'],
  outputNames: ['y', 'conv', 'state'],
  check: (inp, a) => {
    const op = 'mamba2StepCore';
    if (inp.h.rank !== 4) throw new ShapeError(`${op}: state.ssm ${formatShape(inp.h.shape)} should be [batch, nheads, headdim, d_state]`);
    const [b, H, P, N] = inp.h.shape;
    const K = inp.conv.shape[2] ?? 0;
    const convDim = H * P + 2 * a.ngroups * N;
    expectShape(op, 'state.conv', inp.conv, [b, convDim, K]);
    expectShape(op, 'zxbcdt', inp.zxbcdt, [b, 2 * a.dMlp + H * P + convDim + H]);
    expectShape(op, 'conv1d.weight', inp.convWeight, [convDim, 1, K]);
    expectShape(op, 'conv1d.bias', inp.convBias, [convDim]);
    for (const k of ['dtBias', 'ALog'] as const) expectShape(op, k, inp[k], [H]);
    if (inp.D.size !== H && inp.D.size !== H * P) throw new ShapeError(`${op}: D ${formatShape(inp.D.shape)} should be [${H}] or [${H * P}]`);
    return { y: [b, H * P], conv: [b, convDim, K], state: [b, H, P, N] };
  },
  composite: (inp, a) => {
    const [b, H, P, N] = inp.h.shape;
    const G = a.ngroups;
    const dSsm = H * P;
    const [z, xBC, dt] = split(sliceAxis(inp.zxbcdt, -1, 2 * a.dMlp), [dSsm, dSsm + 2 * G * N, H], -1);
    const conv = causalConv1dStep(xBC, inp.convWeight, inp.convBias ?? null, inp.conv);
    const [x, B, C] = split(silu(conv.y), [dSsm, G * N, G * N], -1);
    const r = ssdStep({ x: reshape(x, [b, H, P]), dt, A: neg(exp(inp.ALog)), B: reshape(B, [b, G, N]), C: reshape(C, [b, G, N]), D: inp.D, dtBias: inp.dtBias, h: inp.h }, a.dtLimit);
    const y = reshape(r.y, [b, dSsm]);
    return { y: a.gate ? mul(y, silu(z)) : y, conv: conv.state, state: r.state };
  },
});
