/** Why WebGPU cannot run here (no Dawn binary, no Vulkan driver such as lavapipe), or null. */
export async function webgpuUnavailable(): Promise<string | null> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  try {
    const { create } = await import('webgpu');
    const adapter = await create([]).requestAdapter();
    return adapter ? null : 'no WebGPU adapter: install a Vulkan driver (Mesa lavapipe on CPU-only machines)';
  } catch (err) {
    return `the webgpu package (Dawn) failed to load: ${err instanceof Error ? err.message : String(err)}`;
  }
}
