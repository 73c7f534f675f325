/**
 * Checkpoints by URL, kept in the Cache API so a second visit loads without the network.
 *
 * Each file is streamed from the network straight into the cache (counted on the way for the
 * progress bar), then read back as a Blob: Chromium keeps large cache bodies on disk, so the
 * loader reads tensor by tensor from disk and a multi-GB checkpoint never sits in memory twice.
 * A manifest (the files the folder holds) is stored once a load succeeds: offline, it answers
 * "is there a tokenizer.json?" without asking the server.
 */
import type { CheckpointFiles } from '@mamba3/model';
import { blobSource } from '@mamba3/tensor';

export const CACHE_NAME = 'mamba3-checkpoints-v1';
const MANIFEST = '.mamba3-manifest.json';

export interface FileDownload {
  file: string;
  loaded: number;
  total: number | null;
  /** True when the bytes came from the cache (no download). */
  cached: boolean;
}

export interface CachedUrlFiles extends CheckpointFiles {
  /** Stores which files the folder holds, after a successful load. */
  remember(): Promise<void>;
  /** Deletes what this load stored, unless the folder was complete before: a failed or cancelled load keeps nothing half-done. */
  discard(): Promise<void>;
  /** True when every file came from the cache. */
  readonly offline: boolean;
}

/** A base URL as a folder URL (`…/`), or an error line a person can act on. */
export function folderUrl(text: string, pageUrl?: string): string {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('Type or pick the URL of a checkpoint folder (it holds config.json, the weights and usually tokenizer.json).');
  let url: URL;
  try {
    // A path on this site (/models/x/, ./x/) is read against the page; anything else must be a full URL.
    url = /^\.{0,2}\//.test(trimmed) ? new URL(trimmed, pageUrl) : new URL(trimmed);
  } catch {
    throw new Error(`“${trimmed}” is not a URL. Give the folder's address, e.g. https://huggingface.co/state-spaces/mamba-130m-hf/resolve/main/`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`“${trimmed}” is not an http(s) URL.`);
  // A URL naming a file inside the folder (…/config.json) means its folder.
  if (/\/[^/]+\.(json|bin|safetensors)$/.test(url.pathname)) url.pathname = url.pathname.replace(/[^/]+$/, '');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

function openCache(): Promise<Cache> {
  if (typeof caches === 'undefined') throw new Error('this page has no Cache API (it needs https or localhost), so checkpoints cannot be kept between visits');
  return caches.open(CACHE_NAME);
}

/** Wraps a response body in a stream that reports each chunk. */
function counted(res: Response, onChunk: (n: number) => void): Response {
  if (!res.body) return res;
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onChunk(chunk.length);
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

export async function cachedUrlFiles(base: string, opts: { signal?: AbortSignal; onFile?: (p: FileDownload) => void } = {}): Promise<CachedUrlFiles> {
  const root = folderUrl(base);
  const cache = await openCache();
  const manifestRes = await cache.match(root + MANIFEST);
  const manifest = manifestRes ? new Set((await manifestRes.json()) as string[]) : null;
  const present = new Set<string>();
  const stored: string[] = [];
  let allCached = true;

  /** The file's cached response, fetching and storing it first; null when the server has no such file. */
  async function response(name: string): Promise<Response | null> {
    if (manifest && !manifest.has(name)) return null;
    const url = root + name;
    const hit = await cache.match(url);
    if (hit) {
      present.add(name);
      return hit;
    }
    allCached = false;
    let res: Response;
    try {
      res = await fetch(url, { signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new Error(`could not reach ${url} (${err instanceof Error ? err.message : String(err)}): check the address and your connection`);
    }
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${url}: the server answered HTTP ${res.status} ${res.statusText}`.trim());
    const length = Number(res.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : null;
    let loaded = 0;
    opts.onFile?.({ file: name, loaded, total, cached: false });
    // put() reads the body to the end; an abort or a dropped connection rejects it and stores nothing.
    stored.push(url);
    await cache.put(
      url,
      counted(res, (n) => {
        loaded += n;
        opts.onFile?.({ file: name, loaded, total, cached: false });
      }),
    );
    present.add(name);
    return cache.match(url) as Promise<Response>;
  }

  return {
    label: root,
    get offline() {
      return allCached;
    },
    has: async (name) => (await response(name)) !== null,
    text: async (name) => (await response(name))?.text() ?? null,
    open: async (name, onBytes) => {
      const res = await response(name);
      if (!res) return null;
      const blob = await res.blob();
      opts.onFile?.({ file: name, loaded: blob.size, total: blob.size, cached: true });
      onBytes?.(blob.size, blob.size);
      return blobSource(blob);
    },
    async remember() {
      await cache.put(root + MANIFEST, new Response(JSON.stringify([...present]), { headers: { 'content-type': 'application/json' } }));
    },
    async discard() {
      if (manifest) return;
      await Promise.all(stored.map((url) => cache.delete(url)));
    },
  };
}

export interface CacheUsage {
  bytes: number;
  /** Checkpoint folders fully stored. */
  folders: string[];
}

/** What the cache holds (sizes read from the stored bodies, which Chromium keeps on disk). */
export async function cacheUsage(): Promise<CacheUsage> {
  if (typeof caches === 'undefined' || !(await caches.has(CACHE_NAME))) return { bytes: 0, folders: [] };
  const cache = await caches.open(CACHE_NAME);
  let bytes = 0;
  const folders: string[] = [];
  for (const req of await cache.keys()) {
    if (req.url.endsWith(MANIFEST)) folders.push(req.url.slice(0, -MANIFEST.length));
    const res = await cache.match(req);
    if (res) bytes += (await res.blob()).size;
  }
  return { bytes, folders };
}

/** True when a folder was loaded completely before (a visit can start from it offline). */
export async function isCached(base: string): Promise<boolean> {
  if (typeof caches === 'undefined') return false;
  const cache = await caches.open(CACHE_NAME);
  return (await cache.match(folderUrl(base) + MANIFEST)) !== undefined;
}

export async function clearCache(): Promise<void> {
  if (typeof caches !== 'undefined') await caches.delete(CACHE_NAME);
}
