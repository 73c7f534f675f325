import { setBackend, randomNormal } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { Mamba3 } from '@mamba3/core';
await setBackend('cpu');
const mixer = Mamba3.create({ dModel: 256, dState: 64, headdim: 64, isMimo: true, mimoRank: 4 });
const y = mixer.forward(randomNormal([1, 128, 256]));             // chunked: [1, 128, 256]
console.log(y.shape);
