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

/**
 * Any value as an error message shows it, never throwing. `String(v)` and template literals throw
 * on objects parsed from JSON with keys such as "toString" or "valueOf" (`{"toString": null}`), so
 * a value read from a file is shown through this: strings quoted (so "12" and 12 differ), other
 * primitives as they print, the rest as JSON, cut after 80 characters.
 */
export function describeValue(v: unknown): string {
  const text =
    typeof v === 'string' ? JSON.stringify(v) : v === null || (typeof v !== 'object' && typeof v !== 'function') ? (typeof v === 'symbol' ? v.toString() : String(v)) : jsonOrKind(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function jsonOrKind(v: object): string {
  try {
    const text = JSON.stringify(v) as string | undefined;
    if (text !== undefined) return text;
  } catch {
    // A cycle or a BigInt inside: the kind below says enough.
  }
  return Array.isArray(v) ? 'an array' : typeof v === 'function' ? 'a function' : 'an object';
}

/** `v` as an integer >= `min` (default 1), else a `ConfigError` naming `where` and `name`. */
export function positiveInt(where: string, name: string, v: unknown, min = 1): number {
  if (!isIntAtLeast(v, min)) throw new ConfigError(`${where}: ${name} must be ${intRule(min)}, got ${describeValue(v)}`);
  return v;
}

/** `v` as a finite number > 0, else a `ConfigError` naming `where` and `name`. */
export function positiveNumber(where: string, name: string, v: unknown): number {
  if (!isPositiveNumber(v)) throw new ConfigError(`${where}: ${name} must be a positive number, got ${describeValue(v)}`);
  return v;
}

/** `v` as a boolean, else a `ConfigError` naming `where` and `name` (a string "false" is not false). */
export function booleanValue(where: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(`${where}: ${name} must be true or false, got ${describeValue(v)}`);
  return v;
}
