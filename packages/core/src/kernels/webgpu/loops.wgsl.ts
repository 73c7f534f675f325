/**
 * Loop heads Tint can prove finite. Dawn's robustness transform gives every loop it cannot (any
 * shape but `for (var i = C0; i < C1; i++)`: `i = tid; i < n; i += 256`, `n0 < dims.N; n0 += 16`)
 * a 64-bit iteration counter, decremented and tested each pass (backend-webgpu's codegen.ts
 * has the same rule for its kernels; tools/gpu/clamps.mjs counts the loops left).
 */

/**
 * The head of `for (var v = from; v < bound; v += step) {`, `from` ≥ 0: it counts to a constant
 * (ceil(bound / step) for a constant bound, else as far as u32 reaches) and breaks at the bound.
 */
export function loopHead(v: string, from: string, bound: number | string, step: number): string {
  const trips = typeof bound === 'number' ? Math.ceil(bound / step) : Math.floor(0xffffffff / step);
  const end = typeof bound === 'number' ? `${bound}u` : bound;
  return `for (var ${v}_i = 0u; ${v}_i < ${trips}u; ${v}_i++) {
    let ${v} = ${from} + ${v}_i * ${step}u;
    if (${v} >= ${end}) { break; }`;
}
