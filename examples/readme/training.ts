import { readFile } from 'node:fs/promises';
import { setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';                             // or '@mamba3/backend-webgpu' on a GPU
import { MambaLMHeadModel } from '@mamba3/model';
import { LmTrainer, TokenStream } from '@mamba3/train';
import { CharTokenizer } from '@mamba3/tokenizer';
await setBackend('cpu');
const text = await readFile('input.txt', 'utf8');
const tok = CharTokenizer.fromCorpus(text);
const trainer = LmTrainer.fromModel(MambaLMHeadModel.create({ dModel: 64, nLayer: 2, vocabSize: tok.vocabSize, ssmCfg: { dState: 16 } }));
await trainer.fit(new TokenStream(tok.encode(text)), { steps: 10, batchSize: 4, seqLen: 32, lr: 3e-3, evalEvery: 5, evalBatches: 1 });
const model = trainer.model(); // saves in the official layout: model.save(), saveModel(model, dir)
model.tokenizer = tok;
console.log((await model.generateText('ROMEO:', { maxNewTokens: 20 })).sequences[0].text);
