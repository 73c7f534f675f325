/**
 * The messages between the page (main.ts) and the inference worker (worker.ts). Both sides
 * import these types only, so the protocol is checked at compile time on both ends.
 */

/** What the user picks; `auto` tries a hardware WebGPU adapter, then wasm, then cpu. */
export type BackendChoice = 'auto' | 'webgpu' | 'wasm' | 'tfjs' | 'cpu';

/** The TensorFlow.js backend under our `tfjs` backend. */
export type TfjsFlavor = 'wasm' | 'webgl' | 'cpu';

/** The embedded default model, or files the user picked (bytes transferred, not copied). */
export type ModelSource =
  | { kind: 'default' }
  | {
      kind: 'files';
      weights: ArrayBuffer;
      weightsName: string;
      /** tokenizer.json text. */
      tokenizer: string;
      tokenizerName: string;
      /** config.json text; without it the config must be in the safetensors metadata. */
      config?: string;
    }
  | {
      /** A checkpoint folder of any layout (official .bin or safetensors, Hugging Face), read lazily from the Files. */
      kind: 'checkpoint';
      files: File[];
      folderName: string;
      /** tokenizer.json text, for checkpoints that ship none (Mamba-1/2 use GPT-NeoX's). */
      tokenizer?: string;
      tokenizerName?: string;
    }
  | {
      /** A checkpoint folder by URL, downloaded into (or read from) the page's cache. */
      kind: 'url';
      url: string;
      tokenizer?: string;
      tokenizerName?: string;
    };

export interface LoadRequest {
  type: 'load';
  /** Echoed in replies so the page can drop answers to loads it has superseded. */
  id: number;
  backend: BackendChoice;
  tfjs: TfjsFlavor;
  source: ModelSource;
}

export interface GenerateRequest {
  type: 'generate';
  id: number;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed?: number;
}

export interface StopRequest {
  type: 'stop';
}

/** Cancels the load `id` (its downloads are aborted). */
export interface CancelRequest {
  type: 'cancel';
  id: number;
}

export type WorkerRequest = LoadRequest | GenerateRequest | StopRequest | CancelRequest;

/** `@mamba3/tensor`'s memory() plus what the backend itself reports. */
export interface MemoryReport {
  numTensors: number;
  /** Bytes held by live tensors, per backend name. */
  bytes: Record<string, number>;
  /** The backend's own tally (e.g. GPU buffers incl. its pool), when it keeps one. */
  backendBytes?: number;
}

export interface BackendReport {
  /** `webgpu`, `tfjs`, `cpu`. */
  name: string;
  /** Adapter or tfjs backend description. */
  device: string;
}

/** Why the backend in use is not the one asked for. */
export interface FallbackNotice {
  wanted: BackendChoice;
  /** `unavailable`: it could not start; `software`: Auto passed over a software WebGPU adapter. */
  kind: 'unavailable' | 'software';
  /** Why WebGPU (or the wanted backend) was not used. */
  reason: string;
  /** The backend used instead. */
  usedInstead: string;
}

export interface ModelReport {
  name: string;
  /** 'default', 'files', 'checkpoint' or 'url'. */
  source: ModelSource['kind'];
  /** URL loads: every file came from the cache. */
  fromCache: boolean;
  paramCount: number;
  nLayer: number;
  vocabSize: number;
}

export type WorkerReply =
  | {
      type: 'progress';
      id: number;
      /** Plain words for the status line. */
      stage: string;
      /** `download`: bytes over the network for `file`; `load`: weights moved onto the backend. */
      phase?: 'download' | 'load';
      file?: string;
      loaded?: number;
      total?: number;
    }
  | {
      type: 'ready';
      id: number;
      backend: BackendReport;
      model: ModelReport;
      fallback: FallbackNotice | null;
      /** The backend asked for by name runs, but slowly (a software WebGPU adapter). */
      warning: string | null;
      loadMs: number;
      memory: MemoryReport;
    }
  | { type: 'chunk'; id: number; text: string; tokens: number; tokensPerSecond: number; memory: MemoryReport }
  | { type: 'done'; id: number; reason: 'stop' | 'length' | 'abort'; tokens: number; seconds: number; tokensPerSecond: number; memory: MemoryReport }
  | { type: 'error'; id: number; during: 'load' | 'generate' | 'worker'; message: string; cancelled?: boolean };
