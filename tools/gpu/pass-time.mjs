// Shared by the GPU host's timing tools (dispatch-cost.mjs, kernel-time.mjs, chain-time.mjs;
// copied beside them into /tmp/m3).
import { createRequire } from 'node:module';

let dawn;

/**
 * Dawn's device for timing generated kernels: exact timestamps (no 65.5 µs rounding), subgroups,
 * the adapter's largest buffers, workgroups and workgroup memory, up to 16 storage buffers a stage; more Dawn
 * toggles from DAWN_TOGGLES (comma-separated, e.g. disable_robustness). Puts `webgpu`'s globals
 * on globalThis.
 */
export async function openTimingDevice() {
  const { create, globals } = createRequire(import.meta.url)('webgpu');
  Object.assign(globalThis, globals);
  const extra = process.env.DAWN_TOGGLES ? [`enable-dawn-features=${process.env.DAWN_TOGGLES}`] : [];
  // Held for the process's life: Dawn's instance must outlive its devices.
  dawn = create(['disable-dawn-features=timestamp_quantization', ...extra]);
  const adapter = await dawn.requestAdapter();
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: ['timestamp-query', 'subgroups'],
    requiredLimits: { maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize, maxBufferSize: lim.maxBufferSize, maxStorageBuffersPerShaderStage: Math.min(16, lim.maxStorageBuffersPerShaderStage), maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX, maxComputeWorkgroupSizeY: lim.maxComputeWorkgroupSizeY },
  });
  device.addEventListener?.('uncapturederror', (e) => console.error('GPU error:', e.error?.message));
  return device;
}

/** A uniform buffer holding `values` as u32s (a binding given as `{ uniform: [...] }`). */
export function uniformBuffer(device, values) {
  const u = device.createBuffer({ size: Math.max(16, values.length * 4), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(u, 0, new Uint32Array(values));
  return u;
}

/** `timePass` run `warmup` times untimed, then `runs` times: the µs of those runs, sorted ascending. */
export async function timeRuns(device, encode, runs, warmup = 3) {
  for (let r = 0; r < warmup; r++) await timePass(device, encode);
  const xs = [];
  for (let r = 0; r < runs; r++) xs.push(await timePass(device, encode));
  return xs.sort((a, b) => a - b);
}

// GPU time of one compute pass from its two timestamps, in µs: `encode(pass)` records the pass's
// commands. The device needs the 'timestamp-query' feature and `webgpu`'s globals on globalThis.
export async function timePass(device, encode) {
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
  qs.destroy();
  res.destroy();
  rd.destroy();
  return Number(t[1] - t[0]) / 1e3;
}
