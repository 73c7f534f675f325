import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/index.js';
import { AUTO_BACKEND_ORDER, BackendUnavailableError, getBackend, registerBackend, resolveAutoBackend, setAutoBackend } from '../src/index.js';
import { createReferenceBackend } from '../src/testing/reference.js';

/** A reference backend that reports `device` as its adapter. */
function fake(name: string, device: string): Backend {
  const b = createReferenceBackend(name);
  return { ...b, info: { ...b.info, device } };
}

const LAVAPIPE = 'mesa software llvmpipe-llvm-15-0-6-256-bits- llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)';
const SWIFTSHADER = 'google swiftshader';

/** A `start` that offers `available`, throws for `failing`, and has nothing else. */
function starter(available: Record<string, Backend>, failing: Record<string, string> = {}) {
  const started: string[] = [];
  const start = async (name: string): Promise<Backend | null> => {
    started.push(name);
    if (failing[name]) throw new BackendUnavailableError(`${failing[name]}\nsecond line`);
    return available[name] ?? null;
  };
  return { start, started };
}

describe('auto backend', () => {
  it('orders hardware WebGPU, then the fast CPU backend, then the reference CPU backend', () => {
    expect(AUTO_BACKEND_ORDER).toEqual(['webgpu', 'wasm', 'cpu']);
  });

  it('takes WebGPU on a hardware adapter', async () => {
    const gpu = fake('webgpu', 'nvidia hopper H100');
    const { start, started } = starter({ webgpu: gpu, cpu: fake('cpu', 'JavaScript') });
    const picked = await resolveAutoBackend({ start });
    expect(picked.backend).toBe(gpu);
    expect(picked.why).toMatch(/hardware WebGPU/);
    expect(started).toEqual(['webgpu']);
  });

  it.each([LAVAPIPE, SWIFTSHADER])('passes over a software adapter (%s) for the CPU backend', async (device) => {
    const cpu = fake('cpu', 'JavaScript (typed arrays)');
    const { start } = starter({ webgpu: fake('webgpu', device), cpu });
    const picked = await resolveAutoBackend({ start });
    expect(picked.backend).toBe(cpu);
    expect(picked.skipped.map((s) => [s.name, s.kind])).toEqual([['webgpu', 'software'], ['wasm', 'unregistered']]);
    expect(picked.why).toContain('is a software one');
  });

  it('prefers a registered wasm backend to the reference CPU backend', async () => {
    const wasm = fake('wasm', 'WebAssembly SIMD');
    const { start } = starter({ wasm, cpu: fake('cpu', 'JavaScript') }, { webgpu: 'no WebGPU adapter' });
    const picked = await resolveAutoBackend({ start });
    expect(picked.backend).toBe(wasm);
    expect(picked.skipped).toEqual([{ name: 'webgpu', kind: 'unavailable', reason: 'no WebGPU adapter' }]);
    expect(picked.why).toBe('webgpu: no WebGPU adapter');
  });

  it('falls back to a software adapter only when nothing else starts', async () => {
    const gpu = fake('webgpu', LAVAPIPE);
    const { start } = starter({ webgpu: gpu }, { cpu: 'broken' });
    const picked = await resolveAutoBackend({ start });
    expect(picked.backend).toBe(gpu);
    expect(picked.why).toMatch(/only a software WebGPU adapter/);
  });

  it('names every reason when nothing starts', async () => {
    const { start } = starter({}, { webgpu: 'no adapter', cpu: 'broken' });
    await expect(resolveAutoBackend({ start })).rejects.toThrow(/webgpu: no adapter; wasm: not registered.*; cpu: broken/);
  });

  it('reads the registry by default, skipping names not registered, and setAutoBackend activates', async () => {
    registerBackend('auto-test-cpu', () => fake('auto-test-cpu', 'JavaScript'));
    const picked = await setAutoBackend({ order: ['auto-test-missing', 'auto-test-cpu'] });
    expect(picked.backend.name).toBe('auto-test-cpu');
    expect(picked.skipped).toEqual([{ name: 'auto-test-missing', kind: 'unregistered', reason: expect.stringMatching(/not registered/) }]);
    expect(getBackend()).toBe(picked.backend);
  });
});
