/**
 * Matrix products. All operands are flat row-major float32 arrays.
 *
 * Tiled GEMM: C[z] (M x N) = op(A[z]) (M x K) · op(B[z]) (K x N) for each batch index z
 * (= workgroup_id.z; per-operand batch offsets baked, 0 along broadcast batch dims).
 *   A: [.., M, K], or [.., K, M] with transA;  B: [.., K, N], or [.., N, K] with transB.
 * A 16x16 workgroup computes a 64x64 tile of C, each invocation a 4x4 block held in four vec4
 * accumulators; 64x16 slices of A and 16x64 of B are staged in workgroup memory (8 KiB), read
 * coalesced along whichever axis is contiguous in global memory.
 *
 * GEMV (M <= 4, transB, i.e. x·Wᵀ with W [N, K] as nn.Linear stores it): 8 output columns per
 * workgroup of 32x8; 32 lanes stride along the contiguous K of one row of W and reduce in
 * workgroup memory (or with subgroupAdd). W is read exactly once, coalesced: bandwidth bound.
 */
import { f32Lit, offsets } from '../codegen.js';

export interface MatmulDims {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Collapsed batch shape and the [A, B, C] element strides over it. */
  batchShape: readonly number[];
  batchStrides: readonly (readonly number[])[];
}

export const TILE = 64;

/**
 * `runtimeM`: unbatched products read M from a uniform, so one pipeline serves every row count
 * (prefill lengths vary; weights, hence N and K, do not).
 */
export function matmulTiledWgsl(d: MatmulDims, runtimeM: boolean): string {
  const { N, K, transA, transB } = d;
  const M = runtimeM ? 'M' : `${d.M}u`;
  const aAt = transA ? `offA + gk * ${M} + gm` : `offA + gm * ${K}u + gk`;
  const bAt = transB ? `offB + gn * ${K}u + gk` : `offB + gk * ${N}u + gn`;
  // Which tile coordinate runs along the contiguous axis decides the load pattern.
  const aIdx = transA ? 'let m = e % 64u; let k = e / 64u;' : 'let m = e / 16u; let k = e % 16u;';
  const bIdx = transB ? 'let n = e / 16u; let k = e % 16u;' : 'let n = e % 64u; let k = e / 64u;';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${runtimeM ? 'struct Rows { M: u32, pad0: u32, pad1: u32, pad2: u32 }\n@group(0) @binding(3) var<uniform> rows: Rows;' : ''}
var<workgroup> As: array<f32, 1024>; // [k 16][m 64]
var<workgroup> Bs: array<f32, 1024>; // [k 16][n 64]
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let m0 = wid.y * 64u;
  let n0 = wid.x * 64u;
  ${runtimeM ? 'let M = rows.M;' : ''}
  ${offsets('wid.z', d.batchShape, d.batchStrides)}
  let offA = off0;
  let offB = off1;
  let offC = off2;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < ${K}u; k0 += 16u) {
    for (var q = 0u; q < 4u; q++) {
      let e = tid + q * 256u;
      {
        ${aIdx}
        let gm = m0 + m;
        let gk = k0 + k;
        var v = 0.0;
        if (gm < ${M} && gk < ${K}u) { v = A[${aAt}]; }
        As[k * 64u + m] = v;
      }
      {
        ${bIdx}
        let gn = n0 + n;
        let gk = k0 + k;
        var v = 0.0;
        if (gn < ${N}u && gk < ${K}u) { v = B[${bAt}]; }
        Bs[k * 64u + n] = v;
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) {
      let ab = k * 64u + lid.y * 4u;
      let bb = k * 64u + lid.x * 4u;
      let b = vec4<f32>(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
      acc0 += As[ab] * b;
      acc1 += As[ab + 1u] * b;
      acc2 += As[ab + 2u] * b;
      acc3 += As[ab + 3u] * b;
    }
    workgroupBarrier();
  }
  let row = m0 + lid.y * 4u;
  let col = n0 + lid.x * 4u;
  var accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    if (row + i < ${M}) {
      for (var j = 0u; j < 4u; j++) {
        if (col + j < ${N}u) { C[offC + (row + i) * ${N}u + col + j] = accs[i][j]; }
      }
    }
  }
}`;
}

/**
 * What the small-M GEMV (B stored [N, K]) can fold in: an RMSNorm of each A row before the
 * product (weight G, the row's mean square reduced alongside the dot products), and a residual
 * R added to C. Unbatched only (the offsets of G and R are the row's).
 */
export interface GemvFusion {
  norm?: { eps: number };
  residual?: boolean;
  /**
   * Read A, B (and G) as vec4 (K % 4 == 0, A not transposed, B f32): four times the bytes per
   * load, which a GEMV needs to approach the memory bandwidth.
   */
  vec4?: boolean;
}

/** Small-M product with W stored [N, K] (transB): see the header. */
export function gemvTransBWgsl(d: MatmulDims, subgroups: boolean, fuse: GemvFusion = {}): string {
  const { M, N, K, transA } = d;
  const aAt = (m: number) => (transA ? `A[offA + k * ${M}u + ${m}u]` : `A[offA + ${m}u * ${K}u + k]`);
  const rows = Array.from({ length: M }, (_, m) => m);
  // Accumulators: the dot products, and with the norm each row's sum of squares (reduced alike).
  const accs = [...rows.map((m) => `acc${m}`), ...(fuse.norm ? rows.map((m) => `ss${m}`) : [])];
  const slots = accs.length;
  const result = (m: number, t: (j: number) => string) => {
    let v = t(m);
    if (fuse.norm) v = `${v} * inverseSqrt(${t(M + m)} / ${K}.0 + ${f32Lit(fuse.norm.eps)})`;
    if (fuse.residual) v = `${v} + R[offC + ${m}u * ${N}u + n]`;
    return `C[offC + ${m}u * ${N}u + n] = ${v};`;
  };
  // Subgroups (any width up to 32, laid along lid.x): one subgroupAdd, the subgroup sums of a
  // row meet in workgroup memory, one barrier. Otherwise a 5-level tree over the 32 lanes.
  const reduce = subgroups
    ? `${accs.map((a, j) => `let s${j} = subgroupAdd(${a});`).join('\n  ')}
  if (sgi == 0u) {
    ${accs.map((_, j) => `red[${j}u * 256u + lid.y * 32u + lid.x] = s${j};`).join('\n    ')}
  }
  workgroupBarrier();
  if (lid.x == 0u && n < ${N}u) {
    ${accs.map((_, j) => `var t${j} = 0.0;`).join('\n    ')}
    for (var j = 0u; j < 32u; j += sg) {
      ${accs.map((_, j) => `t${j} += red[${j}u * 256u + lid.y * 32u + j];`).join('\n      ')}
    }
    ${rows.map((m) => result(m, (j) => `t${j}`)).join('\n    ')}
  }`
    : `${accs.map((a, j) => `red[${j}u * 256u + lid.y * 32u + lid.x] = ${a};`).join('\n  ')}
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s >> 1u) {
    if (lid.x < s) {
      ${accs.map((_, j) => `red[${j}u * 256u + lid.y * 32u + lid.x] += red[${j}u * 256u + lid.y * 32u + lid.x + s];`).join('\n      ')}
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && n < ${N}u) {
    ${rows.map((m) => result(m, (j) => `red[${j}u * 256u + lid.y * 32u]`)).join('\n    ')}
  }`;
  const v4 = !!fuse.vec4 && !transA && K % 4 === 0;
  const elem = v4 ? 'vec4<f32>' : 'f32';
  const KV = v4 ? K / 4 : K;
  const at = (m: number) => (v4 ? `A[(offA + ${m}u * ${K}u) / 4u + k]` : aAt(m));
  const prod = (x: string, y: string) => (v4 ? `dot(${x}, ${y})` : `${x} * ${y}`);
  const load = fuse.norm
    ? rows.map((m) => `let a${m} = ${at(m)};\n      acc${m} += ${prod(`a${m} * G[k]`, 'w')};\n      ss${m} += ${prod(`a${m}`, `a${m}`)};`).join('\n      ')
    : rows.map((m) => `acc${m} += ${prod(at(m), 'w')};`).join('\n      ');
  let binding = 3;
  return /* wgsl */ `${subgroups ? 'enable subgroups;' : ''}
@group(0) @binding(0) var<storage, read> A: array<${elem}>;
@group(0) @binding(1) var<storage, read> B: array<${elem}>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${fuse.norm ? `@group(0) @binding(${binding++}) var<storage, read> G: array<${elem}>;` : ''}
${fuse.residual ? `@group(0) @binding(${binding++}) var<storage, read> R: array<f32>;` : ''}
var<workgroup> red: array<f32, ${256 * slots}>;
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>${subgroups ? ', @builtin(subgroup_size) sg: u32, @builtin(subgroup_invocation_id) sgi: u32' : ''}) {
  let n = (wid.y * nwg.x + wid.x) * 8u + lid.y;
  ${offsets('wid.z', d.batchShape, d.batchStrides)}
  let offA = off0;
  let offB = off1;
  let offC = off2;
  ${accs.map((a) => `var ${a} = 0.0;`).join('\n  ')}
  if (n < ${N}u) {
    let row = (offB + n * ${K}u)${v4 ? ' / 4u' : ''};
    for (var k = lid.x; k < ${KV}u; k += 32u) {
      let w = B[row + k];
      ${load}
    }
  }
  ${reduce}
}`;
}

/**
 * Small-M product with B stored [K, N] (N contiguous): a workgroup of 64x4 covers 256 columns
 * (4 per invocation, read as one 16-byte run per row) and 4 interleaved k-slices of its k-range;
 * grid.y splits K into S ranges so even narrow N fills the GPU. S > 1 writes partials
 * [S, M, N] that `splitKReduceWgsl` sums; S = 1 writes C directly. Unbatched only.
 */
export function gemvWgsl(d: MatmulDims, S: number): string {
  const { M, N, K, transA } = d;
  const kPer = Math.ceil(K / S);
  const aAt = (m: number) => (transA ? `A[k * ${M}u + ${m}u]` : `A[${m}u * ${K}u + k]`);
  const ms = Array.from({ length: M }, (_, m) => m);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
var<workgroup> red: array<vec4<f32>, ${256 * M}>;
@compute @workgroup_size(64, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wid.x * 256u + lid.x * 4u;
  let k0 = wid.y * ${kPer}u;
  let k1 = min(k0 + ${kPer}u, ${K}u);
  ${ms.map((m) => `var acc${m} = vec4<f32>(0.0);`).join('\n  ')}
  if (n < ${N}u) {
    for (var k = k0 + lid.y; k < k1; k += 4u) {
      let row = k * ${N}u + n;
      var w = vec4<f32>(B[row], 0.0, 0.0, 0.0);
      if (n + 3u < ${N}u) { w = vec4<f32>(B[row], B[row + 1u], B[row + 2u], B[row + 3u]); }
      else {
        if (n + 1u < ${N}u) { w.y = B[row + 1u]; }
        if (n + 2u < ${N}u) { w.z = B[row + 2u]; }
      }
      ${ms.map((m) => `acc${m} += ${aAt(m)} * w;`).join('\n      ')}
    }
  }
  let slot = lid.y * 64u + lid.x;
  ${ms.map((m) => `red[${m}u * 256u + slot] = acc${m};`).join('\n  ')}
  workgroupBarrier();
  if (lid.y == 0u) {
    ${ms
      .map(
        (m) => `{
      let s = red[${m}u * 256u + lid.x] + red[${m}u * 256u + 64u + lid.x] + red[${m}u * 256u + 128u + lid.x] + red[${m}u * 256u + 192u + lid.x];
      let base = (wid.y * ${M}u + ${m}u) * ${N}u + n;
      for (var j = 0u; j < 4u; j++) { if (n + j < ${N}u) { C[base + j] = s[j]; } }
    }`,
      )
      .join('\n    ')}
  }
}`;
}

/**
 * Large-tile GEMM for big products: a 16x16 workgroup computes a 128x128 tile of C, each
 * invocation an 8x8 block (16 vec4 accumulators: rows ty·4+{0..3} and 64+ty·4+{0..3}, the same
 * split for columns, so the vec4 reads of the staged tiles are contiguous across invocations).
 * 128x8 slices of A and 8x128 of B (8 KiB) per k-step; twice the FMAs per workgroup-memory read
 * of the 64x64 kernel. Unbatched, M from a uniform.
 */
export function matmulTiled128Wgsl(d: MatmulDims): string {
  const { N, K, transA, transB } = d;
  const aAt = transA ? 'gk * M + gm' : `gm * ${K}u + gk`;
  const bAt = transB ? `gn * ${K}u + gk` : `gk * ${N}u + gn`;
  // 1024 elements per tile, 4 per invocation; the contiguous global axis runs across invocations.
  const aIdx = transA ? 'let m = e % 128u; let k = e / 128u;' : 'let m = e / 8u; let k = e % 8u;';
  const bIdx = transB ? 'let n = e / 8u; let k = e % 8u;' : 'let n = e % 128u; let k = e / 128u;';
  const acc: string[] = [];
  for (let i = 0; i < 8; i++) for (let h = 0; h < 2; h++) acc.push(`acc${i}_${h}`);
  const rowOf = (i: number) => (i < 4 ? `ty * 4u + ${i}u` : `64u + ty * 4u + ${i - 4}u`);
  const comp = ['x', 'y', 'z', 'w'];
  const fma: string[] = [];
  for (let i = 0; i < 8; i++) {
    const a = `${i < 4 ? 'a0' : 'a1'}.${comp[i % 4]}`;
    fma.push(`acc${i}_0 += ${a} * b0;`, `acc${i}_1 += ${a} * b1;`);
  }
  const writes: string[] = [];
  for (let i = 0; i < 8; i++) {
    for (let h = 0; h < 2; h++) {
      writes.push(`{ let row = m0 + ${rowOf(i)}; let col = n0 + ${h * 64}u + tx * 4u;
    if (row < M) { for (var j = 0u; j < 4u; j++) { if (col + j < ${N}u) { C[row * ${N}u + col + j] = acc${i}_${h}[j]; } } } }`);
    }
  }
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
struct Rows { M: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(3) var<uniform> rows: Rows;
var<workgroup> As: array<vec4<f32>, 256>; // [k 8][m 128] as vec4
var<workgroup> Bs: array<vec4<f32>, 256>; // [k 8][n 128] as vec4
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let M = rows.M;
  let m0 = wid.y * 128u;
  let n0 = wid.x * 128u;
  let tx = lid.x;
  let ty = lid.y;
  ${acc.map((a) => `var ${a} = vec4<f32>(0.0);`).join('\n  ')}
  for (var k0 = 0u; k0 < ${K}u; k0 += 8u) {
    for (var q = 0u; q < 4u; q++) {
      let e = tid + q * 256u;
      {
        ${aIdx}
        let gm = m0 + m;
        let gk = k0 + k;
        var v = 0.0;
        if (gm < M && gk < ${K}u) { v = A[${aAt}]; }
        As[k * 32u + m / 4u][m % 4u] = v;
      }
      {
        ${bIdx}
        let gn = n0 + n;
        let gk = k0 + k;
        var v = 0.0;
        if (gn < ${N}u && gk < ${K}u) { v = B[${bAt}]; }
        Bs[k * 32u + n / 4u][n % 4u] = v;
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < 8u; k++) {
      let a0 = As[k * 32u + ty];
      let a1 = As[k * 32u + 16u + ty];
      let b0 = Bs[k * 32u + tx];
      let b1 = Bs[k * 32u + 16u + tx];
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${writes.join('\n  ')}
}`;
}

/**
 * The same kernel reading B as f16 (the opt-in f16 weight path): B's declaration becomes
 * `array<f16>` and each `B[...]` read `f32(B[...])`; accumulation stays f32.
 */
export function withF16B(code: string): string {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const at = code.indexOf('B[', i);
    if (at < 0 || /\w/.test(code[at - 1] ?? '')) {
      if (at < 0) {
        out += code.slice(i);
        break;
      }
      out += code.slice(i, at + 2);
      i = at + 2;
      continue;
    }
    let depth = 1;
    let j = at + 2;
    while (depth > 0) {
      if (code[j] === '[') depth++;
      else if (code[j] === ']') depth--;
      j++;
    }
    out += `${code.slice(i, at)}f32(${code.slice(at, j)})`;
    i = j;
  }
  return `enable f16;\n${out.replace('var<storage, read> B: array<f32>;', 'var<storage, read> B: array<f16>;')}`;
}

/** out[i] = f16(x[i]): a weight's f16 copy (out has an even element count). */
export function toF16Wgsl(): string {
  return /* wgsl */ `enable f16;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f16>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= arrayLength(&out)) { return; }
  out[i] = f16(x[i]);
}`;
}
