/*
 * WGSL of the chunked prefill scans of the Mamba-1 and Mamba-2 mixers (family-scans.ts runs
 * them). The sequence is cut into chunks of T positions; three dispatches, none with a barrier:
 *   1. chunk states: one thread per (chunk, channel or head row, state element n) runs the
 *      recurrence over its chunk from zero: S_c = Σ_t (Π_{s>t} exp(Δ_s·A)) Δ_t·u_t·B_t, and
 *      the chunk's Σ Δ (the chunk's decay is exp(A·Σ Δ));
 *   2. state pass: one thread per (row, n) walks the chunks in order, replacing S_c by the
 *      state entering chunk c and writing the final state;
 *   3. chunk outputs: one thread per (chunk, row) reruns its chunk from the state entering it
 *      with the row's state in registers (blocks of 16 elements of n), y_t = h_t·C_t summed
 *      in the thread, then the skip (and Mamba-1's gate).
 * Work: 2·L·rows·N recurrence steps, parallel over (L/T)·rows·N in 1 and (L/T)·rows in 3.
 */
import { LOAD_GROUP } from './mamba3-scan.wgsl.js';

/** State elements per register block of the output pass. */
export const NB = 16;

export const SOFTPLUS = /* wgsl */ `
fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }`;

// Mamba-1. u, delta, z [b, L, E]; A [E, N]; B, C [b, L, N]; D, deltaBias [E]; h0 [b, E, N];
// states [b, nc, E, N]; dsum [b, nc, E].
export const M1_DIMS = /* wgsl */ `
struct Dims { L: u32, E: u32, N: u32, T: u32, nc: u32, hasH0: u32, pad0: u32, pad1: u32 }`;

/**
 * Where Mamba-1's scan kernels read A, B, C and z: their own tensors (`M1_PLAIN`), or in place for
 * the prefill core (mamba1ChunkCore): B and C at columns `bc.B`, `bc.C` of each `bc.stride`-wide
 * row of x_proj's output, z at column `z.offset` of in_proj's, and (`aLog`) A = −exp(A_log)
 * taken where A is read. The plain source's code is the kernels' as before, character for character.
 */
export interface M1Source {
  bc: { stride: number; B: number; C: number } | null;
  z: { stride: number; offset: number } | null;
  aLog: boolean;
}

export const M1_PLAIN: M1Source = { bc: null, z: null, aLog: false };

/** A pipeline-key fragment for a source ('' for the plain one). */
export function m1SourceKey(s: M1Source): string {
  return `${s.bc ? `/bc${s.bc.stride}+${s.bc.B}+${s.bc.C}` : ''}${s.z ? `/z${s.z.stride}+${s.z.offset}` : ''}${s.aLog ? '/alog' : ''}`;
}

/** WGSL expressions for a source's reads: A at flat index i; the start of B's or C's row `row` (N its length when plain); z at (row, e), `be` being row·E + e. */
export const m1Reads = (s: M1Source) => ({
  a: (i: string): string => (s.aLog ? `-exp(A[${i}])` : `A[${i}]`),
  rowB: (row: string, N: string): string => (s.bc ? `${row} * ${s.bc.stride}u + ${s.bc.B}u` : `${row} * ${N}`),
  rowC: (row: string, N: string): string => (s.bc ? `${row} * ${s.bc.stride}u + ${s.bc.C}u` : `${row} * ${N}`),
  z: (row: string, e: string, be: string): string => (s.z ? `z[${row} * ${s.z.stride}u + ${s.z.offset}u + ${e}]` : `z[${be}]`),
});

/** The chunk-state pass's bindings (this file's kernel and the staged one of mamba1-scan-staged.wgsl.ts). */
export const M1_STATE_BINDINGS = /* wgsl */ `
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> deltaBias: array<f32>;
@group(0) @binding(5) var<storage, read_write> states: array<f32>;
@group(0) @binding(6) var<storage, read_write> dsum: array<f32>;
@group(0) @binding(7) var<uniform> dims: Dims;`;

export const m1ChunkStateWgsl = (src: M1Source = M1_PLAIN): string => /* wgsl */ `
${M1_DIMS}
${M1_STATE_BINDINGS}
${SOFTPLUS}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let E = dims.E;
  let N = dims.N;
  let L = dims.L;
  if (gid.x >= E * N) { return; }
  let e = gid.x / N;
  let n = gid.x % N;
  let c = wid.y;
  let bi = wid.z;
  let a = ${m1Reads(src).a('e * N + n')};
  let bias = deltaBias[e];
  var s = 0.0;
  var sum = 0.0;
  for (var t = c * dims.T; t < min(L, (c + 1u) * dims.T); t++) {
    let be = (bi * L + t) * E + e;
    let dt = softplus(delta[be] + bias);
    s = exp(dt * a) * s + dt * u[be] * B[${m1Reads(src).rowB('(bi * L + t)', 'N')} + n];
    sum += dt;
  }
  let o = (bi * dims.nc + c) * E + e;
  states[o * N + n] = s;
  if (n == 0u) { dsum[o] = sum; }
}`;

/**
 * The state hand-off across chunks, per (batch, channel, state element): `unroll` chunks' loads
 * issued before their stores (see LOAD_GROUP), so the chain waits on memory once per group.
 */
export const m1StatePassWgsl = (unroll = LOAD_GROUP, src: M1Source = M1_PLAIN): string => {
  const ks = Array.from({ length: unroll }, (_, k) => k);
  return /* wgsl */ `
${M1_DIMS}
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> dsum: array<f32>;
@group(0) @binding(2) var<storage, read> h0: array<f32>;
@group(0) @binding(3) var<storage, read_write> states: array<f32>;
@group(0) @binding(4) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(5) var<uniform> dims: Dims;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let E = dims.E;
  let N = dims.N;
  if (gid.x >= E * N) { return; }
  let e = gid.x / N;
  let bi = wid.y;
  let a = ${m1Reads(src).a('gid.x')};
  var h = 0.0;
  if (dims.hasH0 == 1u) { h = h0[bi * E * N + gid.x]; }
  var c = 0u;
  for (var ci = 0u; ci < ${Math.floor(0xffffffff / unroll)}u; ci++) {
    if (c + ${unroll}u > dims.nc) { break; } // (a loop Tint proves finite: WgslLib.loopHead)
    ${ks.map((k) => `let o${k} = (bi * dims.nc + c + ${k}u) * E;`).join('\n    ')}
    ${ks.map((k) => `let l${k} = states[o${k} * N + gid.x];`).join('\n    ')}
    ${ks.map((k) => `let d${k} = dsum[o${k} + e];`).join('\n    ')}
    ${ks.map((k) => `states[o${k} * N + gid.x] = h;\n    h = exp(a * d${k}) * h + l${k};`).join('\n    ')}
    c += ${unroll}u;
  }
  for (var ci = 0u; ci < ${unroll}u; ci++) {
    if (c >= dims.nc) { break; }
    let o = (bi * dims.nc + c) * E;
    let sc = states[o * N + gid.x];
    states[o * N + gid.x] = h;
    h = exp(a * dsum[o + e]) * h + sc;
    c++;
  }
  hOut[bi * E * N + gid.x] = h;
}`;
};

/** Sums of one register block (NB elements of n from n0) into acc; the state in s. */
const blockStep = (decay: string, cRow: string): string => /* wgsl */ `
      var acc = 0.0;
      for (var k = 0u; k < ${NB}u; k++) {
        let n = n0 + k;
        if (n < N) {
          s[k] = ${decay} * s[k] + dtv * xv * B[bn + n];
          acc += s[k] * C[${cRow} + n];
        }
      }`;

/**
 * y per (chunk, channel). One register block (N ≤ NB): y written once, gated. More: each block
 * adds its partial sum into y (the thread owns its y entries), then a last loop adds D·u and gates.
 */
/**
 * The chunk-output pass's dims, bindings and helpers (this file's kernel and the staged one of
 * mamba1-scan-staged.wgsl.ts).
 */
export const M1_OUTPUT_HEAD = /* wgsl */ `
${M1_DIMS}
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> C: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read> z: array<f32>;
@group(0) @binding(7) var<storage, read> deltaBias: array<f32>;
@group(0) @binding(8) var<storage, read> states: array<f32>;
@group(0) @binding(9) var<storage, read_write> y: array<f32>;
@group(0) @binding(10) var<uniform> dims: Dims;
${SOFTPLUS}
fn gate(v: f32, zv: f32) -> f32 { return v * (zv / (1.0 + exp(-zv))); }`;

export const m1ChunkOutputWgsl = (blocks: number, src: M1Source = M1_PLAIN): string => /* wgsl */ `
${M1_OUTPUT_HEAD}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let E = dims.E;
  let N = dims.N;
  let L = dims.L;
  let e = gid.x;
  if (e >= E) { return; }
  let c = wid.y;
  let bi = wid.z;
  let t0 = c * dims.T;
  let t1 = min(L, t0 + dims.T);
  let bias = deltaBias[e];
  let d = D[e];
  let so = ((bi * dims.nc + c) * E + e) * N;
  for (var blk = 0u; blk < ${blocks}u; blk++) {
    let n0 = blk * ${NB}u;
    var s: array<f32, ${NB}>;
    var a: array<f32, ${NB}>;
    for (var k = 0u; k < ${NB}u; k++) {
      let n = min(n0 + k, N - 1u);
      s[k] = select(0.0, states[so + n], n0 + k < N);
      a[k] = ${m1Reads(src).a('e * N + n')};
    }
    for (var t = t0; t < t1; t++) {
      let be = (bi * L + t) * E + e;
      let dtv = softplus(delta[be] + bias);
      let xv = u[be];
      let bn = ${m1Reads(src).rowB('(bi * L + t)', 'N')};${src.bc ? `\n      let cn = ${m1Reads(src).rowC('(bi * L + t)', 'N')};` : ''}
${blockStep('exp(dtv * a[k])', src.bc ? 'cn' : 'bn')}
      ${blocks === 1 ? `y[be] = gate(acc + d * xv, ${m1Reads(src).z('(bi * L + t)', 'e', 'be')});` : 'if (blk == 0u) { y[be] = acc; } else { y[be] += acc; }'}
    }
  }
  ${blocks === 1 ? '' : `for (var t = t0; t < t1; t++) {
    let be = (bi * L + t) * E + e;
    y[be] = gate(y[be] + d * u[be], ${m1Reads(src).z('(bi * L + t)', 'e', 'be')});
  }`}
}`;

// Mamba-2. x [b, L, H, P]; dt [b, L, H]; A, dtBias [H]; B, C [b, L, G, N]; D [H] or [H·P];
// h0 [b, H, P, N]; dts, das [b, L, H] (Δ and exp(Δ·A)); states [b, H, nc, P, N]; dsum [b, H, nc].
const M2_DIMS = /* wgsl */ `
struct Dims { L: u32, H: u32, P: u32, N: u32, G: u32, lo: u32, hi: u32, dPerChannel: u32, hasH0: u32, T: u32, nc: u32, B: u32 }
fn dtOf(raw: f32) -> f32 { return clamp(softplus(raw), bitcast<f32>(dims.lo), bitcast<f32>(dims.hi)); }`;

/**
 * Where m2dt reads dt and A: dt [b, L, H] and A [H]; or dt at element `rows.offset` of each
 * `rows.stride`-wide row of in_proj's output (zxbcdt, so that dt needs no copy of its own), and
 * (`aLog`) A = −exp(A_log) taken here instead of by two ops on [H].
 */
export interface DtSource {
  rows: { stride: number; offset: number } | null;
  aLog: boolean;
}

/** A pipeline-key fragment for a dt source. */
export function dtSourceKey(src: DtSource): string {
  return `${src.rows ? `/r${src.rows.stride}+${src.rows.offset}` : ''}${src.aLog ? '/alog' : ''}`;
}

/**
 * Δ = clamp(softplus(dt + dtBias)) per (batch, position, head), read by the other passes, with its
 * decay exp(Δ·A) for the scalar kernels here; or (`forTiled`) with the log decay Δ·A and λ = 1 for
 * Mamba-3's vec4 chunk kernels, which run Mamba-2's SSD as the exponential-trapezoid scan with λ = 1.
 */
export const m2DtWgsl = (forTiled = false, src: DtSource = { rows: null, aLog: false }): string => /* wgsl */ `
${SOFTPLUS}
${M2_DIMS}
@group(0) @binding(0) var<storage, read> dt: array<f32>;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> dtBias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dts: array<f32>;
@group(0) @binding(4) var<storage, read_write> decay: array<f32>;
${forTiled ? '@group(0) @binding(5) var<storage, read_write> trap: array<f32>;' : ''}
@group(0) @binding(${forTiled ? 6 : 5}) var<uniform> dims: Dims;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + tid;
  if (i >= dims.B * dims.L * dims.H) { return; }
  let hh = i % dims.H;
  let v = dtOf(dt[${src.rows ? `(i / dims.H) * ${src.rows.stride}u + ${src.rows.offset}u + hh` : 'i'}] + dtBias[hh]);
  let a = ${src.aLog ? '-exp(A[hh])' : 'A[hh]'};
  dts[i] = v;
  ${forTiled ? 'decay[i] = v * a; trap[i] = 1.0;' : 'decay[i] = exp(v * a);'}
}`;

export const m2ChunkStateWgsl = (): string => /* wgsl */ `
${SOFTPLUS}
${M2_DIMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dts: array<f32>;
@group(0) @binding(2) var<storage, read> das: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> states: array<f32>;
@group(0) @binding(5) var<storage, read_write> dsum: array<f32>;
@group(0) @binding(6) var<uniform> dims: Dims;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let H = dims.H;
  let P = dims.P;
  let N = dims.N;
  let L = dims.L;
  if (gid.x >= P * N) { return; }
  let p = gid.x / N;
  let n = gid.x % N;
  let c = wid.y;
  let bh = wid.z;
  let bi = bh / H;
  let hh = bh % H;
  let g = hh / (H / dims.G);
  var s = 0.0;
  var sum = 0.0;
  for (var t = c * dims.T; t < min(L, (c + 1u) * dims.T); t++) {
    let bth = (bi * L + t) * H + hh;
    let dtv = dts[bth];
    s = das[bth] * s + dtv * x[bth * P + p] * B[((bi * L + t) * dims.G + g) * N + n];
    sum += dtv;
  }
  let o = bh * dims.nc + c;
  states[o * P * N + gid.x] = s;
  if (gid.x == 0u) { dsum[o] = sum; }
}`;

export const m2StatePassWgsl = (): string => /* wgsl */ `
${SOFTPLUS}
${M2_DIMS}
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> dsum: array<f32>;
@group(0) @binding(2) var<storage, read> h0: array<f32>;
@group(0) @binding(3) var<storage, read_write> states: array<f32>;
@group(0) @binding(4) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(5) var<uniform> dims: Dims;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let PN = dims.P * dims.N;
  if (gid.x >= PN) { return; }
  let bh = wid.y;
  let a = A[bh % dims.H];
  var h = 0.0;
  if (dims.hasH0 == 1u) { h = h0[bh * PN + gid.x]; }
  for (var c = 0u; c < dims.nc; c++) {
    let o = bh * dims.nc + c;
    let sc = states[o * PN + gid.x];
    states[o * PN + gid.x] = h;
    h = exp(a * dsum[o]) * h + sc;
  }
  hOut[bh * PN + gid.x] = h;
}`;

export const m2ChunkOutputWgsl = (blocks: number): string => /* wgsl */ `
${SOFTPLUS}
${M2_DIMS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dts: array<f32>;
@group(0) @binding(2) var<storage, read> das: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> C: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read> states: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
@group(0) @binding(8) var<uniform> dims: Dims;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let H = dims.H;
  let P = dims.P;
  let N = dims.N;
  let L = dims.L;
  let p = gid.x;
  if (p >= P) { return; }
  let c = wid.y;
  let bh = wid.z;
  let bi = bh / H;
  let hh = bh % H;
  let g = hh / (H / dims.G);
  let d = select(D[hh], D[hh * P + p], dims.dPerChannel == 1u);
  let t0 = c * dims.T;
  let t1 = min(L, t0 + dims.T);
  let so = ((bh * dims.nc + c) * P + p) * N;
  for (var blk = 0u; blk < ${blocks}u; blk++) {
    let n0 = blk * ${NB}u;
    var s: array<f32, ${NB}>;
    for (var k = 0u; k < ${NB}u; k++) { s[k] = select(0.0, states[so + min(n0 + k, N - 1u)], n0 + k < N); }
    for (var t = t0; t < t1; t++) {
      let bth = (bi * L + t) * H + hh;
      let dtv = dts[bth];
      let dA = das[bth];
      let xv = x[bth * P + p];
      let bn = ((bi * L + t) * dims.G + g) * N;
${blockStep('dA', 'bn')}
      ${blocks === 1 ? 'y[bth * P + p] = acc + d * xv;' : 'if (blk == 0u) { y[bth * P + p] = acc; } else { y[bth * P + p] += acc; }'}
    }
  }
  ${blocks === 1 ? '' : `for (var t = t0; t < t1; t++) {
    let at = ((bi * L + t) * H + hh) * P + p;
    y[at] = y[at] + d * x[at];
  }`}
}`;
