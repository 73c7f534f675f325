import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DisposedError, dispose, Rng, SafetensorsReader, serializeSafetensors, setBackend, WeightsError } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { MambaLMHeadModel } from '@mamba3/model';
import { openSafetensors } from '@mamba3/tensor/node';
import { checkTrainOptions, LmTrainer, TokenStream } from '../src/index.js';
import { findCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/node.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const TINY = { dModel: 16, nLayer: 1, vocabSize: 12, ssmCfg: { layer: 'Mamba3' as const, dState: 8, headdim: 8, chunkSize: 8 } };
const data = new TokenStream(Array.from({ length: 600 }, (_, i) => (i * 7) % 12));

async function trainer(steps: number): Promise<LmTrainer> {
  const m = MambaLMHeadModel.create(TINY, { seed: 2 });
  const t = LmTrainer.fromModel(m);
  m.dispose();
  const rng = new Rng(3);
  for (let i = 0; i < steps; i++) {
    const b = data.sample(2, 8, rng);
    await t.update([b], 1e-3);
    dispose(b);
  }
  return t;
}

const files = (dir: string) => Object.fromEntries(['config.json', 'model.safetensors', 'optimizer.safetensors', 'checkpoint.json'].map((f) => [f, readFileSync(join(dir, f))]));

async function optimizerStep(dir: string): Promise<number> {
  const r = await openSafetensors(join(dir, 'optimizer.safetensors'));
  const step = Number(r.metadata.step);
  await r.close();
  return step;
}

describe('atomic checkpoints', () => {
  it('a failed write leaves the previous checkpoint whole and no partial folder behind', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ckpt-atomic-'));
    const dir = join(root, 'checkpoint');
    const t = await trainer(1);
    await saveCheckpoint(t, dir);
    const before = files(dir);
    const rng = new Rng(9);
    const b = data.sample(2, 8, rng);
    await t.update([b], 1e-3);
    dispose(b);
    // Break the optimizer state: model.safetensors of step 2 is written before the optimizer fails.
    const state = t.optimizer.stateTensors();
    Object.values(state)[0].dispose();
    await expect(saveCheckpoint(t, dir)).rejects.toThrow(DisposedError);
    expect(files(dir)).toEqual(before);
    expect(readdirSync(root)).toEqual(['checkpoint']);
    const back = await loadCheckpoint(dir);
    expect(back.step).toBe(1);
    back.dispose();
  });

  it('a crash between the two renames leaves the previous checkpoint, which is found and loads', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ckpt-swap-'));
    const dir = join(root, 'checkpoint');
    const t = await trainer(2);
    await saveCheckpoint(t, dir);
    renameSync(dir, `${dir}.previous`);
    expect(findCheckpoint(dir)).toBe(`${dir}.previous`);
    const back = await loadCheckpoint(dir);
    expect(back.step).toBe(2);
    back.dispose();
    // The next save puts a complete checkpoint back under its name and drops the old one.
    await saveCheckpoint(t, dir);
    expect(readdirSync(root)).toEqual(['checkpoint']);
    t.dispose();
  });

  it('damaged counters (metadata that is not a count, a manifest step that is not a number): a WeightsError naming the file', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ckpt-damaged-')), 'checkpoint');
    const t = await trainer(1);
    await saveCheckpoint(t, dir);
    t.dispose();
    writeFileSync(join(dir, 'checkpoint.json'), '{"step": {"toString": null}}');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/checkpoint\.json says step \{"toString":null\} but optimizer\.safetensors holds step 1: a mixed checkpoint/);
    rmSync(join(dir, 'checkpoint.json'));
    const file = join(dir, 'optimizer.safetensors');
    const reader = await SafetensorsReader.fromBytes(new Uint8Array(readFileSync(file)));
    const tensors = Object.fromEntries(await Promise.all(reader.names.map(async (n) => {
        const { shape, values } = await reader.read(n);
        return [n, { shape, values }] as const;
      })));
    for (const [key, bad] of [['step', 'abc'], ['optimizerStep', '-1'], ['tokensSeen', '1e400']]) {
      writeFileSync(file, serializeSafetensors(tensors, { ...reader.metadata, [key]: bad }));
      const err = await loadCheckpoint(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WeightsError);
      expect((err as Error).message).toBe(`${file}: metadata "${key}" must be a whole number >= 0, got "${bad}"; the checkpoint is damaged (train afresh or restore it)`);
    }
  });

  it('killed (SIGKILL) at random moments while checkpointing every step: always one whole checkpoint', async () => {
    const script = fileURLToPath(new URL('./fixtures/checkpoint-loop.mjs', import.meta.url));
    const root = mkdtempSync(join(tmpdir(), 'ckpt-kill-'));
    const dir = join(root, 'checkpoint');
    const rng = new Rng(11);
    let lastSaved = 0;
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // Wait for a first save, then kill at a random moment (usually mid-write: saves are back to back).
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (out.includes('\n')) {
            clearInterval(poll);
            setTimeout(resolve, 20 + rng.uniform() * 400);
          }
        }, 5);
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const saved = out.trim().split('\n').map(Number);
      lastSaved = saved[saved.length - 1];
      const found = findCheckpoint(dir);
      expect(found, `round ${round}`).not.toBeNull();
      const manifest = JSON.parse(readFileSync(join(found!, 'checkpoint.json'), 'utf8')) as { step: number };
      expect(await optimizerStep(found!)).toBe(manifest.step);
      // The checkpoint on disk is the last one reported or the one being written after it.
      expect([lastSaved, lastSaved + 1]).toContain(manifest.step);
      const back = await loadCheckpoint(dir);
      expect(back.step).toBe(manifest.step);
      back.dispose();
    }
    // The next save clears what the killed writes left.
    const t = await loadCheckpoint(dir);
    await saveCheckpoint(t, dir);
    t.dispose();
    expect(readdirSync(root)).toEqual(['checkpoint']);
  }, 120_000);
});

describe('training options and interruption', () => {
  it('every option is checked before the first step (no endless loop on batchSize 0)', async () => {
    const base = { steps: 3, batchSize: 2, seqLen: 8, lr: 1e-3 };
    for (const bad of [{ batchSize: 0 }, { batchSize: 1.5 }, { lr: 'fast' as unknown as number }, { steps: Number.NaN }, { evalEvery: -1 }, { gradClip: -1 }]) {
      expect(() => checkTrainOptions({ ...base, ...bad }), JSON.stringify(bad)).toThrow(ConfigError);
    }
    const t = await trainer(0);
    await expect(t.evaluate(data, 0, 8)).rejects.toThrow(/batchSize must be a positive integer/);
    await expect(t.fit(data, { ...base, batchSize: 0, progress: false })).rejects.toThrow(ConfigError);
    t.dispose();
  });

  it('an aborted fit finishes the step, checkpoints and returns early', async () => {
    const t = await trainer(0);
    const controller = new AbortController();
    const saved: number[] = [];
    let evals = 0;
    const history = await t.fit(data, {
      steps: 1000,
      batchSize: 2,
      seqLen: 8,
      lr: 1e-3,
      progress: false,
      evalEvery: 1,
      evalBatches: 1,
      signal: controller.signal,
      onEval: () => {
        if (++evals === 3) controller.abort();
      },
      onCheckpoint: (x) => void saved.push(x.step),
    });
    expect(t.step).toBe(3);
    expect(saved).toEqual([3]);
    expect(history.length).toBe(3);
    t.dispose();
  });
});

it('findCheckpoint: none in an empty or missing folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'ckpt-none-'));
  expect(findCheckpoint(join(root, 'checkpoint'))).toBeNull();
  expect(existsSync(join(root, 'checkpoint'))).toBe(false);
});
