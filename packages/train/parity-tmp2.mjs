import { setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { trainParity } from '@mamba3/train';
await setBackend('cpu');
const [steps, lr, dModel, nLayer, len] = process.argv.slice(2).map(Number);
for (const complex of [true, false]) {
  const r = await trainParity({ complex, trainLength: len, evalLength: 4*len, steps, batchSize: 32, dModel, nLayer, dState: 8, headdim: 8, lr, progress: false, evalEvery: 100, onEval: (e) => console.log(complex, JSON.stringify(e)) });
  console.log(JSON.stringify(r));
}
