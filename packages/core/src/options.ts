import { ConfigError, describeValue } from '@mamba3/tensor';

/** Option checks shared by the mixer configs: each error names the module and the option. */
export function positiveInt(where: string, name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ConfigError(`${where}: ${name} must be an integer >= ${min}, got ${describeValue(v)}`);
  return v;
}

// The same checks and messages as the tensor package's (core's positiveInt words its rule as
// "an integer >= min", which its callers' messages keep).
export { booleanValue as isBool, positiveNumber } from '@mamba3/tensor';

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Maps official snake_case constructor arguments to TypeScript options with `keys`; keys in
 * `ignored` (no effect on the math: device, layer_idx, fast-path switches) are dropped, any other
 * key is an error naming the known ones.
 */
export function mapOfficial(where: string, raw: Record<string, unknown>, keys: Record<string, string>, ignored: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    // Own keys only: "toString" or "constructor" in a file must not find Object's methods.
    const key = Object.hasOwn(keys, k) ? keys[k] : undefined;
    if (key !== undefined) out[key] = v;
    else if (!ignored.has(k)) throw new ConfigError(`${where}: unknown option "${k}" (known: ${Object.keys(keys).join(', ')})`);
  }
  return out;
}

/** The inverse of softplus, for dt biases: softplus(inverseSoftplus(dt)) = dt. */
export function inverseSoftplus(dt: number): number {
  return dt + Math.log(-Math.expm1(-dt));
}

/** dt log-uniform in [dtMin, dtMax], floored at dtInitFloor (the official dt initialisation). */
export function sampleDt(u: number, dtMin: number, dtMax: number, dtInitFloor: number): number {
  return Math.max(Math.exp(u * (Math.log(dtMax) - Math.log(dtMin)) + Math.log(dtMin)), dtInitFloor);
}

/**
 * A number as configs write it: JSON numbers, the strings "Infinity"/"-Infinity"/"inf"/"NaN"
 * (Python's json module writes bare Infinity; loaders often hand it on as a string) and
 * transformers' `{"__float__": "Infinity"}`. Anything else is returned unchanged (the option's
 * own check then names it).
 */
export function officialNumber(v: unknown): unknown {
  const text = typeof v === 'string' ? v : v !== null && typeof v === 'object' && '__float__' in v ? (v as { __float__: unknown }).__float__ : undefined;
  if (typeof text !== 'string') return v;
  const t = text.trim().toLowerCase();
  if (t === 'infinity' || t === 'inf' || t === '+inf') return Infinity;
  if (t === '-infinity' || t === '-inf') return -Infinity;
  if (t === 'nan') return NaN;
  return v;
}
