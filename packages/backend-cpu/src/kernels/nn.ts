import type { KernelTensor, TypedArray } from '@mamba3/tensor';
import { alloc, arr } from './util.js';

function rows(x: KernelTensor): [number, number] {
  const n = x.shape[x.shape.length - 1] ?? 1;
  return [n === 0 ? 0 : x.size / n, n];
}

export function softmax(x: KernelTensor, log: boolean): TypedArray {
  const src = arr(x);
  const out = alloc(x.dtype, x.shape);
  const [m, n] = rows(x);
  for (let r = 0; r < m; r++) {
    const base = r * n;
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, src[base + i]);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(src[base + i] - max);
    if (log) {
      const lse = Math.log(sum) + max;
      for (let i = 0; i < n; i++) out[base + i] = src[base + i] - lse;
    } else {
      for (let i = 0; i < n; i++) out[base + i] = Math.exp(src[base + i] - max) / sum;
    }
  }
  return out;
}

const silu = (v: number): number => v / (1 + Math.exp(-v));

/**
 * RMSNorm over groups of `groupSize` along the last axis; with `z`, the official gated variant
 * (norm-then-gate or gate-then-norm).
 */
export function rmsNorm(
  x: KernelTensor,
  weight: KernelTensor | null,
  eps: number,
  z: KernelTensor | null = null,
  groupSize = x.shape[x.shape.length - 1],
  normBeforeGate = true,
): TypedArray {
  const src = arr(x);
  const w = weight ? arr(weight) : null;
  const zv = z ? arr(z) : null;
  const out = alloc(x.dtype, x.shape);
  const [m, n] = rows(x);
  const buf = new Float64Array(groupSize);
  for (let r = 0; r < m; r++) {
    for (let g0 = 0; g0 < n; g0 += groupSize) {
      const base = r * n + g0;
      let ss = 0;
      for (let i = 0; i < groupSize; i++) {
        let v = src[base + i];
        if (zv && !normBeforeGate) v *= silu(zv[base + i]);
        buf[i] = v;
        ss += v * v;
      }
      const scale = 1 / Math.sqrt(ss / groupSize + eps);
      for (let i = 0; i < groupSize; i++) {
        let v = buf[i] * scale;
        if (w) v *= w[g0 + i];
        if (zv && normBeforeGate) v *= silu(zv[base + i]);
        out[base + i] = v;
      }
    }
  }
  return out;
}
