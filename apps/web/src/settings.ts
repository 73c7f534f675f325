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

export type Parsed = { ok: true; value: SamplingSettings } | { ok: false; error: string };

function num(text: string): number {
  return text.trim() === '' ? Number.NaN : Number(text);
}

export function parseSettings(raw: RawSettings): Parsed {
  const temperature = num(raw.temperature);
  const topP = num(raw.topP);
  const maxNewTokens = num(raw.maxNewTokens);
  if (!Number.isFinite(temperature) || temperature < 0) return { ok: false, error: 'Temperature must be a number ≥ 0 (0 means greedy).' };
  if (!Number.isFinite(topP) || topP <= 0 || topP > 1) return { ok: false, error: 'Top-p must be greater than 0 and at most 1.' };
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens > MAX_NEW_TOKENS_LIMIT) {
    return { ok: false, error: `Max tokens must be a whole number from 1 to ${MAX_NEW_TOKENS_LIMIT}.` };
  }
  if (raw.seed.trim() === '') return { ok: true, value: { temperature, topP, maxNewTokens } };
  const seed = num(raw.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) return { ok: false, error: 'Seed must be empty (random) or a whole number from 0 to 4294967295.' };
  return { ok: true, value: { temperature, topP, maxNewTokens, seed } };
}
