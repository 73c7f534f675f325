import { parseArgs } from 'node:util';

/** Option specs in node:util parseArgs form. */
export type OptionSpecs = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export interface Command {
  name: string;
  /** One line for `mamba3 --help`. */
  summary: string;
  /** Usage text for `mamba3 NAME --help`. */
  usage: string;
  options: OptionSpecs;
  /** Resolves to the process exit code. */
  run(args: { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] }): Promise<number>;
}

/** An error whose message is shown without a stack trace (bad flags, missing files). */
export class UsageError extends Error {}
