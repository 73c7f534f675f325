import { setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { MambaLMHeadModel } from '@mamba3/model';
await setBackend('cpu');
const model = await MambaLMHeadModel.fromPretrained('path/to/model-dir'); // tokenizer.json beside the weights is loaded too
for await (const chunk of model.generate('ROMEO:', { maxNewTokens: 100, temperature: 0.8, topP: 0.9 })) process.stdout.write(chunk.text);
