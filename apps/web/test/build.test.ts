/** The built site carries the default model's three files byte for byte, and tfjs's wasm binaries. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APP_ROOT } from './support/build-site.js';

const ASSETS = join(APP_ROOT, 'dist', 'assets');
const MODEL_ASSETS = fileURLToPath(new URL('../../../packages/default-model/assets/', import.meta.url));

function builtFiles(): string[] {
  return readdirSync(ASSETS);
}

describe('vite build', () => {
  it('writes index.html that loads the page script', () => {
    const html = readFileSync(join(APP_ROOT, 'dist', 'index.html'), 'utf8');
    expect(html).toMatch(/<script type="module"[^>]*src="\.\/assets\/index-[^"]+\.js"/);
  });

  it.each(['config.json', 'model.safetensors', 'tokenizer.json'])('includes the default model file %s as it is', (file) => {
    const source = readFileSync(join(MODEL_ASSETS, file));
    const [stem, ext] = file.split('.');
    const candidates = builtFiles().filter((f) => f.startsWith(`${stem}-`) && f.endsWith(`.${ext}`));
    expect(candidates, `dist/assets has no ${stem}-*.${ext}`).not.toHaveLength(0);
    expect(candidates.some((f) => readFileSync(join(ASSETS, f)).equals(source))).toBe(true);
  });

  it('bundles the worker separately and ships the tfjs wasm binaries', () => {
    const files = builtFiles();
    expect(files.some((f) => /^worker-.+\.js$/.test(f))).toBe(true);
    expect(files.filter((f) => f.endsWith('.wasm'))).toHaveLength(3);
  });
});
