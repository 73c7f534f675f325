import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { captureStep, dispose, hasKernel, Rng, tensor, tidy } from '@mamba3/tensor';
import type { Backend } from '@mamba3/tensor';
import { sampleByInverseCdf, sampleByInverseCdfComposite } from '../src/index.js';
import { SAMPLE_CHUNK, SAMPLE_MAX_CHUNKS } from '../src/kernels/webgpu/sample.wgsl.js';

/*
 * The WebGPU kernel of sampleByInverseCdf (two dispatches) against the exact draw: the first id
 * whose running sum of softmax(logits / T), in float64, exceeds u times the total. Draws whose u
 * lies within 1e-5 of the total of an inner boundary (where float32 rounding may go either way, in
 * the composite as in the kernel) are left out of the comparison and counted.
 */
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
const NEG_INF = -Infinity;

/** The exact draw for each row, and whether u sits within `margin` (relative) of a boundary. */
function exactDraws(logits: Float32Array, V: number, T: number, us: readonly number[], margin = 1e-5): { id: number; close: boolean }[] {
  return us.map((u, r) => {
    const row = logits.subarray(r * V, (r + 1) * V);
    let m = NEG_INF;
    for (const v of row) m = Math.max(m, v / T);
    if (m === NEG_INF) return { id: 0, close: false };
    const e = Array.from(row, (v) => Math.exp(v / T - m));
    const total = e.reduce((a, b) => a + b, 0);
    const target = u * total;
    const last = e.findLastIndex((v) => v > 0);
    let run = 0;
    for (let i = 0; i < V; i++) {
      const next = run + e[i];
      // Past the last live id no boundary is left to round across (the kernel falls back to it).
      if (next > target) return { id: i, close: (i > 0 && Math.abs(run - target) < margin * total) || (i < last && Math.abs(next - target) < margin * total) };
      run = next;
    }
    return { id: -1, close: true };
  });
}

function randomLogits(rng: Rng, rows: number, V: number, scale: number): Float32Array {
  return Float32Array.from({ length: rows * V }, () => scale * rng.normal());
}

(SKIP_WEBGPU ? describe.skip : describe)('sampleByInverseCdf on WebGPU (fused, two dispatches)', () => {
  let gpu: WebGPUBackend;
  const cpu = createCpuBackend({ name: 'cpu-sampling-ref' });
  beforeAll(async () => {
    gpu = await createWebGPUBackend({ name: 'webgpu-sampling' });
  });
  afterAll(() => gpu?.dispose());

  const draw = async (backend: Backend, logits: Float32Array, shape: number[], T: number, us: number[], composite = false, vocab?: number): Promise<number[]> => {
    const ids = tidy(() => {
      const l = tensor(logits, shape, { backend });
      const u = tensor(us, [...shape.slice(0, -1), 1], { backend });
      return (composite ? sampleByInverseCdfComposite : sampleByInverseCdf)(l, T, u, vocab);
    });
    expect(ids.dtype).toBe('int32');
    expect(ids.shape).toEqual(shape.slice(0, -1));
    const out = Array.from(await ids.data());
    dispose(ids);
    return out;
  };

  it('runs its kernel in two dispatches, and draws the exact id away from boundaries: vocabularies of 1 to 50,280, one chunk to 25', async () => {
    expect(hasKernel('sampleByInverseCdf', gpu)).toBe(true);
    const rng = new Rng(7);
    let compared = 0;
    let close = 0;
    for (const [V, T, scale] of [[1, 1, 1], [7, 0.7, 2], [300, 1, 3], [2048, 2, 1], [2049, 0.5, 2], [20000, 1, 4], [50280, 1, 3]] as const) {
      const rows = 16;
      const logits = randomLogits(rng, rows, V, scale);
      const us = Array.from({ length: rows }, (_, r) => (r === 0 ? 0 : r === rows - 1 ? 0.9999999 : rng.uniform()));
      const before = gpu.stats().dispatches;
      const got = await draw(gpu, logits, [rows, V], T, us);
      expect(gpu.stats().dispatches - before, `V=${V}: chunk stats and pick`).toBe(2);
      const want = exactDraws(logits, V, T, us);
      got.forEach((id, r) => {
        if (want[r].close) close++;
        else {
          compared++;
          expect(id, `V=${V} row ${r} u=${us[r]}`).toBe(want[r].id);
        }
      });
    }
    // 112 draws. Near-boundary ones are common only at V = 50,280, where a running step is ~2e-5 of the total.
    expect(compared).toBeGreaterThanOrEqual(95);
    expect(compared + close).toBe(112);
  });

  it('stages up to 512 chunks a row (1,048,576 ids); a longer vocabulary runs the composite', async () => {
    expect(SAMPLE_MAX_CHUNKS).toBe(512);
    const rng = new Rng(12);
    for (const V of [SAMPLE_MAX_CHUNKS * SAMPLE_CHUNK, SAMPLE_MAX_CHUNKS * SAMPLE_CHUNK + 1]) {
      // One live id in the last chunk, the rest -Infinity: the draw must land there either way.
      const logits = new Float32Array(V).fill(-Infinity);
      logits[V - 1] = rng.normal();
      const before = gpu.stats().dispatches;
      const got = await draw(gpu, logits, [1, V], 1, [0.5]);
      const dispatches = gpu.stats().dispatches - before;
      expect(got, `V=${V}`).toEqual([V - 1]);
      if (V <= SAMPLE_MAX_CHUNKS * SAMPLE_CHUNK) expect(dispatches).toBe(2);
      else expect(dispatches).toBeGreaterThan(2);
    }
  });

  it('agrees with the composite on the CPU for a batch of rows [2, 3, V] (rank 3)', async () => {
    const rng = new Rng(8);
    const V = 5000;
    const logits = randomLogits(rng, 6, V, 2);
    const us = Array.from({ length: 6 }, () => rng.uniform());
    const got = await draw(gpu, logits, [2, 3, V], 1.3, us);
    const want = await draw(cpu, logits, [2, 3, V], 1.3, us);
    const exact = exactDraws(logits, V, 1.3, us);
    got.forEach((id, r) => {
      if (!exact[r].close) expect([id, want[r]], `row ${r}`).toEqual([exact[r].id, exact[r].id]);
    });
  });

  it('never picks an id of zero probability: -Infinity logits, whole chunks of them, all of a row (id 0, as the composite)', async () => {
    const V = 6000;
    const rows = 4;
    const logits = new Float32Array(rows * V).fill(NEG_INF);
    // Row 0: only ids 10 and 5000 live (chunks 1 and 3 are all -Infinity) with equal weight.
    logits[10] = 0;
    logits[5000] = 0;
    // Row 1: only the last id lives. Row 2: every id dead. Row 3: ids 2047 and 2048 (a chunk edge).
    logits[V + V - 1] = 3;
    logits[3 * V + 2047] = 1;
    logits[3 * V + 2048] = 1;
    const cases: [number[], number[]][] = [
      [[0, 0.25, 0.4999, 0.5001, 0.9999999], [10, 10, 10, 5000, 5000]],
      [[0, 0.5, 0.9999999], [V - 1, V - 1, V - 1]],
      [[0, 0.5, 0.9999999], [0, 0, 0]],
      [[0, 0.4999, 0.5001, 0.9999999], [2047, 2047, 2048, 2048]],
    ];
    for (const [r, [us, ids]] of cases.entries()) {
      const row = logits.subarray(r * V, (r + 1) * V);
      const rowsOf = (n: number) => new Float32Array(Array.from({ length: n }, () => Array.from(row)).flat());
      expect(await draw(gpu, rowsOf(us.length), [us.length, V], 1, us), `row ${r}`).toEqual(ids);
      expect(await draw(cpu, rowsOf(us.length), [us.length, V], 1, us, true), `row ${r}, composite`).toEqual(ids);
    }
  });

  it('draws a live id for u just below 1, where the running sums of threads past the last live id round above the target', async () => {
    // Before the fix, 46 of these 480 draws came out as -1 (a thread with no ids owned the draw).
    const rng = new Rng(5);
    const us = [1 - 2 ** -24, 1 - 2 ** -23, 0.9999999, 0.999999];
    for (let s = 0; s < 40; s++) {
      for (const T of [0.7, 1, 1.3]) {
        const V = [1000, 3000, 997][s % 3];
        const got = await draw(gpu, randomLogits(rng, us.length, V, 3), [us.length, V], T, us);
        got.forEach((id, r) => expect(id, `seed ${s}, T ${T}, u ${us[r]}`).toBeGreaterThanOrEqual(0));
        got.forEach((id) => expect(id).toBeLessThan(V));
      }
    }
  });

  it('a temperature so small that logits / T would overflow draws the argmax, as the composite does (down to the smallest float32)', async () => {
    const rng = new Rng(17);
    const [rows, V] = [6, 3000];
    const logits = randomLogits(rng, rows, V, 3);
    const argmaxes = Array.from({ length: rows }, (_, r) => {
      const row = logits.subarray(r * V, (r + 1) * V);
      return row.indexOf(Math.max(...row));
    });
    const us = Array.from({ length: rows }, () => rng.uniform());
    for (const T of [1e-30, 1e-37, 1e-39, 1e-45]) {
      expect(await draw(gpu, logits, [rows, V], T, us), `T ${T}`).toEqual(argmaxes);
      expect(await draw(cpu, logits, [rows, V], T, us, true), `T ${T}, composite`).toEqual(argmaxes);
    }
  });

  it('draws among the first `vocab` ids without a copy (a padded head): two dispatches, padded columns never drawn', async () => {
    const rng = new Rng(13);
    const [rows, V, vocab] = [6, 3000, 2990];
    const logits = randomLogits(rng, rows, V, 2);
    // The padded columns would take almost every draw if they counted.
    for (let r = 0; r < rows; r++) logits.fill(30, r * V + vocab, (r + 1) * V);
    const us = Array.from({ length: rows }, (_, r) => (r === rows - 1 ? 0.9999999 : rng.uniform()));
    const before = gpu.stats().dispatches;
    const got = await draw(gpu, logits, [rows, V], 1, us, false, vocab);
    expect(gpu.stats().dispatches - before).toBe(2);
    const real = Float32Array.from({ length: rows * vocab }, (_, k) => logits[Math.floor(k / vocab) * V + (k % vocab)]);
    const exact = exactDraws(real, vocab, 1, us);
    const composite = await draw(cpu, logits, [rows, V], 1, us, true, vocab);
    got.forEach((id, r) => {
      expect(id).toBeLessThan(vocab);
      if (!exact[r].close) expect([id, composite[r]], `row ${r}`).toEqual([exact[r].id, exact[r].id]);
    });
    await expect(draw(gpu, logits, [rows, V], 1, us, false, V + 1)).rejects.toThrow(/vocab must be an integer in \[1, 3000\]/);
  });

  it('runs inside a step graph, reading each run\'s u', async () => {
    const V = 3000;
    const logits = randomLogits(new Rng(9), 2, V, 2);
    const l = tensor(logits, [2, V], { backend: gpu });
    const u = tensor([0.1, 0.8], [2, 1], { backend: gpu });
    const graph = captureStep([l, u], (x, ui) => [sampleByInverseCdf(x, 1, ui)], { own: [0, 1] });
    for (const us of [[0.1, 0.8], [0.95, 0.02]]) {
      graph.write(1, new Float32Array(us));
      graph.run();
      const got = Array.from(await graph.read(0));
      const want = exactDraws(logits, V, 1, us);
      got.forEach((id, r) => {
        if (!want[r].close) expect(id, `u=${us[r]}`).toBe(want[r].id);
      });
    }
    graph.dispose();
  });

  it('rejects a u of the wrong shape and a temperature of 0 with one line', () => {
    const l = tensor([1, 2, 3, 4, 5, 6], [2, 3], { backend: gpu });
    expect(() => sampleByInverseCdf(l, 1, tensor([0.5], [1, 1], { backend: gpu }))).toThrow(/u must have shape \[2,1\]/);
    expect(() => sampleByInverseCdf(l, 0, tensor([0.5, 0.5], [2, 1], { backend: gpu }))).toThrow(/temperature must be > 0/);
    dispose(l);
  });
});
