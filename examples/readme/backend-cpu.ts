import { setBackend, randomNormal, matmul } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
await setBackend('cpu');
const y = matmul(randomNormal([64, 128]), randomNormal([128, 32]));
console.log(y.shape); // [64, 32]
