/** The page's elements, found once by data-testid (a missing one is a markup bug, said at start). */

function byTestId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const node = document.querySelector(`[data-testid="${id}"]`);
  if (!(node instanceof type)) throw new Error(`page markup: [data-testid="${id}"] is missing or not a ${type.name}`);
  return node;
}

function byId<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`page markup: #${id} is missing or not a ${type.name}`);
  return node;
}

const error = byTestId('error', HTMLDivElement);
error.id = 'error';
const picker = byTestId('model-picker', HTMLDetailsElement);

export const ui = {
  app: byTestId('app', HTMLElement),
  notice: byTestId('fallback-notice', HTMLParagraphElement),
  warning: byTestId('backend-warning', HTMLParagraphElement),
  error,
  backend: byTestId('backend-select', HTMLSelectElement),
  tfjsFlavor: byTestId('tfjs-flavor-select', HTMLSelectElement),
  pickerSummary: picker.querySelector('summary') as HTMLElement,
  sourceDefault: byTestId('source-default', HTMLInputElement),
  sourceUrl: byTestId('source-url', HTMLInputElement),
  sourceFiles: byTestId('source-files', HTMLInputElement),
  urlBox: byId('url-box', HTMLDivElement),
  released: byTestId('released-select', HTMLSelectElement),
  releasedNote: byTestId('released-note', HTMLParagraphElement),
  modelUrl: byTestId('model-url', HTMLInputElement),
  files: byId('files', HTMLDivElement),
  tokenizerBox: byId('tokenizer-box', HTMLDivElement),
  folderFiles: byTestId('folder-files', HTMLInputElement),
  weightsFile: byTestId('weights-file', HTMLInputElement),
  tokenizerFile: byTestId('tokenizer-file', HTMLInputElement),
  configFile: byTestId('config-file', HTMLInputElement),
  loadFiles: byTestId('load-files', HTMLButtonElement),
  cacheSize: byTestId('cache-size', HTMLSpanElement),
  clearCache: byTestId('clear-cache', HTMLButtonElement),
  form: byId('generate-form', HTMLFormElement),
  prompt: byTestId('prompt', HTMLTextAreaElement),
  temperature: byTestId('temperature', HTMLInputElement),
  topP: byTestId('top-p', HTMLInputElement),
  maxTokens: byTestId('max-tokens', HTMLInputElement),
  seed: byTestId('seed', HTMLInputElement),
  generate: byTestId('generate', HTMLButtonElement),
  stop: byTestId('stop', HTMLButtonElement),
  outputBox: byTestId('output', HTMLPreElement).parentElement as HTMLElement,
  output: byTestId('output', HTMLPreElement),
  outputPrompt: byTestId('output-prompt', HTMLSpanElement),
  generated: byTestId('generated', HTMLSpanElement),
  placeholder: byTestId('output-placeholder', HTMLSpanElement),
  statusCard: byTestId('status', HTMLElement).parentElement as HTMLElement,
  state: byTestId('status-state', HTMLElement),
  progressBox: byTestId('load-progress-box', HTMLDivElement),
  progress: byTestId('load-progress', HTMLProgressElement),
  progressText: byTestId('load-progress-text', HTMLSpanElement),
  cancelLoad: byTestId('cancel-load', HTMLButtonElement),
  statusBackend: byTestId('status-backend', HTMLElement),
  statusModel: byTestId('status-model', HTMLElement),
  speed: byTestId('status-speed', HTMLElement),
  memory: byTestId('status-memory', HTMLElement),
  device: byTestId('status-device', HTMLElement),
  tensors: byTestId('status-tensors', HTMLElement),
  loadTime: byTestId('status-load-time', HTMLElement),
  whyRow: byTestId('status-why-row', HTMLDivElement),
  why: byTestId('status-why', HTMLElement),
};
