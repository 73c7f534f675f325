/**
 * Debian's Chromium, headless, driven by playwright-core. With `webgpu: true` it runs WebGPU on
 * SwiftShader (CPU-only machines have no other adapter); without, WebGPU has no adapter.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SKIP_BROWSER = process.env.MAMBA3_SKIP_BROWSER === '1';

const BASE_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
// Linux Chromium ships WebGPU off; these make sure no adapter appears whatever the build's defaults.
const NO_WEBGPU_ARGS = ['--disable-features=WebGPU,Vulkan', '--disable-gpu'];

export function missingChromiumMessage(): string {
  return (
    `Chromium not found at ${CHROMIUM_PATH}: the browser tests need Debian's chromium (apt-get install chromium; ` +
    '`npm test` installs it) or CHROMIUM_PATH pointing at a Chromium binary. Set MAMBA3_SKIP_BROWSER=1 to skip them.'
  );
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(opts: { webgpu: boolean }): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(missingChromiumMessage());
  const profile = mkdtempSync(join(tmpdir(), 'mamba3-web-profile-'));
  const runtimeDir = process.env.XDG_RUNTIME_DIR || mkdtempSync(join(tmpdir(), 'mamba3-web-xdg-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...BASE_ARGS, ...(opts.webgpu ? WEBGPU_ARGS : NO_WEBGPU_ARGS)],
    env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new page that keeps the browser's console errors and page errors, to print when a test fails. */
export async function openPage(browser: Browser): Promise<{ page: Page; logs: string[] }> {
  const page = await browser.context.newPage();
  const logs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') logs.push(`[console.${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  page.on('worker', (w) => w.on('close', () => logs.push(`[worker closed] ${w.url()}`)));
  return { page, logs };
}
