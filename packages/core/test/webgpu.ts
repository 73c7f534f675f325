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

/** Why WebGPU cannot run here (the backend's own BackendUnavailableError message), or null. */
export async function webgpuUnavailable(): Promise<string | null> {
  if (SKIP_WEBGPU) return SKIP_REASON;
  try {
    (await createWebGPUBackend({ name: 'webgpu-probe' })).dispose();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
