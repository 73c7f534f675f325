/**
 * Where the vec4 chunk kernels (mamba3-scan-tiled.wgsl.ts) read x̃, B̃ and C̃ from: buffers of the
 * scan's layout (mamba3ChunkScan), or the mixer's zxbcdt rows, from which the kernels form them
 * where they stage them. Formed there with the same f32 operations, in the same order, as the
 * mixer's prep kernel used to store them (mixerPrepWgsl), they are bit-identical, and the per-head
 * expansions [b·L, R, H, ·] of head-independent rows are neither written nor read back.
 * Shapes (vec4 units: N4 = N/4, P4 = P/4):
 *   buffers: x̃ [b, L, R, H, P4]   B̃, C̃ [b, L, R, H, N4]
 *   rows: zxbcdt [b·L, stride]   mimo_x [H, R, P4]   rms [b·L, R·G, 2] (1/RMS of each B, C row)
 *         prm: the mixer's packed parameters (norm weights [N4], biases [H, R, N4])
 *         θ [b·L, H, A]
 * What a source defines: xAt4(i, p4), bAt4(i, n4) and cAt4(i, n4), the vec4 of chunk row i
 * (= t·R + r); they need the chunk coordinates (CHUNK_ROWS) and the dims.
 */

/**
 * x̃ from the mixer's zxbcdt [b·L, stride]: x at `offset` of each position's row (shared by its R
 * ranks), times mimo_x [H, R, P4] when `scaled` (x̃_r = x ⊙ mimo_x[:, r]); with `bc`, B̃ and C̃
 * from the same rows.
 */
export interface XRows {
  stride: number;
  offset: number;
  scaled: boolean;
  bc: BCRows | null;
}

/**
 * B̃ and C̃ from zxbcdt's rows, as the prep formed them: the B (C) row of rank r and group g at
 * zxbcdt offset `B` (`C`) + (r·G + g)·N, times its 1/RMS (rms), times the norm weight, plus the
 * bias of head h and rank r, then (`rotate`) rotated by θ in pairs (2j, 2j+1), angle j < A only:
 * the SISO rotation, whose pairs lie within a vec4 (MIMO's pairs (j, j + N/2) do not: the mixer
 * stores rotated MIMO B̃ and C̃ instead). Weight and bias offsets are into prm, multiples of 4.
 */
export interface BCRows {
  B: number;
  C: number;
  weightB: number;
  weightC: number;
  biasB: number;
  biasC: number;
  G: number;
  A: number;
  rotate: boolean;
}

/** A pipeline-key fragment for a source. */
export function rowsKey(rows: XRows | null): string {
  if (!rows) return 'x';
  const bc = rows.bc;
  const bcKey = bc ? `/bc${bc.B}+${bc.C}+${bc.weightB}+${bc.weightC}+${bc.biasB}+${bc.biasC}+${bc.G}+${bc.A}${bc.rotate ? 'r' : ''}` : '';
  return `z${rows.stride}+${rows.offset}${rows.scaled ? 's' : ''}${bcKey}`;
}

/** Whether every row read is 4-aligned, so zxbcdt is bound as vec4 (else read as 4 scalars). */
function vecRows(rows: XRows): boolean {
  const offsets = [rows.stride, rows.offset, ...(rows.bc ? [rows.bc.B, rows.bc.C] : [])];
  return offsets.every((o) => o % 4 === 0);
}

/**
 * The source's storage bindings as [name, element type], in order: x or zxbcdt, mimo_x; then C̃
 * (when `withC`, the kernel reads C̃) and B̃ (unless `withB` is false: buffers only), or prm, rms and θ.
 */
function sourceBindings(rows: XRows | null, withC: boolean, withB = true): [string, string][] {
  const vec = rows ? vecRows(rows) : true;
  const out: [string, string][] = [['x', vec ? 'vec4<f32>' : 'f32']];
  if (rows?.scaled) out.push(['xScale', 'vec4<f32>']);
  const bc = rows?.bc;
  if (bc) out.push(['prm', 'vec4<f32>'], ['rms', 'f32'], ...(bc.rotate ? [['theta', 'f32'] as [string, string]] : []));
  else out.push(...(withC ? [['C', 'vec4<f32>'] as [string, string]] : []), ...(withB ? [['B', 'vec4<f32>'] as [string, string]] : []));
  return out;
}

/** Bindings a source takes (`withC`: the kernel reads C̃; `withB`: B̃). */
export function rowBindings(rows: XRows | null, withC: boolean, withB = true): number {
  return sourceBindings(rows, withC, withB).length;
}

/** The source's bindings (see `sourceBindings`) from `binding` on, and its xAt4, bAt4 (with B) and cAt4 (with C). */
export function rowSourceWgsl(rows: XRows | null, withC: boolean, binding: number, withB = true): string {
  if (rows && !withB) throw new Error('rowSourceWgsl: rows always form B̃');
  const decls = sourceBindings(rows, withC, withB).map(([name, type], i) => `@group(0) @binding(${binding + i}) var<storage, read> ${name}: array<${type}>;`);
  const vec = rows ? vecRows(rows) : true;
  const bc = rows?.bc;
  const x = rows
    ? `/** Position of chunk row i. */
fn rowAt(i: u32) -> u32 { return bi * L + c * T + i / R; }
/** zxbcdt's 4 floats from element e. */
fn zx4(e: u32) -> vec4<f32> { return ${vec ? 'x[e / 4u]' : 'vec4<f32>(x[e], x[e + 1u], x[e + 2u], x[e + 3u])'}; }
fn xAt4(i: u32, p4: u32) -> vec4<f32> {
  return zx4(rowAt(i) * ${rows.stride}u + ${rows.offset}u + h * P + p4 * 4u)${rows.scaled ? ' * xScale[(h * R + i % R) * P4 + p4]' : ''};
}`
    : 'fn xAt4(i: u32, p4: u32) -> vec4<f32> { return x[x4(i, p4)]; }';
  const bcFns =
    rows && bc
      ? formWgsl(bc, rows.stride, withC)
      : `${withC ? 'fn cAt4(i: u32, n4: u32) -> vec4<f32> { return C[bn4(i, n4)]; }' : ''}
${withB ? 'fn bAt4(i: u32, n4: u32) -> vec4<f32> { return B[bn4(i, n4)]; }' : ''}`;
  return `${decls.join('\n')}
${x}
${bcFns}`;
}

const COMP = ['x', 'y', 'z', 'w'];

/**
 * bAt4 and (`withC`) cAt4 formed from the rows, each with its normalisation (bNorm4, cNorm4: the
 * prep's `zx · rr · w + bias`) and the rotation, whose two sides are the prep's expressions
 * (first of a pair: v·cos − partner·sin; second: partner·sin + v·cos). cos and sin are taken of
 * θ here as in the prep (same builtin, same input): storing them instead would double θ's bytes.
 */
function formWgsl(bc: BCRows, S: number, withC: boolean): string {
  const rg = bc.G === 1 ? 'r' : `r * ${bc.G}u + h / (H / ${bc.G}u)`;
  const one = (m: 'b' | 'c') => {
    const which = m === 'b' ? 0 : 1;
    const at = m === 'b' ? bc.B : bc.C;
    const w = (m === 'b' ? bc.weightB : bc.weightC) / 4;
    const bias = (m === 'b' ? bc.biasB : bc.biasC) / 4;
    const norm = `fn ${m}Norm4(t: u32, r: u32, n4: u32) -> vec4<f32> {
  let rg = ${rg};
  return zx4(t * ${S}u + ${at}u + rg * N + n4 * 4u) * rms[(t * R * ${bc.G}u + rg) * 2u + ${which}u] * prm[${w}u + n4] + prm[${bias}u + (h * R + r) * N4 + n4];
}`;
    const angle = (j: string) => `theta[(t * H + h) * ${bc.A}u + ${j}]`;
    let body: string;
    if (bc.rotate) {
      // Pairs (x, y) and (z, w): angles 2·n4 and 2·n4 + 1.
      body = `var o = v;
  ${[0, 1]
    .map((q) => {
      const [a, b] = [COMP[2 * q], COMP[2 * q + 1]];
      return `if (n4 * 2u + ${q}u < ${bc.A}u) {
    let th = ${angle(`n4 * 2u + ${q}u`)};
    let cs = cos(th);
    let sn = sin(th);
    o.${a} = v.${a} * cs - v.${b} * sn;
    o.${b} = v.${a} * sn + v.${b} * cs;
  }`;
    })
    .join('\n  ')}
  return o;`;
    } else {
      body = 'return v;';
    }
    return `${norm}
fn ${m}At4(i: u32, n4: u32) -> vec4<f32> {
  let t = rowAt(i);
  let r = i % R;
  let v = ${m}Norm4(t, r, n4);
  ${body}
}`;
  };
  return [one('b'), ...(withC ? [one('c')] : [])].join('\n');
}
