// GPU time per dispatch in one compute pass (Dawn on the GPU host): a chain of dependent
// dispatches (each reads and writes the same buffer), independent ones (a buffer each), and a
// 10 MB read per dispatch. Usage: cp tools/gpu/{dispatch-cost,pass-time}.mjs /tmp/m3/, then in
// /tmp/m3: node dispatch-cost.mjs [dawn flags...]
import { createRequire } from 'node:module';
import { timePass } from './pass-time.mjs';
const require = createRequire(import.meta.url);
const { create, globals } = require('webgpu');
Object.assign(globalThis, globals);
const gpu = create(process.argv.slice(2));
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice({ requiredFeatures: ['timestamp-query'], requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } });
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const touch = device.createComputePipeline({ layout: 'auto', compute: { entryPoint: 'main', module: device.createShaderModule({ code: `
@group(0) @binding(0) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x == 0u) { b[0] = b[0] + 1.0; } }` }) } });
const readK = device.createComputePipeline({ layout: 'auto', compute: { entryPoint: 'main', module: device.createShaderModule({ code: `
@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
  var s = vec4<f32>(0.0);
  for (var i = g.x; i < arrayLength(&w); i += n.x * 256u) { s += w[i]; }
  if (s.x == 12345.0) { o[0] = s.y; }
}` }) } });
const N = 200;
const bufs = Array.from({ length: N }, () => device.createBuffer({ size: 256, usage: S }));
const bgs = bufs.map((buffer) => device.createBindGroup({ layout: touch.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] }));
const W = Array.from({ length: 4 }, () => device.createBuffer({ size: 10.5 * 2 ** 20, usage: S }));
const out = Array.from({ length: N }, () => device.createBuffer({ size: 256, usage: S }));
const rbg = (w, o) => device.createBindGroup({ layout: readK.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: w } }, { binding: 1, resource: { buffer: o } }] });
const rbgSame = rbg(W[0], out[0]);
const rbgs = out.map((o, i) => rbg(W[i % 4], o));
const median = async (f) => { const xs = []; for (let i = 0; i < 7; i++) xs.push(await f()); xs.sort((a, b) => a - b); return xs[3]; };
const dep = await median(() => timePass(device, (p) => { p.setPipeline(touch); for (let i = 0; i < N; i++) { p.setBindGroup(0, bgs[0]); p.dispatchWorkgroups(1); } }));
const ind = await median(() => timePass(device, (p) => { p.setPipeline(touch); for (let i = 0; i < N; i++) { p.setBindGroup(0, bgs[i]); p.dispatchWorkgroups(1); } }));
const rdDep = await median(() => timePass(device, (p) => { p.setPipeline(readK); for (let i = 0; i < N; i++) { p.setBindGroup(0, rbgSame); p.dispatchWorkgroups(528); } }));
const rdInd = await median(() => timePass(device, (p) => { p.setPipeline(readK); for (let i = 0; i < N; i++) { p.setBindGroup(0, rbgs[i]); p.dispatchWorkgroups(528); } }));
console.log(JSON.stringify({ flags: process.argv.slice(2), usPerDispatch: { tinyDependent: +(dep / N).toFixed(2), tinyIndependent: +(ind / N).toFixed(2), read10MBDependent: +(rdDep / N).toFixed(2), read10MBIndependent: +(rdInd / N).toFixed(2) }, read10MBGBs: +((10.5 * 2 ** 20) / (rdInd / N) / 1e3).toFixed(0) }));
