/**
 * Every error the CLI can meet, as one line and an exit code: 2 for a usage mistake, 1 for a
 * failure. Stack traces only with MAMBA3_DEBUG=1 (and for nothing a user can fix).
 */
import { Mamba3Error } from '@mamba3/tensor';
import { TokenizerError } from '@mamba3/tokenizer';
import { CliError, UsageError } from './command.js';

const ERRNO: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'is a folder, expected a file',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
};

function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).syscall !== undefined;
}

export function describeError(err: unknown): { line: string; code: number } {
  if (err instanceof UsageError) return { line: err.message, code: 2 };
  if (err instanceof CliError) return { line: err.message, code: 1 };
  if (err instanceof Mamba3Error || err instanceof TokenizerError) return { line: `${err.name}: ${err.message}`, code: 1 };
  if (isErrno(err)) {
    const what = ERRNO[err.code!] ?? err.code;
    return { line: `${err.path ?? err.syscall}: ${what}`, code: 1 };
  }
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return { line: 'the input is nested too deeply to read (stack overflow)', code: 1 };
  }
  if (err instanceof RangeError && /alloc|array length|buffer/i.test(err.message)) {
    return { line: `out of memory (${err.message}): the model or input is too large for this backend`, code: 1 };
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { line: `unexpected error: ${message.split('\n')[0]} (MAMBA3_DEBUG=1 shows the stack)`, code: 1 };
}

/** Prints an error as one line on stderr (the stack too with MAMBA3_DEBUG=1); returns the exit code. */
export function reportError(prefix: string, err: unknown): number {
  const { line, code } = describeError(err);
  console.error(`${prefix}: ${line.split('\n')[0]}`);
  if (process.env.MAMBA3_DEBUG && err instanceof Error) console.error(err.stack);
  return code;
}
