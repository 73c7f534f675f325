#!/usr/bin/env node
// Bundles apps/cli and apps/bench (built first) into single files for the GPU host, plus the
// `webgpu` package's linux-x64 Dawn binary, into .gpu/ (git-ignored) beside Node and the Vulkan
// loader that ../../../shared/gpu/pack.sh puts there. On the host:
//   . .gpu/setup.sh && bash .gpu/unpack.sh && node /tmp/m3/cli.mjs info
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = join(root, '.gpu');
mkdirSync(out, { recursive: true });
const require = createRequire(import.meta.url);
const { build } = await import(pathToFileURL(require.resolve('esbuild')).href);

const banner = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";
for (const [entry, file] of [
  ['apps/cli/dist/main.js', 'cli.mjs'],
  ['apps/bench/dist/main.js', 'bench.mjs'],
  ['tools/gpu/encode-cost.mjs', 'encode-cost.mjs'],
  ['tools/gpu/read-groups.mjs', 'read-groups.mjs'],
  ['tools/gpu/sample-ahead.mjs', 'sample-ahead.mjs'],
  ['tools/gpu/head-pick.mjs', 'head-pick.mjs'],
  ['tools/gpu/graph-copies.mjs', 'graph-copies.mjs'],
]) {
  await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: join(out, 'stage', file),
    external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    banner: { js: banner },
    logLevel: 'warning',
  });
}

// The webgpu package with only the linux-x64 binary.
const cliDir = join(root, 'apps/cli');
const webgpuDir = dirname(createRequire(join(cliDir, 'package.json')).resolve('webgpu/package.json'));
const stageModules = join(out, 'stage', 'node_modules', 'webgpu');
rmSync(stageModules, { recursive: true, force: true });
cpSync(webgpuDir, stageModules, {
  recursive: true,
  filter: (src) => {
    const m = src.slice(webgpuDir.length).match(/^[\\/]dist[\\/]([^\\/]+)/);
    return !m || m[1] === 'linux-x64' || m[1].includes('.');
  },
});
// tfjs wasm binaries, for the tfjs suite's wasm backend.
const tfjsWasm = dirname(createRequire(join(root, 'apps/bench/package.json')).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
mkdirSync(join(out, 'stage', 'tfjs-wasm'), { recursive: true });
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  if (existsSync(join(tfjsWasm, 'dist', f))) cpSync(join(tfjsWasm, 'dist', f), join(out, 'stage', 'tfjs-wasm', f));
}
// Data the runs read.
cpSync(join(root, 'packages/train/data/tinyshakespeare.txt'), join(out, 'stage', 'data', 'tinyshakespeare.txt'));
cpSync(join(root, 'packages/default-model/train.config.json'), join(out, 'stage', 'default-model.train.json'));
for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) {
  cpSync(join(root, 'packages/default-model/assets', f), join(out, 'stage', 'default-model', f));
}
for (const f of ['mixer_siso', 'mixer_siso_outnorm', 'mixer_siso_rope_full', 'mixer_mimo', 'mixer_mimo_outnorm']) {
  cpSync(join(root, `packages/core/fixtures/${f}.safetensors`), join(out, 'stage', 'fixtures', `${f}.safetensors`));
}
cpSync(join(root, 'packages/model/fixtures/lm_siso.safetensors'), join(out, 'stage', 'fixtures', 'lm_siso.safetensors'));
execFileSync('tar', ['czf', join(out, 'm3.tgz'), '-C', join(out, 'stage'), '.']);
rmSync(join(out, 'stage'), { recursive: true, force: true });
writeFileSync(join(out, 'unpack.sh'), 'rm -rf /tmp/m3 && mkdir -p /tmp/m3 && tar xzf "$(dirname "${BASH_SOURCE[0]}")/m3.tgz" -C /tmp/m3\n');
console.log(`wrote ${out}/m3.tgz and unpack.sh${existsSync(join(out, 'node.xz')) ? '' : ' (run bash ../shared/gpu/pack.sh .gpu for Node and the Vulkan loader)'}`);
