/**
 * The packages as a user gets them: `pnpm pack` each publishable package, install the tarballs
 * into an empty project (third-party dependencies from the local pnpm store when it has them),
 * type-check a consumer that imports every entry point with `skipLibCheck: false`, and run the
 * default model from the installed files.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './readme-blocks.js';

const run = promisify(execFile);

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  peerDependencies?: Record<string, string>;
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
const publishable = readdirSync(join(REPO_ROOT, 'packages'))
  .sort()
  .map((d) => join(REPO_ROOT, 'packages', d))
  .filter((d) => !manifest(d).private);
/** Versions the workspace pins, for the consumer's third-party dependencies. */
const examplesManifest = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const pinned = { ...examplesManifest.dependencies, ...examplesManifest.devDependencies };
const webgpuTypes = (JSON.parse(readFileSync(join(REPO_ROOT, 'packages/backend-webgpu/package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['@webgpu/types'];

/** Every import path a user can write: each package's exports, except asset globs. */
function entryPoints(): string[] {
  return publishable.flatMap((d) => {
    const m = manifest(d);
    return Object.keys(m.exports ?? { '.': '' })
      .filter((k) => !k.includes('*'))
      .map((k) => (k === '.' ? m.name : `${m.name}/${k.slice(2)}`));
  });
}

const CONSUMER = `
import { matmul, setAutoBackend, tensor } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { createTfjsBackend } from '@mamba3/backend-tfjs';
import { Mamba3 } from '@mamba3/core';
import type { GenerationTokenizer } from '@mamba3/model';
import { MambaLMHeadModel } from '@mamba3/model';
import type { TokenizerLike } from '@mamba3/tokenizer';
import { CharTokenizer } from '@mamba3/tokenizer';
import { LmTrainer, TokenStream } from '@mamba3/train';
import { loadDefaultModel } from '@mamba3/default-model';

const tok: TokenizerLike = CharTokenizer.fromCorpus('hello world');
const forGeneration: GenerationTokenizer = tok;
const device: Promise<GPUDevice> = createWebGPUBackend().then((b: WebGPUBackend) => b.device);
export const uses = [matmul(tensor([[1]]), tensor([[2]])), setAutoBackend, createCpuBackend, createTfjsBackend, Mamba3, MambaLMHeadModel, LmTrainer, TokenStream, loadDefaultModel, forGeneration, device];
`;

const SMOKE = `
import { setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { loadDefaultModel } from '@mamba3/default-model';
await setBackend('cpu');
const model = await loadDefaultModel();
const { sequences } = await model.generateText('ROMEO:', { maxNewTokens: 8, seed: 1 });
console.log(JSON.stringify(sequences[0].ids.length));
`;

describe('packed packages', () => {
  const work = mkdtempSync(join(tmpdir(), 'mamba3-pack-'));
  const tarballs = join(work, 'tarballs');
  const consumer = join(work, 'consumer');
  const files: Record<string, string> = {};

  beforeAll(async () => {
    mkdirSync(tarballs);
    await Promise.all(
      publishable.map(async (dir) => {
        const { stdout } = await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir });
        const tgz = stdout.trim().split('\n').pop()!.trim();
        files[manifest(dir).name] = tgz.startsWith('/') ? tgz : join(tarballs, tgz);
      }),
    );
  });

  it('every tarball ships its LICENSE (the repository license, Apache-2.0), README, package.json and type declarations', async () => {
    const license = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8');
    expect(license).toMatch(/Apache License\s+Version 2\.0/);
    for (const [name, tgz] of Object.entries(files)) {
      const { stdout } = await run('tar', ['tzf', tgz]);
      const list = stdout.split('\n');
      for (const f of ['package/LICENSE', 'package/README.md', 'package/package.json', 'package/dist/index.d.ts']) expect(list, `${name}: ${f}`).toContain(f);
      const { stdout: shipped } = await run('tar', ['xzOf', tgz, 'package/LICENSE']);
      expect(shipped, `${name}: LICENSE differs from the repository's`).toBe(license);
    }
    expect(Object.keys(files).length).toBe(publishable.length);
  });

  it('install in an empty project, type-check with skipLibCheck: false, and run', async () => {
    mkdirSync(consumer);
    const tarballOf = Object.fromEntries(Object.entries(files).map(([n, f]) => [n, `file:${f}`]));
    const third = ['@tensorflow/tfjs-core', '@types/node', 'vitest'];
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: { ...tarballOf, ...Object.fromEntries(third.map((n) => [n, pinned[n]])) },
        // The tarballs name each other by version: point those at the tarballs, not at a registry.
        // tfjs-core pins an older @webgpu/types; one copy of those globals, as backend-tfjs's README says.
        pnpm: { overrides: { ...tarballOf, '@webgpu/types': webgpuTypes } },
      }),
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] }, include: ['*.ts'] }),
    );
    writeFileSync(join(consumer, 'consumer.ts'), `${CONSUMER}\n${entryPoints().map((e, i) => `import * as entry${i} from '${e}';`).join('\n')}\nexport const entries = [${entryPoints().map((_, i) => `entry${i}`).join(', ')}];\n`);
    writeFileSync(join(consumer, 'smoke.mjs'), SMOKE);
    const { stdout: store } = await run('pnpm', ['store', 'path'], { cwd: REPO_ROOT });
    const t0 = Date.now();
    await run('pnpm', ['install', '--ignore-workspace', '--prefer-offline', '--store-dir', store.trim(), '--config.strict-peer-dependencies=false'], { cwd: consumer });

    const t1 = Date.now();
    const tsc = join(REPO_ROOT, 'examples/node_modules/typescript/bin/tsc');
    const typecheck = await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer }).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    expect(typecheck, 'the installed packages do not type-check with skipLibCheck: false').toBe('');

    const t2 = Date.now();
    const { stdout } = await run(process.execPath, ['smoke.mjs'], { cwd: consumer });
    console.log(`install ${t1 - t0} ms, typecheck ${t2 - t1} ms, run ${Date.now() - t2} ms`);
    expect(stdout.trim()).toBe('8');
  });
});
