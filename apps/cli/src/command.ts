import { parseArgs } from 'node:util';
import type { FlagValues } from './schema.js';

/** Option specs in node:util parseArgs form. */
export type OptionSpecs = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export interface Command {
  name: string;
  /** One line for `mamba3 --help`. */
  summary: string;
  /** Usage text for `mamba3 NAME --help`. */
  usage: string;
  options: OptionSpecs;
  /** Resolves to the process exit code. `values` are checked: numeric flags are numbers (see schema.ts). */
  run(args: { values: FlagValues; positionals: string[] }): Promise<number>;
}

/** A mistake in how the command was called (a bad flag or config value): one line, exit 2. */
export class UsageError extends Error {}

/** A failure that is no bug of ours (a missing file, a folder that cannot be written): one line, exit 1. */
export class CliError extends Error {}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;
