import type { WeightDType } from '@mamba3/model';

const DTYPE_SUFFIXES: Readonly<Record<string, WeightDType>> = { '-bf16': 'bfloat16', '-f16': 'float16' };

/** The weight dtype a backend name asks for (`webgpu-bf16`: bfloat16), if any. */
export function weightDTypeOf(backend: string): WeightDType | undefined {
  for (const [suffix, dtype] of Object.entries(DTYPE_SUFFIXES)) if (backend.endsWith(suffix)) return dtype;
  return undefined;
}

/**
 * Registers every backend package the suites measure (importing a backend registers it; none
 * touches a device until `setBackend`).
 */
export async function loadBackends(): Promise<void> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  await import('@mamba3/backend-cpu');
  const webgpu = await import('@mamba3/backend-webgpu');
  const { listBackends, registerBackend } = await import('@mamba3/tensor');
  const { useLegacyScanKernels, useStoredBC } = await import('@mamba3/core');
  type WebGPUOptions = NonNullable<Parameters<typeof webgpu.createWebGPUBackend>[0]>;
  /** A WebGPU instance named `name` with `opts` (and `then` applied to it), once. */
  const variant = (name: string, opts: Omit<WebGPUOptions, 'name'> = {}, then?: (be: Awaited<ReturnType<typeof webgpu.createWebGPUBackend>>) => void) => {
    if (listBackends().includes(name)) return;
    registerBackend(name, async () => {
      const be = await webgpu.createWebGPUBackend({ name, ...opts });
      then?.(be);
      return be;
    }, 0);
  };
  // WebGPU instances under the names of the weight dtypes the model suite loads on them
  // (`weightDTypeOf`): 16-bit weights on the device, unpacked in the shaders.
  for (const s of Object.keys(DTYPE_SUFFIXES)) variant(`webgpu${s}`);
  // The earlier matmul kernels ('legacy'), and any register-tile variants named in
  // MAMBA3_MATMUL_TILES (comma list), for side-by-side model runs (tools/gpu/matmul-sweep.sh).
  for (const tile of ['legacy', ...(process.env.MAMBA3_MATMUL_TILES?.split(',').filter(Boolean) ?? [])]) variant(`webgpu-mm-${tile}`, { matmulTile: tile });
  // The decode GEMV with 1 or 4 output rows per thread for batched chunks (default 2), for
  // batched-decode comparisons (tools/gpu/prefill-host.sh).
  for (const t of [1, 4] as const) variant(`webgpu-gemv${t}`, { gemvRowsPerThread: t });
  // Batch 1's decode GEMVs at 32, 64 or 128 lanes an output row (gemvLanes; default 'auto'),
  // f32 or bf16 weights (tools/gpu/compare.sh `lanes`).
  for (const lanes of [32, 64, 128] as const) for (const suffix of ['', '-bf16']) variant(`webgpu-lanes${lanes}${suffix}`, { gemvLanes: lanes });
  // Batched decode rows above 4, 16 (the default) or 128 through the tiled matmul (K split)
  // instead of the decode GEMV (gemvMaxRows), with float32 or bfloat16 weights, for
  // batched-decode comparisons (tools/gpu/tiles-batch.sh, compare.sh).
  for (const rows of [4, 16, 128] as const) for (const suffix of ['', '-bf16']) variant(`webgpu-gemvmax${rows}${suffix}`, { gemvMaxRows: rows });
  // Dawn toggles (tools/gpu/compare.sh `dawn`): WebGPU validation off (does it cost host time
  // per dispatch?), and timestamps quantized to 65.5 µs as Dawn does by default (not in Node here).
  variant('webgpu-novalidation', { dawnFlags: [...webgpu.DEFAULT_DAWN_FLAGS, 'enable-dawn-features=skip_validation'] });
  variant('webgpu-quantized-ts', { dawnFlags: [] });
  // Thin products (batched decode) with their K split aimed at 264 or 1056 workgroups (default 528).
  for (const wg of [264, 1056] as const) variant(`webgpu-splitk${wg}`, { splitKWorkgroups: wg });
  // Dawn's robustness transform off (tools/gpu/compare.sh `robust`): no clamping of the shaders'
  // buffer and array indices. Exact, but an out-of-bounds access is then undefined behaviour.
  variant('webgpu-norobust', { dawnFlags: [...webgpu.DEFAULT_DAWN_FLAGS, 'enable-dawn-features=disable_robustness'] });
  // Dawn's zero-initialization of workgroup memory at each workgroup's start off (compare.sh
  // `noinit`): what it costs. Exact only for kernels that write workgroup memory before reading it.
  variant('webgpu-noinit', { dawnFlags: [...webgpu.DEFAULT_DAWN_FLAGS, 'enable-dawn-features=disable_workgroup_init'] });
  // The same zero-initialization done by the Vulkan driver (VK_KHR_zero_initialize_workgroup_memory)
  // instead of by code Dawn adds to each shader: exact either way.
  variant('webgpu-wginit-ext', { dawnFlags: [...webgpu.DEFAULT_DAWN_FLAGS, 'enable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension'] });
  // Every shader's WGSL and SPIR-V on stdout (Dawn's dump_shaders), for tools/gpu/clamps.mjs to
  // count the index clamps that the robustness transform adds.
  variant('webgpu-dump', { dawnFlags: [...webgpu.DEFAULT_DAWN_FLAGS, 'enable-dawn-features=dump_shaders'] });
  // No early submits (kickDispatches 0): the runtime's submission before issue 16; and the first
  // early submit after 8 or 16 dispatches instead of 32 (short prefills, whose host encode the GPU waits on).
  variant('webgpu-nokick', { kickDispatches: 0 });
  for (const kick of [8, 16] as const) variant(`webgpu-kick${kick}`, { kickDispatches: kick });
  // The earlier scalar chunked-scan kernels, for before/after model runs (tools/gpu/scan-kernels.sh).
  variant('webgpu-scan-legacy', {}, useLegacyScanKernels);
  // B̃ and C̃ stored by the mixer's prep kernel instead of formed in the scan kernels (tools/gpu/bc-source.sh).
  variant('webgpu-bc-stored', {}, useStoredBC);
  await import('@mamba3/backend-tfjs');
  await import('@mamba3/backend-wasm');
}

/** Names of the registered backends that initialise on this machine. */
export async function availableBackends(): Promise<string[]> {
  await loadBackends();
  const { initBackend, listBackends } = await import('@mamba3/tensor');
  const ok: string[] = [];
  for (const name of listBackends()) {
    try {
      await initBackend(name);
      ok.push(name);
    } catch {
      // Not available here (no adapter, no tfjs backend): measured elsewhere.
    }
  }
  return ok;
}

/** `--backend auto` means what it means in the CLI and the web demo: @mamba3/tensor's `resolveAutoBackend`. */
export async function resolveBackendNames(names: readonly string[]): Promise<string[]> {
  if (!names.includes('auto')) return [...names];
  await loadBackends();
  const { resolveAutoBackend } = await import('@mamba3/tensor');
  const { backend, why } = await resolveAutoBackend();
  console.log(`auto: ${backend.name} (${why})`);
  return [...new Set(names.map((n) => (n === 'auto' ? backend.name : n)))];
}
