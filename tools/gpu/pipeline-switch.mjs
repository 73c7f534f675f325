// Does switching pipelines cost a dependent dispatch GPU time? (issue 16, goal 1). A decode step
// alternates three pipelines (in_proj GEMV, mixer step, out_proj GEMV) across its 72 layer
// dispatches, while decode-parts times each kind as a chain of one pipeline; the step's GPU time
// exceeds the parts' sum by about 50 µs. This times chains of 216 dependent dispatches (each
// reads and writes the same buffer, so Dawn puts a barrier between them), µs a dispatch, median
// of 9 passes:
//   same      one pipeline throughout;
//   cycle3    three pipelines of the same shape (distinct modules), in turn;
//   mixed3    three pipelines of different workgroup sizes and workgroup memory, in turn
//             (64 / 256 / 128 invocations, 0 / 16 / 4 KiB), as a layer's kernels differ;
//   mixed3-1  the first of those three alone, and likewise -2, -3.
// Each at 1 and 528 workgroups a dispatch. Usage: cp tools/gpu/{pipeline-switch,pass-time}.mjs
// /tmp/m3/, then in /tmp/m3: node pipeline-switch.mjs
import { openTimingDevice, timeRuns } from './pass-time.mjs';

const device = await openTimingDevice();
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const buf = device.createBuffer({ size: 4096, usage: S });

/** A kernel whose invocation 0 of workgroup 0 bumps b[0]; `shared` f32s of workgroup memory kept alive. */
function pipeline(tag, size, shared) {
  const mem = shared ? `var<workgroup> s: array<f32, ${shared}>;` : '';
  const use = shared ? `s[l] = f32(l); workgroupBarrier(); if (g.x == 0u) { b[0] = b[0] + s[${shared - 1}] * 0.0 + ${tag}.0; }` : `if (g.x == 0u) { b[0] = b[0] + ${tag}.0; }`;
  const code = `
@group(0) @binding(0) var<storage, read_write> b: array<f32>;
${mem}
@compute @workgroup_size(${size}) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(local_invocation_index) l: u32) { ${use} }`;
  const p = device.createComputePipeline({ layout: 'auto', compute: { entryPoint: 'main', module: device.createShaderModule({ code }) } });
  return { p, bg: device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }) };
}

const same = Array.from({ length: 3 }, (_, i) => pipeline(i + 1, 128, 0));
const mixed = [pipeline(4, 64, 0), pipeline(5, 256, 4096), pipeline(6, 128, 1024)];
const N = 216;
const chains = {
  same: [same[0]],
  cycle3: same,
  mixed3: mixed,
  'mixed3-1': [mixed[0]],
  'mixed3-2': [mixed[1]],
  'mixed3-3': [mixed[2]],
};
const out = { N, usPerDispatch: {} };
for (const groups of [1, 528]) {
  for (const [name, ps] of Object.entries(chains)) {
    const run = (pass) => {
      for (let i = 0; i < N; i++) {
        const k = ps[i % ps.length];
        pass.setPipeline(k.p);
        pass.setBindGroup(0, k.bg);
        pass.dispatchWorkgroups(groups);
      }
    };
    const xs = await timeRuns(device, run, 9);
    out.usPerDispatch[`${name} x${groups}`] = +(xs[4] / N).toFixed(3);
  }
}
console.log(JSON.stringify(out));
