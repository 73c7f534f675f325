import type { Backend } from '@mamba3/tensor';
import { BackendUnavailableError, listBackends, setBackend, setBestBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';

/** Backend packages the CLI loads on demand (literal specifiers, so bundlers include them). */
const PACKAGES: Record<string, { pkg: string; load: () => Promise<unknown> }> = {
  webgpu: { pkg: '@mamba3/backend-webgpu', load: () => import('@mamba3/backend-webgpu') },
  tfjs: { pkg: '@mamba3/backend-tfjs', load: () => import('@mamba3/backend-tfjs') },
  wasm: { pkg: '@mamba3/backend-wasm', load: () => import('@mamba3/backend-wasm') },
};

async function registerOptional(name: string): Promise<void> {
  const entry = PACKAGES[name];
  if (!entry || listBackends().includes(name)) return;
  try {
    await entry.load();
  } catch (err) {
    throw new BackendUnavailableError(`the ${name} backend needs the package ${entry.pkg}, which could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Registers every optional backend whose package loads (for `mamba3 info`). */
export async function registerAll(): Promise<void> {
  for (const n of Object.keys(PACKAGES)) await registerOptional(n).catch(() => undefined);
}

/** Activates a backend by name; `auto` picks the best that starts (WebGPU, then tfjs, then CPU). */
export async function useBackendNamed(name = 'cpu'): Promise<Backend> {
  if (name === 'auto') {
    await registerAll();
    return setBestBackend();
  }
  await registerOptional(name);
  return setBackend(name);
}
