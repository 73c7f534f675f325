#!/usr/bin/env node
// Packs the full-size run (tools/gpu/fullsize.sh) for the GPU host: the bench and the checkpoint
// generator bundled with esbuild, plus the `webgpu` package's linux-x64 Dawn binary, as
// DEST/fullsize.tgz beside a copy of fullsize.sh (DEST defaults to .gpu/fullsize; Node and the
// Vulkan loader come from ../../../shared/gpu/pack.sh in .gpu/). Build first (`pnpm build`).
//   node tools/gpu/bundle-fullsize.mjs [DEST]
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dest = resolve(process.argv[2] ?? join(root, '.gpu', 'fullsize'));
const stage = join(dest, 'stage');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const require = createRequire(import.meta.url);
const { build } = await import(pathToFileURL(require.resolve('esbuild')).href);
const banner = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";
for (const [entry, file] of [
  ['apps/bench/dist/main.js', 'bench.mjs'],
  ['tools/gpu/make-checkpoint.mjs', 'make-checkpoint.mjs'],
]) {
  await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: join(stage, file),
    // The generator imports the workspace packages the bench depends on.
    nodePaths: [join(root, 'apps/bench/node_modules'), join(root, 'node_modules')],
    external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    banner: { js: banner },
    logLevel: 'warning',
  });
}
const webgpuDir = dirname(createRequire(join(root, 'apps/bench/package.json')).resolve('webgpu/package.json'));
cpSync(webgpuDir, join(stage, 'node_modules', 'webgpu'), {
  recursive: true,
  filter: (src) => {
    const m = src.slice(webgpuDir.length).match(/^[\\/]dist[\\/]([^\\/]+)/);
    return !m || m[1] === 'linux-x64' || m[1].includes('.');
  },
});
execFileSync('tar', ['czf', join(dest, 'fullsize.tgz'), '-C', stage, '.']);
rmSync(stage, { recursive: true, force: true });
for (const script of ['fullsize.sh', 'half.sh']) cpSync(join(root, 'tools/gpu', script), join(dest, script));
console.log(`wrote ${dest}/fullsize.tgz, fullsize.sh and half.sh`);
