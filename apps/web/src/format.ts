/** Text for the status line and the notices: pure functions, unit-tested in Node. */
import type { BackendChoice, FallbackNotice, MemoryReport } from './protocol.js';

const BACKEND_NAMES: Record<string, string> = {
  webgpu: 'WebGPU',
  wasm: 'WebAssembly',
  tfjs: 'TensorFlow.js',
  cpu: 'CPU',
};

/** A backend's short name for the status line (`WebGPU`). */
export function backendLabel(name: string): string {
  return BACKEND_NAMES[name] ?? name;
}

/** A backend's name inside a sentence (`the CPU backend`). */
function backendInSentence(name: string): string {
  return name === 'cpu' ? 'the CPU backend' : name === 'wasm' ? 'the WebAssembly backend' : backendLabel(name);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatMemory(m: MemoryReport): string {
  const perBackend = Object.entries(m.bytes)
    .filter(([, bytes]) => bytes > 0)
    .map(([name, bytes]) => `${formatBytes(bytes)} on ${name}`);
  const own = m.backendBytes !== undefined ? ` (backend holds ${formatBytes(m.backendBytes)})` : '';
  return `${m.numTensors} live tensors${perBackend.length ? `, ${perBackend.join(', ')}` : ''}${own}`;
}

export function formatRate(tokensPerSecond: number): string {
  return `${tokensPerSecond.toFixed(tokensPerSecond < 10 ? 2 : 1)} tokens/s`;
}

function wantedLabel(wanted: BackendChoice, flavor: string): string {
  return wanted === 'tfjs' ? `TensorFlow.js (${flavor})` : wanted === 'wasm' ? 'WebAssembly' : 'WebGPU';
}

/** The notice shown when the backend in use is not the one asked for (or, for Auto, not WebGPU). */
export function fallbackMessage(f: FallbackNotice, tfjsFlavor: string): string {
  const instead = backendInSentence(f.usedInstead);
  if (f.kind === 'software') return `Auto chose ${instead}: ${f.reason}. Choose WebGPU to run on that adapter anyway.`;
  const reason = /[.!?]$/.test(f.reason) ? f.reason : `${f.reason}.`;
  return `${wantedLabel(f.wanted, tfjsFlavor)} is not available in this browser, so the demo fell back to ${instead}. Why: ${reason}`;
}

export function finishMessage(reason: 'stop' | 'length' | 'abort', tokens: number, seconds: number): string {
  const what = reason === 'abort' ? 'Stopped' : reason === 'length' ? 'Done (max tokens reached)' : 'Done (end of text)';
  return `${what}: ${tokens} tokens in ${seconds.toFixed(2)} s`;
}

/** Memory in plain words: the bytes the model and its state take on the device. */
export function plainMemory(m: MemoryReport): string {
  const total = m.backendBytes ?? Object.values(m.bytes).reduce((a, b) => a + b, 0);
  return formatBytes(total);
}

/** `model.safetensors: 12.0 MiB of 48.0 MiB (25%), 3.10 MiB/s` */
export function progressText(p: { file?: string; loaded: number; total?: number; seconds: number; verb: string }): string {
  const name = p.file ? `${p.file}: ` : '';
  const amount = p.total !== undefined ? `${formatBytes(p.loaded)} of ${formatBytes(p.total)} (${Math.floor((100 * p.loaded) / Math.max(p.total, 1))}%)` : formatBytes(p.loaded);
  // Mid-file rates over a few milliseconds are noise; a finished file shows its average however fast it came.
  const done = p.total !== undefined && p.loaded >= p.total;
  const speed = p.seconds > 0.05 || (done && p.seconds > 0) ? `, ${formatBytes(p.loaded / p.seconds)}/s` : '';
  return `${p.verb} ${name}${amount}${speed}`;
}
