/**
 * The page: reads the controls, talks to the inference worker (worker.ts) and draws what it
 * says. Nothing heavy runs here, so the page stays responsive while a model generates.
 */
import './style.css';
import { RELEASED } from './catalog.js';
import { backendLabel, fallbackMessage, finishMessage, formatBytes, formatMemory, formatRate, plainMemory, progressText } from './format.js';
import type { BackendChoice, ModelSource, TfjsFlavor, WorkerReply, WorkerRequest } from './protocol.js';
import type { Field } from './settings.js';
import { LIMITS, parseSettings } from './settings.js';
import { ui } from './ui.js';
import { cacheUsage, clearCache, folderUrl, isCached } from './url-cache.js';

/** `loading` until a model is ready; `failed` when the last load failed or was cancelled (no model to run). */
type PageState = 'loading' | 'ready' | 'generating' | 'failed';

const LAST_URL_KEY = 'mamba3.lastUrl';

let state: PageState = 'loading';
let loadId = 0;
let generateId = 0;
/** The source kind of the load in flight, to put its error next to the right control. */
let loadingKind: ModelSource['kind'] = 'default';
let loadingUrl: string | null = null;
/** When each file's progress began, for its speed. */
let progressStart = new Map<string, number>();
/** The last load event (request or progress): a new file's clock starts there, so its request time counts too. */
let lastProgressAt = 0;

function setState(next: PageState, message: string): void {
  state = next;
  ui.app.dataset.state = next;
  ui.state.textContent = message;
  const busy = next === 'loading' || next === 'generating';
  ui.generate.disabled = next !== 'ready';
  ui.stop.disabled = next !== 'generating';
  for (const control of [ui.backend, ui.tfjsFlavor, ui.sourceDefault, ui.sourceUrl, ui.sourceFiles, ui.loadFiles]) control.disabled = busy;
  ui.output.setAttribute('aria-busy', String(next === 'generating'));
  ui.progressBox.hidden = next !== 'loading';
  if (next === 'failed') {
    ui.statusModel.textContent = 'none loaded';
    ui.speed.textContent = '–';
  }
}

// ---- Errors: shown next to their cause, which gets focus and aria-invalid. ----

let invalid: HTMLElement | null = null;

function clearError(): void {
  ui.error.hidden = true;
  ui.error.textContent = '';
  ui.error.removeAttribute('role');
  if (invalid) {
    invalid.removeAttribute('aria-invalid');
    invalid.removeAttribute('aria-describedby');
    invalid = null;
  }
}

/** Puts `message` right after `anchor`; `field` (default: the anchor) is marked invalid and focused. */
function showError(message: string, anchor: HTMLElement, field: HTMLElement = anchor): void {
  clearError();
  for (let open = anchor.closest('details'); open; open = open.parentElement?.closest('details') ?? null) open.open = true;
  anchor.after(ui.error);
  ui.error.textContent = `Error: ${message}`;
  ui.error.setAttribute('role', 'alert');
  ui.error.hidden = false;
  if (field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement || field instanceof HTMLSelectElement) {
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', 'error');
    invalid = field;
  }
  field.focus();
}

/** A bad choice in the model picker, with the control to fix. */
class SourceError extends Error {
  constructor(
    message: string,
    readonly field: HTMLElement,
  ) {
    super(message);
  }
}

// ---- The worker. ----

// A module worker: its imports (the backends, the model) are bundled for it alone.
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'mamba3-inference' });

function send(req: WorkerRequest, transfer: Transferable[] = []): void {
  worker.postMessage(req, transfer);
}

async function tokenizerFields(): Promise<{ tokenizer?: string; tokenizerName?: string }> {
  const tok = ui.tokenizerFile.files?.[0];
  return tok ? { tokenizer: await tok.text(), tokenizerName: tok.name } : {};
}

async function readSource(): Promise<{ source: ModelSource; transfer: Transferable[] }> {
  if (ui.sourceDefault.checked) return { source: { kind: 'default' }, transfer: [] };
  if (ui.sourceUrl.checked) {
    let url: string;
    try {
      url = folderUrl(ui.modelUrl.value, location.href);
    } catch (err) {
      throw new SourceError(err instanceof Error ? err.message : String(err), ui.modelUrl);
    }
    return { source: { kind: 'url', url, ...(await tokenizerFields()) }, transfer: [] };
  }
  const folder = Array.from(ui.folderFiles.files ?? []);
  if (folder.length > 0) {
    // Files are posted as references: the worker reads each tensor's bytes when it needs them.
    const folderName = folder[0].webkitRelativePath.split('/')[0] || 'picked folder';
    return { source: { kind: 'checkpoint', files: folder, folderName, ...(await tokenizerFields()) }, transfer: [] };
  }
  const weights = ui.weightsFile.files?.[0];
  const tokenizer = ui.tokenizerFile.files?.[0];
  if (!weights) throw new SourceError('pick a checkpoint folder, or a .safetensors weights file and its tokenizer.json, then press Load', ui.folderFiles);
  if (!tokenizer) throw new SourceError(`${weights.name} needs its tokenizer.json: pick it, then press Load`, ui.tokenizerFile);
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
  clearError();
  ui.notice.hidden = true;
  ui.warning.hidden = true;
  ui.speed.textContent = '–';
  ui.progress.removeAttribute('value');
  ui.progressText.textContent = '';
  progressStart = new Map();
  lastProgressAt = performance.now();
  setState('loading', 'Loading the model…');
  try {
    const { source, transfer } = await readSource();
    if (id !== loadId) return;
    loadingKind = source.kind;
    loadingUrl = source.kind === 'url' ? source.url : null;
    send({ type: 'load', id, backend: ui.backend.value as BackendChoice, tfjs: ui.tfjsFlavor.value as TfjsFlavor, source }, transfer);
  } catch (err) {
    if (id !== loadId) return;
    setState('failed', 'No model loaded');
    showError(err instanceof Error ? err.message : String(err), err instanceof SourceError ? err.field : ui.loadFiles, err instanceof SourceError ? err.field : ui.loadFiles);
  }
}

const SETTING_INPUTS: Record<Field, () => HTMLInputElement> = {
  temperature: () => ui.temperature,
  topP: () => ui.topP,
  maxNewTokens: () => ui.maxTokens,
  seed: () => ui.seed,
};

function requestGenerate(): void {
  if (state !== 'ready') return;
  const prompt = ui.prompt.value;
  if (prompt.trim().length === 0) {
    showError('Type a prompt first: the model continues the text you give it.', ui.prompt);
    return;
  }
  const parsed = parseSettings({ temperature: ui.temperature.value, topP: ui.topP.value, maxNewTokens: ui.maxTokens.value, seed: ui.seed.value });
  if (!parsed.ok) {
    const input = SETTING_INPUTS[parsed.field]();
    showError(parsed.error, input.closest('label') ?? input, input);
    return;
  }
  clearError();
  ui.outputPrompt.textContent = prompt;
  ui.generated.textContent = '';
  ui.placeholder.hidden = true;
  ui.speed.textContent = '–';
  delete ui.app.dataset.finish;
  setState('generating', 'Writing…');
  send({ type: 'generate', id: ++generateId, prompt, ...parsed.value });
  // Counts started runs, so a caller can tell a run began even when it ended at once (an error).
  ui.app.dataset.runs = String(generateId);
}

// ---- Replies. ----

function onProgress(reply: Extract<WorkerReply, { type: 'progress' }>): void {
  if (reply.loaded === undefined) {
    ui.state.textContent = `${reply.stage}…`;
    return;
  }
  const key = `${reply.phase ?? ''}:${reply.file ?? ''}`;
  const now = performance.now();
  if (!progressStart.has(key)) progressStart.set(key, lastProgressAt);
  lastProgressAt = now;
  const seconds = (now - (progressStart.get(key) ?? now)) / 1000;
  if (reply.total !== undefined) {
    ui.progress.max = reply.total;
    ui.progress.value = reply.loaded;
  } else {
    ui.progress.removeAttribute('value');
  }
  const verb = reply.phase === 'download' ? 'Downloading' : 'Moving onto the device:';
  ui.state.textContent = reply.phase === 'download' ? 'Downloading the model…' : 'Loading the model…';
  ui.progressText.textContent = progressText({ file: reply.file, loaded: reply.loaded, total: reply.total, seconds, verb });
}

function onReady(reply: Extract<WorkerReply, { type: 'ready' }>): void {
  ui.app.dataset.backend = reply.backend.name;
  ui.statusBackend.textContent = backendLabel(reply.backend.name);
  ui.device.textContent = reply.backend.device;
  const m = reply.model;
  ui.statusModel.textContent = `${m.name}: ${m.paramCount.toLocaleString('en')} parameters, ${m.nLayer} layers, vocabulary ${m.vocabSize}${m.fromCache ? ' (saved copy, no download)' : ''}`;
  ui.memory.textContent = plainMemory(reply.memory);
  ui.tensors.textContent = formatMemory(reply.memory);
  ui.loadTime.textContent = `${(reply.loadMs / 1000).toFixed(1)} s`;
  // The notice says what happened in one sentence; the browser's own reason goes to the details.
  const [said, why] = reply.fallback ? fallbackMessage(reply.fallback, ui.tfjsFlavor.value).split(' Why: ') : ['', undefined];
  ui.notice.hidden = reply.fallback === null;
  ui.notice.textContent = said;
  ui.whyRow.hidden = why === undefined;
  ui.why.textContent = why ?? '';
  ui.warning.hidden = reply.warning === null;
  ui.warning.textContent = reply.warning ?? '';
  if (m.source === 'url' && loadingUrl) localStorage.setItem(LAST_URL_KEY, loadingUrl);
  else if (m.source === 'default') localStorage.removeItem(LAST_URL_KEY);
  setState('ready', 'Ready: type a prompt and press Generate');
  void showCacheSize();
}

function onGenerateReply(reply: Extract<WorkerReply, { type: 'chunk' | 'done' }>): void {
  if (reply.id !== generateId) return;
  ui.speed.textContent = formatRate(reply.tokensPerSecond);
  ui.memory.textContent = plainMemory(reply.memory);
  ui.tensors.textContent = formatMemory(reply.memory);
  if (reply.type === 'chunk') {
    ui.generated.append(reply.text);
    ui.output.scrollTop = ui.output.scrollHeight;
    return;
  }
  ui.app.dataset.finish = reply.reason;
  setState('ready', finishMessage(reply.reason, reply.tokens, reply.seconds));
}

function loadErrorAnchor(): HTMLElement {
  if (loadingKind === 'url') return ui.modelUrl;
  if (loadingKind === 'checkpoint') return ui.folderFiles;
  if (loadingKind === 'files') return ui.weightsFile;
  return ui.statusCard;
}

function onError(reply: Extract<WorkerReply, { type: 'error' }>): void {
  if (reply.during === 'load' && reply.id !== loadId) return;
  if (reply.during === 'generate' && reply.id !== generateId) return;
  // A failed generation leaves the model loaded; a failed load leaves none.
  if (reply.during === 'generate') {
    if (state === 'generating') setState('ready', 'The last run failed; the model is still loaded');
    showError(reply.message, ui.outputBox, ui.output);
  } else if (reply.during === 'load') {
    setState('failed', reply.cancelled ? 'Loading cancelled' : 'No model loaded');
    void showCacheSize();
    if (reply.cancelled) showError('Loading was cancelled. Pick a model and press Load, or choose the built-in one.', ui.progressBox, ui.pickerSummary);
    else showError(reply.message, loadErrorAnchor());
  } else {
    showError(reply.message, ui.statusCard);
  }
}

worker.onmessage = (e: MessageEvent<WorkerReply>) => {
  const reply = e.data;
  if (reply.type === 'progress') {
    if (reply.id === loadId) onProgress(reply);
  } else if (reply.type === 'ready') {
    if (reply.id === loadId) onReady(reply);
  } else if (reply.type === 'chunk' || reply.type === 'done') onGenerateReply(reply);
  else onError(reply);
};

// The worker script itself failed (a missing chunk, a syntax error): say so instead of waiting forever.
worker.onerror = (e: ErrorEvent) => {
  e.preventDefault();
  setState('failed', 'Worker failed');
  showError(`the inference worker failed: ${e.message || 'it could not start'}`, ui.statusCard);
};
worker.onmessageerror = () => showError('a message from the inference worker could not be read', ui.statusCard);

// ---- The model picker and the cache. ----

let cacheSizeRequest = 0;

/** Reads the cache's size into the page; `data-pending` marks the field while the newest read is under way. */
async function showCacheSize(): Promise<void> {
  const request = ++cacheSizeRequest;
  ui.cacheSize.dataset.pending = 'true';
  let text: string;
  let empty: boolean;
  try {
    const usage = await cacheUsage();
    text = usage.bytes === 0 ? 'none' : `${formatBytes(usage.bytes)} (${usage.folders.length} checkpoint${usage.folders.length === 1 ? '' : 's'})`;
    empty = usage.bytes === 0;
  } catch {
    text = 'not available here';
    empty = true;
  }
  // An older read that ends after a newer one started must not overwrite it.
  if (request !== cacheSizeRequest) return;
  ui.cacheSize.textContent = text;
  ui.clearCache.disabled = empty;
  delete ui.cacheSize.dataset.pending;
}

function showSourceBoxes(): void {
  ui.urlBox.hidden = !ui.sourceUrl.checked;
  ui.files.hidden = !ui.sourceFiles.checked;
  ui.tokenizerBox.hidden = ui.sourceDefault.checked;
}

/** Download sizes in the hub's own units (MB, GB). */
const downloadSize = (bytes: number): string => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`);
for (const r of RELEASED) ui.released.add(new Option(`${r.id} (${downloadSize(r.bytes)})`, r.url));
ui.released.addEventListener('change', () => {
  const r = RELEASED.find((x) => x.url === ui.released.value);
  if (!r) return;
  ui.modelUrl.value = r.url;
  ui.releasedNote.textContent = `${r.note}. About ${downloadSize(r.bytes)} to download once; then it is kept in this browser.`;
});
ui.backend.addEventListener('change', () => void requestLoad());
ui.tfjsFlavor.addEventListener('change', () => {
  if (ui.backend.value === 'tfjs' || ui.app.dataset.backend === 'tfjs') void requestLoad();
});
ui.sourceDefault.addEventListener('change', () => {
  showSourceBoxes();
  void requestLoad();
});
ui.sourceUrl.addEventListener('change', () => {
  showSourceBoxes();
  ui.modelUrl.focus();
});
ui.sourceFiles.addEventListener('change', () => {
  showSourceBoxes();
  ui.folderFiles.focus();
});
ui.loadFiles.addEventListener('click', () => void requestLoad());
ui.cancelLoad.addEventListener('click', () => send({ type: 'cancel', id: loadId }));
ui.clearCache.addEventListener('click', () => void clearCache().then(showCacheSize));
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
for (const [field, input] of Object.entries(SETTING_INPUTS) as [Field, () => HTMLInputElement][]) {
  input().min = String(LIMITS[field].min);
  input().max = String(LIMITS[field].max);
}

/** A checkpoint loaded from a URL on the last visit starts again from the cache; else the built-in model. */
async function start(): Promise<void> {
  const last = localStorage.getItem(LAST_URL_KEY);
  if (last && (await isCached(last).catch(() => false))) {
    ui.sourceUrl.checked = true;
    ui.modelUrl.value = last;
    showSourceBoxes();
  }
  void showCacheSize();
  await requestLoad();
}

void start();
