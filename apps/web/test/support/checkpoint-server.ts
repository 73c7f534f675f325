/**
 * A checkpoint folder over HTTP on 127.0.0.1 (another port than the page: cross-origin, with
 * CORS, as a model hub is). Bodies are sent in small chunks with a pause between them, so the
 * page sees several progress events; `chunkDelayMs` large makes a download slow enough to cancel.
 */
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';

export interface CheckpointServer {
  /** The folder URL (ends with `/`). */
  url: string;
  /** Paths requested so far (GET and HEAD), e.g. `/ckpt/config.json`. */
  requests: string[];
  close(): Promise<void>;
}

const CHUNK = 32 * 1024;

async function sendSlowly(res: ServerResponse, body: Buffer, delayMs: number): Promise<void> {
  for (let at = 0; at < body.length && !res.destroyed; at += CHUNK) {
    res.write(body.subarray(at, at + CHUNK));
    await new Promise((r) => setTimeout(r, delayMs));
  }
  res.end();
}

export async function serveCheckpoint(files: Record<string, Buffer>, opts: { chunkDelayMs?: number } = {}): Promise<CheckpointServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    requests.push(path);
    const cors = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'content-length' };
    const name = path.startsWith('/ckpt/') ? path.slice('/ckpt/'.length) : null;
    const body = name !== null ? files[name] : undefined;
    if (!body) {
      res.writeHead(404, cors).end('not found');
      return;
    }
    res.writeHead(200, { ...cors, 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'cache-control': 'no-store' });
    if (req.method === 'HEAD') res.end();
    else void sendSlowly(res, body, opts.chunkDelayMs ?? 5);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ckpt/`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
