/**
 * The demo as a visitor meets it, in headless Chromium without WebGPU (the CPU backend is the
 * fastest here): a checkpoint by URL with download progress, then from the cache with the server
 * gone; the output in view while generating on a laptop and a phone screen; each error next to
 * its cause, focused and marked invalid; a cancelled download.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Browser } from './support/browser.js';
import { launchChromium, openPage, SKIP_BROWSER } from './support/browser.js';
import { APP_ROOT } from './support/build-site.js';
import type { CheckpointServer } from './support/checkpoint-server.js';
import { serveCheckpoint } from './support/checkpoint-server.js';
import { byTestId, cacheSizeText, chooseSource, startGenerating, stopWhileStreaming, textOf, unfold, waitForFinish, waitForModel } from './support/demo-page.js';
import type { StaticServer } from './support/static-server.js';
import { serveStatic } from './support/static-server.js';

const HF_MAMBA2 = fileURLToPath(new URL('../../../packages/model/fixtures/family/hf_mamba2/', import.meta.url));
const DEFAULT_ASSETS = fileURLToPath(new URL('../../../packages/default-model/assets/', import.meta.url));

/** A complete Hugging Face folder: config, weights, and a tokenizer (the default model's characters fit its vocabulary). */
const FOLDER = {
  'config.json': readFileSync(join(HF_MAMBA2, 'config.json')),
  'model.safetensors': readFileSync(join(HF_MAMBA2, 'model.safetensors')),
  'tokenizer.json': readFileSync(join(DEFAULT_ASSETS, 'tokenizer.json')),
};

let site: StaticServer;

async function visit(browser: Browser, viewport = { width: 1366, height: 768 }): Promise<Page> {
  const { page, logs } = await openPage(browser);
  onTestFailed(() => console.error(`browser console for the failed test:\n${logs.length ? logs.join('\n') : '(no errors or warnings)'}`));
  await page.setViewportSize(viewport);
  await page.goto(site.url);
  return page;
}

/** Every text the progress line showed, recorded in the page as it changes. */
async function recordProgress(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const w = window as unknown as { progressTexts: string[] };
    w.progressTexts = [];
    const target = document.querySelector('[data-testid="load-progress-text"]')!;
    new MutationObserver(() => w.progressTexts.push(target.textContent ?? '')).observe(target, { childList: true, characterData: true, subtree: true });
  });
  return () => page.evaluate(() => (window as unknown as { progressTexts: string[] }).progressTexts);
}

async function loadUrl(page: Page, url: string): Promise<void> {
  await chooseSource(page, 'url');
  await page.fill(byTestId('model-url'), url);
  await page.click(byTestId('load-files'));
}

/** The error box: its text, whether `field` is marked invalid and focused, and whether the box sits right after `anchor`. */
async function errorAt(page: Page, field: string): Promise<{ text: string; invalid: string | null; focused: boolean; inView: boolean }> {
  await page.waitForSelector(`${byTestId('error')}:not([hidden])`);
  const focused = await page.$eval(byTestId(field), (el) => document.activeElement === el);
  const box = (await page.locator(byTestId('error')).boundingBox())!;
  const vp = page.viewportSize()!;
  return {
    text: await textOf(page, 'error'),
    invalid: await page.getAttribute(byTestId(field), 'aria-invalid'),
    focused,
    inView: box.y >= 0 && box.y + box.height <= vp.height,
  };
}

/** Whether the error box follows `field` (or its label) in the page, i.e. sits next to its cause. */
async function errorFollows(page: Page, field: string): Promise<boolean> {
  return page.$eval(byTestId(field), (el) => {
    const error = document.querySelector('[data-testid="error"]');
    return error !== null && (el.nextElementSibling === error || el.closest('label')?.nextElementSibling === error);
  });
}

if (SKIP_BROWSER) {
  it.skip('browser tests (skipped: MAMBA3_SKIP_BROWSER=1)', () => undefined);
} else {
  let browser: Browser;
  beforeAll(async () => {
    site = await serveStatic(join(APP_ROOT, 'dist'));
    browser = await launchChromium({ webgpu: false });
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  describe('layout', () => {
    it.each([
      ['laptop', { width: 1366, height: 768 }],
      ['phone', { width: 390, height: 844 }],
    ])('keeps prompt, Generate and the streaming output on the first screen (%s)', async (_, viewport) => {
      const page = await visit(browser, viewport);
      await waitForModel(page);
      expect(await textOf(page, 'status-state')).toMatch(/^Ready/);
      await startGenerating(page, { maxTokens: 4096, prompt: 'ROMEO:\n', foldSettings: true });
      // The page as it is while text streams, read in the page's own task with Stop pressed right after.
      const seen = await stopWhileStreaming(page, ['prompt', 'generate', 'output', 'status-state']);
      expect(seen.stopEnabled).toBe(true);
      for (const { id, box } of seen.boxes) {
        expect(box.y, `${id} top`).toBeGreaterThanOrEqual(0);
        expect(box.y + box.height, `${id} bottom`).toBeLessThanOrEqual(viewport.height);
      }
      expect(seen.speed).toMatch(/tokens\/s$/);
      // The page itself did not scroll to show it.
      expect(seen.scrollY).toBe(0);
      expect((await waitForFinish(page)).finish).toBe('abort');
      await page.close();
    });
  });

  describe('errors next to their cause', () => {
    it('an empty prompt and a temperature above its maximum', async () => {
      const page = await visit(browser, { width: 390, height: 844 });
      await waitForModel(page);
      await page.fill(byTestId('prompt'), '');
      await page.click(byTestId('generate'));
      let e = await errorAt(page, 'prompt');
      expect(e.text).toMatch(/^Error: Type a prompt first/);
      expect(e).toMatchObject({ invalid: 'true', focused: true, inView: true });
      expect(await errorFollows(page, 'prompt')).toBe(true);
      expect(await page.getAttribute(byTestId('app'), 'data-runs')).toBeNull();

      await page.fill(byTestId('prompt'), 'ROMEO:\n');
      await unfold(page, 'settings');
      await page.fill(byTestId('temperature'), '9');
      await page.click(byTestId('generate'));
      e = await errorAt(page, 'temperature');
      expect(e.text).toMatch(/^Error: Temperature must be a number from 0 to 5/);
      expect(e).toMatchObject({ invalid: 'true', focused: true, inView: true });
      expect(await errorFollows(page, 'temperature')).toBe(true);
      // The prompt's mark is gone once its error is.
      expect(await page.getAttribute(byTestId('prompt'), 'aria-invalid')).toBeNull();

      await page.fill(byTestId('temperature'), '0.8');
      await startGenerating(page, { maxTokens: 3 });
      expect((await waitForFinish(page)).generated.length).toBeGreaterThan(0);
      expect(await page.isHidden(byTestId('error'))).toBe(true);
      expect(await page.getAttribute(byTestId('temperature'), 'aria-invalid')).toBeNull();
      await page.close();
    });

    it('a malformed URL, then a folder that is not there (404)', async () => {
      const server = await serveCheckpoint(FOLDER);
      try {
        const page = await visit(browser);
        await waitForModel(page);
        await loadUrl(page, 'not a url');
        let e = await errorAt(page, 'model-url');
        expect(e.text).toMatch(/^Error: “not a url” is not a URL/);
        expect(e).toMatchObject({ invalid: 'true', focused: true });
        expect(await page.getAttribute(byTestId('app'), 'data-state')).toBe('failed');

        await loadUrl(page, server.url.replace('/ckpt/', '/missing/'));
        await page.waitForSelector(`${byTestId('app')}[data-state="failed"]`);
        e = await errorAt(page, 'model-url');
        expect(e.text).toMatch(/no config\.json/);
        expect(e).toMatchObject({ invalid: 'true', focused: true });
        expect(await errorFollows(page, 'model-url')).toBe(true);
        expect(await textOf(page, 'status-model')).toBe('none loaded');
        await page.close();
      } finally {
        await server.close();
      }
    });

    it('a cancelled download stops the load and says so', async () => {
      // 300 KiB at 32 KiB per 300 ms: about 3 s, long enough to press Cancel in.
      const server = await serveCheckpoint(FOLDER, { chunkDelayMs: 300 });
      try {
        const page = await visit(browser);
        await waitForModel(page);
        await loadUrl(page, server.url);
        await page.waitForFunction(() => /^Downloading model\.safetensors/.test(document.querySelector('[data-testid="load-progress-text"]')?.textContent ?? ''));
        await page.click(byTestId('cancel-load'));
        await page.waitForSelector(`${byTestId('app')}[data-state="failed"]`);
        expect(await textOf(page, 'status-state')).toBe('Loading cancelled');
        expect(await textOf(page, 'error')).toMatch(/^Error: Loading was cancelled/);
        expect(await page.isDisabled(byTestId('generate'))).toBe(true);
        // Nothing half-downloaded was kept.
        expect(await cacheSizeText(page)).toBe('none');
        await page.close();
      } finally {
        await server.close();
      }
    });
  });

  describe('a checkpoint by URL', () => {
    it('downloads with progress, then a second visit loads it from the cache with the server gone', async () => {
      const server = await serveCheckpoint(FOLDER);
      const page = await visit(browser);
      await waitForModel(page);
      const progress = await recordProgress(page);
      await loadUrl(page, server.url);
      await waitForModel(page);
      const texts = await progress();
      const downloads = texts.filter((t) => t.startsWith('Downloading model.safetensors: '));
      expect(downloads.length).toBeGreaterThan(2);
      expect(downloads.at(-1)).toMatch(/^Downloading model\.safetensors: [\d.]+ KiB of [\d.]+ KiB \(100%\), [\d.]+ (B|KiB|MiB)\/s$/);
      expect(texts.some((t) => t.startsWith('Moving onto the device:'))).toBe(true);
      expect(await textOf(page, 'status-model')).toMatch(new RegExp(`^${server.url.replace(/[.]/g, '\\.')}: [\\d,]+ parameters`));
      expect(await cacheSizeText(page)).toMatch(/^[\d.]+ KiB \(1 checkpoint\)$/);
      await startGenerating(page, { maxTokens: 5, prompt: 'ROMEO:\n' });
      expect((await waitForFinish(page)).generated.length).toBeGreaterThan(0);
      await page.close();

      const served = server.requests.length;
      await server.close();
      // A second visit: the page starts from the saved copy, and the port refuses connections.
      const again = await visit(browser);
      await waitForModel(again);
      expect(await textOf(again, 'status-model')).toMatch(/: [\d,]+ parameters, .*\(saved copy, no download\)$/);
      expect(server.requests.length).toBe(served);
      await startGenerating(again, { maxTokens: 5, prompt: 'ROMEO:\n' });
      expect((await waitForFinish(again)).generated.length).toBeGreaterThan(0);

      // Clearing the cache empties it; the next visit starts with the built-in model.
      await unfold(again, 'model-picker');
      await again.click(byTestId('clear-cache'));
      await again.waitForFunction(() => document.querySelector('[data-testid="cache-size"]')?.textContent === 'none');
      await again.close();
      const third = await visit(browser);
      await waitForModel(third);
      expect(await textOf(third, 'status-model')).toMatch(/^default model/);
      await third.close();
    });
  });
}
