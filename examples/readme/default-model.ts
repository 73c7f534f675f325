import { setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { loadDefaultModel } from '@mamba3/default-model';
await setBackend('cpu');
const model = await loadDefaultModel();
for await (const c of model.generate('ROMEO:\n', { maxNewTokens: 200, temperature: 0.8 })) process.stdout.write(c.text);
