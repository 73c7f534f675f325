/**
 * Every code block of every README runs in CI. A block is either an example file (this folder's
 * `readme/`), which must match the block byte for byte and which this test runs as a user would
 * (its own Node process, in a folder holding the files the snippet names), or a shell block whose
 * commands appear in the file that runs them (`.ci/run`, a test).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromFile } from '@mamba3/tokenizer/node';
import type { Block } from './readme-blocks.js';
import { blocksOf, exampleFiles, readmePaths, REPO_ROOT, shellCommands } from './readme-blocks.js';

const blocks: Block[] = readmePaths().flatMap(blocksOf);
const where = (b: Block) => `${b.readme}:${b.line}`;

describe('README code blocks', () => {
  it('finds the blocks of every README', () => {
    expect(readmePaths()).toContain('README.md');
    expect(readmePaths()).toContain('packages/model/README.md');
    expect(blocks.length).toBeGreaterThan(10);
  });

  it.each(blocks.map((b) => [where(b), b] as const))('%s says how CI runs it', (_, b) => {
    expect(b.marker, `${where(b)}: put <!-- example: examples/readme/FILE --> (or <!-- runs-in: FILE -->) on the line above the block`).not.toBeNull();
  });

  const examples = blocks.filter((b) => b.marker?.kind === 'example');
  it.each(examples.map((b) => [where(b), b] as const))('%s is its example file, byte for byte', (_, b) => {
    const file = join(REPO_ROOT, b.marker!.file);
    expect(existsSync(file), `${where(b)}: ${b.marker!.file} does not exist`).toBe(true);
    expect(b.body, `${where(b)} differs from ${b.marker!.file}: edit the file, then copy it into the README`).toBe(readFileSync(file, 'utf8'));
  });

  const shells = blocks.filter((b) => b.marker?.kind === 'runs-in');
  it.each(shells.map((b) => [where(b), b] as const))('%s: every command appears in the file that runs it', (_, b) => {
    const runner = readFileSync(join(REPO_ROOT, b.marker!.file), 'utf8');
    for (const cmd of shellCommands(b.body)) expect(runner, `${where(b)}: "${cmd}" is not run by ${b.marker!.file}`).toContain(cmd);
  });

  it('every example file is shown in a README', () => {
    const shown = new Set(examples.map((b) => b.marker!.file));
    for (const f of exampleFiles()) expect(shown.has(f), `${f} is in no README`).toBe(true);
  });
});

/** What each example's output must show: a new example needs an entry (say what it proves). */
const EXPECTED: Record<string, { stdout?: RegExp; stderr?: RegExp; files?: string[]; webgpu?: boolean }> = {
  'mixer.ts': { stdout: /backend (webgpu|cpu): .+\n\[ 1, 256, 256 \] \[ 1, 256 \] Float32Array\(4\)/ },
  'pretrained.ts': { stdout: /^ ?\S[\s\S]{20,}/ },
  'training.ts': { stdout: /\S/, stderr: /step 10: train \d+\.\d+ {2}val \d+\.\d+/ },
  'backend-cpu.ts': { stdout: /^\[ 64, 32 \]\n$/ },
  'backend-tfjs.ts': { stdout: /^\[ 64, 32 \] 2048\n$/ },
  'backend-webgpu.ts': { stdout: /Float32Array\(2048\)/, webgpu: true },
  'backend-webgpu-options.ts': { stdout: /\S/, webgpu: true },
  'fused-op.ts': { stdout: /^Float32Array\(3\) \[ 5\.5, 3\.53\d+, 5\.80\d+ \]\n$/ },
  'core-mixer.ts': { stdout: /^\[ 1, 128, 256 \]\n$/ },
  'default-model.ts': { stdout: /^[\s\S]{100,}$/ },
  'model-pretrained.ts': { stdout: /^[\s\S]{40,}$/ },
  'tensor-basics.ts': { stdout: /^\[ \[ 17 \], \[ 39 \] \]\n$/ },
  'tokenizer-basics.ts': { stdout: /^Hello, world!\n\[12092,13,1533,2\]\n$/ },
  'tokenizer-simple.ts': { stdout: /^\[\s[\d,\s]+\] \[ 104, 105, 256 \]\n$/, files: ['tokenizer.char.json'] },
  'backend-wasm.ts': { stdout: /^\[ 2048, 3432 \]\n$/ },
  'model-load-pretrained.ts': { stdout: /^\w+ 4 true\n$/ },
  'train-lm.ts': { stderr: /step 10: train \d+\.\d+ {2}val \d+\.\d+/ },
};

const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';

/** A folder holding what the snippets name: a model folder (the shipped default model), a tokenizer, a corpus. */
function workFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mamba3-readme-'));
  const assets = join(REPO_ROOT, 'packages/default-model/assets');
  for (const modelDir of ['my-mamba3', 'path/to/model-dir']) cpSync(assets, join(dir, modelDir), { recursive: true });
  const neox = gunzipSync(readFileSync(join(REPO_ROOT, 'packages/tokenizer/fixtures/gpt-neox-20b-tokenizer.json.gz')));
  writeFileSync(join(dir, 'gpt-neox-20b-tokenizer.json'), neox);
  // 20 kB of Tiny Shakespeare: enough characters for the char tokenizer, small enough to be quick.
  writeFileSync(join(dir, 'input.txt'), readFileSync(join(REPO_ROOT, 'packages/train/data/tinyshakespeare.txt'), 'utf8').slice(0, 20_000));
  return dir;
}

function runNode(script: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
    execFile(process.execPath, [script], { cwd, env, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

// Two at a time: CI has two cores, and each example is mostly one busy process.
describe.concurrent('README examples run', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = workFolder();
  });

  const scripts = exampleFiles().filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  it('every example says what it shows', () => {
    for (const f of scripts) expect(EXPECTED[basename(f)], `add ${basename(f)} to EXPECTED`).toBeDefined();
  });

  for (const f of scripts) {
    const name = basename(f);
    const want = EXPECTED[name] ?? {};
    const skip = want.webgpu && SKIP_WEBGPU;
    it.skipIf(skip)(`${name}${skip ? ' (skipped: MAMBA3_SKIP_WEBGPU=1)' : ''}`, async () => {
      const js = join(REPO_ROOT, 'examples/dist/readme', name.replace(/\.ts$/, '.js'));
      expect(existsSync(js), `${js} is missing: build first (pnpm build)`).toBe(true);
      const r = await runNode(js, cwd);
      expect(r.code, `${name} failed:\n${r.stderr}`).toBe(0);
      if (want.stdout) expect(r.stdout).toMatch(want.stdout);
      if (want.stderr) expect(r.stderr).toMatch(want.stderr);
      for (const out of want.files ?? []) expect(existsSync(join(cwd, out))).toBe(true);
    });
  }

  it('char-tokenizer.json (the CharTokenizer file format) loads and saves back the same', async () => {
    const file = join(REPO_ROOT, 'examples/readme/char-tokenizer.json');
    const copy = join(cwd, 'char-tokenizer.json');
    copyFileSync(file, copy);
    const tok = await fromFile(copy);
    expect(tok.constructor.name).toBe('CharTokenizer');
    expect((tok as { toJSON(): unknown }).toJSON()).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });
});
