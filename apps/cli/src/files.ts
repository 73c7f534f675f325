/**
 * Paths from flags and config files, checked before any work starts: a missing file, a
 * directory where a file belongs, or an output folder that cannot be written is one line
 * naming the flag and the path.
 */
import { constants, statSync } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CliError } from './command.js';

function statOf(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** `path` must be a readable file (`what` names it: "--data", "config.json"). */
export function requireFile(what: string, path: string): string {
  const st = statOf(path);
  if (!st) throw new CliError(`${what} ${path}: no such file`);
  if (st.isDirectory()) throw new CliError(`${what} ${path}: is a directory, expected a file`);
  return path;
}

/** `path` must exist (a file or a folder). */
export function requireExisting(what: string, path: string): string {
  if (!statOf(path)) throw new CliError(`${what} ${path}: no such file or folder`);
  return path;
}

export function isDirectory(path: string): boolean {
  return statOf(path)?.isDirectory() ?? false;
}

export function isFile(path: string): boolean {
  return statOf(path)?.isFile() ?? false;
}

/** Reads a text file given by a flag (checked first). */
export async function readTextFile(what: string, path: string): Promise<string> {
  requireFile(what, path);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`${what} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Parses a JSON file; bad JSON is one line naming the file and the parser's complaint. */
export async function readJsonFile(what: string, path: string): Promise<unknown> {
  const text = await readTextFile(what, path);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${what} ${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/**
 * Creates `dir` (and parents) and checks it can be written, before any training starts. The
 * folders are made one level at a time: Node's recursive mkdir spins forever under /proc.
 */
export async function prepareOutputFolder(what: string, dir: string): Promise<void> {
  const st = statOf(dir);
  if (st && !st.isDirectory()) throw new CliError(`${what} ${dir}: is a file, expected a folder`);
  const missing: string[] = [];
  let at = resolve(dir);
  while (!statOf(at)) {
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  try {
    for (const d of missing) await mkdir(d);
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new CliError(`${what} ${dir}: cannot create or write this folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}
