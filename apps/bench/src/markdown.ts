import { appendFile } from 'node:fs/promises';
import type { SuiteResult } from './suite.js';

/** One results table per suite, with where, when and how it ran. */
export function toMarkdown(r: SuiteResult, command: string): string {
  const cols = [...new Set(r.rows.flatMap((row) => Object.keys(row)))];
  const m = r.machine;
  const lines = [
    `### ${r.suite} (${m.date.slice(0, 10)}, ${m.cpu}, ${m.cores} cores, Node ${m.node})`,
    '',
    `Command: \`${command}\``,
    '',
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...r.rows.map((row) => `| ${cols.map((c) => String(row[c] ?? '')).join(' | ')} |`),
    '',
    ...(r.notes ?? []).map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}

export async function appendMarkdown(path: string, results: SuiteResult[], command: string): Promise<void> {
  await appendFile(path, `\n${results.map((r) => toMarkdown(r, command)).join('\n')}`);
}
