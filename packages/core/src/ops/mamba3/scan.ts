import type { Tensor } from '@mamba3/tensor';
import {
  add,
  ArgumentError,
  checkFloat,
  checkInputs,
  checkSameDType,
  cumsum,
  defineFusedOp,
  exp,
  expandDims,
  expectShape,
  formatShape,
  matmul,
  minimum,
  mul,
  pad,
  repeatInterleave,
  reshape,
  ShapeError,
  sliceAxis,
  sub,
  tensor,
  transpose,
} from '@mamba3/tensor';
import type {
  Mamba3ChunkScanInputs,
  Mamba3ChunkScanResult,
  Mamba3ScanAttrs,
  Mamba3StepScanInputs,
  Mamba3StepScanResult,
} from './types.js';

interface Dims {
  b: number;
  L: number;
  R: number;
  H: number;
  P: number;
  N: number;
}

function checkChunkInputs(op: string, i: Mamba3ChunkScanInputs): Dims {
  const present = Object.fromEntries(Object.entries(i).filter(([, v]) => v !== undefined)) as Record<string, Tensor>;
  checkInputs(op, present);
  for (const [name, t] of Object.entries(present)) {
    checkFloat(op, name, t);
    checkSameDType(op, i.x, t, ['x', name]);
  }
  if (i.C.rank !== 5) throw new ShapeError(`${op}: "C" should be [batch, seqlen, mimoRank, nheads, dState], got ${formatShape(i.C.shape)}`);
  const [b, L, R, H, N] = i.C.shape;
  if (i.x.rank !== 5) throw new ShapeError(`${op}: "x" should be [batch, seqlen, mimoRank, nheads, headdim], got ${formatShape(i.x.shape)}`);
  const P = i.x.shape[4];
  expectShape(op, 'B', i.B, [b, L, R, H, N]);
  expectShape(op, 'x', i.x, [b, L, R, H, P]);
  for (const name of ['adt', 'dt', 'trap'] as const) expectShape(op, name, i[name], [b, L, H]);
  expectShape(op, 'initialSsm', i.initialSsm, [b, H, P, N]);
  expectShape(op, 'initialK', i.initialK, [b, R, H, N]);
  expectShape(op, 'initialV', i.initialV, [b, R, H, P]);
  if ((i.initialK === undefined) !== (i.initialV === undefined)) {
    throw new ArgumentError(`${op}: give both initialK and initialV, or neither`);
  }
  if (L === 0) throw new ShapeError(`${op}: the sequence is empty`);
  return { b, L, R, H, P, N };
}

const CHUNK_KEYS = ['C', 'B', 'x', 'adt', 'dt', 'trap', 'initialSsm', 'initialK', 'initialV'] as const;

/**
 * The Mamba-3 chunked scan as a fused op (prefill and training): the SSD parallel form with the
 * exponential-trapezoidal discretisation. See `types.ts` for the recurrence it computes.
 */
export const mamba3ChunkScanOp = defineFusedOp<Mamba3ChunkScanInputs, Mamba3ScanAttrs, Mamba3ChunkScanResult>({
  name: 'mamba3ChunkScan',
  inputNames: CHUNK_KEYS,
  outputNames: ['y', 'finalSsm'],
  check: (inputs, attrs) => {
    const op = 'mamba3ChunkScan';
    const d = checkChunkInputs(op, inputs);
    if (!Number.isInteger(attrs.chunkSize) || attrs.chunkSize < 1) {
      throw new ArgumentError(`${op}: chunkSize must be a positive integer, got ${attrs.chunkSize}`);
    }
    return { y: [d.b, d.L, d.R, d.H, d.P], finalSsm: [d.b, d.H, d.P, d.N] };
  },
  composite: (inputs, attrs) => chunkScanComposite(inputs, attrs),
});

/** The Mamba-3 chunked scan: a registered kernel where the backend has one, else the composite. */
export function mamba3ChunkScan(inputs: Mamba3ChunkScanInputs, attrs: Mamba3ScanAttrs): Mamba3ChunkScanResult {
  return mamba3ChunkScanOp(inputs, attrs);
}

/** The reference composite of `mamba3ChunkScan` on primitive ops. */
export function mamba3ChunkScanComposite(inputs: Mamba3ChunkScanInputs, attrs: Mamba3ScanAttrs): Mamba3ChunkScanResult {
  return mamba3ChunkScanOp.composite(inputs, attrs);
}

function chunkScanComposite(inputs: Mamba3ChunkScanInputs, attrs: Mamba3ScanAttrs): Mamba3ChunkScanResult {
  const { b, L, R, H, P, N } = checkChunkInputs('mamba3ChunkScan', inputs);
  const T = Math.min(attrs.chunkSize, L);
  const nc = Math.ceil(L / T);
  const Lp = nc * T;
  const padL = Lp - L;
  const dtype = inputs.x.dtype;
  const backend = inputs.x.backend;

  // Per-position weights of the two-band (trapezoid) mask, [b, L, H]:
  // an input at s enters S_t (t > s) with weight γ_s + β'_{s+1}, and S_s itself with γ_s,
  // where β'_{s+1} = (1 − λ_{s+1})·dt_{s+1} (zero past the end).
  const gamma = mul(inputs.trap, inputs.dt);
  const betaNext = pad(sliceAxis(mul(sub(1, inputs.trap), inputs.dt), 1, 1), [[0, 0], [0, 1], [0, 0]]);
  const offDiag = add(gamma, betaNext);

  // The previous step's input enters with β'_0 = (1 − λ_0)·dt_0 on top of the initial state.
  let initial: Tensor | null = inputs.initialSsm ?? null;
  if (inputs.initialK && inputs.initialV) {
    const beta0 = mul(sub(1, sliceAxis(inputs.trap, 1, 0, 1)), sliceAxis(inputs.dt, 1, 0, 1)); // [b, 1, H]
    // Σ_r v_r ⊗ k_r: [b, H, P, R] @ [b, H, R, N]
    const kv = matmul(transpose(inputs.initialV, [0, 2, 3, 1]), transpose(inputs.initialK, [0, 2, 1, 3]));
    const scaled = mul(kv, reshape(beta0, [b, H, 1, 1]));
    initial = initial ? add(initial, scaled) : scaled;
  }

  // Chunked layouts, positions padded to Lp (padding has zero input and zero decay).
  const padSeq = (t: Tensor): Tensor => (padL ? pad(t, t.shape.map((_, i) => (i === 1 ? [0, padL] : [0, 0]) as [number, number])) : t);
  // [b, Lp, R, H, D] -> [b, H, nc, T·R, D]
  const toChunks = (t: Tensor, D: number): Tensor =>
    reshape(transpose(reshape(padSeq(t), [b, nc, T, R, H, D]), [0, 4, 1, 2, 3, 5]), [b, H, nc, T * R, D]);
  // [b, Lp, H] -> [b, H, nc, T]
  const perHead = (t: Tensor): Tensor => reshape(transpose(padSeq(t), [0, 2, 1]), [b, H, nc, T]);

  const Cc = toChunks(inputs.C, N);
  const Bc = toChunks(inputs.B, N);
  const xc = toChunks(inputs.x, P);
  const adt = perHead(inputs.adt);
  const cumA = cumsum(adt, -1); // [b, H, nc, T]
  const wOff = perHead(offDiag);
  const wDiag = perHead(gamma);

  // Intra-chunk weights W[t, s] = exp(cumA_t − cumA_s)·wOff_s (s < t), wDiag_s (s = t), 0 (s > t).
  const lower = maskTensor(backend, dtype, T, (t, s) => s < t);
  const diag = maskTensor(backend, dtype, T, (t, s) => s === t);
  const seg = minimum(sub(expandDims(cumA, -1), expandDims(cumA, -2)), 0); // [b, H, nc, T, T]
  const W = add(mul(mul(exp(seg), lower), expandDims(wOff, -2)), mul(diag, expandDims(wDiag, -2)));
  // MIMO: every (t, r') row sees every (s, r) column with the weight of (t, s).
  const Wr = R === 1 ? W : repeatInterleave(repeatInterleave(W, R, -1), R, -2);
  const scores = mul(matmul(Cc, Bc, { transposeB: true }), Wr); // [b, H, nc, TR, TR]
  const yIntra = matmul(scores, xc); // [b, H, nc, TR, P]

  // Each chunk's own contribution to the state at its end: Σ_s exp(cumA_end − cumA_s)·wOff_s x_s ⊗ B_s.
  const cumEnd = sliceAxis(cumA, -1, T - 1); // [b, H, nc, 1]
  const toEnd = mul(exp(sub(cumEnd, cumA)), wOff); // [b, H, nc, T]
  const toEndR = R === 1 ? toEnd : repeatInterleave(toEnd, R, -1);
  const localStates = matmul(mul(xc, expandDims(toEndR, -1)), Bc, { transposeA: true }); // [b, H, nc, P, N]

  // States entering each chunk (and the final one): H_n = exp(Γ_n) H_0 + Σ_{m<n} exp(Γ_n − Γ_{m+1}) local_m,
  // with Γ the exclusive running sum of chunk decays; one [nc+1, nc] product per head.
  const chunkA = reshape(cumEnd, [b, H, nc]);
  const gammaIncl = cumsum(chunkA, -1); // Γ_{m+1}
  const gammaAll = pad(gammaIncl, [[0, 0], [0, 0], [1, 0]]); // Γ_n for n = 0..nc
  const between = minimum(sub(expandDims(gammaAll, -1), expandDims(gammaIncl, -2)), 0); // [b, H, nc+1, nc]
  const passMask = maskTensor(backend, dtype, nc + 1, (n, m) => m < n, nc);
  const passing = mul(exp(between), passMask);
  let states = reshape(matmul(passing, reshape(localStates, [b, H, nc, P * N])), [b, H, nc + 1, P, N]);
  if (initial) {
    const fromInitial = mul(expandDims(expandDims(exp(gammaAll), -1), -1), expandDims(initial, 2));
    states = add(states, fromInitial);
  }
  const entering = sliceAxis(states, 2, 0, nc); // [b, H, nc, P, N]
  const finalSsm = reshape(sliceAxis(states, 2, nc), [b, H, P, N]);

  // Inter-chunk output: exp(cumA_t)·C_t·H_nᵀ.
  const decayIn = R === 1 ? exp(cumA) : repeatInterleave(exp(cumA), R, -1); // [b, H, nc, TR]
  const yInter = mul(matmul(Cc, entering, { transposeB: true }), expandDims(decayIn, -1)); // [b, H, nc, TR, P]

  // [b, H, nc, T·R, P] -> [b, L, R, H, P]
  const yc = reshape(add(yIntra, yInter), [b, H, nc, T, R, P]);
  let y = reshape(transpose(yc, [0, 2, 3, 4, 1, 5]), [b, Lp, R, H, P]);
  if (padL) y = sliceAxis(y, 1, 0, L);
  return { y, finalSsm };
}

/** A constant [rows, cols] 0/1 matrix. */
function maskTensor(backend: Tensor['backend'], dtype: Tensor['dtype'], rows: number, pred: (i: number, j: number) => boolean, cols = rows): Tensor {
  const values = dtype === 'float64' ? new Float64Array(rows * cols) : new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) values[i * cols + j] = pred(i, j) ? 1 : 0;
  return tensor(values, [rows, cols], { dtype, backend });
}

// Step ------------------------------------------------------------------------------------------

function checkStepInputs(op: string, i: Mamba3StepScanInputs): Omit<Dims, 'L'> {
  checkInputs(op, { ...i });
  for (const [name, t] of Object.entries(i)) {
    checkFloat(op, name, t as Tensor);
    checkSameDType(op, i.x, t as Tensor, ['x', name]);
  }
  if (i.C.rank !== 4) throw new ShapeError(`${op}: "C" should be [batch, mimoRank, nheads, dState], got ${formatShape(i.C.shape)}`);
  const [b, R, H, N] = i.C.shape;
  if (i.x.rank !== 4) throw new ShapeError(`${op}: "x" should be [batch, mimoRank, nheads, headdim], got ${formatShape(i.x.shape)}`);
  const P = i.x.shape[3];
  expectShape(op, 'B', i.B, [b, R, H, N]);
  expectShape(op, 'x', i.x, [b, R, H, P]);
  for (const name of ['adt', 'dt', 'trap'] as const) expectShape(op, name, i[name], [b, H]);
  expectShape(op, 'ssm', i.ssm, [b, H, P, N]);
  expectShape(op, 'prevK', i.prevK, [b, R, H, N]);
  expectShape(op, 'prevV', i.prevV, [b, R, H, P]);
  return { b, R, H, P, N };
}

const STEP_KEYS = ['C', 'B', 'x', 'adt', 'dt', 'trap', 'ssm', 'prevK', 'prevV'] as const;

/** One recurrent Mamba-3 step (decoding) as a fused op. See `types.ts` for the recurrence. */
export const mamba3StepScanOp = defineFusedOp<Mamba3StepScanInputs, Record<string, never>, Mamba3StepScanResult>({
  name: 'mamba3StepScan',
  inputNames: STEP_KEYS,
  outputNames: ['y', 'ssm'],
  check: (inputs) => {
    const d = checkStepInputs('mamba3StepScan', inputs);
    return { y: [d.b, d.R, d.H, d.P], ssm: [d.b, d.H, d.P, d.N] };
  },
  composite: (inputs) => stepScanComposite(inputs),
});

/** One recurrent Mamba-3 step: a registered kernel where the backend has one, else the composite. */
export function mamba3StepScan(inputs: Mamba3StepScanInputs): Mamba3StepScanResult {
  return mamba3StepScanOp(inputs, {});
}

/** The reference composite of `mamba3StepScan`. */
export function mamba3StepScanComposite(inputs: Mamba3StepScanInputs): Mamba3StepScanResult {
  return mamba3StepScanOp.composite(inputs, {});
}

function stepScanComposite(i: Mamba3StepScanInputs): Mamba3StepScanResult {
  const { b, H } = checkStepInputs('mamba3StepScan', i);
  const alpha = exp(i.adt);
  const beta = mul(mul(sub(1, i.trap), i.dt), alpha);
  const gamma = mul(i.trap, i.dt);
  const col = (t: Tensor): Tensor => reshape(t, [b, H, 1, 1]);
  // Σ_r v_r ⊗ k_r: [b, H, P, R] @ [b, H, R, N]
  const outer = (v: Tensor, k: Tensor): Tensor => matmul(transpose(v, [0, 2, 3, 1]), transpose(k, [0, 2, 1, 3]));
  const ssm = add(add(mul(i.ssm, col(alpha)), mul(outer(i.prevV, i.prevK), col(beta))), mul(outer(i.x, i.B), col(gamma)));
  // y_r = S C_r: [b, H, P, N] @ [b, H, N, R] -> [b, H, P, R] -> [b, R, H, P]
  const y = transpose(matmul(ssm, transpose(i.C, [0, 2, 3, 1])), [0, 3, 1, 2]);
  return { y, ssm };
}
