import type { CpuBackend } from '@mamba3/backend-cpu';
import type { KernelInputs, KernelTensor, TypedArray } from '@mamba3/tensor';
import type { Mamba3StepScanInputs } from '../../ops/mamba3/types.js';

const arr = (x: KernelTensor): TypedArray => x.storage as TypedArray;

/*
 * One Mamba-3 recurrent step, fused: per (batch, head)
 *   S = α S + β Σ_r v_r ⊗ k_r + γ Σ_r x_r ⊗ B_r;  y_r = S C_r
 * C, B, prevK: [b, R, H, N]; x, prevV: [b, R, H, P]; adt, dt, trap: [b, H]; ssm: [b, H, P, N].
 */
export function mamba3StepScan(cpu: CpuBackend, i: KernelInputs<Mamba3StepScanInputs>): { y: TypedArray; ssm: TypedArray } {
  const [b, R, H, N] = i.C.shape;
  const P = i.x.shape[3];
  const C = arr(i.C);
  const B = arr(i.B);
  const x = arr(i.x);
  const prevK = arr(i.prevK);
  const prevV = arr(i.prevV);
  const adt = arr(i.adt);
  const dt = arr(i.dt);
  const trap = arr(i.trap);
  const ssmIn = arr(i.ssm);
  const ssm = cpu.alloc(i.ssm.dtype, i.ssm.size);
  const y = cpu.alloc(i.x.dtype, i.x.size);
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < H; h++) {
      const bh = bi * H + h;
      const alpha = Math.exp(adt[bh]);
      const beta = (1 - trap[bh]) * dt[bh] * alpha;
      const gamma = trap[bh] * dt[bh];
      const sBase = bh * P * N;
      for (let p = 0; p < P; p++) {
        const row = sBase + p * N;
        for (let n = 0; n < N; n++) {
          let s = alpha * ssmIn[row + n];
          for (let r = 0; r < R; r++) {
            const kOff = ((bi * R + r) * H + h) * N + n;
            const vOff = ((bi * R + r) * H + h) * P + p;
            s += beta * prevV[vOff] * prevK[kOff] + gamma * x[vOff] * B[kOff];
          }
          ssm[row + n] = s;
        }
      }
      for (let r = 0; r < R; r++) {
        const cBase = ((bi * R + r) * H + h) * N;
        const yBase = ((bi * R + r) * H + h) * P;
        for (let p = 0; p < P; p++) {
          const row = sBase + p * N;
          let acc = 0;
          for (let n = 0; n < N; n++) acc += ssm[row + n] * C[cBase + n];
          y[yBase + p] = acc;
        }
      }
    }
  }
  return { y, ssm };
}
