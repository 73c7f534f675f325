import type { KernelInputs, Tensor } from '@mamba3/tensor';
import { defineFusedOp, exp, expectShape, formatShape, neg, ShapeError, sliceAxis } from '@mamba3/tensor';
import { selectiveScan } from './scan.js';
import type { SelectiveScanResult } from './scan.js';

/*
 * A Mamba-1 prefill's selective scan fed in place as one fused op `mamba1ChunkCore`: B and C read
 * from x_proj's output (dt, B, C), z from in_proj's (x, z), A = −exp(A_log). A backend kernel
 * then needs no copies of z, B and C and no ops on A_log (five dispatches a layer on WebGPU).
 * Shapes: xz [b, L, 2·E] (in_proj's output); x [b, L, E] (the conv's output, the scan's u);
 * dbc [b, L, dtRank + 2·N] (x_proj's output); delta [b, L, E] (dt_proj's output, before its bias);
 * ALog [E, N]; D, deltaBias [E]; h0 [b, E, N] -> y [b, L, E], state [b, E, N].
 */

export type Mamba1ChunkCoreInputs = { xz: Tensor; x: Tensor; dbc: Tensor; delta: Tensor; ALog: Tensor; D: Tensor; deltaBias: Tensor; h0?: Tensor };
export type Mamba1ChunkCoreResult = SelectiveScanResult;
export interface Mamba1ChunkCoreAttrs {
  dtRank: number;
  chunkSize: number;
}

/** The sizes the inputs (tensors, or a kernel's view of them) give, once `checkCore` passed them: [b, L, E, N]. */
export function mamba1CoreSizes(inp: KernelInputs<Mamba1ChunkCoreInputs>): [number, number, number, number] {
  const [b, L, E] = inp.x.shape;
  return [b, L, E, inp.ALog.shape[1]];
}

function checkCore(inp: Mamba1ChunkCoreInputs, a: Mamba1ChunkCoreAttrs): void {
  const op = 'mamba1ChunkCore';
  if (inp.x.rank !== 3) throw new ShapeError(`${op}: x ${formatShape(inp.x.shape)} should be [batch, seqlen, d_inner]`);
  const [b, L, E] = inp.x.shape;
  if (inp.ALog.rank !== 2 || inp.ALog.shape[0] !== E) throw new ShapeError(`${op}: A_log ${formatShape(inp.ALog.shape)} should be [${E}, d_state]`);
  const N = inp.ALog.shape[1];
  expectShape(op, 'xz', inp.xz, [b, L, 2 * E]);
  expectShape(op, 'dbc', inp.dbc, [b, L, a.dtRank + 2 * N]);
  expectShape(op, 'delta', inp.delta, [b, L, E]);
  expectShape(op, 'D', inp.D, [E]);
  expectShape(op, 'deltaBias', inp.deltaBias, [E]);
  expectShape(op, 'h0', inp.h0, [b, E, N]);
}

export const mamba1ChunkCore = defineFusedOp<Mamba1ChunkCoreInputs, Mamba1ChunkCoreAttrs, Mamba1ChunkCoreResult>({
  name: 'mamba1ChunkCore',
  inputNames: ['xz', 'x', 'dbc', 'delta', 'ALog', 'D', 'deltaBias', 'h0'],
  outputNames: ['y', 'state'],
  check: (inp, a) => {
    checkCore(inp, a);
    const [b, L, E, N] = mamba1CoreSizes(inp);
    return { y: [b, L, E], state: [b, E, N] };
  },
  composite: (inp, a) => {
    const [, , E, N] = mamba1CoreSizes(inp);
    const part = (t: Tensor, start: number, n: number): Tensor => sliceAxis(t, -1, start, start + n);
    return selectiveScan(
      {
        u: inp.x,
        delta: inp.delta,
        A: neg(exp(inp.ALog)),
        B: part(inp.dbc, a.dtRank, N),
        C: part(inp.dbc, a.dtRank + N, N),
        D: inp.D,
        z: part(inp.xz, E, E),
        deltaBias: inp.deltaBias,
        ...(inp.h0 ? { h0: inp.h0 } : {}),
      },
      a.chunkSize,
    );
  },
});
