import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend, WeightsError } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { CharTokenizer } from '@mamba3/tokenizer';
import { saveToFile } from '@mamba3/tokenizer/node';
import { MambaLMHeadModel } from '../src/index.js';
import { saveModel } from '../src/node.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const CORPUS = 'to be or not to be, that is the question';

/** A tiny model saved to a fresh directory, with its char tokenizer beside it when `withTokenizer`. */
async function savedModel(withTokenizer: boolean): Promise<{ dir: string; tok: CharTokenizer }> {
  const tok = CharTokenizer.fromCorpus(CORPUS);
  const model = MambaLMHeadModel.create({ dModel: 16, nLayer: 1, vocabSize: tok.vocabSize, ssmCfg: { layer: 'Mamba3', dState: 8, headdim: 8, chunkSize: 4 } }, { seed: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'mamba-tok-'));
  await saveModel(model, dir);
  model.dispose();
  if (withTokenizer) await saveToFile(join(dir, 'tokenizer.json'), tok);
  return { dir, tok };
}

describe('fromPretrained(directory) and the tokenizer beside the weights', () => {
  it('attaches tokenizer.json, so a text prompt just works', async () => {
    const { dir, tok } = await savedModel(true);
    const model = await MambaLMHeadModel.fromPretrained(dir);
    expect(model.tokenizer?.encode('not to be')).toEqual(tok.encode('not to be'));
    const result = await model.generateText('to be', { maxNewTokens: 6, seed: 1 });
    expect(result.sequences[0].ids.length).toBe(6);
    expect(result.sequences[0].text).toBe(tok.decode(result.sequences[0].ids));
    model.dispose();
  });

  it('loads a folder without one as before: ids work, text needs a tokenizer', async () => {
    const { dir } = await savedModel(false);
    const model = await MambaLMHeadModel.fromPretrained(dir);
    expect(model.tokenizer).toBeUndefined();
    await expect(model.generateText('to be', { maxNewTokens: 2 })).rejects.toThrow(/tokenizer/);
    model.dispose();
  });

  it('names the file when the tokenizer beside the weights is broken', async () => {
    const { dir } = await savedModel(false);
    writeFileSync(join(dir, 'tokenizer.json'), '{ not json');
    const err = await MambaLMHeadModel.fromPretrained(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect((err as Error).message).toContain(join(dir, 'tokenizer.json'));
  });
});
