import { execFile } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_URLS } from '@mamba3/default-model';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

function mamba3(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('mamba3 CLI', () => {
  it('check: a mixer fixture passes in chunked and step mode, and fails an impossible tolerance', async () => {
    for (const mode of ['chunked', 'step']) {
      const r = await mamba3('check', fixture('mixer_siso.safetensors'), '--backend', 'cpu', '--mode', mode);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/output\.y\s+rel L2 \d\.\d+e-\d+\s+ok/);
      expect(r.stdout).toMatch(/all 5 outputs within tolerance/);
    }
    const strict = await mamba3('check', fixture('mixer_siso.safetensors'), '--tolerance', '1e-12');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/FAIL/);
  });

  it('check: the LM fixture (logits within 2e-2)', async () => {
    const r = await mamba3('check', fixture('lm_siso.safetensors'));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/output\.logits\s+rel L2 \d\.\d+e-3\s+ok/);
  });

  it('forward writes output.* tensors', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cli-')), 'out.safetensors');
    const r = await mamba3('forward', fixture('mixer_siso.safetensors'), '--out', out, '--chunk-size', '7');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/output\.y\s+\[2, 37, 64\]/);
    expect(existsSync(out)).toBe(true);
  });

  it('demo: streams text from the embedded default model on the CPU backend', async () => {
    const r = await mamba3('demo', '--backend', 'cpu', '--max-new-tokens', '40', '--seed', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith('ROMEO:\n')).toBe(true);
    expect(r.stdout.length).toBeGreaterThan('ROMEO:\n'.length + 10);
    expect(r.stderr).toMatch(/backend: cpu/);
    expect(r.stderr).toMatch(/40 tokens in .* tokens\/s/);
  });

  it('demo --backend auto follows the one auto rule: hardware WebGPU, else the CPU backend with the reason', async () => {
    const r = await mamba3('demo', '--backend', 'auto', '--max-new-tokens', '5', '--seed', '3');
    expect(r.code, r.stderr).toBe(0);
    // lavapipe (CI) is a software adapter, passed over; a machine with a GPU takes it.
    expect(r.stderr).toMatch(/backend: (webgpu .*a hardware WebGPU adapter is available|(cpu|wasm) .*: webgpu: .+)/);
  });

  it('generate is deterministic with a seed and honours stop strings', async () => {
    const model = dirname(fileURLToPath(DEFAULT_MODEL_URLS.config));
    const args = ['generate', '--model', model, '--prompt', 'KING:', '--max-new-tokens', '30', '--seed', '5', '--temperature', '0.9', '--backend', 'cpu'];
    const [a, b] = [await mamba3(...args), await mamba3(...args)];
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const stopped = await mamba3(...args, '--stop', '\n');
    expect(stopped.stdout.trimEnd().includes('\n')).toBe(false);
  });

  it('bad usage gives a clear message and exit code 2', async () => {
    const unknown = await mamba3('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const missing = await mamba3('check');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/give a fixture file/);
    const badBackend = await mamba3('check', fixture('mixer_siso.safetensors'), '--backend', 'nope');
    expect(badBackend.code).toBe(1);
    expect(badBackend.stderr).toMatch(/unknown backend "nope"/);
  });
});
