import { setBackend, randomNormal, matmul } from '@mamba3/tensor';
import '@mamba3/backend-webgpu';
await setBackend('webgpu'); // browsers: navigator.gpu; Node: the optional `webgpu` package (Dawn)
const y = matmul(randomNormal([64, 128]), randomNormal([128, 32]));
console.log(await y.data()); // reads are async: one submit, one copy, one map
