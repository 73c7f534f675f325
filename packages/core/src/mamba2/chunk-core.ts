import type { KernelInputs, Tensor } from '@mamba3/tensor';
import { defineFusedOp, exp, expectShape, formatShape, mul, neg, reshape, ShapeError, silu, sliceAxis } from '@mamba3/tensor';
import { ssdChunked } from './ssd.js';

/*
 * A Mamba-2 prefill between the conv and the norm/out_proj as one fused op `mamba2ChunkCore`
 * (mamba2StepCore's counterpart over a sequence): dt's softplus and limit read from in_proj's
 * output, A = −exp(A_log), the chunked SSD, D, and (attrs.gate) the z gate y·silu(z), z also read
 * from in_proj's output. A backend kernel then needs no copies of z and dt out of zxbcdt, no ops
 * on A_log, and no passes of their own for D and the gate.
 * Shapes: zxbcdt [b, L, dInProj] (z0, x0 (dMlp each), z, xBC, dt); x [b, L, H·P]; B, C
 * [b, L, G·N] (the conv's outputs); dtBias, ALog [H]; D [H] or [H·P]; h0 [b, H, P, N]
 * -> y [b, L, H·P], state [b, H, P, N].
 */

export type Mamba2ChunkCoreInputs = { zxbcdt: Tensor; x: Tensor; B: Tensor; C: Tensor; dtBias: Tensor; ALog: Tensor; D: Tensor; h0?: Tensor };
export type Mamba2ChunkCoreResult = { y: Tensor; state: Tensor };
export interface Mamba2ChunkCoreAttrs {
  /** Width of the gated-MLP part of in_proj (0 without one). */
  dMlp: number;
  ngroups: number;
  chunkSize: number;
  dtLimit: readonly [number, number];
  /** Multiply y by silu(z) (the gate without the norm, or before a norm taken after). */
  gate: boolean;
}

/** The sizes the inputs (tensors, or a kernel's view of them) give, once `checkCore` passed them: [b, L, H, P, G, N]. */
export function mamba2CoreSizes(inp: KernelInputs<Mamba2ChunkCoreInputs>, a: Mamba2ChunkCoreAttrs): [number, number, number, number, number, number] {
  const [b, L, dSsm] = inp.x.shape;
  const H = inp.dtBias.size;
  return [b, L, H, dSsm / H, a.ngroups, inp.B.shape[2] / a.ngroups];
}

function checkCore(inp: Mamba2ChunkCoreInputs, a: Mamba2ChunkCoreAttrs): void {
  const op = 'mamba2ChunkCore';
  if (inp.x.rank !== 3) throw new ShapeError(`${op}: x ${formatShape(inp.x.shape)} should be [batch, seqlen, d_ssm]`);
  const [b, L, dSsm] = inp.x.shape;
  const H = inp.dtBias.size;
  const G = a.ngroups;
  if (!Number.isInteger(G) || G < 1 || H % G !== 0 || dSsm % H !== 0 || inp.B.rank !== 3 || inp.B.shape[2] % G !== 0) {
    throw new ShapeError(`${op}: ngroups ${G} and nheads ${H} (from dt_bias) do not divide x ${formatShape(inp.x.shape)} and B ${formatShape(inp.B.shape)}`);
  }
  const N = inp.B.shape[2] / G;
  expectShape(op, 'B', inp.B, [b, L, G * N]);
  expectShape(op, 'C', inp.C, [b, L, G * N]);
  expectShape(op, 'zxbcdt', inp.zxbcdt, [b, L, 2 * a.dMlp + 2 * dSsm + 2 * G * N + H]);
  expectShape(op, 'ALog', inp.ALog, [H]);
  expectShape(op, 'h0', inp.h0, [b, H, dSsm / H, N]);
  if (inp.D.size !== H && inp.D.size !== dSsm) throw new ShapeError(`${op}: D ${formatShape(inp.D.shape)} should be [${H}] or [${dSsm}]`);
}

export const mamba2ChunkCore = defineFusedOp<Mamba2ChunkCoreInputs, Mamba2ChunkCoreAttrs, Mamba2ChunkCoreResult>({
  name: 'mamba2ChunkCore',
  inputNames: ['zxbcdt', 'x', 'B', 'C', 'dtBias', 'ALog', 'D', 'h0'],
  outputNames: ['y', 'state'],
  check: (inp, a) => {
    checkCore(inp, a);
    const [b, L, H, P, , N] = mamba2CoreSizes(inp, a);
    return { y: [b, L, H * P], state: [b, H, P, N] };
  },
  composite: (inp, a) => {
    const [b, L, H, P, G, N] = mamba2CoreSizes(inp, a);
    const dInProj = inp.zxbcdt.shape[2];
    const dt = sliceAxis(inp.zxbcdt, -1, dInProj - H, dInProj);
    const heads = (t: Tensor): Tensor => reshape(t, [b, L, G, N]);
    const r = ssdChunked(
      { x: reshape(inp.x, [b, L, H, P]), dt, A: neg(exp(inp.ALog)), B: heads(inp.B), C: heads(inp.C), D: inp.D, dtBias: inp.dtBias, ...(inp.h0 ? { h0: inp.h0 } : {}) },
      { chunkSize: a.chunkSize, dtLimit: a.dtLimit },
    );
    const y = reshape(r.y, [b, L, H * P]);
    return { y: a.gate ? mul(y, silu(sliceAxis(inp.zxbcdt, -1, 2 * a.dMlp, 2 * a.dMlp + H * P))) : y, state: r.state };
  },
});
