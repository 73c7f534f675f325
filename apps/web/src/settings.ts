/** Checks the sampling inputs before they reach the worker, with messages a person can act on. */

export interface SamplingSettings {
  temperature: number;
  topP: number;
  maxNewTokens: number;
  /** Absent: a new random seed each run. */
  seed?: number;
}

export interface RawSettings {
  temperature: string;
  topP: string;
  maxNewTokens: string;
  seed: string;
}

export const MAX_NEW_TOKENS_LIMIT = 4096;

/** The one definition of each field's range; the page copies it onto the inputs' min/max. */
export const LIMITS = {
  temperature: { min: 0, max: 5 },
  topP: { min: 0.01, max: 1 },
  maxNewTokens: { min: 1, max: MAX_NEW_TOKENS_LIMIT },
  seed: { min: 0, max: 2 ** 32 - 1 },
} as const;

export type Field = keyof RawSettings;

export type Parsed = { ok: true; value: SamplingSettings } | { ok: false; error: string; field: Field };

function num(text: string): number {
  return text.trim() === '' ? Number.NaN : Number(text);
}

export function parseSettings(raw: RawSettings): Parsed {
  const temperature = num(raw.temperature);
  const topP = num(raw.topP);
  const maxNewTokens = num(raw.maxNewTokens);
  const t = LIMITS.temperature;
  if (!Number.isFinite(temperature) || temperature < t.min || temperature > t.max) {
    return { ok: false, field: 'temperature', error: `Temperature must be a number from ${t.min} to ${t.max} (0 means always the likeliest token).` };
  }
  if (!Number.isFinite(topP) || topP <= 0 || topP > LIMITS.topP.max) return { ok: false, field: 'topP', error: 'Top-p must be greater than 0 and at most 1.' };
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < LIMITS.maxNewTokens.min || maxNewTokens > LIMITS.maxNewTokens.max) {
    return { ok: false, field: 'maxNewTokens', error: `Max tokens must be a whole number from 1 to ${MAX_NEW_TOKENS_LIMIT}.` };
  }
  if (raw.seed.trim() === '') return { ok: true, value: { temperature, topP, maxNewTokens } };
  const seed = num(raw.seed);
  if (!Number.isInteger(seed) || seed < LIMITS.seed.min || seed > LIMITS.seed.max) return { ok: false, field: 'seed', error: 'Seed must be empty (random) or a whole number from 0 to 4294967295.' };
  return { ok: true, value: { temperature, topP, maxNewTokens, seed } };
}
