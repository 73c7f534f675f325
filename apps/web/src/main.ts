/**
 * The page: reads the controls, talks to the inference worker (worker.ts) and draws what it
 * says. Nothing heavy runs here, so the page stays responsive while a model generates.
 */
import './style.css';
import type { BackendChoice, ModelSource, TfjsFlavor, WorkerReply, WorkerRequest } from './protocol.js';
import { backendLabel, fallbackMessage, finishMessage, formatBytes, formatMemory, formatRate } from './format.js';
import { parseSettings } from './settings.js';

function byTestId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const node = document.querySelector(`[data-testid="${id}"]`);
  if (!(node instanceof type)) throw new Error(`page markup: [data-testid="${id}"] is missing or not a ${type.name}`);
  return node;
}

const ui = {
  app: byTestId('app', HTMLElement),
  notice: byTestId('fallback-notice', HTMLDivElement),
  error: byTestId('error', HTMLDivElement),
  backend: byTestId('backend-select', HTMLSelectElement),
  tfjsFlavor: byTestId('tfjs-flavor-select', HTMLSelectElement),
  sourceDefault: byTestId('source-default', HTMLInputElement),
  sourceFiles: byTestId('source-files', HTMLInputElement),
  files: document.getElementById('files') as HTMLDivElement,
  folderFiles: byTestId('folder-files', HTMLInputElement),
  weightsFile: byTestId('weights-file', HTMLInputElement),
  tokenizerFile: byTestId('tokenizer-file', HTMLInputElement),
  configFile: byTestId('config-file', HTMLInputElement),
  loadFiles: byTestId('load-files', HTMLButtonElement),
  form: document.getElementById('generate-form') as HTMLFormElement,
  prompt: byTestId('prompt', HTMLTextAreaElement),
  temperature: byTestId('temperature', HTMLInputElement),
  topP: byTestId('top-p', HTMLInputElement),
  maxTokens: byTestId('max-tokens', HTMLInputElement),
  seed: byTestId('seed', HTMLInputElement),
  generate: byTestId('generate', HTMLButtonElement),
  stop: byTestId('stop', HTMLButtonElement),
  output: byTestId('output', HTMLPreElement),
  outputPrompt: byTestId('output-prompt', HTMLSpanElement),
  generated: byTestId('generated', HTMLSpanElement),
  state: byTestId('status-state', HTMLElement),
  statusBackend: byTestId('status-backend', HTMLElement),
  statusModel: byTestId('status-model', HTMLElement),
  speed: byTestId('status-speed', HTMLElement),
  memory: byTestId('status-memory', HTMLElement),
};

/** `loading` until a model is ready; `failed` when the last load failed (no model to run). */
type PageState = 'loading' | 'ready' | 'generating' | 'failed';

let state: PageState = 'loading';
let loadId = 0;
let generateId = 0;

function setState(next: PageState, message: string): void {
  state = next;
  ui.app.dataset.state = next;
  ui.state.textContent = message;
  const busy = next === 'loading' || next === 'generating';
  ui.generate.disabled = next !== 'ready';
  ui.stop.disabled = next !== 'generating';
  for (const control of [ui.backend, ui.tfjsFlavor, ui.sourceDefault, ui.sourceFiles, ui.loadFiles]) control.disabled = busy;
  ui.output.setAttribute('aria-busy', String(next === 'generating'));
}

function showError(message: string | null): void {
  ui.error.hidden = message === null;
  ui.error.textContent = message === null ? '' : `Error: ${message}`;
}

// A module worker: its imports (the backends, the model) are bundled for it alone.
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'mamba3-inference' });

function send(req: WorkerRequest, transfer: Transferable[] = []): void {
  worker.postMessage(req, transfer);
}

async function readSource(): Promise<{ source: ModelSource; transfer: Transferable[] }> {
  if (ui.sourceDefault.checked) return { source: { kind: 'default' }, transfer: [] };
  const folder = Array.from(ui.folderFiles.files ?? []);
  if (folder.length > 0) {
    // Files are posted as references: the worker reads each tensor's bytes when it needs them.
    const tok = ui.tokenizerFile.files?.[0];
    const folderName = folder[0].webkitRelativePath.split('/')[0] || 'picked folder';
    const source: ModelSource = { kind: 'checkpoint', files: folder, folderName, ...(tok ? { tokenizer: await tok.text(), tokenizerName: tok.name } : {}) };
    return { source, transfer: [] };
  }
  const weights = ui.weightsFile.files?.[0];
  const tokenizer = ui.tokenizerFile.files?.[0];
  if (!weights || !tokenizer) throw new Error('pick a checkpoint folder, or a .safetensors weights file and its tokenizer.json, then press “Load these files”');
  const config = ui.configFile.files?.[0];
  const [bytes, tokenizerText, configText] = await Promise.all([weights.arrayBuffer(), tokenizer.text(), config?.text()]);
  const source: ModelSource = {
    kind: 'files',
    weights: bytes,
    weightsName: weights.name,
    tokenizer: tokenizerText,
    tokenizerName: tokenizer.name,
    ...(configText !== undefined ? { config: configText } : {}),
  };
  // Transferred, not copied: the page keeps the File objects to read again on a backend change.
  return { source, transfer: [bytes] };
}

async function requestLoad(): Promise<void> {
  const id = ++loadId;
  showError(null);
  ui.notice.hidden = true;
  setState('loading', 'Loading…');
  try {
    const { source, transfer } = await readSource();
    if (id !== loadId) return;
    send({ type: 'load', id, backend: ui.backend.value as BackendChoice, tfjs: ui.tfjsFlavor.value as TfjsFlavor, source }, transfer);
  } catch (err) {
    if (id !== loadId) return;
    showError(err instanceof Error ? err.message : String(err));
    setState('failed', 'No model loaded');
  }
}

function requestGenerate(): void {
  if (state !== 'ready') return;
  const parsed = parseSettings({ temperature: ui.temperature.value, topP: ui.topP.value, maxNewTokens: ui.maxTokens.value, seed: ui.seed.value });
  if (!parsed.ok) {
    showError(parsed.error);
    return;
  }
  const prompt = ui.prompt.value;
  if (prompt.length === 0) {
    showError('Type a prompt first.');
    return;
  }
  showError(null);
  ui.outputPrompt.textContent = prompt;
  ui.generated.textContent = '';
  ui.speed.textContent = '–';
  delete ui.app.dataset.finish;
  setState('generating', 'Generating…');
  send({ type: 'generate', id: ++generateId, prompt, ...parsed.value });
  // Counts started runs, so a caller can tell a run began even when it ended at once (an error).
  ui.app.dataset.runs = String(generateId);
}

function onLoadReply(reply: Extract<WorkerReply, { type: 'progress' | 'ready' }>): void {
  if (reply.id !== loadId) return;
  if (reply.type === 'progress') {
    const amount = reply.loaded !== undefined ? ` ${formatBytes(reply.loaded)}${reply.total !== undefined ? ` of ${formatBytes(reply.total)}` : ''}` : '';
    ui.state.textContent = `Loading: ${reply.stage}${amount}…`;
    return;
  }
  ui.app.dataset.backend = reply.backend.name;
  ui.statusBackend.textContent = `${backendLabel(reply.backend.name)} (${reply.backend.device})`;
  ui.statusModel.textContent = `${reply.model.name}: ${reply.model.paramCount.toLocaleString('en')} parameters, ${reply.model.nLayer} layers, vocabulary ${reply.model.vocabSize}`;
  ui.memory.textContent = formatMemory(reply.memory);
  ui.notice.hidden = reply.fallback === null;
  ui.notice.textContent = reply.fallback ? fallbackMessage(reply.fallback, ui.tfjsFlavor.value) : '';
  setState('ready', `Ready (loaded in ${(reply.loadMs / 1000).toFixed(1)} s)`);
}

function onGenerateReply(reply: Extract<WorkerReply, { type: 'chunk' | 'done' }>): void {
  if (reply.id !== generateId) return;
  ui.speed.textContent = formatRate(reply.tokensPerSecond);
  ui.memory.textContent = formatMemory(reply.memory);
  if (reply.type === 'chunk') {
    ui.generated.append(reply.text);
    ui.output.scrollTop = ui.output.scrollHeight;
    return;
  }
  ui.app.dataset.finish = reply.reason;
  setState('ready', finishMessage(reply.reason, reply.tokens, reply.seconds));
}

function onError(reply: Extract<WorkerReply, { type: 'error' }>): void {
  if (reply.during === 'load' && reply.id !== loadId) return;
  if (reply.during === 'generate' && reply.id !== generateId) return;
  showError(reply.message);
  // A failed generation leaves the model loaded; a failed load leaves none.
  if (reply.during === 'generate' && state === 'generating') setState('ready', 'Generation failed');
  else if (reply.during === 'load') setState('failed', 'No model loaded');
}

worker.onmessage = (e: MessageEvent<WorkerReply>) => {
  const reply = e.data;
  if (reply.type === 'progress' || reply.type === 'ready') onLoadReply(reply);
  else if (reply.type === 'chunk' || reply.type === 'done') onGenerateReply(reply);
  else onError(reply);
};

// The worker script itself failed (a missing chunk, a syntax error): say so instead of waiting forever.
worker.onerror = (e: ErrorEvent) => {
  e.preventDefault();
  showError(`the inference worker failed: ${e.message || 'it could not start'}`);
  setState('failed', 'Worker failed');
};
worker.onmessageerror = () => showError('a message from the inference worker could not be read');

ui.backend.addEventListener('change', () => void requestLoad());
ui.tfjsFlavor.addEventListener('change', () => {
  if (ui.backend.value === 'tfjs' || ui.app.dataset.backend === 'tfjs') void requestLoad();
});
ui.sourceDefault.addEventListener('change', () => {
  ui.files.hidden = true;
  void requestLoad();
});
ui.sourceFiles.addEventListener('change', () => {
  ui.files.hidden = false;
  ui.weightsFile.focus();
});
ui.loadFiles.addEventListener('click', () => void requestLoad());
ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  requestGenerate();
});
ui.stop.addEventListener('click', () => {
  ui.stop.disabled = true;
  ui.state.textContent = 'Stopping…';
  send({ type: 'stop' });
});
// Ctrl/Cmd+Enter in the prompt generates, as in most chat boxes.
ui.prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    requestGenerate();
  }
});

void requestLoad();
