/**
 * The README's command for the demo: `pnpm --filter @mamba3/web dev` builds what the app
 * imports, starts Vite, and serves the page and its worker's modules.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const COMMAND = 'pnpm --filter @mamba3/web dev';

let child: ReturnType<typeof spawn> | null = null;

afterAll(() => {
  // Vite runs under pnpm (detached: its own process group), so end the group.
  if (child?.pid) process.kill(-child.pid, 'SIGTERM');
});

/** Starts the README's command and resolves with the address Vite prints (it moves on from 5173 when that port is taken). */
function startDevServer(): Promise<string> {
  const [cmd, ...args] = COMMAND.split(' ');
  child = spawn(cmd, args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer) => {
      log += b.toString();
      // eslint-disable-next-line no-control-regex
      const url = log.replace(/\x1b\[[0-9;]*m/g, '').match(/Local:\s+(http:\/\/127\.0\.0\.1:\d+\/)/);
      if (url) resolve(url[1]);
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.on('error', (err) => reject(new Error(`${COMMAND}: ${err.message} (is pnpm on PATH? npm test puts it there)`)));
    child!.on('exit', (code) => reject(new Error(`${COMMAND} exited (${code}) before serving:\n${log}`)));
  });
}

it(`${COMMAND} serves the demo page and its modules`, async () => {
  const url = await startDevServer();
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('data-testid="fallback-notice"');
  const entry = html.match(/<script type="module" src="([^"]*main\.ts)"/);
  expect(entry, html).not.toBeNull();
  const main = await fetch(new URL(entry![1], url));
  expect(main.status).toBe(200);
  expect(await main.text()).toContain('fallbackMessage');
}, 180_000);
