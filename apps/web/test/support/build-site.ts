/** Vitest global setup: `vite build` into dist/ before any test serves it. */
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const APP_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default async function setup(): Promise<void> {
  await build({ root: APP_ROOT, logLevel: 'warn' });
}
