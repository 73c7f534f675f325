import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { argMax, dispose, SafetensorsReader, setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { relativeL2 } from '@mamba3/core';
import { MambaLMHeadModel } from '../src/index.js';

const bytes = readFileSync(new URL('../fixtures/lm_siso.safetensors', import.meta.url));

beforeAll(async () => {
  await setBackend('cpu');
});

describe('golden lm_siso (official MambaLMHeadModel, 2 layers)', () => {
  it('loads from the fixture (config in the metadata) and matches expected.logits', async () => {
    const model = await MambaLMHeadModel.fromPretrained({ weights: bytes });
    const reader = await SafetensorsReader.fromBytes(bytes);
    const ids = await reader.tensor('input.ids');
    const expected = (await reader.read('expected.logits')).values;
    const logits = model.forward(ids);
    expect(logits.shape).toEqual([2, 45, 256]);
    // The expected logits come from the official chunked Triton kernels (~1e-2 relative error of their own).
    const err = relativeL2(await logits.data(), expected);
    expect(err).toBeLessThan(2e-2);
    // The most likely token agrees at every position.
    const ours = await argMax(logits, -1).data();
    const V = 256;
    for (let i = 0; i < ours.length; i++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (expected[i * V + v] > expected[i * V + best]) best = v;
      expect(ours[i], `position ${i}`).toBe(best);
    }
    dispose([logits, ids]);
    model.dispose();
  });
});
