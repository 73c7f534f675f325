import { describe, expect, it } from 'vitest';
import type { CpuBackend } from '@mamba3/backend-cpu';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { Tensor } from '@mamba3/tensor';
import { add, defineFusedOp, explainKernels, grads, hasKernel, mul, registerKernel, sigmoid, sum, tensor, unregisterKernel } from '@mamba3/tensor';

/*
 * Adding a fused op, end to end (the README's example): the op's contract and composite where
 * its model lives, one kernel per backend that has one; here a CPU kernel only. Every other
 * backend runs the composite, and the gradient is the composite's.
 */

// 1. The op: y = x·sigmoid(gate) + residual (a gated residual add), inputs and output named.
type GatedAddInputs = { x: Tensor; gate: Tensor; residual: Tensor };
const gatedAdd = defineFusedOp<GatedAddInputs, Record<string, never>, { y: Tensor }>({
  name: 'exampleGatedAdd',
  inputNames: ['x', 'gate', 'residual'],
  outputNames: ['y'],
  check: ({ x }) => ({ y: x.shape }), // a real op validates shapes and dtypes here
  composite: ({ x, gate, residual }) => ({ y: add(mul(x, sigmoid(gate)), residual) }),
});

// 2. A kernel for the CPU backend: storages are typed arrays; outputs come from `alloc`.
let kernelRuns = 0;
registerKernel<GatedAddInputs, Record<string, never>, { y: Tensor }>({
  kernelName: 'exampleGatedAdd',
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend }) => {
    kernelRuns++;
    const [x, g, r] = [inputs.x, inputs.gate, inputs.residual].map((t) => t.storage as Float32Array);
    const y = (backend as CpuBackend).alloc(inputs.x.dtype, inputs.x.size);
    for (let i = 0; i < y.length; i++) y[i] = x[i] / (1 + Math.exp(-g[i])) + r[i];
    return { y };
  },
});

describe('a fused op added from outside @mamba3/tensor', () => {
  const cpu = createCpuBackend({ name: 'cpu-example' });
  const on = { backend: cpu };

  it('runs its kernel on cpu, with the values and gradient of the composite', async () => {
    const [x, gate, residual] = [tensor([1, -2, 3], [3], on), tensor([0, 1, -1], [3], on), tensor([5, 5, 5], [3], on)];
    expect(hasKernel('exampleGatedAdd', cpu)).toBe(true);
    const fused = await gatedAdd({ x, gate, residual }, {}).y.data();
    expect(kernelRuns).toBe(1);
    const reference = await gatedAdd.composite({ x, gate, residual }, {}).y.data();
    for (let i = 0; i < 3; i++) expect(fused[i]).toBeCloseTo(reference[i], 6);
    const [dx] = grads((a, b, c) => sum(gatedAdd({ x: a, gate: b, residual: c }, {}).y))([x, gate, residual]);
    expect(Array.from(await dx.data()).map((v) => +v.toFixed(5))).toEqual([0.5, 0.73106, 0.26894]);
  });

  it('says where it runs the composite instead', () => {
    unregisterKernel('exampleGatedAdd', 'cpu');
    expect(explainKernels(cpu).find((e) => e.op === 'exampleGatedAdd')).toMatchObject({ runs: 'composite', reason: 'no kernel registered for cpu' });
  });
});
