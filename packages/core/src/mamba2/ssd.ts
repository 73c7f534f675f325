import type { Tensor } from '@mamba3/tensor';
import {
  add, clip, concat, cumsum, exp, expandDims, matmul, mul, repeatInterleave, reshape, sliceAxis, softplus, sub, sum, tensor, tidy, transpose, where, zeros,
} from '@mamba3/tensor';

/**
 * The Mamba-2 SSD scan (official `mamba_chunk_scan_combined` with dt_softplus, D, no z):
 *   Δ = clamp(softplus(dt + dtBias), dtLimit); h_t = exp(Δ_t·A_h)·h_{t−1} + Δ_t·x_t ⊗ B_t;
 *   y_t = h_t·C_t + D·x_t, head h reading group h / (H/G).
 * Shapes: x [b, L, H, P]; dt [b, L, H]; A, dtBias [H]; B, C [b, L, G, N]; D [H] or [H·P];
 * h0 [b, H, P, N] (the official ssm_state layout).
 */
export interface SsdInputs {
  x: Tensor;
  dt: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  D: Tensor;
  dtBias: Tensor;
  h0?: Tensor;
}

export interface SsdAttrs {
  chunkSize: number;
  dtLimit: readonly [number, number];
}

export interface SsdResult {
  /** [b, L, H, P] (one position: [b, H, P]). */
  y: Tensor;
  state: Tensor;
}

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
export function ssdChunked(inp: SsdInputs, attrs: SsdAttrs): SsdResult {
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

/** One position: x [b, H, P]; dt [b, H]; B, C [b, G, N]; h [b, H, P, N] (the official `step`). */
export function ssdStep(inp: Omit<SsdInputs, 'h0'> & { h: Tensor }, dtLimit: readonly [number, number]): SsdResult {
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
