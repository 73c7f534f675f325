import type { WebGPUBackend, WebGPUBackendOptions } from '@mamba3/backend-webgpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';

// Mesa's lavapipe (and Dawn) want a runtime dir; CI shells may not set one.
process.env.XDG_RUNTIME_DIR ??= '/tmp';

/** MAMBA3_SKIP_WEBGPU=1 turns "no adapter" from a failure into visibly skipped tests. */
export const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
export const SKIP_REASON = 'MAMBA3_SKIP_WEBGPU=1: no WebGPU adapter expected on this machine';

/** The core kernels' WebGPU tests run on a fresh backend per file. */
export function makeBackend(opts?: WebGPUBackendOptions): Promise<WebGPUBackend> {
  return createWebGPUBackend(opts);
}

/** Why WebGPU cannot run here (no Dawn binary, no Vulkan driver such as lavapipe), or null. */
export async function webgpuUnavailable(): Promise<string | null> {
  if (SKIP_WEBGPU) return SKIP_REASON;
  try {
    const { create } = await import('webgpu');
    const adapter = await create([]).requestAdapter();
    return adapter ? null : 'no WebGPU adapter: install a Vulkan driver (Mesa lavapipe on CPU-only machines)';
  } catch (err) {
    return `the webgpu package (Dawn) failed to load: ${err instanceof Error ? err.message : String(err)}`;
  }
}
