/**
 * Loop heads Tint can prove finite. Dawn's robustness transform gives every loop it cannot (any
 * shape but `for (var i = C0; i < C1; i++)`: `i = tid; i < n; i += 256`, `n0 < dims.N; n0 += 16`)
 * a 64-bit iteration counter, decremented and tested each pass (backend-webgpu's codegen.ts
 * has the same rule for its kernels; tools/gpu/clamps.mjs counts the loops left).
 */

/**
 * The head of `for (var v = from; v < bound; v += step) {`, `from` ≥ 0: it counts to a constant
 * and breaks at the bound. The count: ceil(bound / step) for a constant bound and step; the bound
 * itself for a run-time step (a WGSL expression of at least 1, a subgroup's size); for a run-time
 * bound as far as u32 reaches.
 */
export function loopHead(v: string, from: string, bound: number | string, step: number | string): string {
  const trips = typeof bound === 'string' ? Math.floor(0xffffffff / (typeof step === 'number' ? step : 1)) : typeof step === 'number' ? Math.ceil(bound / step) : bound;
  const end = typeof bound === 'number' ? `${bound}u` : bound;
  const by = typeof step === 'number' ? `${step}u` : step;
  return `for (var ${v}_i = 0u; ${v}_i < ${trips}u; ${v}_i++) {
    let ${v} = ${from} + ${v}_i * ${by};
    if (${v} >= ${end}) { break; }`;
}
