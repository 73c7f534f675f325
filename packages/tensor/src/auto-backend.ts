/**
 * The one rule for the `auto` backend, read by the CLI, the web demo and the bench: a hardware
 * WebGPU adapter first, then the fast CPU backends, then the CPU reference. A software WebGPU
 * adapter (Mesa's lavapipe/llvmpipe, SwiftShader) is passed over: for these models it is slower
 * than the CPU backends. TensorFlow.js is not in the order: on the machines measured its CPU and
 * wasm kernels are slower than ours (BENCHMARKS.md), so it runs only when asked for by name.
 */
import type { Backend } from './backend.js';
import { BackendUnavailableError } from './errors.js';
import { engine } from './engine.js';

/** Backend names `auto` tries, best first; names not registered are skipped (`wasm` when its package is absent). */
export const AUTO_BACKEND_ORDER: readonly string[] = ['webgpu', 'wasm', 'cpu'];

/** Adapter descriptions of software WebGPU implementations (`info.device`). */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|\bcpu\b/i;

/** Whether a backend runs WebGPU on a software adapter (lavapipe, SwiftShader). */
export function isSoftwareAdapter(backend: Backend): boolean {
  return SOFTWARE_ADAPTER.test(backend.info.device ?? '') && /webgpu/i.test(backend.name);
}

/** Why `auto` passed over a backend: not registered, could not start, or WebGPU on a software adapter. */
export interface SkippedBackend {
  name: string;
  kind: 'unregistered' | 'unavailable' | 'software';
  /** One line, for the user. */
  reason: string;
}

export interface AutoBackend {
  backend: Backend;
  /** One line saying why this backend was picked, for the user. */
  why: string;
  /** The better backends that were passed over, in order. */
  skipped: SkippedBackend[];
}

export interface AutoBackendOptions {
  /** Names to try, best first (default `AUTO_BACKEND_ORDER`). */
  order?: readonly string[];
  /**
   * Starts a backend by name, or gives `null` for a name it does not offer (default: the
   * registry's `initBackend`, `null` for names not registered). Apps that create backends
   * themselves (the web demo's worker) pass their own.
   */
  start?: (name: string) => Promise<Backend | null>;
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0];

async function startRegistered(name: string): Promise<Backend | null> {
  return engine.listBackends().includes(name) ? engine.initBackend(name) : null;
}

function describeSkips(skipped: readonly SkippedBackend[]): string {
  const seen = skipped.filter((s) => s.kind !== 'unregistered');
  if (seen.length) return seen.map((s) => `${s.name}: ${s.reason}`).join('; ');
  return skipped.length ? 'the backends before it in the auto order are not registered' : 'first in the auto order';
}

/**
 * The backend `auto` means here, started but not made active (see `setAutoBackend`). Only when
 * nothing else starts does a software WebGPU adapter serve.
 */
export async function resolveAutoBackend(opts: AutoBackendOptions = {}): Promise<AutoBackend> {
  const start = opts.start ?? startRegistered;
  const skipped: SkippedBackend[] = [];
  let software: Backend | null = null;
  for (const name of opts.order ?? AUTO_BACKEND_ORDER) {
    let backend: Backend | null;
    try {
      backend = await start(name);
    } catch (err) {
      skipped.push({ name, kind: 'unavailable', reason: firstLine(err) });
      continue;
    }
    if (!backend) {
      skipped.push({ name, kind: 'unregistered', reason: 'not registered (its package is not imported)' });
      continue;
    }
    if (isSoftwareAdapter(backend)) {
      software ??= backend;
      skipped.push({ name, kind: 'software', reason: `the only WebGPU adapter is a software one (${backend.info.device}), slower than the CPU backends` });
      continue;
    }
    const why = name === 'webgpu' ? 'a hardware WebGPU adapter is available' : describeSkips(skipped);
    return { backend, why, skipped };
  }
  if (software) return { backend: software, why: `only a software WebGPU adapter starts here (${describeSkips(skipped)})`, skipped };
  throw new BackendUnavailableError(`no backend could start for "auto": ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** `resolveAutoBackend`, then makes the picked backend active. */
export async function setAutoBackend(opts: AutoBackendOptions = {}): Promise<AutoBackend> {
  const picked = await resolveAutoBackend(opts);
  engine.useBackend(picked.backend);
  return picked;
}
