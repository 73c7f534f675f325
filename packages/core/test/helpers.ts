import type { Tensor } from '@mamba3/tensor';
import { add, keep, randomNormal, tidy } from '@mamba3/tensor';
import type { Mamba3Params } from '../src/index.js';

/** Moves every parameter away from its initial value, so "ones" initialisation cannot hide a bug. */
export function perturb(params: Mamba3Params, seed: number, std = 0.3): Mamba3Params {
  let s = seed;
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => {
      const t = keep(tidy(() => add(v, randomNormal(v.shape, { seed: s++, std, dtype: v.dtype as 'float32' | 'float64' }))));
      v.dispose();
      return [k, t];
    }),
  );
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export type { Tensor };
