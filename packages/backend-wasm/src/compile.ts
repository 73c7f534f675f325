/**
 * Compiling the kernel module with the optimizing tier up front where the platform lets us.
 *
 * V8 compiles WebAssembly with its baseline compiler (Liftoff) first and recompiles a function
 * with TurboFan only after it has run for a while; Liftoff's SIMD code is several times slower.
 * A short run (the CLI demo's 400 tokens) spends much of itself in the baseline code: measured on
 * the 2-core machine, the first 50 decode steps of the default model took ~6 ms each instead of
 * ~0.35 ms. Node exposes V8's flags (`v8.setFlagsFromString`): compiling this module with
 * Liftoff off makes TurboFan compile every function at once (~10-20 ms for this 43 kB module,
 * on background threads). Browsers offer no such switch (their compile-hints proposals are not
 * shipped), so there the engine's own tiering applies.
 */

/** What `compileKernels` did, for the backend's info line and tests. */
export type CompileTier = 'optimizing' | 'engine default';

interface V8Flags {
  setFlagsFromString(flags: string): void;
}

/** `node:v8` in Node, null elsewhere (or where the module cannot load). */
async function nodeV8(): Promise<V8Flags | null> {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  if (!g.process?.versions?.node) return null;
  try {
    const spec = 'node:v8';
    return (await import(/* @vite-ignore */ spec)) as V8Flags;
  } catch {
    return null;
  }
}

/**
 * Compiles `bytes`; in Node with the baseline tier off for this one compilation (the flag is
 * put back as soon as the compilation has finished, so other modules keep V8's default).
 * `optimizing: false` leaves the engine's default tiering (for comparison).
 */
export async function compileKernels(bytes: Uint8Array<ArrayBuffer>, optimizing = true): Promise<{ module: WebAssembly.Module; tier: CompileTier }> {
  const v8 = optimizing ? await nodeV8() : null;
  // A process started with Liftoff off (or only Liftoff) keeps its choice.
  const chosen = (globalThis as { process?: { execArgv?: string[] } }).process?.execArgv?.some((a) => /^--(no-)?liftoff/.test(a)) ?? false;
  if (!v8 || chosen) return { module: await WebAssembly.compile(bytes), tier: 'engine default' };
  v8.setFlagsFromString('--no-liftoff --no-wasm-lazy-compilation');
  try {
    return { module: await WebAssembly.compile(bytes), tier: 'optimizing' };
  } finally {
    v8.setFlagsFromString('--liftoff --wasm-lazy-compilation');
  }
}
