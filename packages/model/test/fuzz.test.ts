/**
 * Property-based fuzzing of what `fromPretrained` reads besides the tensors: config.json
 * (edited fields, byte flips of the file) and model.safetensors.index.json (hostile shard
 * paths). Each case gives a model or a typed `Mamba3Error`: never another exception, a hang, or
 * an allocation sized by a number in the file. A bounded number of cases runs in CI.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Mamba3Error, setBackend } from '@mamba3/tensor';
import { OBJECT_MEMBER_VALUES } from '@mamba3/tensor/testing';
import '@mamba3/backend-cpu';
import { fromConfigJson, MambaLMHeadModel, officialToHfConfig, ShardIndexError, shardFiles, toConfigJson, toOfficialConfig } from '../src/index.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SMALL = { dModel: 16, nLayer: 1, vocabSize: 20, ssmCfg: { layer: 'Mamba3' as const, dState: 8, headdim: 8, chunkSize: 8 } };

let weights: Uint8Array;
let configJson: Record<string, unknown>;

beforeAll(async () => {
  await setBackend('cpu');
  const m = MambaLMHeadModel.create(SMALL, { seed: 1 });
  ({ weights, configJson } = await m.save());
  m.dispose();
});

/** Runs `fn`; a typed error is fine, anything else fails the property. */
async function typedOrValid(fn: () => Promise<unknown> | unknown): Promise<'ok' | 'typed'> {
  try {
    const r = await fn();
    if (r instanceof MambaLMHeadModel) r.dispose();
    return 'ok';
  } catch (err) {
    if (err instanceof Mamba3Error) return 'typed';
    throw err;
  }
}

const nasty = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 1e9, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e308, 'Mamba3', 'Mamba1', true, null, [], {}, ...OBJECT_MEMBER_VALUES),
  fc.jsonValue({ maxDepth: 2 }),
);

/** An edit of the config: a field of the top level or of ssm_cfg set to a nasty value, deleted, or a new key. */
const configEdit = fc.record({ inner: fc.boolean(), key: fc.nat(), value: nasty, action: fc.constantFrom('set', 'delete', 'add'), newKey: fc.string({ maxLength: 8 }) });

function edited(edits: readonly { inner: boolean; key: number; value: unknown; action: string; newKey: string }[]): Record<string, unknown> {
  const c = structuredClone(configJson);
  for (const e of edits) {
    const target = e.inner && c.ssm_cfg !== null && typeof c.ssm_cfg === 'object' && !Array.isArray(c.ssm_cfg) ? (c.ssm_cfg as Record<string, unknown>) : c;
    const keys = Object.keys(target);
    const key = e.action === 'add' ? e.newKey : keys[e.key % Math.max(1, keys.length)];
    if (key === undefined) continue;
    if (e.action === 'delete') delete target[key];
    // A copy: constants are shared between runs, and a later edit may write inside this one.
    else target[key] = structuredClone(e.value);
  }
  return c;
}

describe('config.json fuzz', () => {
  it('edited fields: a config or a ConfigError, and loading never sizes memory by a number in the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(configEdit, { minLength: 1, maxLength: 4 }), async (edits) => {
        const c = edited(edits);
        await typedOrValid(() => fromConfigJson(c));
        await typedOrValid(() => MambaLMHeadModel.fromPretrained({ config: c, weights }));
      }),
      { numRuns: RUNS },
    );
  });

  it('every field, official (model, ssm_cfg of each layer, attn_cfg) or Hugging Face (mamba, mamba2), set to a value named like an Object member: a ConfigError', async () => {
    // Written out by toConfigJson, so every option of the layer is a field.
    const official = (layer: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
      toConfigJson(fromConfigJson({ ...configJson, ssm_cfg: { layer, d_state: 8, ...(layer === 'Mamba1' ? {} : { headdim: 8, chunk_size: 8 }) }, ...extra }));
    const fieldsOf = (c: Record<string, unknown>): string[] => [
      ...Object.keys(c),
      ...['ssm_cfg', 'attn_cfg'].flatMap((o) => Object.keys(c[o] as object).map((k) => `${o}.${k}`)),
    ];
    const hf = (layer: string): Record<string, unknown> => officialToHfConfig(official(layer));
    const cases: [Record<string, unknown>, string[], boolean][] = [
      ...[official('Mamba3', { n_layer: 2, attn_layer_idx: [1], attn_cfg: { num_heads: 2, rotary_emb_dim: 4 } }), official('Mamba1'), official('Mamba2')].map(
        (c): [Record<string, unknown>, string[], boolean] => [c, fieldsOf(c), true],
      ),
      // Some Hugging Face fields (architectures, initializer_range) are not read, so these may load.
      ...['Mamba1', 'Mamba2'].map((layer): [Record<string, unknown>, string[], boolean] => [hf(layer), Object.keys(hf(layer)), false]),
    ];
    for (const [base, fields, everyFieldRead] of cases) {
      expect(fromConfigJson(toOfficialConfig(base).config)).toBeDefined();
      for (const field of fields) {
        for (const value of OBJECT_MEMBER_VALUES) {
          const c = structuredClone(base);
          const [outer, inner] = field.split('.');
          if (inner === undefined) c[outer] = value;
          else (c[outer] as Record<string, unknown>)[inner] = value;
          const result = await typedOrValid(() => fromConfigJson(toOfficialConfig(c).config));
          if (everyFieldRead) expect(result, `${field} = ${JSON.stringify(value)}`).toBe('typed');
        }
      }
    }
  });

  it('a config claiming a billion layers or a huge width is refused quickly', async () => {
    for (const patch of [{ n_layer: 1e9 }, { d_model: 2 ** 30 }, { vocab_size: 2 ** 40 }, { n_layer: 2 ** 31, d_model: 2 ** 20 }]) {
      const started = performance.now();
      await expect(MambaLMHeadModel.fromPretrained({ config: { ...configJson, ...patch }, weights })).rejects.toThrow(Mamba3Error);
      expect(performance.now() - started, JSON.stringify(patch)).toBeLessThan(5000);
    }
  });

  it('byte flips of config.json on disk: a model or a typed error naming the file', async () => {
    const text = `${JSON.stringify(configJson, null, 2)}\n`;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ at: fc.nat(), ch: fc.constantFrom('"', '{', '}', ',', ':', '9', '-', 'e', ' ', '[', 'x', '\\') }), { minLength: 1, maxLength: 4 }), async (flips) => {
        const chars = [...text];
        for (const f of flips) chars[f.at % chars.length] = f.ch;
        const dir = mkdtempSync(join(tmpdir(), 'fuzz-config-'));
        writeFileSync(join(dir, 'config.json'), chars.join(''));
        writeFileSync(join(dir, 'model.safetensors'), weights);
        await typedOrValid(() => MambaLMHeadModel.fromPretrained(dir));
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

describe('shard index fuzz', () => {
  const fragment = fc.constantFrom('..', '.', '', '/', 'a', 'model.safetensors', 'C:', '\\', '%2e%2e', 'file:', 'https://example.org', '\0', '~', 'é', '..\\..');
  const path = fc.array(fragment, { minLength: 1, maxLength: 5 }).map((p) => p.join(fc.sample(fc.constantFrom('/', ''), 1)[0]));
  const index = fc.oneof(
    fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(path, fc.string(), nasty)).map((m) => ({ weight_map: m })),
    fc.record({ weight_map: nasty }),
    nasty,
  );

  it('every file it accepts stays inside the model folder; everything else is a ShardIndexError', () => {
    const dir = resolve('/models/m');
    fc.assert(
      fc.property(index, (idx) => {
        try {
          for (const f of shardFiles(idx, 'index')) expect(resolve(dir, f).startsWith(dir + sep), f).toBe(true);
        } catch (err) {
          if (!(err instanceof ShardIndexError)) throw err;
        }
      }),
      { numRuns: RUNS * 4 },
    );
  });
});
