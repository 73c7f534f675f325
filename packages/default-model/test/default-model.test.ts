import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { memory, setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { DEFAULT_MODEL_URLS, loadDefaultModel, loadDefaultTokenizer } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('the embedded default model', () => {
  it('loads from its assets with its tokenizer attached', async () => {
    const model = await loadDefaultModel();
    expect(model.paramCount).toBe(1_769_280);
    expect(model.config).toMatchObject({ dModel: 256, nLayer: 4, vocabSize: 65 });
    expect(model.tokenizer?.decode(model.tokenizer.encode('ROMEO:\nO'))).toBe('ROMEO:\nO');
    model.dispose();
  });

  it('is the trained model: low loss on held-out Shakespeare', async () => {
    // The last 10% of Tiny Shakespeare was never trained on; a few windows of it are enough to
    // tell trained weights (~1.47 nats/char over the whole split) from untrained ones (~4.2).
    const text = readFileSync(new URL('../../train/data/tinyshakespeare.txt', import.meta.url), 'utf8');
    const held = text.slice(Math.floor(text.length * 0.9));
    const model = await loadDefaultModel();
    const tok = await loadDefaultTokenizer();
    const ids = tok.encode(held.slice(0, 4 * 257));
    const rows = [0, 1, 2, 3].map((i) => ids.slice(i * 257, i * 257 + 257));
    const logits = model.forward(rows.map((r) => r.slice(0, 256)));
    const values = await logits.data();
    const V = logits.shape[2];
    let nll = 0;
    rows.forEach((r, b) => {
      for (let t = 0; t < 256; t++) {
        const row = values.subarray((b * 256 + t) * V, (b * 256 + t + 1) * V);
        const max = Math.max(...row);
        let sum = 0;
        for (const v of row) sum += Math.exp(v - max);
        const lse = max + Math.log(sum);
        nll += lse - row[r[t + 1]];
      }
    });
    expect(nll / (4 * 256)).toBeLessThan(1.8);
    logits.dispose();
    model.dispose();
  });

  it('generates repeatably with a seed and frees everything', async () => {
    const before = memory().numTensors;
    const model = await loadDefaultModel();
    const a = await model.generateText('KING:\n', { maxNewTokens: 30, seed: 4, temperature: 0.8 });
    const b = await model.generateText('KING:\n', { maxNewTokens: 30, seed: 4, temperature: 0.8 });
    expect(a.sequences[0].text).toBe(b.sequences[0].text);
    expect(a.sequences[0].ids.length).toBe(30);
    model.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('points at its three files', () => {
    for (const url of Object.values(DEFAULT_MODEL_URLS)) expect(url.href).toMatch(/assets\/(config\.json|model\.safetensors|tokenizer\.json)$/);
  });
});
