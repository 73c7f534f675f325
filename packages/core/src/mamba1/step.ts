import type { Tensor } from '@mamba3/tensor';
import { defineFusedOp, exp, expectShape, formatShape, fusedLinear, linear, neg, ShapeError, silu, split } from '@mamba3/tensor';
import { causalConv1dStep } from '../conv.js';
import { selectiveScanStep } from './scan.js';

/*
 * A Mamba-1 decode step between in_proj and out_proj as two fused ops around x_proj (a GEMV the
 * backend runs): `mamba1ConvStep` (the conv step and SiLU) and `mamba1StepScan` (dt_proj,
 * softplus, the scan step, D and the z gate). Backends may register one kernel for each.
 * Shapes: xz [b, 2·E] (in_proj's output: x then z); conv [b, E, dConv]; convWeight [E, 1, dConv];
 * convBias [E]; dbc [b, R + 2·N] (x_proj's output: dt, B, C); dtWeight [E, R]; dtBias [E];
 * ALog [E, N]; D [E]; h [b, E, N].
 */

export type Mamba1ConvStepInputs = { xz: Tensor; conv: Tensor; convWeight: Tensor; convBias?: Tensor };
export type Mamba1ConvStepResult = { x: Tensor; conv: Tensor };

export type Mamba1StepScanInputs = { xz: Tensor; x: Tensor; dbc: Tensor; dtWeight: Tensor; dtBias: Tensor; ALog: Tensor; D: Tensor; h: Tensor };
export type Mamba1StepScanResult = { y: Tensor; state: Tensor };

/** The conv cache and weights of a conv step: its [batch, d_inner, d_conv], checked. */
function checkConv(op: string, inp: { conv: Tensor; convWeight: Tensor; convBias?: Tensor }): [number, number, number] {
  if (inp.conv.rank !== 3) throw new ShapeError(`${op}: state.conv ${formatShape(inp.conv.shape)} should be [batch, d_inner, d_conv]`);
  const [b, E, K] = inp.conv.shape;
  expectShape(op, 'conv1d.weight', inp.convWeight, [E, 1, K]);
  expectShape(op, 'conv1d.bias', inp.convBias, [E]);
  return [b, E, K];
}

/** The x half of xz through the conv step and SiLU; the rolled conv state. */
export const mamba1ConvStep = defineFusedOp<Mamba1ConvStepInputs, Record<string, never>, Mamba1ConvStepResult>({
  name: 'mamba1ConvStep',
  inputNames: ['xz', 'conv', 'convWeight', 'convBias'],
  outputNames: ['x', 'conv'],
  check: (inp) => {
    const [b, E, K] = checkConv('mamba1ConvStep', inp);
    expectShape('mamba1ConvStep', 'xz', inp.xz, [b, 2 * E]);
    return { x: [b, E], conv: [b, E, K] };
  },
  composite: (inp) => {
    const [x0] = split(inp.xz, 2, -1);
    const r = causalConv1dStep(x0, inp.convWeight, inp.convBias ?? null, inp.conv);
    return { x: silu(r.y), conv: r.state };
  },
});

export type Mamba1InProjConvInputs = { u: Tensor; weight: Tensor; normWeight?: Tensor; conv: Tensor; convWeight: Tensor; convBias?: Tensor };
export type Mamba1InProjConvResult = { xz: Tensor; x: Tensor; conv: Tensor };
export interface Mamba1InProjConvAttrs {
  /** The block norm's eps (read with `normWeight`). */
  eps: number;
}

/**
 * in_proj (bias-free, with the block's RMSNorm when `normWeight` is given: a decode step's
 * `fusedLinear`) and `mamba1ConvStep` on its x half, as one op: a backend can run the conv step
 * on each of in_proj's outputs as the product writes it, one dispatch a layer fewer. u [b, dModel],
 * weight [2·E, dModel] -> xz [b, 2·E], x [b, E], conv [b, E, dConv].
 */
export const mamba1InProjConv = defineFusedOp<Mamba1InProjConvInputs, Mamba1InProjConvAttrs, Mamba1InProjConvResult>({
  name: 'mamba1InProjConv',
  inputNames: ['u', 'weight', 'normWeight', 'conv', 'convWeight', 'convBias'],
  outputNames: ['xz', 'x', 'conv'],
  check: (inp) => {
    const op = 'mamba1InProjConv';
    const [b, E, K] = checkConv(op, inp);
    const d = inp.u.shape[1] ?? 0;
    expectShape(op, 'u', inp.u, [b, d]);
    expectShape(op, 'in_proj.weight', inp.weight, [2 * E, d]);
    expectShape(op, 'norm.weight', inp.normWeight, [d]);
    return { xz: [b, 2 * E], x: [b, E], conv: [b, E, K] };
  },
  composite: (inp, a) => {
    const xz = fusedLinear(inp.u, inp.weight, inp.normWeight ? { norm: { weight: inp.normWeight, eps: a.eps } } : {});
    const r = mamba1ConvStep({ xz, conv: inp.conv, convWeight: inp.convWeight, ...(inp.convBias ? { convBias: inp.convBias } : {}) }, {});
    return { xz, x: r.x, conv: r.conv };
  },
});

/** dt_proj, the selective scan step and the gate: y [b, E] before out_proj, the next ssm state. */
export const mamba1StepScan = defineFusedOp<Mamba1StepScanInputs, Record<string, never>, Mamba1StepScanResult>({
  name: 'mamba1StepScan',
  inputNames: ['xz', 'x', 'dbc', 'dtWeight', 'dtBias', 'ALog', 'D', 'h'],
  outputNames: ['y', 'state'],
  check: (inp) => {
    const op = 'mamba1StepScan';
    if (inp.h.rank !== 3) throw new ShapeError(`${op}: state.ssm ${formatShape(inp.h.shape)} should be [batch, d_inner, d_state]`);
    const [b, E, N] = inp.h.shape;
    const R = inp.dtWeight.shape[1] ?? 0;
    expectShape(op, 'xz', inp.xz, [b, 2 * E]);
    expectShape(op, 'x', inp.x, [b, E]);
    expectShape(op, 'dt_proj.weight', inp.dtWeight, [E, R]);
    expectShape(op, 'x_proj output', inp.dbc, [b, R + 2 * N]);
    expectShape(op, 'A_log', inp.ALog, [E, N]);
    for (const k of ['dtBias', 'D'] as const) expectShape(op, k, inp[k], [E]);
    return { y: [b, E], state: [b, E, N] };
  },
  composite: (inp) => {
    const N = inp.ALog.shape[1];
    const R = inp.dtWeight.shape[1];
    const [dt, B, C] = split(inp.dbc, [R, N, N], -1);
    const [, z] = split(inp.xz, 2, -1);
    return selectiveScanStep({ u: inp.x, delta: linear(dt, inp.dtWeight), A: neg(exp(inp.ALog)), B, C, D: inp.D, z, deltaBias: inp.dtBias, h: inp.h });
  },
});
