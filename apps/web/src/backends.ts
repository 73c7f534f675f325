/**
 * Backend creation inside the worker, with the fallback the page reports. Backend packages are
 * imported lazily so the page downloads TensorFlow.js only when someone asks for it.
 */
import type { Backend } from '@mamba3/tensor';
import { isSoftwareAdapter, resolveAutoBackend } from '@mamba3/tensor';
import type { BackendChoice, FallbackNotice, TfjsFlavor } from './protocol.js';

/** A created backend is kept for the worker's lifetime: a WebGPU device or a wasm module is costly to start. */
const cache = new Map<string, Promise<Backend>>();

function cached(key: string, create: () => Promise<Backend>): Promise<Backend> {
  let p = cache.get(key);
  if (!p) {
    p = create();
    // A failed start may succeed later (another tab released the GPU): do not cache failures.
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function createWebGPU(): Promise<Backend> {
  const { createWebGPUBackend } = await import('@mamba3/backend-webgpu');
  // The backend leaves out fused kernels the device cannot bind (SwiftShader allows 10 storage buffers per stage).
  return createWebGPUBackend({ powerPreference: 'high-performance' });
}

/**
 * Our WebAssembly SIMD backend: threads (Web Workers sharing the memory) only where the page is
 * cross-origin isolated, one thread elsewhere (the package decides from `crossOriginIsolated`).
 */
async function createWasm(): Promise<Backend> {
  const { createWasmBackend } = await import('@mamba3/backend-wasm');
  return createWasmBackend();
}

async function createCpu(): Promise<Backend> {
  const { createCpuBackend } = await import('@mamba3/backend-cpu');
  return createCpuBackend();
}

/** Registers the tfjs backend package `flavor` with tfjs-core (wasm also needs its binaries' URLs). */
async function loadTfjsFlavor(flavor: TfjsFlavor): Promise<void> {
  if (flavor === 'wasm') {
    const [wasm, urls] = await Promise.all([import('@tensorflow/tfjs-backend-wasm'), import('./wasm-urls.js')]);
    wasm.setWasmPaths(urls.TFJS_WASM_URLS);
  } else if (flavor === 'webgl') {
    await import('@tensorflow/tfjs-backend-webgl');
  } else {
    await import('@tensorflow/tfjs-backend-cpu');
  }
}

async function createTfjs(flavor: TfjsFlavor): Promise<Backend> {
  const [tf, { createTfjsBackend }] = await Promise.all([import('@tensorflow/tfjs-core'), import('@mamba3/backend-tfjs')]);
  await loadTfjsFlavor(flavor);
  return createTfjsBackend({ tf, tfjsBackend: flavor, name: 'tfjs' });
}

function backendFor(name: 'webgpu' | 'wasm' | 'tfjs' | 'cpu', flavor: TfjsFlavor): Promise<Backend> {
  if (name === 'webgpu') return cached('webgpu', createWebGPU);
  if (name === 'wasm') return cached('wasm', createWasm);
  if (name === 'tfjs') return cached(`tfjs-${flavor}`, () => createTfjs(flavor));
  return cached('cpu', createCpu);
}

/** First line of an error, without the backend's Node install hints (they are for Node users). */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text
    .split('\n')[0]
    .replace(/^webgpu: /, '')
    .replace(/\s*In Node, .*?(?=In a browser|$)/s, ' ')
    .trim();
}

export interface PickedBackend {
  backend: Backend;
  fallback: FallbackNotice | null;
  /** Set when WebGPU was chosen by name and the adapter is a software one: it runs, slowly. */
  warning?: string;
}

/** The CPU backend, which always starts, standing in for the one that did not. */
async function cpuInstead(wanted: BackendChoice, kind: FallbackNotice['kind'], reason: string): Promise<PickedBackend> {
  return { backend: await backendFor('cpu', 'cpu'), fallback: { wanted, kind, reason, usedInstead: 'cpu' } };
}

/**
 * Auto follows @mamba3/tensor's one rule (`resolveAutoBackend`): WebGPU on a hardware adapter,
 * else WebAssembly, else the CPU backend (a software adapter such as SwiftShader is slower). The
 * notice says why WebGPU was not used.
 */
async function pickAuto(): Promise<PickedBackend> {
  const { backend, skipped } = await resolveAutoBackend({
    start: async (name) => (name === 'webgpu' || name === 'wasm' || name === 'cpu' ? backendFor(name, 'cpu') : null),
  });
  const gpu = skipped.find((s) => s.name === 'webgpu');
  if (backend.name === 'webgpu' || !gpu) return { backend, fallback: null };
  const kind = gpu.kind === 'software' ? 'software' : 'unavailable';
  return { backend, fallback: { wanted: 'auto', kind, reason: reasonOf(gpu.reason), usedInstead: backend.name } };
}

/**
 * The backend for a choice. A backend asked for by name that cannot start falls back to the
 * CPU backend, with the reason.
 */
export async function pickBackend(choice: BackendChoice, flavor: TfjsFlavor): Promise<PickedBackend> {
  if (choice === 'auto') return pickAuto();
  if (choice === 'cpu') return { backend: await backendFor('cpu', flavor), fallback: null };
  let backend: Backend;
  try {
    backend = await backendFor(choice, flavor);
  } catch (err) {
    return cpuInstead(choice, 'unavailable', reasonOf(err));
  }
  // Chosen by name, a software WebGPU adapter runs, but the page says it will be slow.
  if (choice === 'webgpu' && isSoftwareAdapter(backend)) {
    const device = backend.info.device ?? 'software adapter';
    return { backend, fallback: null, warning: `This WebGPU adapter is a software one (${device}): it emulates a GPU on the processor and will be slow, often slower than the CPU backend.` };
  }
  return { backend, fallback: null };
}
