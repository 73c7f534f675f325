#!/usr/bin/env node
// What Dawn offers beyond the defaults on this adapter (issue 16, goal 2): its features with and
// without `allow_unsafe_apis`, and the subgroup-matrix shapes and component types it reports
// (`chromium-experimental-subgroup-matrix`). Usage on the GPU host, after `. .gpu/setup.sh` and
// unpacking the bundle into /tmp/m3 (whose node_modules hold `webgpu`):
//   cp tools/gpu/subgroup-matrix.mjs /tmp/m3/ && node /tmp/m3/subgroup-matrix.mjs
// On the development machine: node tools/gpu/subgroup-matrix.mjs (lavapipe reports none).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const here = dirname(fileURLToPath(import.meta.url));
const from = existsSync(join(here, 'node_modules', 'webgpu')) ? join(here, 'package.json') : join(here, '../../packages/backend-webgpu/package.json');
const webgpu = createRequire(from)('webgpu');
Object.assign(globalThis, webgpu.globals);
for (const flags of [[], ['enable-dawn-features=allow_unsafe_apis']]) {
  const adapter = await webgpu.create(flags).requestAdapter();
  if (!adapter) {
    console.log(`${flags.join(' ') || 'default flags'}: no adapter`);
    continue;
  }
  const i = adapter.info;
  console.log(`${flags.join(' ') || 'default flags'}: ${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ')}`);
  console.log(`  features: ${[...adapter.features].sort().join(', ')}`);
  const configs = i.subgroupMatrixConfigs ?? [];
  console.log(`  subgroup matrix configs: ${configs.length ? '' : 'none'}`);
  for (const c of configs) console.log(`    ${c.componentType} -> ${c.resultComponentType}, M ${c.M} N ${c.N} K ${c.K}`);
}
