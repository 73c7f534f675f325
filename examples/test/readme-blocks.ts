/**
 * The fenced code blocks of the project's READMEs, each with the marker comment above it that
 * says how CI runs it:
 *   <!-- example: examples/readme/x.ts -->   the block is that file (byte for byte); readme.test.ts runs it
 *   <!-- runs-in: FILE -->                    every command of the block appears in FILE, which runs it
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples', 'readme');

export type Marker = { kind: 'example'; file: string } | { kind: 'runs-in'; file: string };

export interface Block {
  /** README path relative to the repository root. */
  readme: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The lines between the fences, each ending in a newline. */
  body: string;
  marker: Marker | null;
}

/** The READMEs CI covers: the root's, each package's and app's, and this folder's. */
export function readmePaths(): string[] {
  const paths = ['README.md', 'examples/README.md'];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(REPO_ROOT, group)).sort()) {
      if (existsSync(join(REPO_ROOT, group, name, 'README.md'))) paths.push(`${group}/${name}/README.md`);
    }
  }
  return paths.filter((p) => existsSync(join(REPO_ROOT, p)));
}

const MARKER = /^<!--\s*(example|runs-in):\s*(\S+)\s*-->$/;

/** Every fenced block of one README, with the marker on the line above its opening fence (blank lines allowed between). */
export function blocksOf(readme: string): Block[] {
  const lines = readFileSync(join(REPO_ROOT, readme), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^(`{3,})(\S*)\s*$/);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === open[1]);
    if (end < 0) throw new Error(`${readme}:${i + 1}: unclosed code block`);
    let above = i - 1;
    while (above >= 0 && lines[above].trim() === '') above--;
    const m = above >= 0 ? lines[above].trim().match(MARKER) : null;
    blocks.push({
      readme,
      line: i + 1,
      lang: open[2],
      body: lines.slice(i + 1, end).map((l) => `${l}\n`).join(''),
      marker: m ? { kind: m[1] as Marker['kind'], file: m[2] } : null,
    });
    i = end;
  }
  return blocks;
}

/** The commands of a shell block: each non-empty line without its trailing `# comment`. */
export function shellCommands(body: string): string[] {
  return body
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Files under examples/readme, relative to the repository root. */
export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .sort()
    .map((f) => relative(REPO_ROOT, join(EXAMPLES_DIR, f)));
}
