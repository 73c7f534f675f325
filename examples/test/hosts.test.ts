/**
 * No package registry, mirror or download host is named in the repository (issue 13): the
 * bootstrap and the tests use whatever npm, corepack and apt are configured with. The only
 * addresses allowed are ones nothing is downloaded from.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './readme-blocks.js';

/**
 * Addresses that are names, not package registries or mirrors: XML namespaces, schemas, the license's home,
 * examples, this machine, and the project/model pages the web demo links to and lets a user pick
 * released checkpoints from (nothing installs from them).
 */
const ALLOWED = new Set(['127.0.0.1', 'localhost', 'www.w3.org', 'example.com', 'turbo.build', 'www.apache.org', 'example.org', 'github.com', 'huggingface.co']);

it('names no host to download from in any tracked file', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT }).toString().split('\0').filter(Boolean);
  const found: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(join(REPO_ROOT, f), 'utf8');
    } catch {
      continue; // listed but absent (a deleted, unstaged file)
    }
    if (text.includes('\0')) continue; // binary
    for (const m of text.matchAll(/\b(?:https?|ftp|rsync):\/\/([A-Za-z0-9.-]+)/g)) {
      if (!ALLOWED.has(m[1].toLowerCase())) found.push(`${f}: ${m[0]}`);
    }
  }
  expect(files.length).toBeGreaterThan(50);
  expect(found, 'use what the machine is configured with instead').toEqual([]);
});
