/**
 * The one place where the CLI checks numbers: every numeric flag of every command and every
 * value of a `train --config` file is validated here, once, before a command runs. The rules
 * themselves (what "a positive integer" is) come from `@mamba3/tensor`, which the model and
 * mixer configs read too. zod does the walking and the unknown-key detection; a Levenshtein
 * match turns an unknown key into a "did you mean".
 */
import { closest } from 'fastest-levenshtein';
import { z } from 'zod';
import { MAMBA3_DEFAULTS } from '@mamba3/core';
import { MAMBA_CONFIG_DEFAULTS } from '@mamba3/model';
import { intRule, isIntAtLeast, isPositiveNumber } from '@mamba3/tensor';
import { UsageError } from './command.js';

/** A rule on a number: a test and how to say it ("must be ..."). */
interface Rule {
  ok(v: number): boolean;
  says: string;
}

const int = (min: number): Rule => ({ ok: (v) => isIntAtLeast(v, min), says: intRule(min) });
const anyInt: Rule = { ok: Number.isSafeInteger, says: 'an integer' };
const positive: Rule = { ok: isPositiveNumber, says: 'a positive number' };
const nonNegative: Rule = { ok: (v) => v >= 0 && Number.isFinite(v), says: 'a number >= 0' };
const openUnit: Rule = { ok: (v) => v > 0 && v < 1, says: 'a number in (0, 1)' };
const halfOpenUnit: Rule = { ok: (v) => v >= 0 && v < 1, says: 'a number in [0, 1)' };
const upToOne: Rule = { ok: (v) => v > 0 && v <= 1, says: 'a number in (0, 1]' };
const ropeFraction: Rule = { ok: (v) => v === 0.5 || v === 1, says: '0.5 or 1' };

const num = (r: Rule) => z.custom<number>((v) => typeof v === 'number' && r.ok(v), { error: `must be ${r.says}` });
const bool = z.custom<boolean>((v) => typeof v === 'boolean', { error: 'must be true or false' });
const str = z.custom<string>((v) => typeof v === 'string' && v.length > 0, { error: 'must be a non-empty string' });

/** Every numeric flag of every command, by name. */
export const NUMERIC_FLAGS: Readonly<Record<string, Rule>> = {
  'max-new-tokens': int(1),
  temperature: nonNegative,
  'top-k': int(0),
  'top-p': upToOne,
  'min-p': halfOpenUnit,
  'repetition-penalty': positive,
  seed: anyInt,
  'chunk-size': int(1),
  tolerance: nonNegative,
  'batch-size': int(1),
  'seq-len': int(1),
  'val-fraction': openUnit,
  steps: int(1),
  'train-length': int(1),
  'eval-length': int(1),
  lr: positive,
  'min-lr': nonNegative,
  'd-model': int(1),
  'n-layer': int(1),
  'd-state': int(1),
  headdim: int(1),
  'label-smoothing': halfOpenUnit,
  'weight-decay': nonNegative,
  beta2: halfOpenUnit,
  'eval-every': int(0),
  'prefill-slice': int(1),
  greedy: int(0),
  'prompt-len': int(0),
};

/** Flags whose value is one of a few words. */
const CHOICE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  mode: ['chunked', 'step'],
  split: ['val', 'all'],
  complex: ['true', 'false'],
};

export type FlagValues = Record<string, string | number | boolean | string[] | boolean[] | undefined>;

/** Checks and converts every numeric and choice flag; a bad one is a `UsageError` naming it. */
export function validateFlags(values: Record<string, unknown>): FlagValues {
  const out: FlagValues = { ...(values as FlagValues) };
  for (const [key, raw] of Object.entries(values)) {
    if (typeof raw !== 'string') continue;
    const rule = NUMERIC_FLAGS[key];
    if (rule) {
      const v = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!rule.ok(v)) throw new UsageError(`--${key} must be ${rule.says}, got ${JSON.stringify(raw)}`);
      out[key] = v;
    }
    const choices = CHOICE_FLAGS[key];
    if (choices && !choices.includes(raw)) throw new UsageError(`--${key} must be ${choices.join(' or ')}, got ${JSON.stringify(raw)}`);
  }
  return out;
}

// The train config file -------------------------------------------------------------------------

const mixerShape = {
  layer: z.literal('Mamba3', { error: 'must be "Mamba3"' }).optional(),
  dState: num(int(1)).optional(),
  expand: num(positive).optional(),
  headdim: num(int(1)).optional(),
  ngroups: num(int(1)).optional(),
  ropeFraction: num(ropeFraction).optional(),
  dtMin: num(positive).optional(),
  dtMax: num(positive).optional(),
  dtInitFloor: num(positive).optional(),
  AFloor: num(nonNegative).optional(),
  isOutprojNorm: bool.optional(),
  isMimo: bool.optional(),
  mimoRank: num(int(1)).optional(),
  chunkSize: num(int(1)).optional(),
  complex: bool.optional(),
} satisfies Record<keyof typeof MAMBA3_DEFAULTS | 'layer', z.ZodType>;

const modelShape = {
  dModel: num(int(1)),
  nLayer: num(int(1)),
  vocabSize: num(int(1)).optional(),
  dIntermediate: num(int(0)).optional(),
  ssmCfg: z.strictObject(mixerShape).optional(),
  attnLayerIdx: z.array(num(int(0))).optional(),
  // Attention options are checked by the model's own config parser (resolveMhaConfig).
  attnCfg: z.record(z.string(), z.unknown()).optional(),
  rmsNorm: bool.optional(),
  residualInFp32: bool.optional(),
  fusedAddNorm: bool.optional(),
  padVocabSizeMultiple: num(int(1)).optional(),
  tieEmbeddings: bool.optional(),
  normEpsilon: num(positive).optional(),
} satisfies Record<keyof typeof MAMBA_CONFIG_DEFAULTS | 'dModel' | 'nLayer' | 'vocabSize', z.ZodType>;

/** The JSON file `mamba3 train --config` reads. */
export const TrainConfigSchema = z.strictObject({
  /** Names the run: the default output folder is runs/NAME. */
  name: str.optional(),
  data: z.strictObject({
    path: str,
    /** "char", "byte" or a tokenizer file. */
    tokenizer: str.optional(),
    valFraction: num(openUnit).optional(),
  }),
  model: z.strictObject(modelShape),
  train: z.strictObject({
    steps: num(int(1)),
    batchSize: num(int(1)),
    seqLen: num(int(1)),
    lr: num(positive),
    minLr: num(nonNegative).optional(),
    warmupSteps: num(int(0)).optional(),
    gradClip: num(nonNegative).optional(),
    accumulate: num(int(1)).optional(),
    evalEvery: num(int(0)).optional(),
    evalBatches: num(int(1)).optional(),
    checkpointEvery: num(int(0)).optional(),
    seed: num(anyInt).optional(),
    weightDecay: num(nonNegative).optional(),
  }),
  /** Where the model goes (default runs/NAME); an existing model there needs --overwrite. */
  out: str.optional(),
  outDType: z.enum(['F32', 'F16', 'BF16'], { error: 'must be "F32", "F16" or "BF16"' }).optional(),
});

export type TrainConfigFile = z.infer<typeof TrainConfigSchema>;

/** The object schema at a path (through optionals), for the keys a "did you mean" picks from. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const key of path) {
    while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    s = s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>)[String(key)] : undefined;
  }
  while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One line for the first problem zod found in `value`. */
function firstProblem(schema: z.ZodType, value: unknown, error: z.ZodError): string {
  // A misspelt key also shows up as a missing one: name the misspelling first.
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const known = keysAt(schema, issue.path);
    const near = known.length ? closest(key, known) : '';
    const full = at ? `${at}.${key}` : key;
    return `unknown key "${full}"${near ? ` (did you mean "${at ? `${at}.` : ''}${near}"?)` : ''}; known here: ${known.join(', ')}`;
  }
  const got = valueAt(value, issue.path);
  if (got === undefined) return `${at} is required`;
  if (issue.code === 'invalid_type' && issue.expected === 'object') return `${at} must be an object, got ${describe(got)}`;
  return `${at} ${issue.message}, got ${describe(got)}`;
}

/** Validates a parsed train config; a problem is a `UsageError` naming the file and the key. */
export function parseTrainConfig(file: string, value: unknown): TrainConfigFile {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${file}: expected a JSON object`);
  const r = TrainConfigSchema.safeParse(value);
  if (!r.success) throw new UsageError(`${file}: ${firstProblem(TrainConfigSchema, value, r.error)}`);
  return r.data;
}
