// The web demo's decode on WebAssembly in headless Chromium (one thread: the page is not
// cross-origin isolated): the default model, 400 tokens, temperature 0.8, seed 1, in fresh pages.
//   pnpm --filter @mamba3/web build && node tools/bench/web-wasm-rate.mjs [rounds]
// Prints the page's own speed and status lines per round. Chromium: CHROMIUM_PATH or /usr/bin/chromium.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../../apps/web/', import.meta.url));
const { chromium } = createRequire(join(web, 'package.json'))('playwright-core');
const dist = join(web, 'dist');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };
const server = createServer(async (req, res) => {
  let path = normalize(decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname)).replace(/^(\.\.[/\\])+/, '');
  if (path.endsWith('/')) path += 'index.html';
  try {
    const body = await readFile(join(dist, path));
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const id = (t) => `[data-testid="${t}"]`;
const state = (page, want) => page.waitForFunction((w) => document.querySelector('[data-testid="app"]')?.dataset.state === w, want, { timeout: 120_000 });
try {
  for (let k = 0; k < Number(process.argv[2] ?? 3); k++) {
    const page = await browser.newPage();
    await page.goto(url);
    await state(page, 'ready');
    const unfold = async (t) => (await page.$eval(id(t), (d) => d.open)) || (await page.click(`${id(t)} > summary`));
    await unfold('model-picker');
    await page.selectOption(id('backend-select'), 'wasm');
    await page.waitForFunction(() => document.querySelector('[data-testid="app"]')?.dataset.backend === 'wasm' && document.querySelector('[data-testid="app"]')?.dataset.state === 'ready', undefined, { timeout: 120_000 });
    await page.fill(id('prompt'), 'ROMEO:\n');
    await unfold('settings');
    await page.fill(id('max-tokens'), '400');
    await page.fill(id('temperature'), '0.8');
    await page.fill(id('seed'), '1');
    await page.click(id('generate'));
    await page.waitForFunction(() => document.querySelector('[data-testid="app"]')?.dataset.finish !== undefined, undefined, { timeout: 120_000 });
    const [speed, status, device] = await Promise.all(['status-speed', 'status-state', 'status-device'].map((t) => page.textContent(id(t))));
    console.log(`round ${k + 1}: ${speed} (${status}; ${device})`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
