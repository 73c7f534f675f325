import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { Backend, Tensor } from '@mamba3/tensor';
import { captureStep, dispose, hasKernel, Rng, tensor, tidy } from '@mamba3/tensor';
import type { WeightDType } from '../src/index.js';
import { lmHeadArgmax, lmHeadArgmaxComposite, uploadWeight } from '../src/index.js';
import { argmaxChunkFor } from '../src/kernels/webgpu/head-argmax.js';
import { ARGMAX_CHUNK, PICK_THREADS } from '../src/kernels/webgpu/head-argmax.wgsl.js';

/*
 * The WebGPU kernel of lmHeadArgmax (the head GEMV with the argmax's order keys in its epilogue,
 * then the pick) against its composite on the same device (fusedLinear's logits, then argMax):
 * the same GEMV sums, so the ids must be equal, ties included (the first id of the largest logit).
 */
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
const EPS = 1e-5;

interface Head {
  hidden: Float32Array;
  weight: Float32Array;
  norm: Float32Array;
  rows: number;
  V: number;
  d: number;
}

function randomHead(rng: Rng, rows: number, V: number, d: number, scale = 1): Head {
  return {
    hidden: Float32Array.from({ length: rows * d }, () => rng.normal()),
    weight: Float32Array.from({ length: V * d }, () => scale * rng.normal()),
    norm: Float32Array.from({ length: d }, () => 1 + 0.1 * rng.normal()),
    rows,
    V,
    d,
  };
}

/** Weight row `to` becomes a copy of row `from`: their logits are equal in every row of hidden. */
function copyRow(h: Head, from: number, to: number): void {
  h.weight.copyWithin(to * h.d, from * h.d, (from + 1) * h.d);
}

(SKIP_WEBGPU ? describe.skip : describe)('lmHeadArgmax on WebGPU (the argmax in the head GEMV)', () => {
  let gpu: WebGPUBackend;
  const cpu = createCpuBackend({ name: 'cpu-head-argmax-ref' });
  beforeAll(async () => {
    gpu = await createWebGPUBackend({ name: 'webgpu-head-argmax' });
  });
  afterAll(() => gpu?.dispose());

  const pick = async (backend: Backend, h: Head, vocab: number, opts: { composite?: boolean; dtype?: WeightDType } = {}): Promise<number[]> => {
    const weight = uploadWeight({ values: h.weight, shape: [h.V, h.d], dtype: 'float32', stored: 'F32' }, { backend, dtype: opts.dtype ?? 'float32' });
    const ids = tidy(() => {
      const x = tensor(h.hidden, [h.rows, h.d], { backend });
      const norm = { weight: tensor(h.norm, [h.d], { backend }), eps: EPS };
      return (opts.composite ? lmHeadArgmaxComposite : lmHeadArgmax)(x, weight, norm, vocab);
    });
    expect(ids.dtype).toBe('int32');
    expect(ids.shape).toEqual([h.rows]);
    const out = Array.from(await ids.data());
    dispose([ids, weight]);
    return out;
  };

  it('runs in two dispatches and gives the composite\'s ids: 1 to 16 rows, vocabularies of 1 to 5,003, padded columns left out', async () => {
    expect(hasKernel('lmHeadArgmax', gpu)).toBe(true);
    const rng = new Rng(21);
    for (const [rows, V, vocab] of [[1, 1000, 1000], [1, 1000, 997], [3, 1000, 1], [2, 512, ARGMAX_CHUNK], [1, 512, ARGMAX_CHUNK + 1], [16, 520, 515], [1, 5008, 5003]] as const) {
      const h = randomHead(rng, rows, V, 64);
      // The padded columns would win the argmax if they counted.
      for (let c = vocab; c < V; c++) h.weight.fill(0, c * h.d, (c + 1) * h.d).fill(50, c * h.d, c * h.d + 8);
      const before = gpu.stats().dispatches;
      const got = await pick(gpu, h, vocab);
      expect(gpu.stats().dispatches - before, `rows ${rows}, V ${V}: the head and the pick`).toBe(2);
      const want = await pick(gpu, h, vocab, { composite: true });
      expect(got, `rows ${rows}, V ${V}, vocab ${vocab}`).toEqual(want);
      got.forEach((id) => expect(id).toBeLessThan(vocab));
    }
  });

  it('serves batches in the GEMV\'s chunks of rows (24 rows: three chunks of 8, with gemvMaxRows 32), and past gemvMaxRows on the tiled product, the epilogue in a pass of its own', async () => {
    const wide = await createWebGPUBackend({ name: 'webgpu-head-argmax-wide', gemvMaxRows: 32 });
    try {
      const rng = new Rng(27);
      for (const [backend, rows, V] of [[wide, 24, 700], [gpu, 24, 700], [gpu, 17, 700], [gpu, 40, 5003]] as const) {
        const h = randomHead(rng, rows, V, 64);
        const count = async (composite: boolean): Promise<[number[], number]> => {
          const before = backend.stats().dispatches;
          const ids = await pick(backend, h, V - 10, { composite });
          return [ids, backend.stats().dispatches - before];
        };
        const [got, used] = await count(false);
        const [want, composite] = await count(true);
        expect(got, `rows ${rows}`).toEqual(want);
        // The GEMV and the pick; past gemvMaxRows the product (and its K split's sum), the pass, the pick.
        if (backend === wide) expect(used).toBe(2);
        else expect([3, 4], `rows ${rows}: ${used} against the composite's ${composite}`).toContain(used);
        expect(used, 'fewer dispatches than the composite').toBeLessThan(composite);
      }
    } finally {
      wide.dispose();
    }
  });

  it('keeps the first id of a tied largest logit: in one chunk, across chunks, and across two chunks one thread of the pick reads', async () => {
    const rng = new Rng(22);
    // Chunks c and c + 256 are read by one thread of the pick (the last pair ties across them).
    const far = (V: number, id: number) => id + PICK_THREADS * argmaxChunkFor(V);
    for (const [V, a, b] of [[1300, 700, 701], [1300, 300, 1100], [1300, 1, 1299], [1300, 15, 16], [70000, 1000, far(70000, 1000)], [5000, 7, far(5000, 7)]] as const) {
      const h = randomHead(rng, 4, V, V > 10000 ? 16 : 64);
      // Row a, scaled up, is every row's largest logit; row b equals it.
      for (let k = 0; k < h.d; k++) h.weight[a * h.d + k] = 20 * h.hidden[k] * h.norm[k];
      copyRow(h, a, b);
      const got = await pick(gpu, h, V);
      expect(got[0], `rows ${a} and ${b} tie`).toBe(a);
      expect(got).toEqual(await pick(gpu, h, V, { composite: true }));
      // Left out of the vocabulary, the tie's first copy leaves the second out of it too or not.
      expect(await pick(gpu, h, b)).toEqual(await pick(gpu, h, b, { composite: true }));
    }
  });

  it('leaves its keys at zero for the next product: large logits, then small ones of the same shape', async () => {
    const rng = new Rng(23);
    const large = randomHead(rng, 2, 900, 64, 100);
    const small = randomHead(rng, 2, 900, 64, 0.01);
    for (const h of [large, small, large, small]) expect(await pick(gpu, h, 900)).toEqual(await pick(gpu, h, 900, { composite: true }));
  });

  it('reads 16-bit weights packed (bf16, f16) and agrees with the CPU backend on well-separated logits', async () => {
    const rng = new Rng(24);
    const h = randomHead(rng, 3, 2000, 128);
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const got = await pick(gpu, h, 1999, { dtype });
      expect(got, dtype).toEqual(await pick(gpu, h, 1999, { dtype, composite: true }));
      expect(got, `${dtype} against the CPU`).toEqual(await pick(cpu, h, 1999, { dtype }));
    }
  });

  it('runs inside a step graph, reading each run\'s hidden state', async () => {
    const rng = new Rng(25);
    const h = randomHead(rng, 2, 800, 64);
    const weight = uploadWeight({ values: h.weight, shape: [h.V, h.d], dtype: 'float32', stored: 'F32' }, { backend: gpu });
    const normWeight = tensor(h.norm, [h.d], { backend: gpu });
    const x = tensor(h.hidden, [2, h.d], { backend: gpu });
    const graph = captureStep([x], (xi: Tensor) => [lmHeadArgmax(xi, weight, { weight: normWeight, eps: EPS }, 790)], { own: [0] });
    for (let k = 0; k < 3; k++) {
      const next = randomHead(rng, 2, 800, 64);
      next.weight = h.weight;
      next.norm = h.norm;
      graph.write(0, next.hidden);
      graph.run();
      expect(Array.from(await graph.read(0)), `run ${k}`).toEqual(await pick(gpu, next, 790, { composite: true }));
    }
    graph.dispose();
    dispose([weight, normWeight]);
  });

  it('takes longer chunks for longer vocabularies (at most 16 keys a thread of the pick), and the composite past 1,048,576 ids', async () => {
    expect(ARGMAX_CHUNK).toBe(16);
    expect([1, 50277, 65536, 65537, 70000, 1 << 20, (1 << 20) + 1].map((V) => argmaxChunkFor(V))).toEqual([16, 16, 16, 32, 32, 256, 0]);
    const rng = new Rng(26);
    for (const V of [1 << 20, (1 << 20) + 1]) {
      const h = randomHead(rng, 1, V, 4);
      const before = gpu.stats().dispatches;
      const got = await pick(gpu, h, V);
      const dispatches = gpu.stats().dispatches - before;
      expect(got, `V=${V}`).toEqual(await pick(gpu, h, V, { composite: true }));
      if (argmaxChunkFor(V)) expect(dispatches).toBe(2);
      else expect(dispatches).toBeGreaterThan(2);
    }
  });

  it('rejects a vocabulary past the head and mismatched shapes with one line', () => {
    const x = tensor(new Float32Array(8), [2, 4], { backend: gpu });
    const w = tensor(new Float32Array(12), [3, 4], { backend: gpu });
    const g = tensor(new Float32Array(4), [4], { backend: gpu });
    expect(() => lmHeadArgmax(x, w, { weight: g, eps: EPS }, 4)).toThrow(/vocab must be an integer in \[1, 3\]/);
    expect(() => lmHeadArgmax(x, w, { weight: g, eps: EPS }, 0)).toThrow(/vocab must be an integer/);
    expect(() => lmHeadArgmax(x, tensor(new Float32Array(15), [3, 5], { backend: gpu }), { weight: g, eps: EPS }, 3)).toThrow(/want hidden \[rows, d\]/);
    dispose([x, w, g]);
  });
});
