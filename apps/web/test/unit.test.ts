import { describe, expect, it } from 'vitest';
import { fallbackMessage, finishMessage, formatBytes, formatMemory, formatRate, progressText } from '../src/format.js';
import { parseSettings } from '../src/settings.js';

describe('parseSettings', () => {
  it('accepts the defaults and greedy decoding', () => {
    expect(parseSettings({ temperature: '0.8', topP: '0.95', maxNewTokens: '300', seed: '' })).toEqual({ ok: true, value: { temperature: 0.8, topP: 0.95, maxNewTokens: 300 } });
    expect(parseSettings({ temperature: '0', topP: '1', maxNewTokens: '1', seed: '42' })).toEqual({ ok: true, value: { temperature: 0, topP: 1, maxNewTokens: 1, seed: 42 } });
  });

  it.each([
    [{ temperature: '', topP: '0.9', maxNewTokens: '10', seed: '' }, /Temperature/],
    [{ temperature: '-1', topP: '0.9', maxNewTokens: '10', seed: '' }, /Temperature/],
    [{ temperature: '9', topP: '0.9', maxNewTokens: '10', seed: '' }, /Temperature must be a number from 0 to 5/],
    [{ temperature: '1', topP: '0', maxNewTokens: '10', seed: '' }, /Top-p/],
    [{ temperature: '1', topP: '1.5', maxNewTokens: '10', seed: '' }, /Top-p/],
    [{ temperature: '1', topP: '0.9', maxNewTokens: '2.5', seed: '' }, /Max tokens/],
    [{ temperature: '1', topP: '0.9', maxNewTokens: '0', seed: '' }, /Max tokens/],
    [{ temperature: '1', topP: '0.9', maxNewTokens: '100000', seed: '' }, /Max tokens/],
    [{ temperature: '1', topP: '0.9', maxNewTokens: '10', seed: '-3' }, /Seed/],
    [{ temperature: '1', topP: '0.9', maxNewTokens: '10', seed: '1.5' }, /Seed/],
  ])('rejects %o', (raw, message) => {
    const parsed = parseSettings(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('format', () => {
  it('shows a mid-file rate only after 50 ms, and a finished file its average however fast it came', () => {
    const base = { file: 'model.safetensors', total: 2048, verb: 'Downloading' };
    expect(progressText({ ...base, loaded: 1024, seconds: 0.01 })).toBe('Downloading model.safetensors: 1.00 KiB of 2.00 KiB (50%)');
    expect(progressText({ ...base, loaded: 2048, seconds: 0.002 })).toBe('Downloading model.safetensors: 2.00 KiB of 2.00 KiB (100%), 1000.0 KiB/s');
    expect(progressText({ ...base, loaded: 2048, seconds: 0 })).toBe('Downloading model.safetensors: 2.00 KiB of 2.00 KiB (100%)');
  });
  it('formats bytes, rates and memory', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(7 * 1024 * 1024)).toBe('7.00 MiB');
    expect(formatRate(2.345)).toBe('2.35 tokens/s');
    expect(formatRate(71.66)).toBe('71.7 tokens/s');
    expect(formatMemory({ numTensors: 39, bytes: { cpu: 0, webgpu: 2048 }, backendBytes: 4096 })).toBe('39 live tensors, 2.00 KiB on webgpu (backend holds 4.00 KiB)');
  });

  it('says why WebGPU was not used and what runs instead', () => {
    const unavailable = fallbackMessage({ wanted: 'auto', kind: 'unavailable', reason: 'no WebGPU adapter is available', usedInstead: 'cpu' }, 'wasm');
    expect(unavailable).toBe('WebGPU is not available in this browser, so the demo fell back to the CPU backend. Why: no WebGPU adapter is available.');
    const tfjs = fallbackMessage({ wanted: 'tfjs', kind: 'unavailable', reason: 'no WebGL', usedInstead: 'cpu' }, 'webgl');
    expect(tfjs).toMatch(/^TensorFlow\.js \(webgl\) is not available/);
    const software = fallbackMessage({ wanted: 'auto', kind: 'software', reason: 'the only WebGPU adapter here is a software one (swiftshader)', usedInstead: 'cpu' }, 'wasm');
    expect(software).toMatch(/^Auto chose the CPU backend: .*swiftshader.*Choose WebGPU/);
  });

  it('describes how a generation ended', () => {
    expect(finishMessage('abort', 12, 1.234)).toBe('Stopped: 12 tokens in 1.23 s');
    expect(finishMessage('length', 20, 2)).toMatch(/^Done \(max tokens reached\)/);
  });
});
