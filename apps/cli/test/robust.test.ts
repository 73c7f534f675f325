import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, writeFileSync, ftruncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_URLS } from '@mamba3/default-model';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const defaultModel = dirname(fileURLToPath(DEFAULT_MODEL_URLS.config));
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function mamba3(args: string[], opts: { cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd: opts.cwd, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** One line on stderr, no stack trace, the expected exit code and message. */
async function fails(args: string[], code: number, message: RegExp, opts?: { cwd?: string }): Promise<Run> {
  const r = await mamba3(args, opts);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(code);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(message);
  return r;
}

const TINY_MODEL = { dModel: 16, nLayer: 1, ssmCfg: { layer: 'Mamba3', dState: 8, headdim: 8, chunkSize: 8 } };

function trainConfig(dir: string, extra: Record<string, unknown> = {}, train: Record<string, unknown> = {}): string {
  const data = join(dir, 'data.txt');
  writeFileSync(data, 'to be or not to be, that is the question. '.repeat(40));
  const path = join(dir, 'tiny.config.json');
  writeFileSync(path, JSON.stringify({ data: { path: data, tokenizer: 'char' }, model: TINY_MODEL, train: { steps: 2, batchSize: 2, seqLen: 8, lr: 1e-3, evalEvery: 0, evalBatches: 1, ...train }, ...extra }));
  return path;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('every numeric flag and config value is checked once, before work (exit 2)', () => {
  it('bad numeric flags', async () => {
    await fails(['train', '--task', 'parity', '--steps', 'abc'], 2, /--steps must be a positive integer, got "abc"/);
    await fails(['check', fixture('mixer_siso.safetensors'), '--tolerance', 'abc'], 2, /--tolerance must be a number >= 0/);
    await fails(['forward', fixture('mixer_siso.safetensors'), '--chunk-size', 'abc', '--out', join(tmp('cli-'), 'o')], 2, /--chunk-size must be a positive integer/);
    await fails(['eval', '--model', defaultModel, '--data', fixture('mixer_siso.safetensors'), '--batch-size', '0'], 2, /--batch-size must be a positive integer, got "0"/);
    await fails(['generate', '--model', defaultModel, '--prompt', 'x', '--max-new-tokens', '1e400'], 2, /--max-new-tokens/);
    await fails(['check', fixture('mixer_siso.safetensors'), '--mode', 'fast'], 2, /--mode must be chunked or step/);    // A negative number after a flag: node's fix (the = form) stays on the one line.
    await fails(['generate', '--model', defaultModel, '--prompt', 'x', '--temperature', '-1'], 2, /'--temperature' argument is ambiguous\..*use '--temperature=-XYZ'/);
    await fails(['train', '--task', 'toString'], 2, /unknown task "toString" \(known: parity, modarith\)/);
  });

  it('bad train config values and unknown keys (with "did you mean")', async () => {
    const dir = tmp('cli-cfg-');
    const cfg = trainConfig(dir);
    await fails(['train', '--config', cfg, '--set', 'train.batchSize=1.5'], 2, /train\.batchSize must be a positive integer, got 1\.5/);
    await fails(['train', '--config', cfg, '--set', 'train.lr=fast'], 2, /train\.lr must be a positive number, got "fast"/);
    await fails(['train', '--config', cfg, '--set', 'train.batchSize=0'], 2, /train\.batchSize must be a positive integer, got 0/);
    await fails(['train', '--config', cfg, '--set', 'train.stpes=3'], 2, /unknown key "train\.stpes" \(did you mean "train\.steps"\?\)/);
    await fails(['train', '--config', cfg, '--set', 'model.ssmCfg.dstate=8'], 2, /did you mean "model\.ssmCfg\.dState"/);
    await fails(['train', '--config', cfg, '--set', 'model.ssmCfg.headdim=7'], 2, /headdim \(7\) must divide/);
  });

  it('generate checks its options before echoing the prompt', async () => {
    const r = await fails(['generate', '--model', defaultModel, '--prompt', 'ROMEO:', '--top-p', '2'], 2, /--top-p must be a number in \(0, 1\]/);
    expect(r.stdout).toBe('');
  });
});

describe('ordinary mistakes are one line naming the file (exit 1)', () => {
  it('missing files and folders where files belong', async () => {
    const dir = tmp('cli-paths-');
    await fails(['generate', '--model', defaultModel, '--prompt', 'x', '--tokenizer', join(dir, 'nope.json')], 1, /--tokenizer .*nope\.json: no such file/);
    await fails(['generate', '--model', defaultModel, '--prompt', 'x', '--tokenizer', dir], 1, /--tokenizer .*: is a directory/);
    await fails(['eval', '--model', defaultModel, '--data', join(dir, 'nope.txt')], 1, /--data .*nope\.txt: no such file/);
    await fails(['eval', '--model', defaultModel, '--data', dir], 1, /--data .*: is a directory/);
    await fails(['train', '--config', join(dir, 'nope.json')], 1, /--config .*nope\.json: no such file/);
    await fails(['train', '--config', dir], 1, /--config .*: is a directory/);
    await fails(['generate', '--model', join(dir, 'nope'), '--prompt', 'x'], 1, /--model .*nope: no such file or folder/);
    await fails(['check', join(dir, 'nope.safetensors')], 1, /fixture .*nope\.safetensors: no such file/);
  });

  it('an output folder that cannot be made is found before training starts', async () => {
    const dir = tmp('cli-out-');
    const cfg = trainConfig(dir);
    writeFileSync(join(dir, 'file'), 'x');
    const r = await fails(['train', '--config', cfg, '--out', join(dir, 'file', 'sub')], 1, /--out .*file\/sub: cannot create or write this folder \(ENOTDIR\)/);
    expect(r.stderr).not.toMatch(/data:/);
    await fails(['train', '--config', cfg, '--out', '/proc/mamba3-test/x'], 1, /cannot create or write this folder/);
    await fails(['train', '--task', 'parity', '--out', join(dir, 'file', 'r.json')], 1, /--out .*file: is a file, expected a folder/);
  });

  it('--resume without a checkpoint is an error, not a fresh start', async () => {
    const dir = tmp('cli-resume-');
    const cfg = trainConfig(dir);
    await fails(['train', '--config', cfg, '--out', join(dir, 'run'), '--resume'], 1, /--resume: no checkpoint in .*run\/checkpoint/);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it('invalid JSON (train config, model config.json, shard index) and hostile shard paths', async () => {
    const dir = tmp('cli-json-');
    writeFileSync(join(dir, 'bad.json'), '{"data": ');
    await fails(['train', '--config', join(dir, 'bad.json')], 1, /--config .*bad\.json: not valid JSON/);
    for (const [file, text, message] of [
      ['config.json', '{ d_model: 1 }', /ConfigError: .*config\.json: not valid JSON/],
      ['model.safetensors.index.json', '{"weight_map": {"backbone.embedding.weight": "../../../../etc/passwd"}}', /ShardIndexError: .*names "..\/..\/..\/..\/etc\/passwd", which is not a file inside the model folder/],
      ['model.safetensors.index.json', '[1, 2', /ShardIndexError: .*model\.safetensors\.index\.json: not valid JSON/],
    ] as const) {
      const model = join(dir, `m-${file}-${text.length}`);
      mkdirSync(model);
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) writeFileSync(join(model, f), readFileSync(join(defaultModel, f)));
      writeFileSync(join(model, file), text);
      await fails(['generate', '--model', model, '--prompt', 'x'], 1, message);
    }
  });

  it('a tokenizer.json nested a hundred thousand deep: a clean error, no stack overflow', async () => {
    const dir = tmp('cli-deep-');
    const depth = 100_000;
    writeFileSync(join(dir, 'tokenizer.json'), `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":${'{"type":"Sequence","normalizers":['.repeat(depth)}{"type":"Lowercase"}${']}'.repeat(depth)}}`);
    await fails(['tokenize', '--tokenizer', join(dir, 'tokenizer.json'), '--text', 'a'], 1, /nested more than 64 levels deep/);
  });

  it('a model too big for the CPU backend: one line, exit 1', async () => {
    const dir = tmp('cli-big-');
    writeFileSync(join(dir, 'config.json'), readFileSync(join(defaultModel, 'config.json')));
    // A sparse file whose header declares a 1 TiB tensor (the data is really there, as holes).
    const header = Buffer.from(JSON.stringify({ 'backbone.embedding.weight': { dtype: 'F32', shape: [2 ** 38], data_offsets: [0, 2 ** 40] } }));
    const fd = openSync(join(dir, 'model.safetensors'), 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeSync(fd, len, 0, 8, 0);
    writeSync(fd, header, 0, header.length, 8);
    ftruncateSync(fd, 8 + header.length + 2 ** 40);
    closeSync(fd);
    writeFileSync(join(dir, 'tokenizer.json'), readFileSync(join(defaultModel, 'tokenizer.json')));
    await fails(['generate', '--model', dir, '--prompt', 'x', '--backend', 'cpu'], 1, /too large for the cpu backend/);
  });
});

describe('training never loses work', () => {
  it('the README command writes to runs/default-model, never over the shipped model; a second run needs --overwrite', async () => {
    const cwd = tmp('cli-readme-');
    const before = Object.fromEntries(readdirSync(defaultModel).map((f) => [f, sha(join(defaultModel, f))]));
    writeFileSync(join(cwd, 'small.txt'), readFileSync(join(repo, 'packages/train/data/tinyshakespeare.txt'), 'utf8').slice(0, 4000));
    const args = ['train', '--config', join(repo, 'packages/default-model/train.config.json'), '--backend', 'cpu', '--set', 'data.path=small.txt', '--set', 'model.dModel=32', '--set', 'model.nLayer=1',
      '--set', 'model.ssmCfg.headdim=16', '--set', 'model.ssmCfg.dState=16', '--set', 'train.steps=1', '--set', 'train.batchSize=1', '--set', 'train.seqLen=16', '--set', 'train.evalBatches=1', '--set', 'train.checkpointEvery=0'];
    const r = await mamba3(args, { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(join(cwd, 'runs', 'default-model')).sort()).toEqual(['checkpoint', 'config.json', 'model.safetensors', 'tokenizer.json', 'training-log.json']);
    expect(Object.fromEntries(readdirSync(defaultModel).map((f) => [f, sha(join(defaultModel, f))]))).toEqual(before);
    await fails(args, 1, /output folder runs\/default-model: already holds a model .*--overwrite/, { cwd });
    const again = await mamba3([...args, '--overwrite'], { cwd });
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);

  it('Ctrl-C finishes the step, saves a checkpoint and exits 130; --resume continues from it', async () => {
    const dir = tmp('cli-sigint-');
    const cfg = trainConfig(dir, {}, { steps: 100000, checkpointEvery: 0 });
    const out = join(dir, 'run');
    const child = spawn(process.execPath, [main, 'train', '--config', cfg, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (stderr.includes('writing to')) {
          clearInterval(poll);
          setTimeout(resolve, 1500);
        }
      }, 20);
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(130);
    const step = Number(/stopped at step (\d+)/.exec(stderr)?.[1]);
    expect(step).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(join(out, 'checkpoint', 'checkpoint.json'), 'utf8')) as { step: number };
    expect(manifest.step).toBe(step);
    const resumed = await mamba3(['train', '--config', cfg, '--out', out, '--resume', '--set', `train.steps=${step + 2}`]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resumed from .*checkpoint at step ${step}`));
    expect(JSON.parse(readFileSync(join(out, 'training-log.json'), 'utf8')).steps).toBe(step + 2);
  }, 120_000);
});

describe('long prompts', () => {
  it('show prefill progress, and Ctrl-C during prefill exits 130 without output', async () => {
    const prompt = 'All the world\'s a stage. '.repeat(12);
    const r = await mamba3(['generate', '--model', defaultModel, '--prompt', prompt, '--max-new-tokens', '2', '--backend', 'cpu', '--prefill-slice', '128']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/prefill 128\/300 tokens \(43%.*\n.*prefill 256\/300 tokens.*\n.*prefill 300\/300 tokens \(100%/);
    expect(r.stdout.startsWith(prompt)).toBe(true);
    const short = await mamba3(['generate', '--model', defaultModel, '--prompt', prompt, '--max-new-tokens', '2', '--backend', 'cpu']);
    expect(short.stderr).not.toMatch(/prefill/);
    const child = spawn(process.execPath, [main, 'generate', '--model', defaultModel, '--prompt', prompt.repeat(300), '--backend', 'cpu', '--prefill-slice', '128'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/prefill [1-9]/.test(stderr)) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).not.toMatch(/prefill 90,000\/90,000/);
    expect(stdout.trim()).toBe('');
  }, 120_000);
});
