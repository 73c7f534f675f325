import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import type { Tensor } from '@mamba3/tensor';
import { dispose, Rng } from '@mamba3/tensor';
import type { MambaInferenceCache } from '../src/index.js';
import { MambaLMHeadModel } from '../src/index.js';

// Recorded prefills (issue 16): a replayed prefill graph gives the op path's logits and states
// bit for bit, across lengths, after a length change and on a batch; its buffers go back.
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const SKIP = process.env.MAMBA3_SKIP_WEBGPU === '1';

const config = { dModel: 32, nLayer: 2, vocabSize: 50, ssmCfg: { layer: 'Mamba3' as const, dState: 16, headdim: 16, chunkSize: 8 } };

async function values(logits: Tensor, cache: MambaInferenceCache): Promise<Float32Array[]> {
  const out = [(await logits.data()) as Float32Array];
  for (const t of cache.tensors()) out.push((await t.data()) as Float32Array);
  return out;
}

(SKIP ? describe.skip : describe)('recorded prefill on webgpu', () => {
  let backend: WebGPUBackend;
  let model: MambaLMHeadModel;
  const rng = new Rng(3);
  const ids = (b: number, L: number) => Array.from({ length: b }, () => Array.from({ length: L }, () => rng.int(config.vocabSize)));

  beforeAll(async () => {
    // No early submits (the runtime's kick policy, tested in backend-webgpu): the submit counts
    // below are the replay's own.
    backend = await createWebGPUBackend({ kickDispatches: 0 });
    model = MambaLMHeadModel.create(config, { seed: 1, backend });
  });
  afterAll(() => {
    model?.dispose();
    backend?.dispose();
  });

  /** Logits and cache states of one prefill, recorded (graphs kept) or through the ops (limit 0). */
  async function prefill(rows: number[][], recorded: boolean): Promise<Float32Array[]> {
    const limit = model.prefillGraphs.limit;
    if (!recorded) model.prefillGraphs.limit = 0;
    try {
      const cache = model.allocateInferenceCache(rows.length);
      const logits = model.prefill(rows, cache);
      expect(cache.seqlenOffset).toBe(rows[0].length);
      const v = await values(logits, cache);
      dispose([logits]);
      cache.dispose();
      return v;
    } finally {
      model.prefillGraphs.limit = limit;
    }
  }

  it('replays give the op path bit for bit: two lengths, a length change back, a batch', async () => {
    model.prefillGraphs.limit = 1;
    for (const [b, L] of [[1, 24], [1, 40], [1, 24], [2, 16]] as const) {
      for (let rep = 0; rep < 2; rep++) {
        const rows = ids(b, L);
        const ops = await prefill(rows, false);
        const before = backend.stats().replayedDispatches;
        const rec = await prefill(rows, true);
        expect(rec.length).toBe(ops.length);
        rec.forEach((r, k) => expect(Array.from(r), `[${b}, ${L}] rep ${rep} output ${k}`).toEqual(Array.from(ops[k])));
        // The first prefill of a shape is the capture (an op run); every later one replays.
        if (rep === 1) expect(backend.stats().replayedDispatches).toBeGreaterThan(before);
      }
    }
    expect(model.prefillGraphs.size).toBe(1);
  }, 300_000); // lavapipe on a loaded 2-core VM

  it('a replay dispatches through the recording: no op-layer pipeline lookups, one submit at the read', async () => {
    const rows = ids(1, 32);
    await prefill(rows, true);
    const s0 = backend.stats();
    const cache = model.allocateInferenceCache(1);
    const logits = model.prefill(rows, cache);
    const s1 = backend.stats();
    expect(s1.submits - s0.submits).toBe(0);
    expect(s1.replayedDispatches - s0.replayedDispatches).toBe(s1.dispatches - s0.dispatches);
    expect(s1.pipelineHits - s0.pipelineHits).toBe(0);
    await logits.data();
    expect(backend.stats().submits - s1.submits).toBe(1);
    dispose([logits]);
    cache.dispose();
  });

  it('continuing a cache takes the ops; clear() gives the buffers back to the pool', async () => {
    const rows = ids(1, 16);
    const cache = model.allocateInferenceCache(1);
    dispose([model.prefill(rows, cache)]);
    const replayed = backend.stats().replayedDispatches;
    dispose([model.prefill(rows, cache)]);
    expect(backend.stats().replayedDispatches).toBe(replayed);
    cache.dispose();
    const held = backend.stats().graphBytes;
    expect(held).toBeGreaterThan(0);
    const pooled = backend.stats().pooledBytes;
    model.prefillGraphs.clear();
    expect(model.prefillGraphs.size).toBe(0);
    expect(backend.stats().graphBytes).toBe(0);
    expect(backend.stats().pooledBytes).toBeGreaterThan(pooled);
  });
});
