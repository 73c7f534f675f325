/**
 * Decode GEMV, the bandwidth-bound product of a decode step: C [M, N] = A [M, K] · Wᵀ with W
 * stored [N, K] (nn.Linear), unbatched, A not transposed. Rows come in chunks of `M` (at most 16)
 * along workgroup_id.z (batched decode): each chunk reads W once, the chunks at once (mostly from
 * L2). W is read exactly once: `lanes` (32, 64 or 128) lanes per output row stream its contiguous
 * K as 16-byte loads. Every load of a lane is issued before the first is used (straight-line
 * code for the usual K, a 4-way unrolled loop otherwise), so enough bytes are in flight to reach
 * the memory bandwidth; rows per workgroup shrink for narrow outputs so every SM gets work.
 *
 * W's storage: `f32` (vec4<f32>, 4 weights a load) or 16-bit pairs packed in u32 (`f16`, `bf16`:
 * vec4<u32>, 8 weights a load; the layout and the unpacking of half.wgsl.ts). Math is f32.
 *
 * Fusions as `GemvFusion`: an RMSNorm of each A row (weight G; the sum of squares reduced with the
 * dot products), a residual R added to C, and a fused op's epilogue on each output (`GemvEpilogue`).
 */
import { COMPUTE_BUILTINS, f32Lit, flatIndex, halvingLoop, runtimeStepLoop, strideLoop } from '../codegen.js';
import type { HalfKind } from './half.wgsl.js';
import { unpackVec4 } from './half.wgsl.js';

export type WeightStorage = 'f32' | HalfKind;

export interface DecodeGemvSpec {
  /** Rows per chunk (workgroup_id.z picks the chunk). */
  M: number;
  N: number;
  K: number;
  storage: WeightStorage;
  /** Threads per workgroup along lid.y: 8, or fewer for narrow N. */
  rows: number;
  /**
   * Lanes (along lid.x) sharing one output row's K (default 32): more lanes give a narrow
   * output (few rows, long K) more loads in flight at once, each lane fewer in turn.
   */
  lanes?: number;
  /**
   * Output rows per thread (default 1): each A load then serves `perThread` weight rows, which
   * is what bounds a chunk of many rows (16 A loads per weight load at 1). Every output sums
   * the same products in the same order whatever this is, so results are bit-identical.
   */
  perThread?: number;
  norm?: { eps: number };
  residual?: boolean;
  /** Load the residual before the product instead of after the reduction (one memory round trip less at the end). */
  residualFirst?: boolean;
  /** A fused op's work on each output after it is written (see `GemvEpilogue`). */
  epilogue?: GemvEpilogue;
  subgroups: boolean;
}

/**
 * A fused op's epilogue of the decode GEMV: `wgsl(first)` declares the op's bindings from binding
 * `first` on (the buffers it passes, in order) and defines `fn gemvEpilogue(row: u32, n: u32, v:
 * f32)`, called once for each output C[row, n] = v (row: the batch row) after it is written.
 * `key` names it in the pipeline key.
 */
export interface GemvEpilogue {
  key: string;
  wgsl(first: number): string;
  buffers: GPUBuffer[];
}

/** Consecutive outputs an invocation of the epilogue pass takes. */
const EPILOGUE_PASS_RUN = 16;

/** Invocations a workgroup of the epilogue pass. */
export const WG_EPILOGUE = 256;

/** Invocations of the epilogue pass over M×N outputs. */
export function epiloguePassThreads(M: number, N: number): number {
  return Math.ceil((M * N) / EPILOGUE_PASS_RUN);
}

/**
 * A fused op's epilogue over a product's outputs C [M, N] already written, for products the GEMV
 * does not take: each invocation calls `gemvEpilogue` on EPILOGUE_PASS_RUN consecutive outputs in
 * order (neighbouring outputs from one invocation, so an epilogue's atomics on a shared word meet
 * fewer lanes at once). The epilogue's bindings from 1 on.
 */
export function epiloguePassWgsl(ep: GemvEpilogue, M: number, N: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> C: array<f32>;
${ep.wgsl(1)}
@compute @workgroup_size(${WG_EPILOGUE})
fn main(${COMPUTE_BUILTINS}) {
  let t = ${flatIndex(WG_EPILOGUE)};
  for (var j = 0u; j < ${EPILOGUE_PASS_RUN}u; j++) {
    let i = t * ${EPILOGUE_PASS_RUN}u + j;
    if (i < ${M * N}u) { gemvEpilogue(i / ${N}u, i % ${N}u, C[i]); }
  }
}`;
}

/** Weights per load of one lane. */
export function weightsPerLoad(storage: WeightStorage): number {
  return storage === 'f32' ? 4 : 8;
}

/** Most rows a chunk holds in registers. */
export const MAX_CHUNK_ROWS = 16;

/** Rows per chunk for M rows: all of them up to 16, else 16 or 8 when they divide M; 0 when none does. */
export function chunkRows(M: number): number {
  if (M <= MAX_CHUNK_ROWS) return M;
  return M % 16 === 0 ? 16 : M % 8 === 0 ? 8 : 0;
}

/** Whether the kernel serves this shape: rows that chunk, K a whole number of loads. */
export function decodeGemvFits(M: number, K: number, storage: WeightStorage): boolean {
  return M >= 1 && chunkRows(M) > 0 && K % weightsPerLoad(storage) === 0;
}

/** The straight-line limit: loads per lane beyond which the kernel loops (4 loads an iteration). */
const MAX_UNROLLED = 16;

export function decodeGemvWgsl(s: DecodeGemvSpec): string {
  const { M, N, K, storage, rows: R } = s;
  const T = s.perThread ?? 1;
  const LN = s.lanes ?? 32;
  if (![32, 64, 128].includes(LN) || LN * R > 256) throw new Error(`decode GEMV: ${LN} lanes a row and ${R} rows a workgroup (lanes 32, 64 or 128; at most 256 invocations)`);
  const per = weightsPerLoad(storage);
  const KV = K / per; // loads per row
  const ms = Array.from({ length: M }, (_, m) => m);
  const ts = Array.from({ length: T }, (_, t) => t);
  // acc{t}_{m}: output row t of this thread, batch row m; ss{m}: the norm's sum of squares of A row m.
  const acc = (t: number, m: number) => `acc${t}_${m}`;
  const accs = [...ts.flatMap((t) => ms.map((m) => acc(t, m))), ...(s.norm ? ms.map((m) => `ss${m}`) : [])];
  // The weights of load `w` as f32 vec4s, and the A/G vec4 indices they multiply.
  const unpack = (w: string): string[] => (storage === 'f32' ? [w] : unpackVec4(storage, w));
  const parts = per / 4; // vec4s of A per load
  /** The products of load `w` (`w_t` for output row t) at A vec4 `k`. */
  const use = (w: string, k: string): string => {
    const wts = ts.map((t) => unpack(T > 1 ? `${w}_${t}` : w));
    const lines: string[] = [];
    for (let p = 0; p < parts; p++) {
      lines.push(`{ ${ts.map((t) => `let wv${t} = ${wts[t][p]};`).join(' ')} let ka = ${k} * ${parts}u + ${p}u;`);
      for (const m of ms) {
        const dots = (a: string) => ts.map((t) => `${acc(t, m)} += dot(${a}, wv${t});`).join(' ');
        if (s.norm) lines.push(`  let a${m} = A[aBase + ${(m * K) / 4}u + ka]; let ag${m} = a${m} * G[ka]; ${dots(`ag${m}`)} ss${m} += dot(a${m}, a${m});`);
        else lines.push(`  let a${m} = A[aBase + ${(m * K) / 4}u + ka]; ${dots(`a${m}`)}`);
      }
      lines.push('}');
    }
    return lines.join('\n      ');
  };
  /** Loads `w` = B[row + k] for every output row of the thread (`w_t` from row t). */
  const load = (decl: string, w: string, k: string): string =>
    ts.map((t) => `${decl} ${T > 1 ? `${w}_${t}` : w} = B[row${T > 1 ? t : ''} + ${k}];`).join(' ');
  const iters = Math.ceil(KV / LN);
  let body: string;
  if (iters <= MAX_UNROLLED) {
    const loads: string[] = [];
    const uses: string[] = [];
    for (let i = 0; i < iters; i++) {
      const k = `k${i}`;
      const guard = (i + 1) * LN > KV;
      loads.push(`let ${k} = lid.x + ${i * LN}u;`);
      if (guard) {
        const names = ts.map((t) => (T > 1 ? `w${i}_${t}` : `w${i}`));
        loads.push(`${names.map((w) => `var ${w} = ${zero(storage)};`).join(' ')} if (${k} < ${KV}u) { ${load('', `w${i}`, k).replace(/^ /, '')} }`);
      } else {
        loads.push(load('let', `w${i}`, k));
      }
      // A tail load's products (and the norm's squares) must not count A past the row.
      uses.push(guard ? `if (${k} < ${KV}u) {\n      ${use(`w${i}`, k)}\n    }` : use(`w${i}`, k));
    }
    body = `${loads.join('\n    ')}\n    ${uses.join('\n    ')}`;
  } else {
    const main = Math.floor(KV / (4 * LN)) * 4 * LN;
    body = `${strideLoop('k', 'lid.x', main, 4 * LN, `
      ${[0, 1, 2, 3].map((i) => load('let', `w${i}`, i ? `k + ${i * LN}u` : 'k')).join('\n      ')}
      ${[0, 1, 2, 3].map((i) => use(`w${i}`, `(k + ${i * LN}u)`)).join('\n      ')}`)}
    ${KV > main ? strideLoop('kt', 'lid.x', KV - main, LN, `let k = ${main}u + kt;\n      ${load('let', 'w0', 'k')}\n      ${use('w0', 'k')}`) : ''}`;
  }
  /** Writes output row t of the thread for every batch row, from the reduced slots `v(j)` (j as in `accs`). */
  const result = (t: number, v: (j: number) => string): string => {
    const n = T > 1 ? `(n + ${t}u)` : 'n';
    const writes = ms.map((m) => {
      let e = v(t * M + m);
      if (s.norm) e = `${e} * inverseSqrt(${v(T * M + m)} / ${K}.0 + ${f32Lit(s.norm.eps)})`;
      if (s.residual) e = `${e} + ${s.residualFirst ? `rs${t}_${m}` : `Rs[cBase + ${m * N}u + ${n}]`}`;
      if (s.epilogue) return `{ let v = ${e}; C[cBase + ${m * N}u + ${n}] = v; gemvEpilogue(wid.z * ${M}u + ${m}u, ${n}, v); }`;
      return `C[cBase + ${m * N}u + ${n}] = ${e};`;
    });
    return T > 1 && t > 0 ? `if (${n} < ${N}u) {\n      ${writes.join('\n      ')}\n    }` : writes.join('\n    ');
  };
  const slot = (j: number, x: string) => `red[${j * R * LN}u + lid.y * ${LN}u + ${x}]`;
  const reduce = s.subgroups
    ? `${accs.map((a, j) => `let s${j} = subgroupAdd(${a});`).join('\n  ')}
  if (sgi == 0u) {
    ${accs.map((_, j) => `${slot(j, 'lid.x')} = s${j};`).join('\n    ')}
  }
  workgroupBarrier();
  if (lid.x == 0u && n < ${N}u) {
    ${accs.map((_, j) => `var t${j} = 0.0;`).join('\n    ')}
    ${runtimeStepLoop('j', LN, 'sg', accs.map((_, j) => `t${j} += ${slot(j, 'j')};`).join('\n      '))}
    ${ts.map((t) => result(t, (j) => `t${j}`)).join('\n    ')}
  }`
    : `${accs.map((a, j) => `${slot(j, 'lid.x')} = ${a};`).join('\n  ')}
  workgroupBarrier();
  ${halvingLoop('h', LN / 2, `if (lid.x < h) {
      ${accs.map((_, j) => `${slot(j, 'lid.x')} += ${slot(j, 'lid.x + h')};`).join('\n      ')}
    }
    workgroupBarrier();`)}
  if (lid.x == 0u && n < ${N}u) {
    ${ts.map((t) => result(t, (j) => slot(j, '0u'))).join('\n    ')}
  }`;
  const first = s.residual && s.residualFirst ? ts.flatMap((t) => ms.map((m) => [t, m] as const)) : [];
  let binding = 3;
  return /* wgsl */ `${s.subgroups ? 'enable subgroups;' : ''}
@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<${storage === 'f32' ? 'vec4<f32>' : 'vec4<u32>'}>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${s.norm ? `@group(0) @binding(${binding++}) var<storage, read> G: array<vec4<f32>>;` : ''}
${s.residual ? `@group(0) @binding(${binding++}) var<storage, read> Rs: array<f32>;` : ''}
${s.epilogue ? s.epilogue.wgsl(binding) : ''}
var<workgroup> red: array<f32, ${LN * R * accs.length}>;
@compute @workgroup_size(${LN}, ${R})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>${s.subgroups ? ', @builtin(subgroup_size) sg: u32, @builtin(subgroup_invocation_id) sgi: u32' : ''}) {
  let n = ((wid.y * nwg.x + wid.x) * ${R}u + lid.y) * ${T}u;
  let aBase = wid.z * ${(M * K) / 4}u;
  let cBase = wid.z * ${M * N}u;
  ${accs.map((a) => `var ${a} = 0.0;`).join('\n  ')}
  ${first.map(([t, m]) => `var rs${t}_${m} = 0.0;`).join(' ')}
  if (n < ${N}u) {
    ${first.map(([t, m]) => `rs${t}_${m} = Rs[cBase + ${m * N}u + min(n + ${t}u, ${N - 1}u)];`).join(' ')}
    ${T > 1 ? ts.map((t) => `let row${t} = min(n + ${t}u, ${N - 1}u) * ${KV}u;`).join('\n    ') : `let row = n * ${KV}u;`}
    ${body}
  }
  ${reduce}
}`;
}

function zero(storage: WeightStorage): string {
  return storage === 'f32' ? 'vec4<f32>(0.0)' : 'vec4<u32>(0u)';
}
