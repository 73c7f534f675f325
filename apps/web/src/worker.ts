/**
 * The inference worker: owns the backend and the model, so the page's main thread only draws.
 * Loads and generations run one after another (a queue); `stop` is handled at once, between
 * two tokens, through the generation's AbortController.
 */
import type { MambaLMHeadModel } from '@mamba3/model';
import type { Backend } from '@mamba3/tensor';
import { memory, useBackend } from '@mamba3/tensor';
import { pickBackend } from './backends.js';
import { loadModel } from './load-model.js';
import type { GenerateRequest, LoadRequest, MemoryReport, WorkerReply, WorkerRequest } from './protocol.js';

/** The part of DedicatedWorkerGlobalScope we use (the webworker lib clashes with the DOM lib the page needs). */
interface WorkerScope {
  postMessage(message: WorkerReply): void;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  onunhandledrejection: ((e: PromiseRejectionEvent) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;

let current: { model: MambaLMHeadModel; backend: Backend } | null = null;
let running: AbortController | null = null;
/** The load in progress and its controller, for `cancel`. */
let loading: { id: number; controller: AbortController } | null = null;
let queue: Promise<void> = Promise.resolve();

function post(reply: WorkerReply): void {
  scope.postMessage(reply);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function memoryReport(backend: Backend | undefined): MemoryReport {
  const m = memory();
  const backendBytes = backend?.memoryBytes?.();
  return { numTensors: m.numTensors, bytes: m.bytes, ...(backendBytes !== undefined ? { backendBytes } : {}) };
}

async function load(req: LoadRequest): Promise<void> {
  const started = performance.now();
  current?.model.dispose();
  current = null;
  const controller = new AbortController();
  loading = { id: req.id, controller };
  try {
    post({ type: 'progress', id: req.id, stage: 'Starting the backend' });
    const { backend, fallback, warning } = await pickBackend(req.backend, req.tfjs);
    controller.signal.throwIfAborted();
    // Ops on tensors made inside the model (caches, sampling) go to the active backend.
    useBackend(backend);
    post({ type: 'progress', id: req.id, stage: 'Loading the model' });
    const { model, name, fromCache } = await loadModel(
      req.source,
      backend,
      (p) =>
        post({
          type: 'progress',
          id: req.id,
          stage: p.phase === 'download' ? 'Downloading' : 'Moving the weights onto the device',
          phase: p.phase,
          loaded: p.loaded,
          ...(p.file !== undefined ? { file: p.file } : {}),
          ...(p.total !== null ? { total: p.total } : {}),
        }),
      controller.signal,
    );
    if (controller.signal.aborted) {
      model.dispose();
      controller.signal.throwIfAborted();
    }
    current = { model, backend };
    post({
      type: 'ready',
      id: req.id,
      backend: { name: backend.name, device: backend.info.device ?? backend.name },
      model: { name, source: req.source.kind, fromCache, paramCount: model.paramCount, nLayer: model.config.nLayer, vocabSize: model.vocabSize },
      fallback,
      warning: warning ?? null,
      loadMs: performance.now() - started,
      memory: memoryReport(backend),
    });
  } catch (err) {
    // Whatever an abort surfaced as (a fetch, a cache write), a cancelled load reports as one.
    if (controller.signal.aborted) throw new DOMException('the load was cancelled', 'AbortError');
    throw err;
  } finally {
    loading = null;
  }
}

async function generate(req: GenerateRequest): Promise<void> {
  if (!current) throw new Error('no model is loaded (the last load failed: pick a backend or model again)');
  const { model, backend } = current;
  useBackend(backend);
  const controller = new AbortController();
  running = controller;
  const started = performance.now();
  let tokens = 0;
  const rate = (): number => tokens / Math.max((performance.now() - started) / 1000, 1e-6);
  let reason: 'stop' | 'length' | 'abort';
  try {
    const it = model.generate(req.prompt, {
      maxNewTokens: req.maxNewTokens,
      temperature: req.temperature,
      topP: req.topP,
      signal: controller.signal,
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
    });
    // Stepped by hand (not for-await) to keep the iterator's return value: how the run ended.
    let step = await it.next();
    while (!step.done) {
      tokens++;
      post({ type: 'chunk', id: req.id, text: step.value.text, tokens, tokensPerSecond: rate(), memory: memoryReport(backend) });
      step = await it.next();
    }
    reason = step.value.sequences[0].finishReason;
  } finally {
    running = null;
  }
  post({ type: 'done', id: req.id, reason, tokens, seconds: (performance.now() - started) / 1000, tokensPerSecond: rate(), memory: memoryReport(backend) });
}

/** Runs after whatever is queued; an error becomes an `error` reply, never an unhandled rejection. */
function enqueue(id: number, during: 'load' | 'generate', task: () => Promise<void>): void {
  queue = queue.then(task).catch((err: unknown) => {
    const cancelled = err instanceof DOMException && err.name === 'AbortError';
    post({ type: 'error', id, during, message: cancelled ? 'Loading was cancelled.' : messageOf(err), ...(cancelled ? { cancelled } : {}) });
  });
}

scope.onmessage = (e: MessageEvent<WorkerRequest>) => {
  const req = e.data;
  if (req.type === 'stop') {
    running?.abort();
  } else if (req.type === 'cancel') {
    if (loading?.id === req.id) loading.controller.abort();
  } else if (req.type === 'load') {
    // A new model replaces the old one: a generation still running on it must end first.
    running?.abort();
    enqueue(req.id, 'load', () => load(req));
  } else {
    enqueue(req.id, 'generate', () => generate(req));
  }
};

scope.onunhandledrejection = (e: PromiseRejectionEvent) => post({ type: 'error', id: -1, during: 'worker', message: messageOf(e.reason) });
