/**
 * The second pass of a product whose K is split over workgroups: the partial products [S, n]
 * summed, with fusedLinear's epilogues (a norm's per-row 1/RMS, a residual) applied to the sum.
 */
import { f32Lit, strideLoop } from '../codegen.js';
import { allReduceWgsl } from './workgroup-reduce.wgsl.js';

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
 * `subgroups`: the runtime's `subgroupReduce` (subgroups of 4-32 consecutive invocations).
 */
export function splitKReduceWgsl(n: number, S: number, residual = false, norm?: SplitKNorm, subgroups = false): string {
  // Rows 256 consecutive outputs can touch.
  const rows = norm ? Math.min(n / norm.N, Math.ceil(255 / norm.N) + 1) : 0;
  const rowScale = norm ? rowScaleWgsl(norm, n / norm.N, rows, subgroups) : '';
  let binding = 2;
  return /* wgsl */ `${norm && subgroups ? 'enable subgroups;' : ''}
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
${residual ? `@group(0) @binding(${binding++}) var<storage, read> R: array<f32>;` : ''}
${norm ? `@group(0) @binding(${binding++}) var<storage, read> X: array<f32>;\nvar<workgroup> red: array<f32, ${rows * 256}>;` : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>${norm && subgroups ? ', @builtin(subgroup_size) sgs: u32, @builtin(subgroup_invocation_id) sgi: u32' : ''}) {
  let first = (wid.y * nwg.x + wid.x) * 256u;
  let i = first + lid;${rowScale}
  if (i >= ${n}u) { return; }
  var s = 0.0;
  for (var j = 0u; j < ${S}u; j++) { s += part[j * ${n}u + i]; }
  C[i] = s${norm ? ` * inverseSqrt(ss[i / ${norm.N}u - m0] / ${norm.K}.0 + ${f32Lit(norm.eps)})` : ''}${residual ? ' + R[i]' : ''};
}`;
}

/**
 * ss[r] = Σ x² of row m0 + r of X, for the `rows` rows a workgroup's outputs touch, all reduced at
 * once (`allReduceWgsl`): each invocation sums its share of every row first. Row by row, a tree
 * each, made the split's sum of batch-32's in_proj 6.0 µs at two splits against 2.7 for
 * out_proj's (H200, kernel-time.mjs).
 */
function rowScaleWgsl(norm: SplitKNorm, M: number, rows: number, subgroups: boolean): string {
  const squares = Array.from({ length: rows }, (_, r) => `sq${r}`);
  const accumulate = squares
    .map((v, r) => `var ${v} = 0.0;
  if (m0 + ${r}u < ${M}u) {
    ${strideLoop('k', 'lid', norm.K, 256, `let v = X[(m0 + ${r}u) * ${norm.K}u + k]; ${v} += v * v;`)}
  }`)
    .join('\n  ');
  const totals = squares.map((_, r) => `ss${r}`);
  return /* wgsl */ `
  let m0 = first / ${norm.N}u;
  ${accumulate}
  ${allReduceWgsl(totals, squares, 'sum', 256, 'lid', subgroups)}
  let ss = array<f32, ${rows}>(${totals.join(', ')});`;
}
