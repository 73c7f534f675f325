import type { Tensor } from '@mamba3/tensor';
import { add, concat, defineFusedOp, expandDims, exp, expectShape, formatShape, mul, pad, reshape, ShapeError, silu, sliceAxis, softplus, sum, tidy, zeros } from '@mamba3/tensor';

/**
 * The Mamba-1 selective scan (official `selective_scan_fn` with delta_softplus, z and D):
 *   Δ = softplus(delta + deltaBias); h_t = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·u_t ⊗ B_t;
 *   y_t = h_t·C_t + D·u_t; y_t ← y_t · silu(z_t).
 * Shapes: u, delta, z [b, L, E]; A [E, N]; B, C [b, L, N]; D, deltaBias [E]; h0 [b, E, N].
 */
export type SelectiveScanInputs = {
  u: Tensor;
  delta: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  D: Tensor;
  z: Tensor;
  deltaBias: Tensor;
  /** The state before the first position (zeros when absent). */
  h0?: Tensor;
};

export type SelectiveScanResult = {
  y: Tensor;
  /** h after the last position [b, E, N] (the official `ssm_state`). */
  state: Tensor;
};

/** One position: u, delta, z [b, E]; B, C [b, N]; h [b, E, N]. */
export type SelectiveScanStepInputs = Omit<SelectiveScanInputs, 'h0'> & { h: Tensor };

/**
 * h over one block of positions by a Hillis–Steele scan: log2(T) rounds of whole-tensor ops,
 * each composing (a, s) pairs k positions apart. The decays a ∈ (0, 1] only multiply, so
 * nothing overflows. dA, dBu [b, T, E, N]; h0 [b, E, N] -> h [b, T, E, N].
 */
function blockScan(dA: Tensor, dBu: Tensor, h0: Tensor): Tensor {
  const T = dA.shape[1];
  let a = dA;
  let s = dBu;
  for (let k = 1; k < T; k *= 2) {
    const shift = [[0, 0], [k, 0], [0, 0], [0, 0]] as const;
    const aPrev = pad(sliceAxis(a, 1, 0, T - k), shift, 1);
    const sPrev = pad(sliceAxis(s, 1, 0, T - k), shift, 0);
    s = add(s, mul(a, sPrev));
    a = mul(a, aPrev);
  }
  return add(s, mul(a, expandDims(h0, 1)));
}

/** The parallel form over a sequence, in blocks of `chunkSize` positions (the state carries between blocks). */
function scanComposite(inp: SelectiveScanInputs, chunkSize: number): SelectiveScanResult {
  const [b, L, E] = inp.u.shape;
  const N = inp.A.shape[1];
  return tidy(() => {
    let h = inp.h0 ?? zeros([b, E, N], { dtype: inp.u.dtype, backend: inp.u.backend });
    const ys: Tensor[] = [];
    for (let t0 = 0; t0 < L; t0 += chunkSize) {
      const t1 = Math.min(L, t0 + chunkSize);
      const part = (x: Tensor): Tensor => (t0 === 0 && t1 === L ? x : sliceAxis(x, 1, t0, t1));
      const hIn = h;
      // Each block's [b, T, E, N] intermediates are freed as soon as it is done (not at the end
      // of the whole scan): the memory stays that of one block at any length.
      const r = tidy(() => {
        const u = part(inp.u);
        const delta = softplus(add(part(inp.delta), inp.deltaBias));
        const dA = exp(mul(expandDims(delta, -1), inp.A));
        const dBu = mul(expandDims(mul(delta, u), -1), expandDims(part(inp.B), 2));
        const hs = blockScan(dA, dBu, hIn);
        const y = add(sum(mul(hs, expandDims(part(inp.C), 2)), -1), mul(u, inp.D));
        return { y: mul(y, silu(part(inp.z))), h: reshape(sliceAxis(hs, 1, t1 - t0 - 1, t1 - t0), [b, E, N]) };
      });
      if (hIn !== inp.h0) hIn.dispose();
      ys.push(r.y);
      h = r.h;
    }
    return { y: ys.length === 1 ? ys[0] : concat(ys, 1), state: h };
  });
}

/** One position of the scan (the official `step`). */
function stepComposite(inp: SelectiveScanStepInputs): SelectiveScanResult {
  return tidy(() => {
    const delta = softplus(add(inp.delta, inp.deltaBias));
    const dA = exp(mul(expandDims(delta, -1), inp.A));
    const dBu = mul(expandDims(mul(delta, inp.u), -1), expandDims(inp.B, 1));
    const h = add(mul(inp.h, dA), dBu);
    const y = add(sum(mul(h, expandDims(inp.C, 1)), -1), mul(inp.u, inp.D));
    return { y: mul(y, silu(inp.z)), state: h };
  });
}

function checkScan(op: string, inp: SelectiveScanInputs | SelectiveScanStepInputs, lead: readonly number[]): void {
  const [E, N] = inp.A.shape;
  expectShape(op, 'A', inp.A, [inp.u.shape[inp.u.rank - 1], N]);
  for (const k of ['delta', 'z'] as const) expectShape(op, k, inp[k], [...lead, E]);
  for (const k of ['B', 'C'] as const) expectShape(op, k, inp[k], [...lead, N]);
  for (const k of ['D', 'deltaBias'] as const) expectShape(op, k, inp[k], [E]);
}

/**
 * The fused op `mamba1SelectiveScan`: attrs { chunkSize } (positions per scan block; the
 * result does not depend on it). Backends may register a kernel under this name.
 */
export const mamba1SelectiveScan = defineFusedOp<SelectiveScanInputs, { chunkSize: number }, SelectiveScanResult>({
  name: 'mamba1SelectiveScan',
  inputNames: ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'deltaBias', 'h0'],
  outputNames: ['y', 'state'],
  check: (inp) => {
    if (inp.u.rank !== 3) throw new ShapeError(`mamba1SelectiveScan: u ${formatShape(inp.u.shape)} should be [batch, seqlen, d_inner]`);
    const [b, L, E] = inp.u.shape;
    checkScan('mamba1SelectiveScan', inp, [b, L]);
    expectShape('mamba1SelectiveScan', 'h0', inp.h0, [b, E, inp.A.shape[1]]);
    return { y: [b, L, E], state: [b, E, inp.A.shape[1]] };
  },
  composite: (inp, attrs) => scanComposite(inp, attrs.chunkSize),
});

/** The fused op `mamba1SelectiveScanStep`: one decode position. */
export const mamba1SelectiveScanStep = defineFusedOp<SelectiveScanStepInputs, Record<string, never>, SelectiveScanResult>({
  name: 'mamba1SelectiveScanStep',
  inputNames: ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'deltaBias', 'h'],
  outputNames: ['y', 'state'],
  check: (inp) => {
    if (inp.u.rank !== 2) throw new ShapeError(`mamba1SelectiveScanStep: u ${formatShape(inp.u.shape)} should be [batch, d_inner]`);
    const [b, E] = inp.u.shape;
    checkScan('mamba1SelectiveScanStep', inp, [b]);
    expectShape('mamba1SelectiveScanStep', 'state.ssm', inp.h, [b, E, inp.A.shape[1]]);
    return { y: [b, E], state: [b, E, inp.A.shape[1]] };
  },
  composite: (inp) => stepComposite(inp),
});

/** The selective scan over a sequence (see `mamba1SelectiveScan`). */
export function selectiveScan(inp: SelectiveScanInputs, chunkSize: number): SelectiveScanResult {
  return mamba1SelectiveScan(inp, { chunkSize });
}

/** One position of the selective scan (see `mamba1SelectiveScanStep`). */
export function selectiveScanStep(inp: SelectiveScanStepInputs): SelectiveScanResult {
  return mamba1SelectiveScanStep(inp, {});
}
