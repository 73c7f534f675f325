import { setBackend, randomNormal, matmul } from '@mamba3/tensor';
import '@mamba3/backend-tfjs';
import '@tensorflow/tfjs-backend-wasm';
await setBackend('tfjs'); // on tfjs's wasm backend; or useBackend(await createTfjsBackend({ tf, tfjsBackend: 'webgpu' }))
const y = matmul(randomNormal([64, 128]), randomNormal([128, 32]));
console.log(y.shape, (await y.data()).length); // [64, 32] 2048
