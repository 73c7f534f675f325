/** Drives the demo through its data-testids, the way a person would. */
import type { Page } from 'playwright-core';

const LOAD_TIMEOUT = 90_000;
const GENERATE_TIMEOUT = 100_000;

export function byTestId(id: string): string {
  return `[data-testid="${id}"]`;
}

export async function textOf(page: Page, id: string): Promise<string> {
  return (await page.textContent(byTestId(id))) ?? '';
}

/** The cache's size as the page shows it once its newest read of the cache has finished. */
export async function cacheSizeText(page: Page): Promise<string> {
  await page.waitForSelector(`${byTestId('cache-size')}:not([data-pending])`, { state: 'attached' });
  return textOf(page, 'cache-size');
}

/**
 * Waits until a model is loaded (optionally on `backend`). A failed load throws with the page's
 * error text, so a test says why instead of timing out.
 */
export async function waitForModel(page: Page, backend?: string): Promise<void> {
  await page.waitForFunction(
    (want) => {
      const app = document.querySelector<HTMLElement>('[data-testid="app"]');
      return app?.dataset.state === 'failed' || (app?.dataset.state === 'ready' && (!want || app.dataset.backend === want));
    },
    backend,
    { timeout: LOAD_TIMEOUT },
  );
  if ((await page.getAttribute(byTestId('app'), 'data-state')) === 'failed') {
    throw new Error(`the model did not load: ${await textOf(page, 'error')}`);
  }
}

export interface GenerateOptions {
  maxTokens: number;
  prompt?: string;
  temperature?: number;
  seed?: number;
  /** Fold the sampling settings back after filling them (as a visitor would leave them) before Generate. */
  foldSettings?: boolean;
}

/** Opens a folded section (`<details data-testid=…>`) by clicking its summary, as a person would. */
export async function unfold(page: Page, id: 'settings' | 'model-picker'): Promise<void> {
  if (!(await page.$eval(byTestId(id), (d) => (d as HTMLDetailsElement).open))) await page.click(`${byTestId(id)} > summary`);
}

/** Picks a model source in the model picker. */
export async function chooseSource(page: Page, source: 'default' | 'url' | 'files'): Promise<void> {
  await unfold(page, 'model-picker');
  await page.check(byTestId(`source-${source}`));
}

/** Chooses a backend in the model picker (a new load starts). */
export async function chooseBackend(page: Page, backend: string, tfjsFlavor?: string): Promise<void> {
  await unfold(page, 'model-picker');
  if (tfjsFlavor) await page.selectOption(byTestId('tfjs-flavor-select'), tfjsFlavor);
  await page.selectOption(byTestId('backend-select'), backend);
}

/** Fills the form and presses Generate; resolves once the run has started. */
export async function startGenerating(page: Page, opts: GenerateOptions): Promise<void> {
  if (opts.prompt !== undefined) await page.fill(byTestId('prompt'), opts.prompt);
  await unfold(page, 'settings');
  await page.fill(byTestId('max-tokens'), String(opts.maxTokens));
  if (opts.temperature !== undefined) await page.fill(byTestId('temperature'), String(opts.temperature));
  if (opts.seed !== undefined) await page.fill(byTestId('seed'), String(opts.seed));
  if (opts.foldSettings) await page.click(`${byTestId('settings')} > summary`);
  const runs = (await page.getAttribute(byTestId('app'), 'data-runs')) ?? '0';
  await page.click(byTestId('generate'));
  // The run counter, not the state: a run that fails at once is back to "ready" before a poll sees it.
  await page.waitForFunction((before) => (document.querySelector<HTMLElement>('[data-testid="app"]')?.dataset.runs ?? '0') !== before, runs);
}

/** The page as `stopWhileStreaming` found it, the moment before Stop was pressed. */
export interface StreamingView {
  boxes: { id: string; box: DOMRect }[];
  speed: string;
  scrollY: number;
  stopEnabled: boolean;
}

/**
 * Waits until the run streams (still generating, 5+ characters out), reads the page (the boxes
 * of `ids`, the speed, the scroll) and presses Stop, all in one task of the page: the default
 * model decodes thousands of tokens/s in the browser, so a 4096-token run can end between two
 * Playwright calls.
 */
export async function stopWhileStreaming(page: Page, ids: readonly string[] = []): Promise<StreamingView> {
  const handle = await page.waitForFunction(
    (ids) => {
      const el = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
      if (el('app')?.dataset.state !== 'generating' || (el('generated')?.textContent ?? '').length < 5) return null;
      const stop = el('stop') as HTMLButtonElement | null;
      const view = {
        boxes: ids.map((id) => ({ id, box: el(id)!.getBoundingClientRect().toJSON() as DOMRect })),
        speed: el('status-speed')?.textContent ?? '',
        scrollY: window.scrollY,
        stopEnabled: !!stop && !stop.disabled,
      };
      stop?.click();
      return view;
    },
    ids,
    { timeout: GENERATE_TIMEOUT },
  );
  return (await handle.jsonValue()) as StreamingView;
}

/** Waits for the run to end; returns how it ended and the generated text. */
export async function waitForFinish(page: Page): Promise<{ finish: string; generated: string }> {
  await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid="app"]')?.dataset.finish !== undefined || !document.querySelector('[data-testid="error"]')?.hasAttribute('hidden'), undefined, {
    timeout: GENERATE_TIMEOUT,
  });
  const finish = (await page.getAttribute(byTestId('app'), 'data-finish')) ?? '';
  if (!finish) throw new Error(`generation failed: ${await textOf(page, 'error')}`);
  return { finish, generated: await textOf(page, 'generated') };
}

/** Counts DOM updates of the output, to tell streaming apart from one final write. */
export async function countOutputUpdates(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    const w = window as unknown as { outputUpdates: number };
    w.outputUpdates = 0;
    const target = document.querySelector('[data-testid="generated"]')!;
    new MutationObserver((records) => (w.outputUpdates += records.length)).observe(target, { childList: true, characterData: true, subtree: true });
  });
  return () => page.evaluate(() => (window as unknown as { outputUpdates: number }).outputUpdates);
}
