import { add, defineFusedOp, mul, registerKernel, setBackend, sigmoid, tensor, type Tensor } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import type { CpuBackend } from '@mamba3/backend-cpu';
type In = { x: Tensor; gate: Tensor; residual: Tensor };
export const gatedAdd = defineFusedOp<In, Record<string, never>, { y: Tensor }>({
  name: 'exampleGatedAdd', inputNames: ['x', 'gate', 'residual'], outputNames: ['y'],
  check: ({ x }) => ({ y: x.shape }),
  composite: ({ x, gate, residual }) => ({ y: add(mul(x, sigmoid(gate)), residual) }),
});
registerKernel<In, Record<string, never>, { y: Tensor }>({
  kernelName: 'exampleGatedAdd',
  backendName: 'cpu', // the backend kind (BackendInfo.kind)
  kernelFunc: ({ inputs, backend }) => {
    const [x, g, r] = [inputs.x, inputs.gate, inputs.residual].map((t) => t.storage as Float32Array);
    const y = (backend as CpuBackend).alloc(inputs.x.dtype, inputs.x.size); // counted storage
    for (let i = 0; i < y.length; i++) y[i] = x[i] / (1 + Math.exp(-g[i])) + r[i];
    return { y }; // one storage per output; null would decline these inputs
  },
});
await setBackend('cpu');
const { y } = gatedAdd({ x: tensor([1, -2, 3]), gate: tensor([0, 1, -1]), residual: tensor([5, 5, 5]) }, {});
console.log(await y.data()); // x·sigmoid(gate) + residual, by the kernel: [5.5, 3.54, 5.81]
