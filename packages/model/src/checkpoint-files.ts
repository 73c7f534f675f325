import type { ByteSource } from '@mamba3/tensor';
import { ArgumentError, blobSource, bytesSource, WeightsError } from '@mamba3/tensor';

/*
 * Where a checkpoint's files come from: a folder (Node), files picked in a browser, or a base
 * URL. Each answers "this file's text" and "this file's bytes" by file name, or null when the
 * file is not there; the layout logic (checkpoint.ts) never knows which.
 */

export interface FileProgress {
  /** Bytes read so far over all weight files. */
  loaded: number;
  /** Total bytes, when known. */
  total: number | null;
  file: string;
}

export interface CheckpointFiles {
  /** Names the folder, the file list or the URL in messages. */
  readonly label: string;
  has(name: string): Promise<boolean>;
  text(name: string): Promise<string | null>;
  /** A weight file as random-access bytes (downloaded whole for URLs, with progress). */
  open(name: string, onBytes?: (n: number, total: number | null) => void): Promise<ByteSource | null>;
}

/** Browser `File`s (e.g. from `<input type="file" webkitdirectory>`), matched by base name. */
export function filesFromList(files: Iterable<File> | ArrayLike<File>, label = 'picked files'): CheckpointFiles {
  const byName = new Map<string, File>();
  for (const f of Array.from(files as ArrayLike<File>)) byName.set(f.name.split('/').pop() as string, f);
  return {
    label,
    has: async (name) => byName.has(name),
    text: async (name) => (byName.has(name) ? (byName.get(name) as File).text() : null),
    open: async (name) => (byName.has(name) ? blobSource(byName.get(name) as File) : null),
  };
}

/** Files in memory, by name (tests, and bytes already fetched). */
export function filesFromRecord(files: Record<string, Uint8Array | string>, label = 'files'): CheckpointFiles {
  return {
    label,
    has: async (name) => files[name] !== undefined,
    text: async (name) => {
      const f = files[name];
      return f === undefined ? null : typeof f === 'string' ? f : new TextDecoder().decode(f);
    },
    open: async (name) => {
      const f = files[name];
      return f === undefined ? null : bytesSource(typeof f === 'string' ? new TextEncoder().encode(f) : f);
    },
  };
}

/** Files at least this large are read by HTTP range requests, tensor by tensor, where the server allows. */
export const RANGED_URL_BYTES = 64 * 1024 * 1024;

/**
 * A base URL; files are fetched with the signal. Weight files are streamed whole with progress,
 * or, from `rangedAbove` bytes (default 64 MiB) on servers that accept byte ranges, read tensor
 * by tensor with range requests, so a multi-GB checkpoint never sits in one buffer.
 */
export function filesFromUrl(base: string, signal?: AbortSignal, opts?: { rangedAbove?: number }): CheckpointFiles {
  const rangedAbove = opts?.rangedAbove ?? RANGED_URL_BYTES;
  const root = base.endsWith('/') ? base : `${base}/`;
  const get = async (name: string): Promise<Response | null> => {
    const res = await fetch(`${root}${name}`, { signal });
    if (res.status === 404) return null;
    if (!res.ok) throw new WeightsError(`fetching ${root}${name}: HTTP ${res.status} ${res.statusText}`);
    return res;
  };
  return {
    label: root,
    has: async (name) => {
      const res = await fetch(`${root}${name}`, { method: 'HEAD', signal });
      return res.ok;
    },
    text: async (name) => (await get(name))?.text() ?? null,
    open: async (name, onBytes) => {
      const head = await fetch(`${root}${name}`, { method: 'HEAD', signal });
      const size = Number(head.headers.get('content-length'));
      if (head.ok && head.headers.get('accept-ranges') === 'bytes' && Number.isSafeInteger(size) && size >= rangedAbove) {
        return rangedSource(`${root}${name}`, size, signal, onBytes);
      }
      const res = await get(name);
      if (!res) return null;
      const length = Number(res.headers.get('content-length'));
      return bytesSource(await readStream(res, Number.isFinite(length) && length > 0 ? length : null, onBytes));
    },
  };
}

function rangedSource(url: string, size: number, signal: AbortSignal | undefined, onBytes?: (n: number, total: number | null) => void): ByteSource {
  return {
    byteLength: size,
    read: async (offset, length) => {
      if (length === 0) return new Uint8Array(0);
      const res = await fetch(url, { signal, headers: { range: `bytes=${offset}-${offset + length - 1}` } });
      if (res.status !== 206) throw new WeightsError(`fetching bytes ${offset}..${offset + length} of ${url}: HTTP ${res.status} (expected 206 Partial Content)`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length !== length) throw new WeightsError(`fetching bytes ${offset}..${offset + length} of ${url}: got ${bytes.length} bytes`);
      onBytes?.(length, size);
      return bytes;
    },
  };
}

async function readStream(res: Response, total: number | null, onBytes?: (n: number, total: number | null) => void): Promise<Uint8Array> {
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer());
    onBytes?.(all.length, total);
    return all;
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.length;
    onBytes?.(value.length, total);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A folder on disk (Node only: loaded on first use). */
export async function filesFromDirectory(dir: string): Promise<CheckpointFiles> {
  const node = await import('./node-files.js');
  if (!(await node.isDirectory(dir))) throw new ArgumentError(`${dir} is not a folder (expected a checkpoint folder with config.json)`);
  return node.directoryFiles(dir);
}
