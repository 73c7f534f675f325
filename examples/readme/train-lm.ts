import { setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';                             // or '@mamba3/backend-webgpu' on a GPU
import { MambaLMHeadModel } from '@mamba3/model';
import { LmTrainer, TokenStream } from '@mamba3/train';
await setBackend('cpu');
const ids = Array.from({ length: 20_000 }, (_, i) => (i * 7) % 65); // your token ids, e.g. tokenizer.encode(text)
const trainer = LmTrainer.fromModel(MambaLMHeadModel.create({ dModel: 64, nLayer: 2, vocabSize: 65, ssmCfg: { dState: 16 } }));
await trainer.fit(new TokenStream(ids), { steps: 10, batchSize: 4, seqLen: 32, lr: 3e-3, evalEvery: 5, evalBatches: 1 });
