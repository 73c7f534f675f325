import type { Tensor } from '@mamba3/tensor';

/*
 * The Mamba-3 SSM core, after projections, norms, biases and rotations. Shapes:
 *   b batch, L sequence length, R mimoRank (1 for SISO), H nheads, P headdim, N dState.
 *
 * Recurrence per head (exponential-trapezoidal discretisation):
 *   α_t = exp(adt_t),  β_t = (1 − λ_t)·dt_t·α_t,  γ_t = λ_t·dt_t
 *   S_t = α_t S_{t−1} + β_t Σ_r x_{t−1,r} ⊗ B_{t−1,r} + γ_t Σ_r x_{t,r} ⊗ B_{t,r}      (S: P × N)
 *   y_{t,r} = S_t C_{t,r}
 * The D skip term and the output gating are not part of the scan.
 */

export interface Mamba3ChunkScanInputs {
  /** C̃ (normed, biased, rotated): [b, L, R, H, N] */
  C: Tensor;
  /** B̃ (normed, biased, rotated): [b, L, R, H, N] */
  B: Tensor;
  /** x̃ (x, or x ⊙ mimo_x per rank): [b, L, R, H, P] */
  x: Tensor;
  /** A·DT, the log decay (≤ 0): [b, L, H] */
  adt: Tensor;
  /** DT = softplus(dd_dt + dt_bias): [b, L, H] */
  dt: Tensor;
  /** λ = sigmoid(trap): [b, L, H] */
  trap: Tensor;
  /** SSM state before the sequence: [b, H, P, N] */
  initialSsm?: Tensor;
  /** B̃ of the step before the sequence: [b, R, H, N] */
  initialK?: Tensor;
  /** x̃ of the step before the sequence: [b, R, H, P] */
  initialV?: Tensor;
}

export interface Mamba3ScanAttrs {
  /** Positions per chunk of the parallel form (any positive integer; the result does not depend on it). */
  chunkSize: number;
}

export interface Mamba3ChunkScanResult {
  /** [b, L, R, H, P] */
  y: Tensor;
  /** S after the last position: [b, H, P, N] */
  finalSsm: Tensor;
}

export interface Mamba3StepScanInputs {
  /** [b, R, H, N] */
  C: Tensor;
  /** [b, R, H, N] */
  B: Tensor;
  /** [b, R, H, P] */
  x: Tensor;
  /** [b, H] */
  adt: Tensor;
  /** [b, H] */
  dt: Tensor;
  /** [b, H] */
  trap: Tensor;
  /** [b, H, P, N] */
  ssm: Tensor;
  /** B̃ of the previous step: [b, R, H, N] */
  prevK: Tensor;
  /** x̃ of the previous step: [b, R, H, P] */
  prevV: Tensor;
}

export interface Mamba3StepScanResult {
  /** [b, R, H, P] */
  y: Tensor;
  /** [b, H, P, N] */
  ssm: Tensor;
}
