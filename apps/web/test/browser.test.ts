/**
 * The built demo in headless Chromium: generation on WebGPU (SwiftShader), the fallback when
 * WebGPU is missing (Auto: WebAssembly), WebAssembly on one thread and, cross-origin isolated,
 * on several, stopping, TensorFlow.js, and models picked from disk (including bad files).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Browser } from './support/browser.js';
import { launchChromium, openPage, SKIP_BROWSER } from './support/browser.js';
import { byTestId, chooseBackend, chooseSource, countOutputUpdates, startGenerating, stopWhileStreaming, textOf, waitForFinish, waitForModel } from './support/demo-page.js';
import { APP_ROOT } from './support/build-site.js';
import type { StaticServer } from './support/static-server.js';
import { serveStatic } from './support/static-server.js';

const MODEL_ASSETS = fileURLToPath(new URL('../../../packages/default-model/assets/', import.meta.url));
const DEFAULT_TOKENIZER = JSON.parse(readFileSync(join(MODEL_ASSETS, 'tokenizer.json'), 'utf8')) as { type?: string; unkToken?: string | null };
/** A character tokenizer without an unknown token rejects characters it does not know. */
const REJECTS_UNKNOWN_CHARACTERS = DEFAULT_TOKENIZER.type === 'CharTokenizer' && DEFAULT_TOKENIZER.unkToken == null;

/** A golden checkpoint folder (official save_pretrained, bfloat16 .bin), owned by the model package. */
const MAMBA3_BIN_FOLDER = fileURLToPath(new URL('../../../packages/model/fixtures/family/lm_mamba3_mlp_bf16', import.meta.url));

const HF_MAMBA2_FOLDER = fileURLToPath(new URL('../../../packages/model/fixtures/family/hf_mamba2', import.meta.url));

let server: StaticServer;

/** A fresh page on the demo; the browser's errors are printed if the test fails. */
async function demoPage(browser: Browser): Promise<Page> {
  const { page, logs } = await openPage(browser);
  onTestFailed(() => {
    console.error(`browser console for the failed test:\n${logs.length ? logs.join('\n') : '(no errors or warnings)'}`);
  });
  await page.goto(server.url);
  return page;
}

function assetFile(name: string, mimeType: string): { name: string; mimeType: string; buffer: Buffer } {
  return { name, mimeType, buffer: readFileSync(join(MODEL_ASSETS, name)) };
}

if (SKIP_BROWSER) {
  it.skip('browser tests (skipped: MAMBA3_SKIP_BROWSER=1)', () => undefined);
  console.warn('apps/web: browser tests skipped because MAMBA3_SKIP_BROWSER=1');
} else {
  beforeAll(async () => {
    server = await serveStatic(join(APP_ROOT, 'dist'));
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('with WebGPU (SwiftShader)', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium({ webgpu: true });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('streams text generated on the WebGPU backend', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await chooseBackend(page, 'webgpu');
      await waitForModel(page, 'webgpu');
      expect(await page.isHidden(byTestId('fallback-notice'))).toBe(true);
      expect(await textOf(page, 'status-backend')).toBe('WebGPU');
      expect(await textOf(page, 'status-device')).toMatch(/swiftshader/i);
      // Chosen by name on a software adapter: it runs, with a warning that it will be slow.
      expect(await page.isVisible(byTestId('backend-warning'))).toBe(true);
      expect(await textOf(page, 'backend-warning')).toMatch(/software one .* will be slow/);

      const updates = await countOutputUpdates(page);
      await startGenerating(page, { maxTokens: 20, prompt: 'ROMEO:\n' });
      const { finish, generated } = await waitForFinish(page);
      // `stop` would be an end-of-text token (the default tokenizer has none).
      expect(['length', 'stop']).toContain(finish);
      expect(generated.length).toBeGreaterThan(0);
      // One DOM update per token, not one at the end.
      expect(await updates()).toBeGreaterThan(2);
      expect(await textOf(page, 'output-prompt')).toBe('ROMEO:\n');
      expect(await textOf(page, 'status-state')).toMatch(/^Done .*: \d+ tokens in [\d.]+ s$/);
      expect(await textOf(page, 'status-speed')).toMatch(/^\d+(\.\d+)? tokens\/s$/);
      expect(await textOf(page, 'status-memory')).toMatch(/^[\d.]+ (B|KiB|MiB|GiB)$/);
      expect(await textOf(page, 'status-tensors')).toMatch(/live tensors, .* on webgpu/);
      expect(await page.getAttribute(byTestId('app'), 'data-backend')).toBe('webgpu');
    });
  });

  describe('without WebGPU', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium({ webgpu: false });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('says WebGPU is missing, falls back, and still generates (Auto)', async () => {
      const page = await demoPage(browser);
      expect(await page.inputValue(byTestId('backend-select'))).toBe('auto');
      await waitForModel(page);
      expect(await page.isVisible(byTestId('fallback-notice'))).toBe(true);
      expect(await textOf(page, 'fallback-notice')).toBe('WebGPU is not available in this browser, so the demo fell back to the WebAssembly backend.');
      // The browser's reason is in the technical details, not in the way.
      expect(await textOf(page, 'status-why')).toMatch(/.+/);
      expect(await page.getAttribute(byTestId('fallback-notice'), 'role')).toBeNull();
      expect(await page.getAttribute(byTestId('app'), 'data-backend')).toBe('wasm');

      await startGenerating(page, { maxTokens: 20 });
      const { finish, generated } = await waitForFinish(page);
      expect(['length', 'stop']).toContain(finish);
      expect(generated.length).toBeGreaterThan(0);
      expect(await textOf(page, 'status-backend')).toMatch(/^WebAssembly/);
    });

    it('generates on WebAssembly chosen by name, one thread (the page is not cross-origin isolated)', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await chooseBackend(page, 'wasm');
      await waitForModel(page, 'wasm');
      expect(await page.isHidden(byTestId('fallback-notice'))).toBe(true);
      expect(await textOf(page, 'status-backend')).toBe('WebAssembly');
      expect(await textOf(page, 'status-device')).toBe('WebAssembly SIMD128, 1 thread');
      await startGenerating(page, { maxTokens: 30, prompt: 'ROMEO:\n', temperature: 0, seed: 1 });
      const { finish, generated } = await waitForFinish(page);
      expect(finish).toBe('length');
      expect(generated.length).toBeGreaterThan(0);
      expect(await textOf(page, 'status-tensors')).toMatch(/live tensors, .* on wasm/);
    });

    it('a cross-origin-isolated page runs WebAssembly on threads, with the same text', async () => {
      const isolated = await serveStatic(join(APP_ROOT, 'dist'), { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
      try {
        const texts: string[] = [];
        for (const url of [isolated.url, server.url]) {
          const { page } = await openPage(browser);
          await page.goto(url);
          const cores = await page.evaluate(() => ({ isolated: crossOriginIsolated, n: navigator.hardwareConcurrency }));
          expect(cores.isolated).toBe(url === isolated.url);
          await waitForModel(page);
          await chooseBackend(page, 'wasm');
          await waitForModel(page, 'wasm');
          const threads = url === isolated.url ? cores.n : 1;
          expect(await textOf(page, 'status-device')).toBe(`WebAssembly SIMD128, ${threads} thread${threads > 1 ? 's' : ''}`);
          await startGenerating(page, { maxTokens: 30, prompt: 'ROMEO:\n', temperature: 0, seed: 1 });
          const { finish, generated } = await waitForFinish(page);
          expect(finish).toBe('length');
          console.log(`wasm in Chromium, ${threads} thread(s): ${await textOf(page, 'status-speed')} (30 tokens, default model)`);
          texts.push(generated);
          await page.close();
        }
        // Greedy decoding: the threads split the work, not the result.
        expect(texts[0]).toBe(texts[1]);
      } finally {
        await isolated.close();
      }
    });

    it('choosing WebGPU by name falls back too, with the notice', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await chooseBackend(page, 'webgpu');
      await waitForModel(page);
      expect(await textOf(page, 'fallback-notice')).toMatch(/^WebGPU is not available/);
      expect(await page.getAttribute(byTestId('app'), 'data-backend')).toBe('cpu');
    });

    it('the Stop button ends a long generation', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await startGenerating(page, { maxTokens: 4096 });
      // Stop once text is flowing.
      expect((await stopWhileStreaming(page)).stopEnabled).toBe(true);
      const { finish, generated } = await waitForFinish(page);
      expect(finish).toBe('abort');
      expect(generated.length).toBeGreaterThanOrEqual(5);
      expect(await textOf(page, 'status-state')).toMatch(/^Stopped: \d+ tokens/);
      const tokens = Number((await textOf(page, 'status-state')).match(/(\d+) tokens/)![1]);
      expect(tokens).toBeLessThan(4096);
      expect(await page.isEnabled(byTestId('generate'))).toBe(true);
      expect(await page.isDisabled(byTestId('stop'))).toBe(true);
    });

    it('a seed makes a run repeatable', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      const runs: string[] = [];
      for (let i = 0; i < 2; i++) {
        await startGenerating(page, { maxTokens: 30, seed: 7 });
        runs.push((await waitForFinish(page)).generated);
      }
      expect(runs[0].length).toBeGreaterThan(0);
      expect(runs[1]).toBe(runs[0]);
    });

    it('runs on TensorFlow.js (wasm)', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await chooseBackend(page, 'tfjs', 'wasm');
      await waitForModel(page, 'tfjs');
      expect(await textOf(page, 'status-backend')).toBe('TensorFlow.js');
      expect(await textOf(page, 'status-device')).toMatch(/^TensorFlow\.js [\d.]+ wasm$/);
      // No stale figure from an earlier run or backend.
      expect(await textOf(page, 'status-speed')).toBe('–');
      await startGenerating(page, { maxTokens: 10 });
      const { finish, generated } = await waitForFinish(page);
      expect(['length', 'stop']).toContain(finish);
      expect(generated.length).toBeGreaterThan(0);
    });

    it('loads a model picked from disk (safetensors + tokenizer.json + config.json)', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await chooseSource(page, 'files');
      await page.setInputFiles(byTestId('weights-file'), assetFile('model.safetensors', 'application/octet-stream'));
      await page.setInputFiles(byTestId('tokenizer-file'), assetFile('tokenizer.json', 'application/json'));
      await page.setInputFiles(byTestId('config-file'), assetFile('config.json', 'application/json'));
      await page.click(byTestId('load-files'));
      await waitForModel(page);
      expect(await textOf(page, 'status-model')).toMatch(/^model\.safetensors: [\d,]+ parameters/);
      await startGenerating(page, { maxTokens: 10 });
      expect((await waitForFinish(page)).generated.length).toBeGreaterThan(0);
    });

    it('loads a checkpoint folder picked from disk (official Mamba-3 bf16 pytorch_model.bin), with a tokenizer given', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await chooseSource(page, 'files');
      await page.setInputFiles(byTestId('folder-files'), MAMBA3_BIN_FOLDER);
      await page.click(byTestId('load-files'));
      await page.waitForSelector(`${byTestId('app')}[data-state="failed"]`);
      expect(await textOf(page, 'error')).toMatch(/ships no tokenizer \(tokenizer\.json\): pick one too/);
      // The default model's character tokenizer has fewer ids than this model's 250.
      await page.setInputFiles(byTestId('tokenizer-file'), assetFile('tokenizer.json', 'application/json'));
      await page.click(byTestId('load-files'));
      await waitForModel(page);
      expect(await textOf(page, 'status-model')).toMatch(/^lm_mamba3_mlp_bf16: [\d,]+ parameters/);
      await startGenerating(page, { maxTokens: 5 });
      expect((await waitForFinish(page)).generated.length).toBeGreaterThan(0);
    });

    it('loads a Hugging Face checkpoint folder (transformers Mamba-2, model.safetensors without the tied head)', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await chooseSource(page, 'files');
      await page.setInputFiles(byTestId('folder-files'), HF_MAMBA2_FOLDER);
      await page.setInputFiles(byTestId('tokenizer-file'), assetFile('tokenizer.json', 'application/json'));
      await page.click(byTestId('load-files'));
      await waitForModel(page);
      expect(await textOf(page, 'status-model')).toMatch(/^hf_mamba2: [\d,]+ parameters/);
      await startGenerating(page, { maxTokens: 5 });
      expect((await waitForFinish(page)).generated.length).toBeGreaterThan(0);
    });

    it('shows errors from the worker in the page: a bad tokenizer, then a missing config', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      await chooseSource(page, 'files');
      await page.setInputFiles(byTestId('weights-file'), assetFile('model.safetensors', 'application/octet-stream'));
      await page.setInputFiles(byTestId('tokenizer-file'), { name: 'tokenizer.json', mimeType: 'application/json', buffer: Buffer.from('{"not": "a tokenizer"') });
      await page.click(byTestId('load-files'));
      await page.waitForSelector(`${byTestId('app')}[data-state="failed"]`);
      expect(await textOf(page, 'error')).toMatch(/^Error: tokenizer\.json is not a tokenizer this demo can read/);
      expect(await page.isDisabled(byTestId('generate'))).toBe(true);

      // The placeholder's safetensors metadata may or may not hold a config: take a file whose metadata surely has none.
      const noMetadata = stripMetadata(readFileSync(join(MODEL_ASSETS, 'model.safetensors')));
      await page.setInputFiles(byTestId('weights-file'), { name: 'bare.safetensors', mimeType: 'application/octet-stream', buffer: noMetadata });
      await page.setInputFiles(byTestId('tokenizer-file'), assetFile('tokenizer.json', 'application/json'));
      await page.click(byTestId('load-files'));
      await page.waitForSelector(`${byTestId('app')}[data-state="failed"]`);
      expect(await textOf(page, 'error')).toMatch(/^Error: bare\.safetensors: .*config.*pick the model's config\.json too/);
    });

    it.skipIf(!REJECTS_UNKNOWN_CHARACTERS)('rejects a prompt the tokenizer cannot encode, and keeps working', async () => {
      const page = await demoPage(browser);
      await waitForModel(page);
      // The default tokenizer knows Tiny Shakespeare's characters only.
      await startGenerating(page, { maxTokens: 5, prompt: '€€€' });
      await page.waitForSelector(`${byTestId('error')}:not([hidden])`);
      expect(await textOf(page, 'error')).toMatch(/^Error: /);
      await page.waitForSelector(`${byTestId('app')}[data-state="ready"]`);
      await startGenerating(page, { maxTokens: 5, prompt: 'ROMEO:\n' });
      expect((await waitForFinish(page)).generated.length).toBeGreaterThan(0);
    });
  });
}

/** A safetensors file with the same tensors and no `__metadata__` (so no embedded config). */
function stripMetadata(file: Buffer): Buffer {
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  delete header.__metadata__;
  let json = JSON.stringify(header);
  // Keep the data 8-byte aligned, as the format asks.
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json, 'utf8'), file.subarray(8 + headerLength)]);
}

