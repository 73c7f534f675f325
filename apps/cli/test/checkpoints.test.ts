import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SafetensorsReader, TorchCheckpointReader } from '@mamba3/tensor';
import { relativeL2 } from '@mamba3/core';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// The golden checkpoint folders live once, in the model package that owns them.
const family = (name: string) => fileURLToPath(new URL(`../../../packages/model/fixtures/family/${name}`, import.meta.url));

function mamba3(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const read = async (path: string) => SafetensorsReader.fromBytes(readFileSync(path));

describe('mamba3 convert', () => {
  it('official bf16 .bin → safetensors: same names, BF16 kept bit for bit, config as written', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'conv-')), 'out');
    const r = await mamba3('convert', family('lm_mamba3_mlp_bf16'), out);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(join(family('lm_mamba3_mlp_bf16'), 'config.json'), 'utf8')));
    const st = await read(join(out, 'model.safetensors'));
    const bin = await TorchCheckpointReader.fromBytes(readFileSync(join(family('lm_mamba3_mlp_bf16'), 'pytorch_model.bin')));
    // The tied head is the embedding: not stored twice.
    expect(st.names.sort()).toEqual(bin.names.filter((n) => n !== 'lm_head.weight').sort());
    for (const n of st.names) {
      expect(st.entry(n).dtype).toBe('BF16');
      expect(await st.readBytes(n), n).toEqual(await bin.readBytes(n));
    }
  });

  it('HF → official and back to hf; --dtype float16 rounds', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'conv-'));
    expect((await mamba3('convert', family('hf_mamba1'), join(tmp, 'o'), '--dtype', 'float16')).code).toBe(0);
    const o = await read(join(tmp, 'o', 'model.safetensors'));
    expect(o.entries.has('backbone.embedding.weight')).toBe(true);
    expect(o.entry('backbone.embedding.weight').dtype).toBe('F16');
    expect(readdirSync(join(tmp, 'o'))).toContain('generation_config.json');
    const cfg = JSON.parse(readFileSync(join(tmp, 'o', 'config.json'), 'utf8'));
    expect(cfg.ssm_cfg.layer).toBe('Mamba1');
    expect(cfg.pad_vocab_size_multiple).toBe(1);
    expect((await mamba3('convert', join(tmp, 'o'), join(tmp, 'h'), '--layout', 'hf', '--dtype', 'float32')).code).toBe(0);
    const h = await read(join(tmp, 'h', 'model.safetensors'));
    const src = await read(join(family('hf_mamba1'), 'model.safetensors'));
    expect(h.names.sort()).toEqual(src.names.sort());
    const hcfg = JSON.parse(readFileSync(join(tmp, 'h', 'config.json'), 'utf8'));
    expect(hcfg).toMatchObject({ model_type: 'mamba', hidden_size: 64, num_hidden_layers: 2, vocab_size: 250, state_size: 16, time_step_rank: 4 });
    const [a, b] = [(await h.read('backbone.layers.0.mixer.in_proj.weight')).values, (await src.read('backbone.layers.0.mixer.in_proj.weight')).values];
    expect(relativeL2(a, b)).toBeGreaterThan(0);
    expect(relativeL2(a, b)).toBeLessThan(1e-3);
  });

  it('is atomic: a failed conversion leaves no OUT and no partial folder; an existing OUT is refused', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'conv-'));
    const bad = await mamba3('convert', family('lm_mamba3_mlp_bf16'), join(tmp, 'x'), '--layout', 'hf');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/transformers has no "Mamba3" layer; convert with --layout official/);
    expect(readdirSync(tmp)).toEqual([]);
    const exists = await mamba3('convert', family('hf_mamba1'), tmp);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/already exists/);
    const badDtype = await mamba3('convert', family('hf_mamba1'), join(tmp, 'y'), '--dtype', 'int8');
    expect(badDtype.code).toBe(2);
    expect(existsSync(join(tmp, 'y'))).toBe(false);
  });
});

describe('mamba3 forward DIR', () => {
  it('Mamba-3 bf16 .bin folder: logits chunked and step within 2e-2, greedy ids the same in both modes', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fwd-'));
    const io = await read(join(family('lm_mamba3_mlp_bf16'), 'io.safetensors'));
    const expected = (await io.read('expected.logits')).values;
    const greedy: number[][] = [];
    for (const mode of ['chunked', 'step']) {
      const out = join(tmp, `${mode}.safetensors`);
      const r = await mamba3('forward', family('lm_mamba3_mlp_bf16'), '--mode', mode, '--greedy', '6', '--prompt-len', '8', '--out', out);
      expect(r.code, r.stderr).toBe(0);
      const o = await read(out);
      expect(o.entry('output.logits').shape).toEqual([2, 23, 256]);
      expect(relativeL2((await o.read('output.logits')).values, expected)).toBeLessThan(2e-2);
      const g = Array.from((await o.read('output.greedy')).values);
      expect(g.length).toBe(14);
      expect(g.slice(0, 8)).toEqual(Array.from((await io.read('input.ids')).values).slice(0, 8));
      greedy.push(g);
    }
    expect(greedy[0]).toEqual(greedy[1]);
  });

  const CASES = [
    { name: 'lm_mamba1', tol: 1e-4 },
    { name: 'lm_mamba2', tol: 1e-3 },
    { name: 'lm_hybrid', tol: 1e-3 },
    { name: 'hf_mamba1', tol: 1e-4 },
    { name: 'hf_mamba2', tol: 1e-4 },
  ];
  for (const { name, tol } of CASES) {
    it(`${name}: logits (≤ ${tol}; step ≤ 1e-4 against the official step logits where given) and greedy ids identical`, async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'fwd-'));
      const io = await read(join(family(name), 'io.safetensors'));
      // lm_hybrid ships no greedy ids.
      const want = io.names.includes('expected.greedy') ? Array.from((await io.read('expected.greedy')).values) : null;
      for (const mode of ['chunked', 'step']) {
        const out = join(tmp, `${mode}.safetensors`);
        const greedy = want ? ['--greedy', '12', '--prompt-len', String(want.length - 12)] : [];
        const r = await mamba3('forward', family(name), '--mode', mode, ...greedy, '--out', out);
        expect(r.code, r.stderr).toBe(0);
        const o = await read(out);
        const logits = (await o.read('output.logits')).values;
        const stepRef = mode === 'step' && io.names.includes('expected.logits_step');
        const ref = (await io.read(stepRef ? 'expected.logits_step' : 'expected.logits')).values;
        expect(relativeL2(logits, ref), mode).toBeLessThan(stepRef ? 1e-4 : tol);
        if (want) expect(Array.from((await o.read('output.greedy')).values), mode).toEqual(want);
        else expect(o.names).not.toContain('output.greedy');
      }
    });
  }

  it('--dtype bfloat16 on webgpu reaches the loader: the bf16 .bin folder gives the float32 logits; a bad --dtype is a usage error', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fwd-'));
    const logits: Float32Array[] = [];
    for (const extra of [['--backend', 'cpu'], ['--backend', 'webgpu', '--dtype', 'bfloat16']]) {
      const out = join(tmp, `${extra[1]}.safetensors`);
      const r = await mamba3('forward', family('lm_mamba3_mlp_bf16'), '--mode', 'step', ...extra, '--out', out);
      expect(r.code, r.stderr).toBe(0);
      logits.push((await (await read(out)).read('output.logits')).values as Float32Array);
    }
    // The file stores bf16, so bf16 storage keeps every weight exact: only the backends' f32 math differs.
    expect(relativeL2(logits[1], logits[0])).toBeLessThan(1e-4);
    const bad = await mamba3('forward', family('lm_mamba3_mlp_bf16'), '--dtype', 'int8', '--out', join(tmp, 'x.safetensors'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--dtype must be float32, float16, bfloat16, got "int8"/);
  }, 120_000);

  it('a folder without io.safetensors is a clear error', async () => {
    const r = await mamba3('forward', family('hf_mamba2').replace('hf_mamba2', ''), '--out', join(tmpdir(), 'never.safetensors'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no readable io.safetensors/);
  });
});
