import type { Backend } from '@mamba3/tensor';
import { BackendUnavailableError, listBackends, setAutoBackend, setBackend } from '@mamba3/tensor';
import type { AutoBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';

/** Backend packages the CLI loads on demand (literal specifiers, so bundlers include them). */
const PACKAGES: Record<string, { pkg: string; load: () => Promise<unknown> }> = {
  webgpu: { pkg: '@mamba3/backend-webgpu', load: () => import('@mamba3/backend-webgpu') },
  tfjs: { pkg: '@mamba3/backend-tfjs', load: () => import('@mamba3/backend-tfjs') },
  wasm: { pkg: '@mamba3/backend-wasm', load: () => import('@mamba3/backend-wasm') },
};

async function registerOptional(name: string): Promise<void> {
  const entry = Object.hasOwn(PACKAGES, name) ? PACKAGES[name] : undefined;
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

/** Activates a backend by name and says why; `auto` follows @mamba3/tensor's one rule (`setAutoBackend`). */
export async function pickBackendNamed(name = 'cpu'): Promise<Pick<AutoBackend, 'backend' | 'why'>> {
  if (name === 'auto') {
    await registerAll();
    return setAutoBackend();
  }
  await registerOptional(name);
  return { backend: await setBackend(name), why: 'as requested' };
}

/** Activates a backend by name (`auto`: see `pickBackendNamed`). */
export async function useBackendNamed(name = 'cpu'): Promise<Backend> {
  return (await pickBackendNamed(name)).backend;
}
