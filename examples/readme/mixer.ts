import { setAutoBackend, randomNormal } from '@mamba3/tensor';
import '@mamba3/backend-webgpu';                         // importing a backend registers it
import '@mamba3/backend-cpu';                            // ('@mamba3/backend-tfjs' for TensorFlow.js)
import { Mamba3 } from '@mamba3/core';
const { backend, why } = await setAutoBackend();         // WebGPU on a GPU, else the CPU backend; or setBackend('webgpu')
console.log(`backend ${backend.name}: ${why}`);
const mixer = Mamba3.create({ dModel: 256, isMimo: true, mimoRank: 4 });
const cache = mixer.allocateInferenceCache(1);
const y = mixer.forward(randomNormal([1, 256, 256]), { cache }); // chunked prefill, fills the cache
const next = mixer.step(randomNormal([1, 256]), cache);          // one recurrent step
console.log(y.shape, next.shape, (await next.data()).slice(0, 4));
