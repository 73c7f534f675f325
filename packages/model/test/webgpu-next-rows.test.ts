import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import type { Tensor } from '@mamba3/tensor';
import { captureStep, dispose, gather, hasKernel, Rng, tensor, tidy } from '@mamba3/tensor';
import type { WeightDType } from '../src/index.js';
import { lmHeadArgmax, lmHeadArgmaxEmbed, MambaLMHeadModel, NonFiniteLogitsError, lmHeadArgmaxEmbedComposite, sampleByInverseCdf, sampleByInverseCdfEmbed, sampleByInverseCdfEmbedComposite, uploadWeight } from '../src/index.js';

/*
 * The picks that also write the picked ids' rows of the embedding (the next decode step's input),
 * on WebGPU: lmHeadArgmaxEmbed and sampleByInverseCdfEmbed against their ids-only kernels and the
 * embedding's gather on the same device. The rows are copies (unpacked from 16 bits where the
 * table is stored so), so they must be equal, not close.
 */
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
const EPS = 1e-5;

function normals(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

(SKIP_WEBGPU ? describe.skip : describe)('the picks with the next rows on WebGPU (the embedding gather in the pick)', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    // halfMinElements 0: the small tables below are stored 16-bit too.
    gpu = await createWebGPUBackend({ name: 'webgpu-next-rows', halfMinElements: 0 });
  });
  afterAll(() => gpu?.dispose());

  const table = (values: Float32Array, shape: [number, number], dtype: WeightDType = 'float32'): Tensor =>
    uploadWeight({ values, shape, dtype: 'float32', stored: 'F32' }, { backend: gpu, dtype });

  /** The ids and rows of `run`, with the dispatches it took. */
  const outcome = async (run: () => { ids: Tensor; next: Tensor }): Promise<{ ids: number[]; next: number[]; dispatches: number; shape: readonly number[] }> => {
    const before = gpu.stats().dispatches;
    const r = tidy(run);
    const dispatches = gpu.stats().dispatches - before;
    const out = { ids: Array.from(await r.ids.data()), next: Array.from(await r.next.data()), dispatches, shape: r.next.shape };
    dispose(r);
    return out;
  };

  it('lmHeadArgmaxEmbed: two dispatches (past gemvMaxRows rows three or four), lmHeadArgmax\'s ids and the gathered rows; tables in f32, bf16 and f16, wider or narrower than the head, longer than the vocabulary', async () => {
    expect(hasKernel('lmHeadArgmaxEmbed', gpu)).toBe(true);
    const rng = new Rng(31);
    for (const [rows, V, vocab, d, e, tableRows, dtype] of [
      [1, 1000, 1000, 64, 64, 1000, 'float32'],
      [3, 1000, 997, 64, 48, 1003, 'float32'],
      [5, 520, 515, 32, 300, 520, 'float32'],
      [2, 2000, 1999, 128, 128, 2000, 'bfloat16'],
      [4, 2000, 1990, 128, 96, 2000, 'float16'],
      // Past gemvMaxRows (16): the tiled product, the epilogue in a pass of its own, the pick.
      [24, 1000, 997, 64, 64, 1000, 'float32'],
      [40, 600, 600, 32, 32, 600, 'bfloat16'],
    ] as const) {
      const weight = uploadWeight({ values: normals(rng, V * d), shape: [V, d], dtype: 'float32', stored: 'F32' }, { backend: gpu, dtype });
      const embedding = table(normals(rng, tableRows * e), [tableRows, e], dtype);
      const hidden = tensor(normals(rng, rows * d), [rows, d], { backend: gpu });
      const norm = { weight: tensor(normals(rng, d, 0.1).map((v) => 1 + v), [d], { backend: gpu }), eps: EPS };
      const label = `rows ${rows}, V ${V}, vocab ${vocab}, e ${e}, ${dtype}`;
      const got = await outcome(() => lmHeadArgmaxEmbed(hidden, weight, norm, vocab, embedding));
      if (rows <= 16) expect(got.dispatches, label).toBe(2);
      else expect([3, 4], label).toContain(got.dispatches);
      expect(got.shape).toEqual([rows, e]);
      const ids = tidy(() => lmHeadArgmax(hidden, weight, norm, vocab));
      expect(got.ids, label).toEqual(Array.from(await ids.data()));
      const rowsOf = tidy(() => gather(embedding, ids, 0));
      expect(got.next, label).toEqual(Array.from(await rowsOf.data()));
      const ref = await outcome(() => lmHeadArgmaxEmbedComposite(hidden, weight, norm, vocab, embedding));
      expect(ref.ids, label).toEqual(got.ids);
      expect(ref.next, label).toEqual(got.next);
      dispose([weight, embedding, hidden, norm.weight, ids, rowsOf]);
    }
  });

  it('sampleByInverseCdfEmbed: two dispatches, sampleByInverseCdf\'s draws and the gathered rows, -Infinity rows (id 0) and draws near 1 included', async () => {
    expect(hasKernel('sampleByInverseCdfEmbed', gpu)).toBe(true);
    const rng = new Rng(32);
    for (const [rows, V, vocab, e, dtype] of [
      [4, 1000, 1000, 64, 'float32'],
      [3, 5000, 4999, 40, 'bfloat16'],
      [2, 50280, 50277, 16, 'float16'],
    ] as const) {
      const values = normals(rng, rows * V, 3);
      // Row 0 has no live id (all -Infinity: id 0); row 1 only its last chunk's ids.
      values.fill(-Infinity, 0, V);
      values.fill(-Infinity, V, V + Math.max(0, vocab - 100));
      const logits = tensor(values, [rows, V], { backend: gpu });
      const us = Array.from({ length: rows }, (_, r) => (r === rows - 1 ? 1 - 2 ** -24 : rng.uniform()));
      const u = tensor(us, [rows, 1], { backend: gpu });
      const embedding = table(normals(rng, V * e), [V, e], dtype);
      const label = `rows ${rows}, V ${V}, vocab ${vocab}, e ${e}, ${dtype}`;
      const got = await outcome(() => sampleByInverseCdfEmbed(logits, 0.7, u, vocab, embedding));
      expect(got.dispatches, label).toBe(2);
      const ids = tidy(() => sampleByInverseCdf(logits, 0.7, u, vocab));
      expect(got.ids, label).toEqual(Array.from(await ids.data()));
      expect(got.ids[0], 'a row of no live id draws id 0').toBe(0);
      got.ids.forEach((id) => expect(id >= 0 && id < vocab, `id ${id}`).toBe(true));
      const rowsOf = tidy(() => gather(embedding, ids, 0));
      expect(got.next, label).toEqual(Array.from(await rowsOf.data()));
      // The composite's draws match away from float32 boundaries: all rows but the last (u just
      // below 1, where the two may round to neighbouring ids).
      const ref = await outcome(() => sampleByInverseCdfEmbedComposite(logits, 0.7, u, vocab, embedding));
      expect(ref.ids.slice(0, -1), label).toEqual(got.ids.slice(0, -1));
      expect(ref.next.slice(0, -e), label).toEqual(got.next.slice(0, -e));
      dispose([logits, u, embedding, ids, rowsOf]);
    }
  });

  it('feeds its rows back in a step graph: each run picks from the rows the run before wrote', async () => {
    const rng = new Rng(33);
    const [V, d] = [300, 32];
    const weight = table(normals(rng, V * d), [V, d]);
    const norm = { weight: tensor(new Float32Array(d).fill(1), [d], { backend: gpu }), eps: EPS };
    const start = tensor(normals(rng, 2 * d), [2, d], { backend: gpu });
    // The head is the embedding, as in a tied LM: a run's picks depend on the run before's rows.
    const graph = captureStep([start], (x: Tensor) => {
      const r = lmHeadArgmaxEmbed(x, weight, norm, V - 1, weight);
      return [r.ids, r.next];
    }, { feedback: [[1, 0]] });
    let x = tensor(await graph.read(1), [2, d], { backend: gpu });
    const seen: number[][] = [];
    for (let k = 0; k < 4; k++) {
      graph.run();
      const ids = tidy(() => lmHeadArgmax(x, weight, norm, V - 1));
      const want = Array.from(await ids.data());
      expect(Array.from(await graph.read(0)), `run ${k + 1}`).toEqual(want);
      seen.push(want);
      const rowsOf = tidy(() => gather(weight, ids, 0));
      dispose([x, ids]);
      x = rowsOf;
    }
    expect(new Set(seen.flat()).size, 'the runs picked more than one id').toBeGreaterThan(1);
    graph.dispose();
    dispose([x, weight, norm.weight]);
  });

  it('rejects an embedding without a row for every id the pick can give, with one line', () => {
    const x = tensor(new Float32Array(8), [2, 4], { backend: gpu });
    const w = tensor(new Float32Array(12), [3, 4], { backend: gpu });
    const g = tensor(new Float32Array(4), [4], { backend: gpu });
    const short = tensor(new Float32Array(8), [2, 4], { backend: gpu });
    const flat = tensor(new Float32Array(12), [12], { backend: gpu });
    expect(() => lmHeadArgmaxEmbed(x, w, { weight: g, eps: EPS }, 3, short)).toThrow(/lmHeadArgmaxEmbed: want the embedding \[V', e\] with a row for each of the 3 ids/);
    expect(() => lmHeadArgmaxEmbed(x, w, { weight: g, eps: EPS }, 3, flat)).toThrow(/got \[12\]/);
    const u3 = tensor(new Float32Array(3), [3, 1], { backend: gpu });
    const u21 = tensor(new Float32Array(2), [2, 1, 1], { backend: gpu });
    const deep = tensor(new Float32Array(8), [2, 1, 4], { backend: gpu });
    expect(() => sampleByInverseCdfEmbed(w, 1, u3, 4, short)).toThrow(/sampleByInverseCdfEmbed: want the embedding \[V', e\] with a row for each of the 4 ids/);
    expect(() => sampleByInverseCdfEmbed(deep, 1, u21, 4, w)).toThrow(/sampleByInverseCdfEmbed: want logits \[rows, V\], got \[2,1,4\]/);
    dispose([x, w, g, short, flat, u3, u21, deep]);
  });
});

(SKIP_WEBGPU ? describe.skip : describe)('decode step graphs on WebGPU start at the first layer', () => {
  it('a greedy run is 3 dispatches a layer and 2 for the head and pick; a sampled run 3 a layer and 3 (lm_siso)', async () => {
    const gpu = await createWebGPUBackend({ name: 'webgpu-next-rows-model' });
    try {
      const model = await MambaLMHeadModel.fromPretrained({ weights: readFileSync(new URL('../fixtures/lm_siso.safetensors', import.meta.url)) }, { backend: gpu });
      const layers = model.config.nLayer;
      const cache = () => {
        const c = model.allocateInferenceCache(2);
        tidy(() => void model.prefill([[5, 17, 99], [200, 31, 7]], c));
        return c;
      };
      const greedy = model.greedyStepGraph([1, 2], cache(), { vocab: model.vocabSize });
      const sampled = model.samplingStepGraph([1, 2], cache(), { temperature: 0.8, uniforms: [0.2, 0.6], vocab: model.vocabSize });
      for (const [graph, want] of [[greedy, 3 * layers + 2], [sampled, 3 * layers + 3]] as const) {
        await graph.read(0);
        const before = gpu.stats().replayedDispatches;
        graph.run();
        const ids = Array.from(await graph.read(0));
        expect(gpu.stats().replayedDispatches - before).toBe(want);
        ids.forEach((id) => expect(id >= 0 && id < model.vocabSize).toBe(true));
      }
      greedy.dispose();
      sampled.dispose();
      model.dispose();
    } finally {
      gpu.dispose();
    }
  });
});

(SKIP_WEBGPU ? describe.skip : describe)('non-finite logits on the device picks (WebGPU): id -1, and generate stops', () => {
  let gpu: WebGPUBackend;
  beforeAll(async () => {
    gpu = await createWebGPUBackend({ name: 'webgpu-next-rows-nonfinite' });
  });
  afterAll(() => gpu?.dispose());

  it('lmHeadArgmax(Embed): -1 for a row with a NaN, +Infinity or -Infinity logit, as the composite; the next product of that shape is clean again (3 rows on the GEMV, 20 on the tiled product)', async () => {
    const [V, d] = [700, 32];
    const rng = new Rng(41);
    const norm = { weight: tensor(new Float32Array(d).fill(1), [d], { backend: gpu }), eps: EPS };
    for (const rows of [3, 20]) {
      const ids = async (hidden: Float32Array, weight: Float32Array, composite = false): Promise<number[]> => {
        const w = tensor(weight, [V, d], { backend: gpu });
        const x = tensor(hidden, [rows, d], { backend: gpu });
        const out = tidy(() => (composite ? lmHeadArgmaxEmbedComposite : lmHeadArgmaxEmbed)(x, w, norm, V - 5, w).ids);
        const got = Array.from(await out.data());
        const plain = tidy(() => lmHeadArgmax(x, w, norm, V - 5));
        expect(Array.from(await plain.data())).toEqual(got);
        dispose([w, x, out, plain]);
        return got;
      };
      const clean = normals(rng, V * d);
      const hidden = normals(rng, rows * d);
      const want = await ids(hidden, clean);
      want.forEach((id) => expect(id).toBeGreaterThanOrEqual(0));
      // Row 1's hidden state NaN: its logits are all NaN.
      const nanRow = hidden.slice();
      nanRow[d + 3] = Number.NaN;
      // One weight row's logit overflows to ±Infinity in every row (hidden of ones).
      const ones = new Float32Array(rows * d).fill(1);
      const overflow = (sign: number) => {
        const w = clean.slice();
        w.fill(sign * 3e38, 17 * d, 18 * d);
        return w;
      };
      const none = want.map(() => -1);
      for (const [label, h, w, expected] of [
        ['NaN hidden row 1', nanRow, clean, want.map((id, r) => (r === 1 ? -1 : id))],
        ['+Infinity logit', ones, overflow(1), none],
        ['-Infinity logit', ones, overflow(-1), none],
      ] as const) {
        expect(await ids(h, w), `${rows} rows, ${label}`).toEqual(expected);
        expect(await ids(h, w, true), `${rows} rows, ${label}, composite`).toEqual(expected);
        expect(await ids(hidden, clean), `${rows} rows, clean after ${label}`).toEqual(want);
      }
      // A NaN past the vocabulary (a padded column) does not count.
      const padded = clean.slice();
      padded.fill(Number.NaN, (V - 2) * d, (V - 1) * d);
      expect(await ids(hidden, padded)).toEqual(want);
    }
    norm.weight.dispose();
  });

  it('sampleByInverseCdf(Embed): -1 for a row with a NaN or +Infinity logit, as the composite; -Infinity stays a masked id', async () => {
    const [rows, V] = [4, 5000];
    const rng = new Rng(42);
    const values = normals(rng, rows * V);
    values[1 * V + 4321] = Number.NaN;
    values[2 * V + 17] = Number.POSITIVE_INFINITY;
    values.fill(Number.NEGATIVE_INFINITY, 3 * V, 3 * V + 4000);
    values[0 * V + V - 1] = Number.NaN; // past the vocabulary: does not count
    const logits = tensor(values, [rows, V], { backend: gpu });
    const u = tensor([0.3, 0.5, 0.7, 0.9], [rows, 1], { backend: gpu });
    const table = tensor(normals(rng, V * 8), [V, 8], { backend: gpu });
    for (const run of [
      () => sampleByInverseCdf(logits, 1, u, V - 1),
      () => sampleByInverseCdfEmbed(logits, 1, u, V - 1, table).ids,
      () => sampleByInverseCdfEmbedComposite(logits, 1, u, V - 1, table).ids,
    ]) {
      const got = Array.from(await tidy(run).data());
      expect(got[1]).toBe(-1);
      expect(got[2]).toBe(-1);
      expect(got[0]).toBeGreaterThanOrEqual(0);
      expect(got[3]).toBeGreaterThanOrEqual(4000);
    }
    dispose([logits, u, table]);
  });

  it('generate (the step graph path) stops with a NonFiniteLogitsError when a step\'s logits turn NaN, greedy and sampled', async () => {
    const config = { dModel: 32, nLayer: 2, vocabSize: 250, tieEmbeddings: false, ssmCfg: { layer: 'Mamba3' as const, dState: 16, headdim: 8, chunkSize: 8 } };
    for (const opts of [{ temperature: 0 }, { temperature: 1, seed: 5 }]) {
      const clean = MambaLMHeadModel.create(config, { seed: 3, backend: gpu });
      const { sequences } = await clean.generateText([1, 2, 3], { maxNewTokens: 6, ...opts });
      const [, second] = sequences[0].ids;
      // The embedding row of the second token NaN: the step that reads it (on the graph, after
      // the first token's pick on the host) gives NaN logits.
      const emb = clean.params['backbone.embedding.weight'];
      const rowsOf = Array.from(await emb.data());
      rowsOf.fill(Number.NaN, second * 32, (second + 1) * 32);
      const broken = MambaLMHeadModel.fromWeights(config, { ...clean.params, 'backbone.embedding.weight': tensor(rowsOf, emb.shape, { backend: gpu }) });
      const err = await broken.generateText([1, 2, 3], { maxNewTokens: 6, ...opts }).catch((e: unknown) => e);
      expect(err, JSON.stringify(opts)).toBeInstanceOf(NonFiniteLogitsError);
      expect((err as NonFiniteLogitsError).index).toBe(2);
      broken.dispose();
      clean.dispose();
    }
  });
});
