import { setBackend, randomNormal, matmul } from '@mamba3/tensor';
import '@mamba3/backend-wasm';
await setBackend('wasm');
const y = matmul(randomNormal([2048, 768]), randomNormal([768, 3432]));
console.log(y.shape);
