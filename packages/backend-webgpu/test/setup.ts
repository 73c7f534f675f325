import { BackendUnavailableError } from '@mamba3/tensor';
import type { WebGPUBackend, WebGPUBackendOptions } from '../src/index.js';
import { createWebGPUBackend } from '../src/index.js';

// Mesa's lavapipe (and Dawn) want a runtime dir; CI shells may not set one.
process.env.XDG_RUNTIME_DIR ??= '/tmp';

/** MAMBA3_SKIP_WEBGPU=1 turns "no adapter" from a failure into visibly skipped tests. */
export const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
export const SKIP_REASON = 'MAMBA3_SKIP_WEBGPU=1: no WebGPU adapter expected on this machine';
if (SKIP_WEBGPU) console.warn(`[backend-webgpu] skipping the GPU tests: ${SKIP_REASON}`);

/**
 * Creates a backend for a test file. Without an adapter this throws the
 * BackendUnavailableError (the tests fail with its message) unless skipping was asked for.
 */
export async function makeBackend(opts?: WebGPUBackendOptions): Promise<WebGPUBackend> {
  try {
    return await createWebGPUBackend(opts);
  } catch (err) {
    if (err instanceof BackendUnavailableError) err.message += ' (set MAMBA3_SKIP_WEBGPU=1 to skip the WebGPU tests instead)';
    throw err;
  }
}
