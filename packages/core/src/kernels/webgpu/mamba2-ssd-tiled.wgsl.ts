/**
 * Mamba-2's parts of the vec4 chunk kernels (mamba3-scan-tiled.wgsl.ts runs its SSD with λ = 1):
 * D and the z gate in the chunk outputs' writes (`OutputSkip`), and each group's scores C·Bᵀ
 * formed once per chunk for the heads that share the group (`chunkScoresWgsl`).
 */
import type { WgslLib } from './mamba3-mixer.wgsl.js';
import { addressing, COMP, dimsDecl, LOAD_DIMS, MAIN, stageK } from './scan-tiles.wgsl.js';

/**
 * Mamba-2's D skip, and (`z`) its gate, folded into the chunk outputs' writes with x̃ from a buffer:
 * y = (y + D·x̃)·silu(z), with D [H] or (`perChannel`) [H·P] and z at element `offset` of each
 * `stride`-wide row of in_proj's output (zxbcdt), so that neither needs a pass of its own.
 */
export interface OutputSkip {
  perChannel: boolean;
  z: { stride: number; offset: number } | null;
}

/** A pipeline-key fragment for a skip. */
export function skipKey(skip: OutputSkip | null): string {
  return skip ? `/skip${+skip.perChannel}${skip.z ? `z${skip.z.stride}+${skip.z.offset}` : ''}` : '';
}

/**
 * The skip's write of one vec4 of outputs, in the composite's operations and order (ssdChunked's
 * y + x·D, then mul(y, silu(z)) with silu(z) = z·sigmoid_(z)). Bindings `at` (D) and `at + 1` (zxbcdt).
 */
export function skipWgsl(skip: OutputSkip, at: number, w: WgslLib): string {
  const z = skip.z;
  const zVec = z !== null && z.stride % 4 === 0 && z.offset % 4 === 0;
  const d = skip.perChannel ? 'let ch = h * P + p4 * 4u;\n  let d = vec4<f32>(D[ch], D[ch + 1u], D[ch + 2u], D[ch + 3u]);' : 'let d = vec4<f32>(D[h]);';
  const zRead = (e: string) => (zVec ? `zx[(${e}) / 4u]` : `vec4<f32>(zx[${e}], zx[${e} + 1u], zx[${e} + 2u], zx[${e} + 3u])`);
  const gate = z ? `let e = pos(i) * ${z.stride}u + ${z.offset}u + h * P + p4 * 4u;
  let zv = ${zRead('e')};
  return yd * (zv * vec4<f32>(sigmoid_(zv.x), sigmoid_(zv.y), sigmoid_(zv.z), sigmoid_(zv.w)));` : 'return yd;';
  return `${z ? w.COMMON : ''}
@group(0) @binding(${at}) var<storage, read> D: array<f32>;
${z ? `@group(0) @binding(${at + 1}) var<storage, read> zx: array<${zVec ? 'vec4<f32>' : 'f32'}>;` : ''}
fn skipped(v: vec4<f32>, i: u32, p4: u32) -> vec4<f32> {
  ${d}
  let yd = v + xAt4(i, p4) * d;
  ${gate}
}`;
}

/** vec4s of one chunk's and group's C·Bᵀ scores (64 rows × 16 vec4 columns). */
export const CB_TILE = 1024;

/**
 * Grid (4, chunk, b·G): the scores G = C·Bᵀ of one chunk for one group of B and C (Mamba-2's, which
 * all H/G heads of the group share), so that the chunk outputs (sharedCB) read them instead of
 * each head's workgroups forming them again. A workgroup takes 16 rows (wid.x), an invocation one
 * row and 4 columns, summed over n in the chunk outputs' order (the same FMAs); blocks whose
 * columns all follow their row are left zero (the mask zeroes them there; zero, not unset, as the
 * mask multiplies). One workgroup a chunk took 23 µs a layer at 8192 tokens (H100, 128 chunks):
 * too few workgroups. cb: [b, nc, G, 64, 16] vec4s. Bindings: C, B, cb, dims.
 */
export function chunkScoresWgsl(bcGroups: number, w: WgslLib): string {
  const { loopHead } = w;
  return /* wgsl */ `${dimsDecl(3)}
@group(0) @binding(0) var<storage, read> C: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> cb: array<vec4<f32>>;
${addressing(1, bcGroups)}
fn bAt4(i: u32, n4: u32) -> vec4<f32> { return B[bn4(i, n4)]; }
var<workgroup> Cs: array<array<vec4<f32>, 4>, 16>;
${MAIN} {
  let ty = tid / 16u;
  let tx = tid % 16u;
  ${LOAD_DIMS}
  bi = wid.z / ${bcGroups}u;
  let grp = wid.z % ${bcGroups}u;
  h = grp * (H / ${bcGroups}u);
  c = wid.y;
  tc = min(T, L - c * T);
  let row = wid.x * 16u + ty;
  let needed = tx * 4u <= row;
  var g = vec4<f32>(0.0);
  ${loopHead('n0', '0u', 'dims.N', 16)}
    ${stageK('Bs', 0, 'valid(m) && n0 + kq * 4u < N', 'bAt4(m, n0 / 4u + kq)')}
    if (tid >= 64u && tid < 128u) {
      let r = (tid - 64u) / 4u;
      let kq = (tid - 64u) % 4u;
      let m = wid.x * 16u + r;
      var v = vec4<f32>(0.0);
      if (valid(m) && n0 + kq * 4u < N) { v = C[bn4(m, n0 / 4u + kq)]; }
      Cs[r][kq] = v;
    }
    workgroupBarrier();
    if (needed) {
      for (var kq = 0u; kq < 4u; kq++) {
        let cv = Cs[ty][kq];
        ${COMP.map((x, j) => `g += cv.${x} * Bs[kq * 4u + ${j}u][tx];`).join('\n        ')}
      }
    }
    workgroupBarrier();
  }
  cb[((bi * NC + c) * ${bcGroups}u + grp) * ${CB_TILE}u + row * 16u + tx] = g;
}`;
}
