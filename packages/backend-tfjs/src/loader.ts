/*
 * Finding tfjs and a tfjs backend. Backend packages are loaded by name only when asked for (or
 * when none is registered), so importing this package never needs any of them, and the native
 * ones (tfjs-node, tfjs-node-gpu: they download TensorFlow's C library when installed) stay
 * optional. Specifiers are held in variables so bundlers do not try to resolve the packages a
 * browser build leaves out: there, import the backend package yourself.
 */
import { BackendUnavailableError } from '@mamba3/tensor';
import type { Tf } from './tf.js';

/** tfjs backend names this package knows how to load; any other registered name works too. */
export type KnownTfjsBackend = 'cpu' | 'wasm' | 'webgpu' | 'webgl' | 'tensorflow';

const PACKAGES: Record<KnownTfjsBackend, readonly string[]> = {
  cpu: ['@tensorflow/tfjs-backend-cpu'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  webgpu: ['@tensorflow/tfjs-backend-webgpu'],
  webgl: ['@tensorflow/tfjs-backend-webgl'],
  // tfjs-node-gpu first: whoever installed it wants CUDA.
  tensorflow: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
};

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

function message(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

function isMissing(err: unknown, specifier: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const text = message(err);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)|Failed to (load|resolve)/.test(text)) && text.includes(specifier);
}

async function importByName(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

/** The tfjs namespace: the one given, else the installed `@tensorflow/tfjs-core` (a peer dependency). */
export async function resolveTf(given: Tf | undefined): Promise<Tf> {
  if (given) return given;
  const specifier = '@tensorflow/tfjs-core';
  try {
    return (await importByName(specifier)) as Tf;
  } catch (err) {
    throw new BackendUnavailableError(
      `tfjs backend: could not load ${specifier} (${message(err)}); install it (npm i ${specifier}) or pass your tfjs namespace: createTfjsBackend({ tf })`,
    );
  }
}

/**
 * Node has no navigator.gpu: take it from the `webgpu` package (Dawn) when installed. It must be
 * in place before @tensorflow/tfjs-backend-webgpu is first imported, which registers its backend
 * only if navigator.gpu exists at that moment.
 */
async function provideNodeWebGPU(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!isNode() || g.navigator?.gpu) return;
  let mod: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    mod = (await importByName('webgpu')) as typeof mod;
  } catch (err) {
    throw new BackendUnavailableError(
      `tfjs backend "webgpu": Node has no navigator.gpu and the \`webgpu\` package (Dawn) could not be loaded (${message(err)}); npm i webgpu, or set globalThis.navigator.gpu yourself`,
    );
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  Object.assign(globalThis, mod.globals);
  // Node 20 has no global navigator; later versions have one without `gpu`.
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, writable: true, configurable: true });
  (g.navigator as { gpu?: unknown }).gpu = mod.create([]);
}

async function loadPackages(name: KnownTfjsBackend): Promise<string | null> {
  const reasons: string[] = [];
  for (const specifier of PACKAGES[name]) {
    try {
      await importByName(specifier);
      return null;
    } catch (err) {
      reasons.push(isMissing(err, specifier) ? `${specifier} is not installed` : `${specifier} failed to load: ${message(err)}`);
    }
  }
  return reasons.join('; ');
}

function installHint(name: KnownTfjsBackend): string {
  if (name === 'tensorflow') {
    return 'npm i @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu for CUDA); their install step downloads the native TensorFlow library, so it needs that download to be reachable';
  }
  if (name === 'webgpu') return 'npm i @tensorflow/tfjs-backend-webgpu (and, in Node, the `webgpu` package)';
  return `npm i ${PACKAGES[name][0]}`;
}

/** Makes sure the tfjs backend `name` is registered, loading its package when it is a known one. */
export async function ensureRegistered(tf: Tf, name: string): Promise<void> {
  if (tf.findBackendFactory(name)) return;
  if (!Object.hasOwn(PACKAGES, name)) {
    throw new BackendUnavailableError(`tfjs backend "${name}" is not registered; import its package before createTfjsBackend (known names: ${Object.keys(PACKAGES).join(', ')})`);
  }
  const known = name as KnownTfjsBackend;
  if (known === 'webgpu') await provideNodeWebGPU();
  const reason = await loadPackages(known);
  if (tf.findBackendFactory(name)) return;
  const why = reason ?? (known === 'webgpu' ? 'the package loaded but registered nothing: no navigator.gpu when it was first imported (import it after navigator.gpu is set, or let createTfjsBackend load it)' : 'the package loaded but registered nothing');
  throw new BackendUnavailableError(`tfjs backend "${name}" is unavailable: ${why}. To get it: ${installHint(known)}.`);
}

/** The backends to try, in order, when none is named and tfjs has none registered. */
export function defaultCandidates(): KnownTfjsBackend[] {
  return isNode() ? ['tensorflow', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
}
