import { describe, expect, it } from 'vitest';
import { Rng, randomNormal, tidy } from '../src/index.js';
import { useReference } from './setup.js';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(sa);
  });

  it('samples a standard normal', () => {
    const r = new Rng(7);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });

  it('random tensors repeat with a seed', () => {
    useReference();
    tidy(() => {
      const a = randomNormal([4], { seed: 3 }).dataSync();
      const b = randomNormal([4], { seed: 3 }).dataSync();
      expect(Array.from(a)).toEqual(Array.from(b));
    });
  });
});
