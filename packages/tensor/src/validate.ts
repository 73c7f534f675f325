import { ConfigError } from './errors.js';

/*
 * The one definition of the numeric rules every config and option shares (model and mixer
 * configs, op attributes, the CLI's flag and config-file schemas): each reads these.
 */

/** Whether `v` is an integer number >= `min`. */
export function isIntAtLeast(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** Whether `v` is a finite number > 0. */
export function isPositiveNumber(v: unknown): v is number {
  return typeof v === 'number' && v > 0 && Number.isFinite(v);
}

/** The rule in words: "a positive integer", "a non-negative integer", "an integer >= 3". */
export function intRule(min: number): string {
  return min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
}

/** `v` as an integer >= `min` (default 1), else a `ConfigError` naming `where` and `name`. */
export function positiveInt(where: string, name: string, v: unknown, min = 1): number {
  if (!isIntAtLeast(v, min)) throw new ConfigError(`${where}: ${name} must be ${intRule(min)}, got ${String(v)}`);
  return v;
}

/** `v` as a finite number > 0, else a `ConfigError` naming `where` and `name`. */
export function positiveNumber(where: string, name: string, v: unknown): number {
  if (!isPositiveNumber(v)) throw new ConfigError(`${where}: ${name} must be a positive number, got ${String(v)}`);
  return v;
}
