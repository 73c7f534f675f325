import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { Rng, tensor } from '@mamba3/tensor';
import type { SamplingOptions } from '../src/index.js';
import { checkSampling, float32Draw, sampleByInverseCdfComposite, sampleToken } from '../src/index.js';

/**
 * The sampler's definition, written plainly: every candidate id sorted by probability (a stable
 * sort: ties keep the lower id first), then topK, minP and topP cut that list, and the draw
 * walks it. sampleToken must pick exactly these ids (it sorts the values alone, for speed).
 */
function byDefinition(logits: ArrayLike<number>, V: number, o: SamplingOptions, rng: Rng): number {
  const s = checkSampling(o);
  const z = Float64Array.from({ length: V }, (_, i) => logits[i]);
  const max = Math.max(...z);
  const p = z.map((v) => Math.exp((v - max) / s.temperature));
  const total = p.reduce((a, b) => a + b, 0);
  let order = Array.from({ length: V }, (_, i) => i).filter((i) => p[i] > 0);
  order.sort((a, b) => p[b] - p[a]);
  if (s.topK > 0) order = order.slice(0, s.topK);
  if (s.minP > 0) {
    const floor = (s.minP * p[order[0]]) / total;
    order = order.filter((i, k) => k === 0 || p[i] / total >= floor);
  }
  if (s.topP < 1) {
    let acc = 0;
    let keep = 0;
    while (keep < order.length) {
      acc += p[order[keep]] / total;
      keep++;
      if (acc >= s.topP) break;
    }
    order = order.slice(0, keep);
  }
  let mass = 0;
  for (const i of order) mass += p[i];
  let u = rng.uniform() * mass;
  for (const i of order) {
    u -= p[i];
    if (u < 0) return i;
  }
  return order[order.length - 1];
}

describe('sampleToken', () => {
  const OPTIONS: SamplingOptions[] = [
    { temperature: 0.8 },
    { temperature: 0.8, topP: 0.95 },
    { temperature: 1.3, topP: 0.5 },
    { temperature: 1, topK: 5 },
    { temperature: 0.7, topK: 40, topP: 0.9 },
    { temperature: 1, minP: 0.05 },
    { temperature: 2, topK: 100, minP: 0.01, topP: 0.99 },
  ];

  it('picks the ids of the plain definition: random logits, repeated values (ties), padded rows', () => {
    const gen = new Rng(5);
    for (const V of [1, 2, 7, 65, 1000]) {
      for (let trial = 0; trial < 20; trial++) {
        // Every third row is coarse: many equal logits, so probability ties are common.
        const coarse = trial % 3 === 0;
        const row = Float32Array.from({ length: V + 3 }, () => (coarse ? Math.round(gen.normal() * 2) : gen.normal() * 3));
        for (const o of OPTIONS) {
          const a = new Rng(100 + trial);
          const b = new Rng(100 + trial);
          for (let draw = 0; draw < 8; draw++) {
            expect(sampleToken(row, V, checkSampling(o), a), `V ${V} trial ${trial} ${JSON.stringify(o)} draw ${draw}`).toBe(byDefinition(row, V, o, b));
          }
        }
      }
    }
  });

  it('the repetition penalty and greedy decoding', () => {
    const row = [1, 3, 2.5, 2, -1];
    expect(sampleToken(row, 5, checkSampling({ temperature: 0 }), new Rng(1))).toBe(1);
    // Penalised, ids 1 and 2 drop to 0.3 and 0.25: id 3 is the most likely.
    expect(sampleToken(row, 5, checkSampling({ temperature: 0, repetitionPenalty: 10 }), new Rng(1), [1, 2])).toBe(3);
    // With a tiny temperature the draw is the argmax.
    expect(sampleToken(row, 5, checkSampling({ temperature: 1e-3 }), new Rng(2))).toBe(1);
  });
});

describe('float32Draw: the device draw below 1', () => {
  it('keeps draws that float32 holds below 1 and clamps those that would round to 1 (the composite would pick id 0 there)', async () => {
    const below = 1 - 2 ** -24; // the largest float32 below 1
    expect(float32Draw(0.25)).toBe(0.25);
    expect(float32Draw(below)).toBe(below);
    for (const u of [1 - 2 ** -25, 1 - 2 ** -30, 1 - 2 ** -52]) {
      expect(Math.fround(u)).toBe(1);
      expect(Math.fround(float32Draw(u))).toBe(below);
    }
    // Id 0 has no weight at all; a u of 1 finds no id above u times the total, so argmax gives 0.
    const backend = createCpuBackend();
    const logits = tensor([[-Infinity, 1, 2, 3]], [1, 4], { backend });
    const pick = async (u: number) => {
      const ids = sampleByInverseCdfComposite(logits, 1, tensor([[u]], [1, 1], { backend }));
      return (await ids.data())[0];
    };
    expect(await pick(Math.fround(1 - 2 ** -30))).toBe(0);
    expect(await pick(float32Draw(1 - 2 ** -30))).toBe(3);
    backend.dispose?.();
  });
});
