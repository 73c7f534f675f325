/**
 * Register-tiled GEMM, one generator for a small set of tile shapes.
 *
 * C[z] (M x N) = op(A[z]) (M x K) · op(B[z]) (K x N) for each batch index z (= workgroup_id.z;
 * per-operand batch offsets, 0 along broadcast dims).
 *   A: [.., M, K], or [.., K, M] with transA;  B: [.., K, N], or [.., N, K] with transB.
 *
 * A workgroup of (BN/TN) x (BM/TM) invocations computes a BM x BN tile of C; each invocation a
 * TM x TN micro-tile held in TM·TN/4 vec4 accumulators. Its rows are TM/4 groups of 4 that sit
 * BM/(TM/4) apart (columns alike), so the vec4 reads of the staged tiles are contiguous across
 * neighbouring invocations. Per k-step a BM x BK slice of A and a BK x BN slice of B are staged in
 * workgroup memory as [k][m/4] and [k][n/4] vec4 arrays (two buffers: the next slice is fetched
 * into registers while the current one is multiplied, then stored to the other buffer, so one
 * barrier per k-step). What a fetch does to its words (unpacking, the norm's weight, the squares)
 * waits for the store, after the multiply, and the unrolled forms of 8-deep slices take two
 * k-steps an iteration so that the buffers' indices are constants: on an H200 the two took in_proj
 * with its norm at 8192 rows from 38.0 to 43.1 TFLOP/s (BENCHMARKS, issue 16, nineteenth
 * session). Global reads are vec4 along the contiguous axis when that axis is a multiple of 4
 * (then a vec4 is wholly inside or outside the matrix), else four scalar reads; a slice read along
 * k (A plain, B transposed) is transposed on its way to workgroup memory, whose rows are then
 * padded by one vec4 against bank conflicts. Accumulation is plain f32 FMA.
 * The staged slices are nested arrays [buffer][k][column]: Dawn's robustness transform clamps a
 * workgroup index that Tint cannot prove in bounds, and a flat index (buffer + k + column) got a
 * clamp on every read of the inner loop; each part alone is provably in range (H200: in_proj at
 * 8192 rows 31.6 → 33.8 TFLOP/s, against 34.8 with the transform off).
 */
import { f32Lit, layoutDecl, layoutOffsets, layoutValues, offsets } from '../codegen.js';
import type { MatmulDims } from './matmul.wgsl.js';
import type { HalfKind } from './half.wgsl.js';
import { unpackPair } from './half.wgsl.js';

/** One tile shape: BM x BN outputs per workgroup, TM x TN per invocation, BK deep k-steps. */
export interface TileVariant {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
  /**
   * Spell out the BK steps of a slice, and take two slices a loop iteration where BK is 8 (else a
   * WGSL loop over the steps, which the driver may unroll itself, one slice an iteration).
   */
  unroll: boolean;
  /**
   * Warp layout: each 32 consecutive invocations cover 8 x 4 micro-tiles (columns x rows), so a
   * k-step's shared reads touch 8 B vec4s and 4 A vec4s per 32 lanes instead of 16 and 2 (fewer
   * shared-memory wavefronts on 32-wide subgroups); else rows of TX invocations.
   */
  warp: boolean;
}

/**
 * The shapes the H100 sweep times. Names: BMxBNxBK-TMxTN, then `w` for the warp layout and `u`
 * when the k-steps are unrolled. Every shape comes plain and with `w`; the large ones also `wu`.
 */
export const TILE_VARIANTS: Readonly<Record<string, TileVariant>> = Object.fromEntries(
  (
    [
      [128, 128, 8, 8, 8, true],
      [128, 128, 16, 8, 8, true],
      [128, 64, 8, 8, 8, true],
      [64, 128, 8, 8, 8, true],
      [128, 64, 16, 8, 8, true],
      [64, 128, 16, 8, 8, false],
      [128, 64, 16, 8, 4, false],
      [64, 64, 16, 4, 4, true],
      [64, 64, 32, 4, 4, false],
      [64, 64, 16, 8, 4, false],
      [32, 64, 16, 4, 4, false],
    ] as const
  ).flatMap(([BM, BN, BK, TM, TN, withUnrolled]) =>
    [
      [false, false],
      [true, false],
      ...(withUnrolled ? [[true, true] as const] : []),
    ].map(([warp, unroll]) => {
      const v = { BM, BN, BK, TM, TN, warp, unroll };
      return [variantName(v), v] as const;
    }),
  ),
);

export function variantName(v: TileVariant): string {
  return `${v.BM}x${v.BN}x${v.BK}-${v.TM}x${v.TN}${v.warp ? 'w' : ''}${v.unroll ? 'u' : ''}`;
}

/** Invocations per workgroup of a variant. */
export function threadsOf(v: TileVariant): number {
  return (v.BM / v.TM) * (v.BN / v.TN);
}

/** Workgroup memory a variant stages (two buffers of both slices, padded rows included). */
export function sharedBytesOf(v: TileVariant, transA: boolean, transB: boolean): number {
  return 2 * v.BK * (rowVec4s(v, v.BM, !transA) + rowVec4s(v, v.BN, transB)) * 16;
}

/** Workgroup memory a fused row norm adds (`TiledEpilogue.rowNormEps`): one f32 per (row, 4 k) of a slice. */
export function rowNormSharedBytes(v: TileVariant): number {
  return ((v.BM * v.BK) / 4) * 4;
}

/** Workgroup memory every WebGPU device offers (the default maxComputeWorkgroupStorageSize is half). */
const SHARED_BUDGET = 32768;

/**
 * vec4s per staged k-row: padded by one when the slice is transposed on its way in (its scalar
 * stores then spread over more banks), unless the padding would overflow 32 KiB.
 */
function rowVec4s(v: TileVariant, width: number, transposed: boolean): number {
  const pad = 2 * v.BK * (v.BM / 4 + v.BN / 4 + 2) * 16 <= SHARED_BUDGET;
  return width / 4 + (transposed && pad ? 1 : 0);
}

/**
 * Which global reads may be vec4: the contiguous axis of A (K, or M with transA), of B (N, or K
 * with transB) and of C (N) a multiple of 4. Part of the pipeline key.
 */
export interface Vec4Reads {
  a: boolean;
  b: boolean;
  c: boolean;
}

export function vec4Reads(d: Pick<MatmulDims, 'M' | 'N' | 'K' | 'transA' | 'transB'>): Vec4Reads {
  return { a: (d.transA ? d.M : d.K) % 4 === 0, b: (d.transB ? d.K : d.N) % 4 === 0, c: d.N % 4 === 0 };
}

/**
 * One operand's staging code. The operand is stored as rows x cols (cols contiguous, `ld` apart)
 * and `along` says which stored axis is k; `width` is the tile's other extent (BM or BN).
 */
interface Operand {
  name: 'A' | 'B';
  shared: 'As' | 'Bs';
  /** Stored with k contiguous (A plain, B transposed): the slice is transposed into shared. */
  kContig: boolean;
  width: number;
  /** Tile origin along the non-k axis, its extent (WGSL expressions) and the row stride. */
  origin: string;
  extent: string;
  ld: string;
  vec4: boolean;
  /** A k-indexed scale array the slice is multiplied by on its way in (kContig operands only). */
  scale?: string;
  /** Stored as 16-bit pairs (`uploadHalf`), bound as vec2<u32>: 4 elements a read, unpacked on the way in (vec4 reads only). */
  half?: HalfKind;
  /** Sum each thread's squares of the (unscaled) elements it fetches, per unit (vec4 kContig only: an RMSNorm's rows). */
  squares?: boolean;
}

/**
 * Code that fetches this thread's part of a slice into registers `p{name}{q}` (k0 = slice start),
 * and code that stores them to workgroup memory (`stash(counted)`; k0 the same slice's start).
 * Vec4 reads hold the raw words until the store: the unpacking of 16-bit pairs, the scale and the
 * squares are done there, after the slice before is multiplied, so nothing waits on the load
 * before the multiply. `counted` (a WGSL bool) says whether the squares of this slice count: the
 * loop fetches its last slice twice rather than branch around the fetch.
 */
function fetchCode(o: Operand, v: TileVariant, T: number, K: string, kWhole: boolean): { decl: string; fetch: string; stash: (counted: string) => string; squares: string } {
  const units = (o.width * v.BK) / 4;
  const per = Math.ceil(units / T);
  const guard = units % T !== 0;
  // A unit: 4 consecutive elements along the contiguous axis. kContig: (w, kq) reads k..k+3 of
  // row w; else (k, wq) reads columns 4wq..4wq+3 of row k.
  const perRow = o.kContig ? v.BK / 4 : o.width / 4;
  if (o.squares && !(o.vec4 && o.kContig)) throw new Error('matmul: row sums of squares need A plain with vec4 reads');
  const rawType = o.vec4 && o.half ? 'vec2<u32>' : 'vec4<f32>';
  const decl: string[] = [];
  const fetch: string[] = [];
  const stashes: ((counted: string) => string)[] = [];
  const squares: string[] = [];
  for (let q = 0; q < per; q++) {
    const r = `p${o.name}${q}`;
    decl.push(`var ${r} = ${rawType}();`);
    const ss = `ss${o.name}${q}`;
    if (o.squares) decl.push(`var ${ss} = 0.0;`);
    const e = `(tid + ${q * T}u)`;
    const [row, col] = o.kContig ? [`(${o.origin} + ${e} / ${perRow}u)`, `(k0 + (${e} % ${perRow}u) * 4u)`] : [`(k0 + ${e} / ${perRow}u)`, `(${o.origin} + (${e} % ${perRow}u) * 4u)`];
    // The bounds a read is compared with. k's is left out when the slices tile K exactly (no slice
    // starts past K): in_proj with its norm 1.1-1.8% faster at 8192 rows on an H200. The other
    // extent's stays even where the tiles tile it: with it left out too, out_proj (N 768) ran 3%
    // slower there (BENCHMARKS, issue 16, twelfth session).
    const [rowLim, colLim] = o.kContig ? [o.extent, kWhole ? null : K] : [kWhole ? null : K, o.extent];
    const inside = (colOffset: string) => [rowLim === null ? null : `${row} < ${rowLim}`, colLim === null ? null : `${col}${colOffset} < ${colLim}`].filter((c) => c !== null).join(' && ');
    const guarded = (cond: string, then: string, otherwise = '') => (cond ? `if (${cond}) { ${then} }${otherwise ? ` else { ${otherwise} }` : ''}` : then);
    const at = `off${o.name} + ${row} * ${o.ld} + ${col}`;
    let body: string;
    // The value stored: vec4 reads unpack and scale here; scalar reads did so as they read.
    let value = r;
    let squared = (_counted: string) => '';
    if (o.vec4) {
      body = guarded(inside(''), `${r} = ${o.name}[(${at}) / 4u];`, `${r} = ${rawType}();`);
      const unpacked = o.half ? `vec4<f32>(${unpackPair(o.half, `${r}.x`).join(', ')}, ${unpackPair(o.half, `${r}.y`).join(', ')})` : r;
      value = o.scale ? `${unpacked} * ${o.scale}[(${col}) / 4u]` : unpacked;
      if (o.squares) squared = (counted) => `${ss} += select(0.0, dot(${unpacked}, ${unpacked}), ${counted});`;
    } else {
      const scaled = (j: number) => (o.scale ? ` * ${o.scale}[${col} + ${j}u]` : '');
      const lanes = [0, 1, 2, 3].map((j) => guarded(inside(` + ${j}u`), `${r}[${j}] = ${o.name}[${at} + ${j}u]${scaled(j)};`));
      body = `${r} = vec4<f32>(0.0);\n      ${lanes.join('\n      ')}`;
    }
    fetch.push(guard ? `if (${e} < ${units}u) {\n      ${body}\n    }` : `{\n      ${body}\n    }`);
    // Into shared [k][w/4] (vec4 over w): kContig scatters the 4 k values into 4 k-rows.
    const st = (counted: string) =>
      o.kContig
        ? `{ let w = ${e} / ${perRow}u; let k = (${e} % ${perRow}u) * 4u; let s = ${value};\n      ${[0, 1, 2, 3].map((j) => `${o.shared}[nxt][k + ${j}u][w / 4u][w % 4u] = s[${j}];`).join('\n      ')} ${squared(counted)} }`
        : `{ ${o.shared}[nxt][${e} / ${perRow}u][${e} % ${perRow}u] = ${value}; }`;
    stashes.push((counted) => (guard ? `if (${e} < ${units}u) ${st(counted)}` : st(counted)));
    // Unit e is (row e / perRow, k quarter e % perRow): its squares land in rowSq[e].
    if (o.squares) squares.push(guard ? `if (${e} < ${units}u) { rowSq[${e}] = ${ss}; }` : `rowSq[${e}] = ${ss};`);
  }
  return { decl: decl.join('\n  '), fetch: fetch.join('\n    '), stash: (counted) => stashes.map((f) => f(counted)).join('\n    '), squares: squares.join('\n  ') };
}

/** fusedLinear's epilogue inside an unsplit product (see `matmulRegTiledWgsl`). */
export interface TiledEpilogue {
  /** Scale each output row by 1/RMS of its A row (eps as given); A's columns are scaled by G. */
  rowNormEps?: number;
  /**
   * With `rowNormEps` and B stored [N, K]: G scales B's columns (k) as they are staged instead of
   * A's, the same products in another float32 order. On an H100 (kernel-time.mjs, in_proj at 8192
   * rows) the 64×128 tile took 1,402 µs with G on A and the squares summed, 1,224 with G on A
   * alone, 1,112 with the squares alone: the two together on A cost it most.
   */
  weightOnB?: boolean;
  /** Add R [M, N]. */
  residual?: boolean;
}

/**
 * Which sizes the kernel reads at run time (from a uniform at binding 3) instead of baking them in:
 * `rows` M only (unbatched products: prefill lengths vary, weights, hence N and K,
 * do not); `all` M, N, K and the batch's shape and strides (batched products, whose shapes vary
 * with the input: one pipeline per rank, not per shape, since each pipeline costs a compile).
 */
export type RuntimeDims = 'rows' | 'all';

/** The `Layout` uniform (codegen.ts) of `RuntimeDims`: M, N, K and the k-steps, then the batch dims with the A, B, C strides. */
export function runtimeDimsUniform(d: MatmulDims, v: TileVariant, mode: RuntimeDims): number[] {
  if (mode === 'rows') return layoutValues([d.M], [], []);
  return layoutValues([d.M, d.N, d.K, Math.ceil(d.K / v.BK)], d.batchShape, d.batchStrides);
}

/**
 * The kernel for one variant (see `RuntimeDims` for `mode`). `slicesPerSplit` > 0 (unbatched
 * only) splits K: workgroup_id.z takes that many BK slices from z·slicesPerSplit on and writes
 * its partial product to C's z-th [M, N] block, for `splitKReduceWgsl` to sum. Thin products
 * (batched decode: 8-128 rows) otherwise give a few dozen workgroups, each one dependent global
 * load after another through K. `scaleA` multiplies A's columns by G [K] (binding 4) as they are
 * staged: an RMSNorm's weight, whose per-row 1/RMS the split's sum applies (A plain only).
 * `halfB` reads a 16-bit B (`uploadHalf`: 16-bit pairs in u32) packed, unbatched with vec4 reads,
 * instead of the float32 copy the backend would unpack for the op. `fused` (unsplit, unbatched
 * only) is fusedLinear's epilogue in the product itself: with `rowNormEps` (and `scaleA`) each
 * output row is scaled by its A row's 1/RMS, from the squares the threads sum as they fetch A
 * (a workgroup fetches its rows' whole K); with `residual` R [M, N] (binding 4, or 5 after G)
 * is added.
 */
export function matmulRegTiledWgsl(d: MatmulDims, v: TileVariant, mode: RuntimeDims, slicesPerSplit = 0, scaleA = false, halfB: HalfKind | null = null, fused: TiledEpilogue = {}): string {
  const { transA, transB } = d;
  const { BM, BN, BK, TM, TN } = v;
  const TX = BN / TN;
  const TY = BM / TM;
  const T = TX * TY;
  if (v.warp && (TX % 8 !== 0 || TY % 4 !== 0)) throw new Error(`matmul tile ${variantName(v)}: the warp layout needs BN/TN a multiple of 8 and BM/TM of 4`);
  const all = mode === 'all';
  if (all && slicesPerSplit > 0) throw new Error('matmul: split K is for unbatched products (workgroup_id.z is the batch index otherwise)');
  if (scaleA && transA) throw new Error('matmul: a per-k scale of A needs A stored [M, K]');
  const rowNorm = fused.rowNormEps !== undefined;
  if ((rowNorm || fused.residual) && (slicesPerSplit > 0 || all)) throw new Error('matmul: a fused epilogue is for unsplit, unbatched products (a split applies it in its sum)');
  if (rowNorm && !scaleA) throw new Error("matmul: a row norm scales A's columns by its weight (scaleA)");
  const M = 'M';
  const N = all ? 'N' : `${d.N}u`;
  const K = all ? 'K' : `${d.K}u`;
  const nk = all ? 'lay.h3' : `${Math.ceil(d.K / BK)}u`;
  const split = slicesPerSplit > 0;
  const rank = d.batchShape.length;
  const vr = vec4Reads(d);
  const onB = rowNorm && fused.weightOnB === true;
  if (onB && !transB) throw new Error("matmul: the norm weight on B's columns needs B stored [N, K]");
  const a: Operand = { name: 'A', shared: 'As', kContig: !transA, width: BM, origin: 'm0', extent: M, ld: transA ? M : K, vec4: vr.a, ...(scaleA && !onB ? { scale: 'G' } : {}), squares: rowNorm };
  if (halfB && (!vr.b || rank > 0)) throw new Error('matmul: a 16-bit B is read packed only unbatched, 4 elements at a time');
  const b: Operand = { name: 'B', shared: 'Bs', kContig: transB, width: BN, origin: 'n0', extent: N, ld: transB ? K : N, vec4: vr.b, ...(halfB ? { half: halfB } : {}), ...(onB ? { scale: 'G' } : {}) };
  const kWhole = !all && d.K % BK === 0;
  const fa = fetchCode(a, v, T, K, kWhole);
  const fb = fetchCode(b, v, T, K, kWhole);
  const SA = rowVec4s(v, BM, a.kContig);
  const SB = rowVec4s(v, BN, b.kContig);
  const G = TM / 4;
  const H = TN / 4;
  const acc = (r: number, h: number) => `acc${r}_${h}`;
  const accDecl: string[] = [];
  for (let r = 0; r < TM; r++) for (let h = 0; h < H; h++) accDecl.push(`var ${acc(r, h)} = vec4<f32>(0.0);`);
  const comp = ['x', 'y', 'z', 'w'];
  // One k of the slice: TM/4 + TN/4 vec4 reads of shared, TM·TN/4 vec4 FMAs. `unroll` spells
  // out the BK steps (constant shared offsets; slow to compile on lavapipe), else a WGSL loop.
  const step = (k: string) => {
    const lines: string[] = [];
    for (let g = 0; g < G; g++) lines.push(`let a${g} = As[cur][${k}][${g * TY}u + ty];`);
    for (let h = 0; h < H; h++) lines.push(`let b${h} = Bs[cur][${k}][${h * TX}u + tx];`);
    for (let r = 0; r < TM; r++) {
      for (let h = 0; h < H; h++) lines.push(`${acc(r, h)} = fma(vec4<f32>(a${r >> 2}.${comp[r & 3]}), b${h}, ${acc(r, h)});`);
    }
    return lines.join('\n      ');
  };
  const inner = v.unroll
    ? Array.from({ length: BK }, (_, k) => `{\n      ${step(`${k}u`)}\n    }`).join('\n    ')
    : `for (var k = 0u; k < ${BK}u; k++) {\n      ${step('k')}\n    }`;
  const writes: string[] = [];
  // The row norm's factors: this thread's TM rows (local index lr), each summed over its units.
  const perRowA = BK / 4;
  const localRow = (r: number) => `${(r >> 2) * 4 * TY + (r & 3)}u + ty * 4u`;
  const norms = rowNorm
    ? [fa.squares, 'workgroupBarrier();', ...Array.from({ length: TM }, (_, r) => `let inv${r} = inverseSqrt((${Array.from({ length: perRowA }, (_, j) => `rowSq[(${localRow(r)}) * ${perRowA}u + ${j}u]`).join(' + ')}) / ${d.K}.0 + ${f32Lit(fused.rowNormEps!)});`)]
    : [];
  for (let r = 0; r < TM; r++) {
    const row = `m0 + ${localRow(r)}`;
    for (let h = 0; h < H; h++) {
      const col = `n0 + ${h * 4 * TX}u + tx * 4u`;
      const out = rowNorm ? `${acc(r, h)} * inv${r}` : acc(r, h);
      writes.push(
        vr.c
          ? `{ let row = ${row}; let col = ${col}; if (row < ${M} && col < ${N}) { let at = (offC + row * ${N} + col) / 4u; C[at] = ${out}${fused.residual ? ' + R[at]' : ''}; } }`
          : `{ let row = ${row}; let col = ${col}; if (row < ${M}) { let v = ${out}; for (var j = 0u; j < 4u; j++) { if (col + j < ${N}) { let at = offC + row * ${N} + col + j; C[at] = v[j]${fused.residual ? ' + R[at]' : ''}; } } } }`,
      );
    }
  }
  // One k-step of the loop: the next slice is fetched (the last one again on the last step, so
  // there is no branch around the fetch and the store; its second copy lands in the buffer no one
  // reads after the loop), the current one multiplied, the fetched one stored. The unrolled forms
  // of 8-deep slices take two steps an iteration, so that the buffer each reads (cur) and stores
  // (nxt) is a constant: in_proj with its norm at 8192 rows 1,059 → 1,002 µs on an H200
  // (BENCHMARKS, issue 16, nineteenth session). Lavapipe compiles such a kernel 3-4× as slowly (a
  // fresh clone's npm test: 23 min 30 s against 22 min 54 s with one step, within that machine's
  // noise). The loop forms keep one step (they lost 15-25% to the unrolled ones on the H200 either
  // way), as do 16-deep slices (32 steps spelled out: 2.5× the test's time on lavapipe, and no rule
  // picks them).
  const pairs = v.unroll && BK <= 8;
  const sliceStep = (c: number | null) => `{
    let ti = ${c === null ? 'tp' : `2u * tp + ${c}u`};
    let t = t0 + ti;
    if (t >= t1) { break; } // a loop Tint proves finite: no iteration counter (codegen.ts)
    let cur = ${c === null ? 'ti % 2u' : `${c}u`};
    let nxt = ${c === null ? '1u - cur' : `${1 - c}u`};
    let more = t + 1u < t1;
    let k0 = min(t + 1u, t1 - 1u) * ${BK}u;
    ${fa.fetch}
    ${fb.fetch}
    ${inner}
    ${fa.stash('more')}
    ${fb.stash('more')}
    workgroupBarrier();
  }`;
  const elem = (v4: boolean) => (v4 ? 'vec4<f32>' : 'f32');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<${elem(vr.a)}>;
@group(0) @binding(1) var<storage, read> B: array<${halfB ? 'vec2<u32>' : elem(vr.b)}>;
@group(0) @binding(2) var<storage, read_write> C: array<${elem(vr.c)}>;
${layoutDecl(3, all ? rank : 0)}
${scaleA ? `@group(0) @binding(4) var<storage, read> G: array<${elem(onB ? vr.b : vr.a)}>;` : ''}
${fused.residual ? `@group(0) @binding(${scaleA ? 5 : 4}) var<storage, read> R: array<${elem(vr.c)}>;` : ''}
${rowNorm ? `var<workgroup> rowSq: array<f32, ${rowNormSharedBytes(v) / 4}>; // [row][k quarter] of this workgroup's A rows` : ''}
var<workgroup> As: array<array<array<vec4<f32>, ${SA}>, ${BK}>, 2>; // [buffer][k][m/4]
var<workgroup> Bs: array<array<array<vec4<f32>, ${SB}>, ${BK}>, 2>; // [buffer][k][n/4]
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let M = lay.h0;
  ${all ? 'let N = lay.h1;\n  let K = lay.h2;' : ''}
  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${BN}u;
  ${
    v.warp
      ? `let tx = tid % 8u + 8u * ((tid / 32u) % ${TX / 8}u);
  let ty = (tid % 32u) / 8u + 4u * (tid / ${32 * (TX / 8)}u);`
      : `let tx = tid % ${TX}u;
  let ty = tid / ${TX}u;`
  }
  ${all ? layoutOffsets('wid.z', rank, 3) : offsets('wid.z', d.batchShape, d.batchStrides)}
  let offA = off0;
  let offB = off1;
  let offC = off2${split ? ` + wid.z * M * ${N}` : ''};
  ${accDecl.join('\n  ')}
  ${fa.decl}
  ${fb.decl}
  ${split ? `let t0 = wid.z * ${slicesPerSplit}u;
  let t1 = min(${nk}, t0 + ${slicesPerSplit}u);` : `let t0 = 0u;
  let t1 = ${nk};`}
  {
    let k0 = t0 * ${BK}u;
    ${fa.fetch}
    ${fb.fetch}
    let nxt = 0u;
    ${fa.stash('true')}
    ${fb.stash('true')}
  }
  workgroupBarrier();
  for (var tp = 0u; tp < ${Math.ceil((split ? slicesPerSplit : all ? 0xffffffff : Math.ceil(d.K / BK)) / (pairs ? 2 : 1))}u; tp++) {
    ${(pairs ? [0, 1] : [null]).map((c) => sliceStep(c)).join('\n    ')}
  }
  ${norms.join('\n  ')}
  ${writes.join('\n  ')}
}`;
}

