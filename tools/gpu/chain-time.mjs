// Times chains of generated kernels on the GPU host (prefetch-chains.mjs writes the file): each
// chain is its stages repeated for 24 layers in one compute pass, every dispatch reading what an
// earlier one wrote (so Dawn puts a barrier before each, as in a decode step). Bindings name their
// buffers; a name may hold {l} (the layer), {l1} (the next layer, mod 24), {p} / {q} (l mod 2 and
// its other) so that weights are a copy per layer (cold in L2, as in a decode step) and
// activations ping-pong. GPU timestamps, median and best of 9 passes, µs for the 24 layers.
// Usage: cp tools/gpu/{chain-time,pass-time}.mjs /tmp/m3/ (after unpack), then in /tmp/m3:
// node chain-time.mjs chains.json [name filter]
import { openTimingDevice, timeRuns, uniformBuffer } from './pass-time.mjs';
import { readFileSync } from 'node:fs';
const device = await openTimingDevice();
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const chains = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const filter = new RegExp(process.argv[3] ?? '');
const L = 24;
const nameAt = (n, l) => n.replaceAll('{l}', String(l)).replaceAll('{l1}', String((l + 1) % L)).replaceAll('{p}', String(l % 2)).replaceAll('{q}', String(1 - (l % 2)));
for (const [name, chain] of Object.entries(chains)) {
  if (!filter.test(name)) continue;
  device.pushErrorScope('validation');
  const pipes = chain.stages.map((s) => device.createComputePipeline({ layout: 'auto', compute: { entryPoint: 'main', module: device.createShaderModule({ code: s.code }) } }));
  // Buffers by resolved name, each as large as its largest use.
  const sizes = new Map();
  for (let l = 0; l < L; l++) for (const s of chain.stages) for (const b of s.bindings) if (!b.uniform) { const n = nameAt(b.name, l); sizes.set(n, Math.max(sizes.get(n) ?? 0, b.bytes)); }
  const bufs = new Map([...sizes].map(([n, bytes]) => [n, device.createBuffer({ size: Math.ceil(bytes / 16) * 16, usage: S })]));
  const bgs = [];
  for (let l = 0; l < L; l++) chain.stages.forEach((s, i) => {
    const entries = s.bindings.map((b, binding) => {
      if (!b.uniform) return { binding, resource: { buffer: bufs.get(nameAt(b.name, l)) } };
      return { binding, resource: { buffer: uniformBuffer(device, b.uniform) } };
    });
    bgs.push([i, device.createBindGroup({ layout: pipes[i].getBindGroupLayout(0), entries })]);
  });
  const err = await device.popErrorScope();
  if (err) { console.log(`${name}: ERROR ${err.message.split('\n')[0]}`); continue; }
  const run = (p) => { for (const [i, bg] of bgs) { p.setPipeline(pipes[i]); p.setBindGroup(0, bg); p.dispatchWorkgroups(...chain.stages[i].grid); } };
  const xs = await timeRuns(device, run, 9);
  const mb = [...sizes.values()].reduce((s, b) => s + b, 0) / 1e6;
  console.log(`${name}: median ${xs[4].toFixed(1)} µs, best ${xs[0].toFixed(1)} µs for ${L} layers (${(xs[4] / L).toFixed(2)} a layer; ${chain.stages.length} dispatches a layer, ${mb.toFixed(0)} MB of buffers)`);
  for (const b of bufs.values()) b.destroy();
}
