import { describe, expect, it } from 'vitest';
import { compileKernels } from '../src/compile.js';
import { createWasmBackend } from '../src/index.js';
import { matmul, tensor, tidy, useBackend } from '@mamba3/tensor';

// A module with one exported function, (a, b) -> a + b: compiled both ways, it must run the same.
const ADD = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03,
  0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
]);

describe('compileKernels', () => {
  it('compiles with the optimizing tier in Node, or with the engine default when asked', async () => {
    const fast = await compileKernels(ADD);
    const plain = await compileKernels(ADD, false);
    expect(fast.tier).toBe('optimizing');
    expect(plain.tier).toBe('engine default');
    for (const { module } of [fast, plain]) {
      const add = (await WebAssembly.instantiate(module)).exports.add as (a: number, b: number) => number;
      expect(add(2, 40)).toBe(42);
    }
  });

  it('a backend compiled either way computes the same product', async () => {
    const a = [1, 2, 3, 4, 5, 6];
    const b = [0.5, -1, 2, 0.25, 3, -2];
    const out: number[][] = [];
    for (const optimizingCompile of [true, false]) {
      const backend = await createWasmBackend({ name: `wasm-compile-${optimizingCompile}`, threads: 1, optimizingCompile });
      useBackend(backend);
      out.push(Array.from(tidy(() => matmul(tensor(a, [2, 3]), tensor(b, [3, 2])).dataSync())));
    }
    expect(out[0]).toEqual([13.5, -6.5, 30, -14.75]);
    expect(out[1]).toEqual(out[0]);
  });
});
