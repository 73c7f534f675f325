/**
 * Registers every backend package the suites measure (importing a backend registers it; none
 * touches a device until `setBackend`).
 */
export async function loadBackends(): Promise<void> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  await import('@mamba3/backend-cpu');
  await import('@mamba3/backend-webgpu');
  await import('@mamba3/backend-tfjs');
}
