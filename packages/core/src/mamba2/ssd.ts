import type { Tensor } from '@mamba3/tensor';
import {
  add, clip, concat, defineFusedOp, expectShape, formatShape, ShapeError, cumsum, exp, expandDims, matmul, mul, repeatInterleave, reshape, sliceAxis, softplus, sub, sum, tensor, tidy, transpose, where, zeros,
} from '@mamba3/tensor';

/**
 * The Mamba-2 SSD scan (official `mamba_chunk_scan_combined` with dt_softplus, D, no z):
 *   Δ = clamp(softplus(dt + dtBias), dtLimit); h_t = exp(Δ_t·A_h)·h_{t−1} + Δ_t·x_t ⊗ B_t;
 *   y_t = h_t·C_t + D·x_t, head h reading group h / (H/G).
 * Shapes: x [b, L, H, P]; dt [b, L, H]; A, dtBias [H]; B, C [b, L, G, N]; D [H] or [H·P];
 * h0 [b, H, P, N] (the official ssm_state layout).
 */
export type SsdInputs = {
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  D: Tensor;
  dtBias: Tensor;
  h0?: Tensor;
};

/** One position: x [b, H, P]; dt [b, H]; B, C [b, G, N]; h [b, H, P, N]. */
export type SsdStepInputs = Omit<SsdInputs, 'h0'> & { h: Tensor };

export interface SsdAttrs {
  chunkSize: number;
  dtLimit: readonly [number, number];
}

export type SsdResult = {
  /** [b, L, H, P] (one position: [b, H, P]). */
  y: Tensor;
  state: Tensor;
};

function discretize(dt: Tensor, dtBias: Tensor, [lo, hi]: readonly [number, number]): Tensor {
  const d = softplus(add(dt, dtBias));
  return lo > 0 || hi < Infinity ? clip(d, lo > 0 ? lo : undefined, hi < Infinity ? hi : undefined) : d;
}

/** D as [H, 1] or [H, P], to scale x [..., H, P]. */
function skip(D: Tensor, H: number): Tensor {
  return reshape(D, [H, D.size / H]);
}

/** 1 where s ≤ t (the causal mask of a block), [T, T]. */
function lowerTriangle(T: number, like: Tensor): Tensor {
  const m = new Float64Array(T * T);
  for (let t = 0; t < T; t++) for (let s = 0; s <= t; s++) m[t * T + s] = 1;
  return tensor(m, [T, T], { dtype: like.dtype, backend: like.backend });
}

/**
 * One block of T positions in the quadratic (attention-like) form, head-major:
 * x [b, H, T, P], dt [b, H, T], B, C [b, H, T, N], h [b, H, P, N] -> y [b, H, T, P], h after.
 */
function block(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, h: Tensor): { y: Tensor; h: Tensor } {
  const T = x.shape[2];
  const cum = cumsum(mul(dt, reshape(A, [A.size, 1])), -1);
  // exp(cum_t − cum_s) for s ≤ t; the rest is masked before exp, so no inf reaches a gradient.
  const seg = sub(expandDims(cum, -1), expandDims(cum, -2));
  const decay = exp(where(lowerTriangle(T, x), seg, -1e30));
  const scores = mul(mul(matmul(C, B, { transposeB: true }), decay), expandDims(dt, -2));
  const fromState = mul(matmul(C, h, { transposeB: true }), expandDims(exp(cum), -1));
  const y = add(matmul(scores, x), fromState);
  const last = sliceAxis(cum, 2, T - 1, T);
  const weight = mul(exp(sub(last, cum)), dt);
  const hNext = add(mul(h, expandDims(exp(last), -1)), matmul(mul(x, expandDims(weight, -1)), B, { transposeA: true }));
  return { y, h: hNext };
}

/** The chunked forward over a sequence (blocks of `chunkSize`; the state carries between them). */
function chunkedComposite(inp: SsdInputs, attrs: SsdAttrs): SsdResult {
  const [b, L, H, P] = inp.x.shape;
  const [G, N] = inp.B.shape.slice(2);
  return tidy(() => {
    const dtAll = discretize(inp.dt, inp.dtBias, attrs.dtLimit);
    let h = inp.h0 ?? zeros([b, H, P, N], { dtype: inp.x.dtype, backend: inp.x.backend });
    const ys: Tensor[] = [];
    for (let t0 = 0; t0 < L; t0 += attrs.chunkSize) {
      const t1 = Math.min(L, t0 + attrs.chunkSize);
      const part = (v: Tensor): Tensor => (t0 === 0 && t1 === L ? v : sliceAxis(v, 1, t0, t1));
      const heads = (v: Tensor): Tensor => transpose(repeatInterleave(part(v), H / G, 2), [0, 2, 1, 3]);
      const x = transpose(part(inp.x), [0, 2, 1, 3]);
      const r = block(x, transpose(part(dtAll), [0, 2, 1]), inp.A, heads(inp.B), heads(inp.C), h);
      h = r.h;
      ys.push(transpose(r.y, [0, 2, 1, 3]));
    }
    const y = ys.length === 1 ? ys[0] : concat(ys, 1);
    return { y: add(y, mul(inp.x, skip(inp.D, H))), state: h };
  });
}

/** One position (the official `step`). */
function stepComposite(inp: SsdStepInputs, dtLimit: readonly [number, number]): SsdResult {
  const H = inp.x.shape[1];
  const G = inp.B.shape[1];
  return tidy(() => {
    const dt = discretize(inp.dt, inp.dtBias, dtLimit);
    const dA = exp(mul(dt, inp.A));
    const B = repeatInterleave(inp.B, H / G, 1);
    const C = repeatInterleave(inp.C, H / G, 1);
    const dBx = mul(expandDims(mul(inp.x, expandDims(dt, -1)), -1), expandDims(B, 2));
    const h = add(mul(inp.h, reshape(dA, [...dA.shape, 1, 1])), dBx);
    const y = add(sum(mul(h, expandDims(C, 2)), -1), mul(inp.x, skip(inp.D, H)));
    return { y, state: h };
  });
}

/** Checks x [...lead, H, P] against the rest; returns [H, P, G, N]. */
function checkSsd(op: string, inp: SsdInputs | SsdStepInputs, lead: readonly number[]): [number, number, number, number] {
  const [H, P] = inp.x.shape.slice(lead.length);
  if (inp.B.rank !== lead.length + 2) throw new ShapeError(`${op}: B ${formatShape(inp.B.shape)} should be [${lead.join(', ')}, ngroups, d_state]`);
  const [G, N] = inp.B.shape.slice(lead.length);
  if (H % G !== 0) throw new ShapeError(`${op}: ngroups ${G} (from B) must divide nheads ${H} (from x)`);
  expectShape(op, 'B', inp.B, [...lead, G, N]);
  expectShape(op, 'C', inp.C, [...lead, G, N]);
  expectShape(op, 'dt', inp.dt, [...lead, H]);
  for (const k of ['A', 'dtBias'] as const) expectShape(op, k, inp[k], [H]);
  if (inp.D.size !== H && inp.D.size !== H * P) throw new ShapeError(`${op}: D ${formatShape(inp.D.shape)} should be [${H}] or [${H * P}]`);
  return [H, P, G, N];
}

/** The fused op `mamba2SsdChunked`. Backends may register a kernel under this name. */
export const mamba2SsdChunked = defineFusedOp<SsdInputs, SsdAttrs, SsdResult>({
  name: 'mamba2SsdChunked',
  inputNames: ['x', 'dt', 'A', 'B', 'C', 'D', 'dtBias', 'h0'],
  outputNames: ['y', 'state'],
  check: (inp) => {
    if (inp.x.rank !== 4) throw new ShapeError(`mamba2SsdChunked: x ${formatShape(inp.x.shape)} should be [batch, seqlen, nheads, headdim]`);
    const [b, L] = inp.x.shape;
    const [H, P, , N] = checkSsd('mamba2SsdChunked', inp, [b, L]);
    expectShape('mamba2SsdChunked', 'h0', inp.h0, [b, H, P, N]);
    return { y: [b, L, H, P], state: [b, H, P, N] };
  },
  composite: (inp, attrs) => chunkedComposite(inp, attrs),
});

/** The fused op `mamba2SsdStep`: one decode position. */
export const mamba2SsdStep = defineFusedOp<SsdStepInputs, { dtLimit: readonly [number, number] }, SsdResult>({
  name: 'mamba2SsdStep',
  inputNames: ['x', 'dt', 'A', 'B', 'C', 'D', 'dtBias', 'h'],
  outputNames: ['y', 'state'],
  check: (inp) => {
    if (inp.x.rank !== 3) throw new ShapeError(`mamba2SsdStep: x ${formatShape(inp.x.shape)} should be [batch, nheads, headdim]`);
    const b = inp.x.shape[0];
    const [H, P, , N] = checkSsd('mamba2SsdStep', inp, [b]);
    expectShape('mamba2SsdStep', 'state.ssm', inp.h, [b, H, P, N]);
    return { y: [b, H, P], state: [b, H, P, N] };
  },
  composite: (inp, attrs) => stepComposite(inp, attrs.dtLimit),
});

/** The chunked SSD over a sequence (see `mamba2SsdChunked`). */
export function ssdChunked(inp: SsdInputs, attrs: SsdAttrs): SsdResult {
  return mamba2SsdChunked(inp, attrs);
}

/** One SSD position (see `mamba2SsdStep`). */
export function ssdStep(inp: SsdStepInputs, dtLimit: readonly [number, number]): SsdResult {
  return mamba2SsdStep(inp, { dtLimit });
}
