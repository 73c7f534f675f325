/**
 * The building blocks of the vec4 chunk kernels (mamba3-scan-tiled.wgsl.ts, mamba2-ssd-tiled.wgsl.ts):
 * the dims uniform, chunk addressing, the shared 64×16 tiles, their staging and the 4×4 register
 * blocks' k steps. Each kernel is a 16×16 workgroup (`MAIN`).
 */
import { CHUNK_ROWS, SCAN_DIM_NAMES } from './mamba3-scan.wgsl.js';

export const dimsDecl = (binding: number) => `struct Dims { ${SCAN_DIM_NAMES.map((n) => `${n}: u32`).join(', ')} }
@group(0) @binding(${binding}) var<uniform> dims: Dims;
${SCAN_DIM_NAMES.filter((n) => n !== 'R').map((n) => `var<private> ${n}: u32;`).join('\n')}
var<private> N4: u32;
var<private> P4: u32;`;

export const LOAD_DIMS = `${SCAN_DIM_NAMES.filter((n) => n !== 'R').map((n) => `${n} = dims.${n};`).join(' ')} N4 = N / 4u; P4 = P / 4u;`;

/**
 * Chunk coordinates, row addressing (row i = t·R + r of chunk c) and the shared tiles. With
 * `bcGroups` G > 0, B̃ and C̃ are [b, L, R, G, N4] and head h reads group h / (H / G) (Mamba-2's
 * B and C, shared by the heads of a group), not [b, L, R, H, N4].
 */
export const addressing = (R: number, bcGroups: number) => /* wgsl */ `
const R = ${R}u;
${CHUNK_ROWS}
fn bn4(i: u32, n4: u32) -> u32 { return ${bcGroups > 0 ? `(pos(i) * ${bcGroups}u + h / (H / ${bcGroups}u))` : '(pos(i) * H + h)'} * N4 + n4; }
fn x4(i: u32, p4: u32) -> u32 { return (pos(i) * H + h) * P4 + p4; }
var<workgroup> As: array<array<vec4<f32>, 16>, 16>;
var<workgroup> Bs: array<array<vec4<f32>, 16>, 16>;
var<workgroup> raw: array<f32, 64>;
var<workgroup> cum: array<f32, 64>;
var<workgroup> wOff: array<f32, 64>;
var<workgroup> wDiag: array<f32, 64>;
`;

export const COMP = ['x', 'y', 'z', 'w'];
export const ACC = (name: string) => [0, 1, 2, 3].map((i) => `var ${name}${i} = vec4<f32>(0.0);`).join('\n  ');

/** One k step of 4x4 register blocks: rows from `a` (a vec4 of 4 rows), columns from each `b`. */
function fma(a: string, pairs: [acc: string, b: string][]): string {
  return pairs.map(([acc, b]) => COMP.map((x, i) => `${acc}${i} += ${a}.${x} * ${b};`).join(' ')).join('\n      ');
}

/** The 16 k steps over the staged tiles: rows from As[k][ty], columns from each pair's tile ([k][tx]) into its accumulators. */
export function kSteps(pairs: [acc: string, tile: string][]): string {
  return `for (var k = 0u; k < 16u; k++) {
        let a = As[k][ty];
        ${pairs.map(([, tile], i) => `let b${i} = ${tile}[k][tx];`).join('\n        ')}
        ${fma('a', pairs.map(([acc], i) => [acc, `b${i}`]))}
      }`;
}

/**
 * Stages a 64x16 tile whose 16 k are contiguous in memory (C, B, states) into `target[k][m/4]`:
 * 64 invocations from `first`, each loads 4 rows × one vec4 of k and writes them transposed as
 * 4 whole vec4 (no component stores to workgroup memory, which would race).
 */
export function stageK(target: string, first: number, rowOk: string, at: string): string {
  return `if (tid >= ${first}u && tid < ${first + 64}u) {
      let mq = (tid - ${first}u) / 4u;
      let kq = (tid - ${first}u) % 4u;
      ${[0, 1, 2, 3].map((a) => `var v${a} = vec4<f32>(0.0);\n      { let m = mq * 4u + ${a}u; if (${rowOk}) { v${a} = ${at}; } }`).join('\n      ')}
      ${COMP.map((x, j) => `${target}[kq * 4u + ${j}u][mq] = vec4<f32>(v0.${x}, v1.${x}, v2.${x}, v3.${x});`).join('\n      ')}
    }`;
}

/** Stages 16 rows k × 64 contiguous columns (x) into `target[k][m/4]`: one vec4 per invocation. */
export function stageRow(target: string, cond: string, value: string): string {
  return `{
      let k = tid / 16u;
      let q = tid % 16u;
      var v = vec4<f32>(0.0);
      if (${cond}) { v = ${value}; }
      ${target}[k][q] = v;
    }`;
}

export const HEAD = (extra: string) => `
@group(0) @binding(0) var<storage, read> adt: array<f32>;
@group(0) @binding(1) var<storage, read> dt: array<f32>;
@group(0) @binding(2) var<storage, read> trap: array<f32>;
${extra}`;

export const MAIN = '@compute @workgroup_size(16, 16)\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) tid: u32)';
