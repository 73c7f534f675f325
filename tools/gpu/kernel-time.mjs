// Times generated kernel variants alone on the GPU host (decode-variants.mjs writes the file):
// each variant as 24 dispatches in one compute pass, cycling through copies of the bindings
// marked `distinct`, enough of them to hold 256 MB, five times the H200's L2 (so weights come
// from DRAM, as in a decode step), at most 24, GPU timestamps (DAWN_TOGGLES adds Dawn toggles)
// with Dawn's 65.5 µs rounding off. Prints the median and the best of 9 passes, µs a dispatch.
// Dispatches writing different copies need no barrier between them, so Dawn lets them overlap on
// the GPU: the figure is then a throughput, and a grid short of a wave is filled by the next
// dispatch's workgroups. KT_CHAIN=1 binds one copy to all 24 (each dispatch rewrites the output
// the one before wrote, so Dawn puts a barrier between them): a latency, as in the model's chain
// of dependent kernels, with the weights warm in L2 (for compute-bound products).
// Usage: cp tools/gpu/{kernel-time,pass-time}.mjs /tmp/m3/ (after unpack), then in /tmp/m3:
// [KT_CHAIN=1] node kernel-time.mjs variants.json [name filter]
import { openTimingDevice, timeRuns, uniformBuffer } from './pass-time.mjs';
import { readFileSync } from 'node:fs';
const device = await openTimingDevice();
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const variants = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const filter = new RegExp(process.argv[3] ?? '');
const L = 24;
for (const [name, v] of Object.entries(variants)) {
  if (!filter.test(name)) continue;
  device.pushErrorScope('validation');
  const pipe = device.createComputePipeline({ layout: 'auto', compute: { entryPoint: 'main', module: device.createShaderModule({ code: v.code }) } });
  // A binding is storage ({ bytes, distinct?, rw? }) or a uniform's u32 values ({ uniform }).
  const shared = v.bindings.map((b) => {
    if (!b.uniform) return b.distinct ? null : device.createBuffer({ size: b.bytes, usage: S });
    return uniformBuffer(device, b.uniform);
  });
  const distinctBytes = v.bindings.reduce((s, b) => s + (b.distinct ? b.bytes : 0), 0);
  const copies = process.env.KT_CHAIN === '1' ? 1 : Math.min(L, Math.max(2, Math.ceil(256e6 / distinctBytes)));
  const own = Array.from({ length: copies }, () => v.bindings.map((b, i) => shared[i] ?? device.createBuffer({ size: b.bytes, usage: S })));
  const bgs = own.map((bufs) => device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: bufs.map((buffer, binding) => ({ binding, resource: { buffer } })) }));
  const err = await device.popErrorScope();
  if (err) { console.log(`${name}: ERROR ${err.message.split('\n')[0]}`); continue; }
  const run = (p) => { p.setPipeline(pipe); for (let i = 0; i < L; i++) { p.setBindGroup(0, bgs[i % copies]); p.dispatchWorkgroups(...v.grid); } };
  const xs = (await timeRuns(device, run, 9)).map((t) => t / L);
  const bytes = v.bindings.reduce((s, b) => s + (b.bytes ?? 0), 0);
  const rate = v.flops ? `${(v.flops / xs[4] / 1e6).toFixed(1)} TFLOP/s` : `${(bytes / xs[4] / 1e3).toFixed(0)} GB/s of bindings`;
  console.log(`${name}: median ${xs[4].toFixed(2)} µs, best ${xs[0].toFixed(2)} µs (${rate}, grid ${v.grid.join('x')}, ${copies} copies)`);
  for (const bufs of own) for (const b of bufs) if (!shared.includes(b)) b.destroy();
  for (const b of shared) b?.destroy();
}
