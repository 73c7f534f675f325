import { setAutoBackend } from '@mamba3/tensor';
import '@mamba3/backend-webgpu';
import '@mamba3/backend-cpu';
import { MambaLMHeadModel } from '@mamba3/model';
await setAutoBackend();
const model = await MambaLMHeadModel.fromPretrained('./my-mamba3'); // config.json, model.safetensors, tokenizer.json
for await (const c of model.generate('The meaning of life is', { maxNewTokens: 64, topP: 0.9 })) process.stdout.write(c.text);
