/** See `RuntimeOptions.gemvLanes`. */
export type GemvLanes = 32 | 64 | 128 | 'auto';

/** See `RuntimeOptions.matmulTile`. */
export type MatmulTile = 64 | 128 | 'auto' | 'legacy' | (string & {});

/** What the runtime counts (see `WebGPUBackend.stats()`). */
export interface RuntimeStats {
  /** Bytes in buffers held by live tensors. */
  liveBytes: number;
  /** Bytes in free buffers kept for reuse. */
  pooledBytes: number;
  /** Compiled pipelines (one per kernel and baked constants). */
  pipelines: number;
  /** Command buffers submitted so far. */
  submits: number;
  /** Compute dispatches encoded so far. */
  dispatches: number;
  /** Buffer copies encoded so far (step-graph replays included). */
  copies: number;
  /** Dispatches encoded and not yet submitted. */
  pendingDispatches: number;
  /** Pipeline cache misses (compilations) and hits. */
  pipelineMisses: number;
  pipelineHits: number;
  /** Milliseconds spent creating pipelines (shader compilation). */
  compileMs: number;
  /** Bytes in caches derived from live tensors (packed mixer parameters). */
  cacheBytes: number;
  /** Bytes held by captured step graphs (their intermediates, outputs and donated inputs). */
  graphBytes: number;
  /** Dispatches encoded by replaying step graphs (also counted in `dispatches`). */
  replayedDispatches: number;
}

export interface RuntimeOptions {
  /** Submit once this many dispatches are queued (default 512); reads and `sync()` submit too. */
  maxBatchDispatches?: number;
  /**
   * While no readback is outstanding (the GPU may be idle), submit after this many dispatches,
   * then after twice as many more, and so on up to `maxBatchDispatches`, so the GPU starts on a
   * long forward while the host still encodes it (default `DEFAULT_KICK_DISPATCHES`; 0 turns it off).
   */
  kickDispatches?: number;
  /**
   * Output rows each thread of the decode GEMV computes for chunks of 8 or more batch rows
   * (batched decode): 1, 2 (default) or 4. Results are bit-identical; only the speed differs.
   */
  gemvRowsPerThread?: 1 | 2 | 4;
  /**
   * Lanes sharing one output row's K in the decode GEMV of a single row (batch-1 decode): 32,
   * 64, 128, or 'auto' (default: 128, and 32 for vocabulary-wide outputs and short rows; the
   * measured rule of `gemvShape`). Sums then split K in a different order, so results differ by
   * rounding between settings.
   */
  gemvLanes?: GemvLanes;
  /**
   * Most rows of an x·Wᵀ product (batched decode) that take the decode GEMV (default 16); more
   * rows take the register-tiled matmul, its K split over workgroups when the output alone gives
   * too few. Fused decode products (norm, residual) of up to 4 rows take the GEMV whatever it is.
   */
  gemvMaxRows?: number;
  /**
   * Workgroups the K split of a thin product aims for (default 528, four per SM of a 132-SM GPU):
   * products whose output tiles give fewer than 132 workgroups (batched decode) split K until
   * about this many run, each split keeping at least 4 BK slices and a power of two of them
   * (rounded up, so fewer splits may run).
   */
  splitKWorkgroups?: number;
  /**
   * Free bytes the pool keeps before it destroys released buffers (default 4 GiB: a 130M-class
   * MIMO prefill of 8192 tokens frees ~2 GB per layer for the next to reuse; a smaller pool makes
   * every layer create, and the implementation clear, its buffers anew). `trimPool()` empties it.
   */
  poolLimitBytes?: number;
  /** Do not use subgroup operations even where the device has them (for comparison and tests). */
  noSubgroups?: boolean;
  /**
   * Opt-in: keep f16 copies of matmul weights (B operands used more than once) and read them in
   * the matmul kernels, accumulating in f32; halves weight traffic (decode GEMVs). Only when the
   * adapter has `shader-f16` (see `features`); results then differ from float32 by f16 rounding
   * of the weights. Default off: float32 results are unchanged.
   */
  f16?: boolean;
  /**
   * `uploadHalf` (16-bit weights: a model loaded with dtype 'bfloat16' or 'float16') keeps
   * tensors of at least this many elements in 16 bits, smaller ones as float32 holding the same
   * rounded values (default 65536: norm, conv and per-head parameters, a negligible share of the
   * bytes, then need no unpack in the decode step). 0 packs every tensor.
   */
  halfMinElements?: number;
  /**
   * Tiling of the large matmuls: 'auto' (default: a register-tiled shape chosen by the output's
   * size), a register-tile variant by name ('128x128x16-8x8': BMxBNxBK-TMxTN, see
   * `MATMUL_TILE_VARIANTS`), or for comparison the earlier kernels: 64 / 128 (64x64 / 128x128
   * tiles) or 'legacy' (their choice by size).
   */
  matmulTile?: MatmulTile;
  /**
   * How each run of a step graph copies a collected output into its log (`collect`) and a row
   * written ahead into its input (`writeAhead`): 'dispatch', a copy kernel inside the compute pass,
   * or 'copy', a buffer copy, which ends the pass (default `DEFAULT_GRAPH_COPIES`).
   */
  graphCopies?: GraphCopies;
}

/** See `RuntimeOptions.graphCopies`. */
export type GraphCopies = 'dispatch' | 'copy';

/**
 * See `RuntimeOptions.graphCopies`. On two H200s (BENCHMARKS.md, issue 16, seventeenth session;
 * two backends in one process, 20 rounds of alternating order), copy dispatches took 4.4-8.4 µs
 * off the GPU time of a greedy 130M step, and within rounds ran the greedy graph a median 5.3%
 * (bf16) and 2.3% (f32) faster, greedy `generate` 4.4% and 3.5%, sampled `generate` 1.3% and 0.9%.
 */
export const DEFAULT_GRAPH_COPIES: GraphCopies = 'dispatch';

/**
 * The first early submit of a burst of work (`RuntimeOptions.kickDispatches`). On an H200 host, 16
 * beat 32 in both orders of two runs: 512-token prefill 3.7-11.5% more tokens/s, 2048-token 0.8-3.9%
 * (SISO and Mamba-2 130M; BENCHMARKS.md, ninth session); 8 did about as well.
 */
export const DEFAULT_KICK_DISPATCHES = 16;
