/** One benchmark suite: runs, prints a table as it goes, returns JSON-able results. */
export interface Suite {
  name: string;
  summary: string;
  run(opts: SuiteOptions): Promise<SuiteResult>;
}

export interface SuiteOptions {
  /** Backends to measure (suites that are backend-independent ignore it). */
  backends: string[];
  /** Smaller sizes for a quick check. */
  quick: boolean;
  /** Free-form options from `--set key=value`. */
  settings: Record<string, string>;
}

export interface SuiteResult {
  suite: string;
  /** Where and when it ran. */
  machine: MachineInfo;
  rows: Record<string, string | number | boolean | null>[];
  /** Optional notes (what bounds the figures, what was compared). */
  notes?: string[];
}

export interface MachineInfo {
  date: string;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
}

/** A `--set` value that is not what the suite can use; main prints its message and exits with 2. */
export class SettingError extends Error {
  override name = 'SettingError';
}

/** `--set key=N`: a whole number of at least `min`, or `fallback` when the key is not set. */
export function countSetting(settings: Readonly<Record<string, string>>, key: string, fallback: number, min = 0): number {
  const raw = settings[key];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new SettingError(`bench: --set ${key}=${raw} is not a whole number of ${min} or more; pass e.g. --set ${key}=${Math.max(min, fallback)}`);
  return n;
}
