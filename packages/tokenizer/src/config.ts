/**
 * Checked reads from a parsed tokenizer.json: each accessor names the JSON path, what it
 * expected and what it found, so a malformed file fails with a message instead of a crash.
 */
import { TokenizerConfigError } from './errors.js';

export type JsonObject = { readonly [key: string]: unknown };

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 60 ? `${s.slice(0, 57)}...` : s}`;
}

/**
 * How deep a tokenizer file may nest. Real files nest under 10 levels; components are built
 * recursively (a Sequence of Sequences ...), so a hostile file nested thousands deep would
 * overflow the stack.
 */
export const MAX_NESTING = 64;

/** Refuses JSON nested deeper than `MAX_NESTING` (walked with an explicit stack, never recursion). */
export function checkNesting(value: unknown, label: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_NESTING) throw new TokenizerConfigError(`${label}: nested more than ${MAX_NESTING} levels deep (a real tokenizer file nests under 10)`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON object with its path. */
export class Cfg {
  constructor(
    readonly obj: JsonObject,
    readonly path: string,
  ) {}

  static from(v: unknown, path: string): Cfg {
    if (!isObject(v)) throw new TokenizerConfigError(`${path}: expected an object, got ${describe(v)}`);
    return new Cfg(v, path);
  }

  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  fail(key: string, expected: string): never {
    throw new TokenizerConfigError(`${this.at(key)}: expected ${expected}, got ${describe(this.obj[key])}`);
  }

  str(key: string, fallback?: string): string {
    const v = this.obj[key];
    if (typeof v === 'string') return v;
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    return this.fail(key, 'a string');
  }

  optStr(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? v : this.fail(key, 'a string or null');
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.obj[key];
    if (typeof v === 'boolean') return v;
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    return this.fail(key, 'true or false');
  }

  /** A non-negative integer. */
  int(key: string, fallback?: number): number {
    const v = this.obj[key];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    return this.fail(key, 'a non-negative integer');
  }

  /** A string of exactly one code point (Rust `char`). */
  char(key: string, fallback?: string): string {
    const v = this.str(key, fallback);
    if ([...v].length !== 1) return this.fail(key, 'a single character');
    return v;
  }

  obj_(key: string): Cfg {
    return Cfg.from(this.obj[key], this.at(key));
  }

  optObj(key: string): Cfg | undefined {
    return this.has(key) ? this.obj_(key) : undefined;
  }

  arr(key: string): { items: readonly unknown[]; path: (i: number) => string } {
    const v = this.obj[key];
    if (!Array.isArray(v)) return this.fail(key, 'an array');
    return { items: v, path: (i) => `${this.at(key)}[${i}]` };
  }

  /** The `type` tag; legacy files sometimes omit it, so callers may pass a guess. */
  type(guess?: string): string {
    const v = this.obj.type;
    if (typeof v === 'string') return v;
    if (v === undefined && guess !== undefined) return guess;
    return this.fail('type', 'a component type string');
  }
}

/** A `{ "String": "..." }` or `{ "Regex": "..." }` pattern. */
export type PatternSpec = { kind: 'String' | 'Regex'; source: string };

export function readPattern(cfg: Cfg, key: string): PatternSpec {
  const p = cfg.obj_(key);
  if (typeof p.obj.String === 'string') return { kind: 'String', source: p.obj.String };
  if (typeof p.obj.Regex === 'string') return { kind: 'Regex', source: p.obj.Regex };
  return cfg.fail(key, '{"String": "..."} or {"Regex": "..."}');
}
