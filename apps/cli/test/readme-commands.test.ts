/**
 * The shell blocks of the root README ("Run a real checkpoint") and of this app's README, run
 * as written from the repository root. examples/test/readme.test.ts checks that every command
 * of those blocks appears here verbatim, so a README edit that is not run fails there.
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '@mamba3/tensor/node';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** Words of a command line as a POSIX shell splits them (double quotes only: all the READMEs use). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** Runs `pnpm mamba3 ARGS` as the root package.json's script does (`node apps/cli/dist/main.js`). */
function run(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const [pnpm, script, ...args] = words(line);
  expect([pnpm, script]).toEqual(['pnpm', 'mamba3']);
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd: repo, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(line: string): Promise<{ stdout: string; stderr: string }> {
  const r = await run(line);
  expect(r.code, `${line}\n${r.stderr}`).toBe(0);
  return r;
}

describe('root README: Run a real checkpoint', () => {
  beforeAll(() => {
    for (const p of ['/tmp/lm_mamba2.safetensors', '/tmp/mamba3-bf16']) rmSync(p, { recursive: true, force: true });
  });

  it('forward checks a checkpoint folder and writes logits and greedy ids', async () => {
    await ok('pnpm mamba3 forward packages/model/fixtures/family/lm_mamba2 --mode step --greedy 12 --prompt-len 8 --out /tmp/lm_mamba2.safetensors');
    const out = await openSafetensors('/tmp/lm_mamba2.safetensors');
    try {
      expect(out.entry('output.greedy').shape).toEqual([20]); // 8 prompt ids, then 12 greedy ids
      expect(out.entry('output.logits').shape[0]).toBe(2);
    } finally {
      await out.close();
    }
  }, 300_000);

  it('convert writes safetensors and config.json', async () => {
    await ok('pnpm mamba3 convert packages/model/fixtures/family/lm_mamba3_mlp_bf16 /tmp/mamba3-bf16 --dtype bfloat16');
    expect(existsSync('/tmp/mamba3-bf16/config.json')).toBe(true);
    expect(existsSync('/tmp/mamba3-bf16/model.safetensors')).toBe(true);
  }, 300_000);
});

describe('apps/cli README', () => {
  beforeAll(() => rmSync(join(repo, 'runs/readme-cli'), { recursive: true, force: true }));

  it('demo and generate write text', async () => {
    const demo = await ok('pnpm mamba3 demo --max-new-tokens 40');
    expect(demo.stdout.length).toBeGreaterThan(20);
    const gen = await ok('pnpm mamba3 generate --model packages/default-model/assets --prompt "ROMEO:" --max-new-tokens 40 --seed 1');
    expect(gen.stdout.startsWith('ROMEO:')).toBe(true);
  }, 300_000);

  it('train writes a model that eval reads', async () => {
    await ok('pnpm mamba3 train --config packages/default-model/train.config.json --set train.steps=2 --set train.batchSize=4 --set train.seqLen=64 --set train.evalBatches=1 --set data.valFraction=0.002 --out runs/readme-cli --overwrite');
    expect(existsSync(join(repo, 'runs/readme-cli/config.json'))).toBe(true);
    const evalRun = await ok('pnpm mamba3 eval --model runs/readme-cli --data packages/train/data/tinyshakespeare.txt --val-fraction 0.002');
    expect(`${evalRun.stdout}${evalRun.stderr}`).toMatch(/\d\.\d+ nats\/token/);
  }, 300_000);
});
