// Times each generated decode-GEMV variant (gemv-variants.json) alone: 24 distinct weights
// (so DRAM, not L2, as in a decode step), N dispatches chained in one pass, GPU timestamps.
// gemv-variants.json: { name: { code, N, K, rows, half? } }, written on the development machine
// from packages/backend-webgpu/dist/kernels/gemv.wgsl.js (decodeGemvWgsl with the shapes named).
// Usage (in /tmp/m3 on the host): node gemv-time.mjs gemv-variants.json
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const { create, globals } = require('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice({ requiredFeatures: ['timestamp-query', 'subgroups'], requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } });
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const variants = JSON.parse(readFileSync(process.argv[2], 'utf8'));
async function timed(encode) {
  const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
  const res = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const rd = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
  encode(pass);
  pass.end();
  enc.resolveQuerySet(qs, 0, 2, res, 0);
  enc.copyBufferToBuffer(res, 0, rd, 0, 16);
  device.queue.submit([enc.finish()]);
  await rd.mapAsync(GPUMapMode.READ);
  const t = new BigUint64Array(rd.getMappedRange().slice(0));
  rd.unmap();
  return Number(t[1] - t[0]) / 1e3;
}
const L = 24;
for (const [name, v] of Object.entries(variants)) {
  const pipe = device.createComputePipeline({ layout: 'auto', compute: { entryPoint: 'main', module: device.createShaderModule({ code: v.code }) } });
  const wBytes = v.N * v.K * (v.half ? 2 : 4);
  const x = device.createBuffer({ size: v.K * 4, usage: S });
  const ws = Array.from({ length: L }, () => device.createBuffer({ size: wBytes, usage: S }));
  const outs = Array.from({ length: L }, () => device.createBuffer({ size: v.N * 4, usage: S }));
  const bgs = ws.map((w, i) => device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [x, w, outs[i]].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
  const groups = Math.ceil(v.N / v.rows);
  const gx = Math.min(groups, 65535), gy = Math.ceil(groups / gx);
  const xs = [];
  for (let r = 0; r < 7; r++) xs.push(await timed((p) => { p.setPipeline(pipe); for (let i = 0; i < L; i++) { p.setBindGroup(0, bgs[i]); p.dispatchWorkgroups(Math.ceil(groups / gy), gy); } }));
  xs.sort((a, b) => a - b);
  const us = xs[3] / L;
  console.log(`${name}: ${us.toFixed(2)} µs per GEMV, ${(wBytes / us / 1e3).toFixed(0)} GB/s (weights ${(wBytes / 2 ** 20).toFixed(1)} MiB, ${L} distinct)`);
  for (const b of [...ws, ...outs, x]) b.destroy();
}
