/**
 * The second pass of a product whose K is split over workgroups: the partial products [S, n]
 * summed, with fusedLinear's epilogues (a norm's per-row 1/RMS, a residual) applied to the sum.
 */
import { f32Lit } from '../codegen.js';

/** An RMSNorm whose weight the product applied (`scaleA`): the sum scales row m by 1/RMS(X[m]). */
export interface SplitKNorm {
  /** Columns of C (the product's N) and of X (its K). */
  N: number;
  K: number;
  eps: number;
}

/**
 * C[i] = Σ_s partial[s·n + i]: the second pass of a split-K product. With `norm` (fusedLinear's
 * prologue, X the un-normed rows [n / N, K] at the binding after R) each workgroup first reduces
 * Σ X[m]² for the rows its 256 outputs fall in, then multiplies each sum by its row's
 * 1/sqrt(mean + eps); with `residual` R is added last, as the op's composite adds it.
 */
export function splitKReduceWgsl(n: number, S: number, residual = false, norm?: SplitKNorm): string {
  // Rows 256 consecutive outputs can touch.
  const rows = norm ? Math.min(n / norm.N, Math.ceil(255 / norm.N) + 1) : 0;
  const rowScale = norm
    ? /* wgsl */ `
  let m0 = first / ${norm.N}u;
  for (var r = 0u; r < ${rows}u; r++) {
    let m = m0 + r;
    var ss = 0.0;
    if (m < ${n / norm.N}u) {
      for (var k = lid; k < ${norm.K}u; k += 256u) { let v = X[m * ${norm.K}u + k]; ss += v * v; }
    }
    red[lid] = ss;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h = h >> 1u) {
      if (lid < h) { red[lid] += red[lid + h]; }
      workgroupBarrier();
    }
    if (lid == 0u) { rs[r] = inverseSqrt(red[0] / ${norm.K}.0 + ${f32Lit(norm.eps)}); }
    workgroupBarrier();
  }`
    : '';
  let binding = 2;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
${residual ? `@group(0) @binding(${binding++}) var<storage, read> R: array<f32>;` : ''}
${norm ? `@group(0) @binding(${binding++}) var<storage, read> X: array<f32>;\nvar<workgroup> red: array<f32, 256>;\nvar<workgroup> rs: array<f32, ${rows}>;` : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = (wid.y * nwg.x + wid.x) * 256u;
  let i = first + lid;${rowScale}
  if (i >= ${n}u) { return; }
  var s = 0.0;
  for (var j = 0u; j < ${S}u; j++) { s += part[j * ${n}u + i]; }
  C[i] = s${norm ? ` * rs[i / ${norm.N}u - m0]` : ''}${residual ? ' + R[i]' : ''};
}`;
}
