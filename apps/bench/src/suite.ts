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
