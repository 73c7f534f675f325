/*
 * The Mamba-3 scans on tfjs ops: the same chunked (SSD) parallel form as the composite
 * (../../ops/mamba3/scan.ts), written straight on tfjs so one kernel is one tf.tidy
 * with no per-op bookkeeping of ours, batch, heads and chunks folded into one batch axis (rank
 * ≤ 4 throughout, rank 5 only for MIMO's broadcast: tfjs's GPU shaders stop at 6 and stumble at
 * 5), and MIMO handled by broadcasting instead of repeats.
 *
 * Shapes: b batch, L length, R mimoRank, H heads, P headdim, N dState; T chunk length, nc chunks.
 * Recurrence: S_t = α_t S_{t−1} + β_t Σ_r x_{t−1,r} ⊗ B_{t−1,r} + γ_t Σ_r x_{t,r} ⊗ B_{t,r}; y_{t,r} = S_t C_{t,r}.
 */
import type { TfjsBackend, TfTensor } from '@mamba3/backend-tfjs';
import type { KernelInputs, KernelTensor } from '@mamba3/tensor';
import type { Mamba3ChunkScanInputs, Mamba3ScanAttrs, Mamba3StepScanInputs } from '../../ops/mamba3/types.js';

type Tf = TfjsBackend['tf'];

interface ChunkOut {
  y: TfTensor;
  finalSsm: TfTensor;
}

/** A constant 0/1 [rows, cols] matrix. */
function mask(tf: Tf, rows: number, cols: number, pred: (i: number, j: number) => boolean): TfTensor {
  const v = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) v[i * cols + j] = pred(i, j) ? 1 : 0;
  return tf.tensor2d(v, [rows, cols]);
}

/** Σ_r v_r ⊗ k_r per (batch, head): v [b, R, H, P], k [b, R, H, N] -> [b, H, P, N]. */
function outerSum(tf: Tf, v: TfTensor, k: TfTensor): TfTensor {
  return tf.matMul(tf.transpose(v, [0, 2, 3, 1]), tf.transpose(k, [0, 2, 1, 3]));
}

export function mamba3ChunkScan(be: TfjsBackend, inputs: KernelInputs<Mamba3ChunkScanInputs>, attrs: Mamba3ScanAttrs): ChunkOut {
  const { tf, traits } = be;
  const { input, outerDiff, scaleCols, scaleRows, padAny, sliceAny } = be.helpers;
  const t = (x: KernelTensor | undefined): TfTensor | null => (x ? input(tf, x) : null);
  const [b, L, R, H, N] = inputs.C.shape;
  const P = inputs.x.shape[4];
  const T = Math.min(attrs.chunkSize, L);
  const nc = Math.ceil(L / T);
  const padL = nc * T - L;
  const BH = b * H;
  const G = BH * nc; // one batch entry per (batch, head, chunk)
  const trap = input(tf, inputs.trap);
  const dt = input(tf, inputs.dt);

  // Trapezoid weights per position [b, L, H]: an input at s enters S_s with γ_s and every later
  // state with γ_s + β'_{s+1}, β'_{s} = (1 − λ_s)·dt_s (zero past the end).
  const gamma = tf.mul(trap, dt);
  const betaRaw = tf.mul(tf.sub(tf.scalar(1), trap), dt);
  const betaNext = tf.pad(tf.slice(betaRaw, [0, 1, 0], [b, L - 1, H]), [[0, 0], [0, 1], [0, 0]]);
  const wOff = tf.add(gamma, betaNext);

  // The state before the sequence, with the previous step's input entering at β'_0.
  let initial = t(inputs.initialSsm);
  const k0 = t(inputs.initialK);
  const v0 = t(inputs.initialV);
  if (k0 && v0) {
    const beta0 = tf.reshape(tf.slice(betaRaw, [0, 0, 0], [b, 1, H]), [BH, 1]);
    const kv = tf.reshape(scaleRows(tf, tf.reshape(outerSum(tf, v0, k0), [BH, 1, P * N]), beta0, traits), [b, H, P, N]);
    initial = initial ? tf.add(initial, kv) : kv;
  }

  const padSeq = (x: TfTensor): TfTensor => (padL ? padAny(tf, x, x.shape.map((_, i) => (i === 1 ? [0, padL] : [0, 0]) as [number, number]), 0) : x);
  // [b, L, R, H, D] -> [G, T·R, D]: positions and ranks stay adjacent, so one rank-4 transpose.
  const chunks = (x: TfTensor, D: number): TfTensor => tf.reshape(tf.transpose(tf.reshape(padSeq(x), [b, nc * T * R, H, D]), [0, 2, 1, 3]), [G, T * R, D]);
  // [b, L, H] -> [BH, nc, T]
  const perHead = (x: TfTensor): TfTensor => tf.reshape(tf.transpose(padSeq(x), [0, 2, 1]), [BH, nc, T]);

  const Cc = chunks(input(tf, inputs.C), N);
  const Bc = chunks(input(tf, inputs.B), N);
  const xc = chunks(input(tf, inputs.x), P);
  const cumA = tf.cumsum(perHead(input(tf, inputs.adt)), 2); // [BH, nc, T]
  const wOffC = tf.reshape(perHead(wOff), [G, T]);
  const wDiagC = tf.reshape(perHead(gamma), [G, T]);
  const cumAG = tf.reshape(cumA, [G, T]);

  // Intra-chunk weights W[t, s] = exp(cumA_t − cumA_s)·wOff_s (s < t), γ_s (s = t), 0 (s > t).
  const seg = outerDiff(tf, cumAG, cumAG, traits);
  const lower = mask(tf, T, T, (i, j) => j < i);
  const eye = mask(tf, T, T, (i, j) => i === j);
  const decay = tf.mul(tf.exp(tf.minimum(seg, tf.scalar(0))), lower);
  const W = tf.add(scaleCols(tf, decay, wOffC, traits), scaleCols(tf, eye, wDiagC, traits)); // [G, T, T]
  // MIMO: row (t, r') and column (s, r) share W[t, s]; broadcast over both rank axes.
  let scores = tf.matMul(Cc, Bc, false, true); // [G, TR, TR]
  scores = R === 1 ? tf.mul(scores, W) : tf.reshape(tf.mul(tf.reshape(scores, [G, T, R, T, R]), tf.reshape(W, [G, T, 1, T, 1])), [G, T * R, T * R]);
  const yIntra = tf.matMul(scores, xc); // [G, TR, P]

  // Each chunk's contribution to the state at its end: Σ_s exp(cumA_end − cumA_s)·wOff_s x_s ⊗ B_s.
  const cumEnd = tf.slice(cumAG, [0, T - 1], [G, 1]); // [G, 1]
  const toEnd = tf.mul(tf.exp(tf.reshape(outerDiff(tf, cumEnd, cumAG, traits), [G, T])), wOffC);
  const xw = tf.reshape(scaleRows(tf, tf.reshape(xc, [G, T, R * P]), toEnd, traits), [G, T * R, P]);
  const local = tf.reshape(tf.matMul(xw, Bc, true, false), [BH, nc, P * N]);

  // States entering each chunk and the final one: H_n = e^{Γ_n} H_0 + Σ_{m<n} e^{Γ_n − Γ_{m+1}} local_m,
  // Γ the running sum of chunk decays: one [nc+1, nc] product per (batch, head), whose rows are
  // then split; tfjs-cpu slices across strides slowly, so there two products instead.
  const chunkA = tf.reshape(cumEnd, [BH, nc]);
  const gammaIncl = tf.cumsum(chunkA, 1); // Γ_{m+1}
  // Rows of `to` are Γ_n for n = first, first+1, ...
  const passFrom = (to: TfTensor, first: number): TfTensor => {
    const rows = to.shape[1] as number;
    const decay = tf.exp(tf.minimum(outerDiff(tf, to, gammaIncl, traits), tf.scalar(0)));
    const states = tf.matMul(tf.mul(decay, mask(tf, rows, nc, (i, m) => m < first + i)), local);
    // e^{Γ_n} H_0 as an outer product (a K=1 matmul): no broadcast.
    return initial ? tf.add(states, tf.matMul(tf.reshape(tf.exp(to), [BH, rows, 1]), tf.reshape(initial, [BH, 1, P * N]))) : states;
  };
  const gammaAll = tf.concat([tf.zeros([BH, 1]), gammaIncl], 1); // Γ_n, n = 0..nc
  let entering: TfTensor;
  let final: TfTensor;
  if (traits.jsKernels) {
    entering = passFrom(tf.sub(gammaIncl, chunkA), 0);
    final = passFrom(tf.slice(gammaAll, [0, nc], [BH, 1]), nc);
  } else {
    const states = passFrom(gammaAll, 0); // [BH, nc+1, P·N]
    entering = tf.slice(states, [0, 0, 0], [BH, nc, P * N]);
    final = tf.slice(states, [0, nc, 0], [BH, 1, P * N]);
  }
  entering = tf.reshape(entering, [G, P, N]);
  const finalSsm = tf.reshape(final, [b, H, P, N]);

  // Inter-chunk output exp(cumA_t)·C_t·H_nᵀ, added to the intra-chunk one.
  const yInter = scaleRows(tf, tf.reshape(tf.matMul(Cc, entering, false, true), [G, T, R * P]), tf.exp(cumAG), traits);
  const yc = tf.reshape(tf.add(tf.reshape(yIntra, [G, T, R * P]), yInter), [b, H, nc * T * R, P]);
  let y = tf.reshape(tf.transpose(yc, [0, 2, 1, 3]), [b, nc * T, R, H, P]);
  if (padL) y = sliceAny(tf, y, [0, 0, 0, 0, 0], [b, L, R, H, P]);
  return { y, finalSsm };
}

/** One recurrent step: both outer products (previous and current input) in one matmul over 2R. */
export function mamba3StepScan(be: TfjsBackend, inputs: KernelInputs<Mamba3StepScanInputs>): { y: TfTensor; ssm: TfTensor } {
  const { tf, traits } = be;
  const { input, scaleRows } = be.helpers;
  const [b, , H, N] = inputs.C.shape;
  const P = inputs.x.shape[3];
  const i = (x: KernelTensor): TfTensor => input(tf, x);
  const col = (x: TfTensor): TfTensor => tf.reshape(x, [b, 1, H, 1]);
  const alpha = tf.exp(i(inputs.adt));
  const beta = tf.mul(tf.mul(tf.sub(tf.scalar(1), i(inputs.trap)), i(inputs.dt)), alpha);
  const gamma = tf.mul(i(inputs.trap), i(inputs.dt));
  const v = tf.concat([tf.mul(i(inputs.prevV), col(beta)), tf.mul(i(inputs.x), col(gamma))], 1); // [b, 2R, H, P]
  const k = tf.concat([i(inputs.prevK), i(inputs.B)], 1); // [b, 2R, H, N]
  const decayed = tf.reshape(scaleRows(tf, tf.reshape(i(inputs.ssm), [b * H, 1, P * N]), tf.reshape(alpha, [b * H, 1]), traits), [b, H, P, N]);
  const ssm = tf.add(decayed, outerSum(tf, v, k));
  // y_r = S C_r: [b, H, P, N] @ [b, H, N, R] -> [b, H, P, R] -> [b, R, H, P]
  const y = tf.transpose(tf.matMul(ssm, tf.transpose(i(inputs.C), [0, 2, 3, 1])), [0, 3, 1, 2]);
  return { y, ssm };
}
