// GPU time of one compute pass from its two timestamps, in µs: `encode(pass)` records the pass's
// commands. For dispatch-cost.mjs and kernel-time.mjs (copied beside them into /tmp/m3); the
// device needs the 'timestamp-query' feature and `webgpu`'s globals on globalThis.
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
