#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SuiteResult } from './suite.js';
import { SettingError } from './suite.js';
import { suites } from './suites/index.js';
import { appendMarkdown } from './markdown.js';
import { availableBackends, resolveBackendNames } from './backends.js';

const { values } = parseArgs({
  options: {
    suite: { type: 'string', multiple: true },
    backend: { type: 'string', multiple: true },
    json: { type: 'string' },
    md: { type: 'string' },
    quick: { type: 'boolean', default: false },
    set: { type: 'string', multiple: true },
    list: { type: 'boolean', default: false },
  },
});

if (values.list) {
  for (const s of suites) console.log(`${s.name.padEnd(16)} ${s.summary}`);
  process.exit(0);
}

const chosen = values.suite?.length ? suites.filter((s) => values.suite!.includes(s.name)) : suites;
const unknown = (values.suite ?? []).filter((n) => !suites.some((s) => s.name === n));
if (unknown.length) {
  console.error(`bench: unknown suite(s) ${unknown.join(', ')}; --list shows them`);
  process.exit(2);
}
const settings = Object.fromEntries((values.set ?? []).map((kv) => kv.split('=', 2) as [string, string]));
// Without --backend: every backend that starts here (a software WebGPU adapter included).
const backends = values.backend?.length ? await resolveBackendNames(values.backend) : await availableBackends();
if (!values.backend?.length) console.log(`backends: ${backends.join(', ')} (all that start here; choose with --backend)`);
const results: SuiteResult[] = [];
for (const s of chosen) {
  console.log(`\n== ${s.name}: ${s.summary}`);
  try {
    results.push(await s.run({ backends, quick: values.quick ?? false, settings }));
  } catch (err) {
    if (!(err instanceof SettingError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
}
if (values.json) {
  writeFileSync(values.json, JSON.stringify(results, null, 2));
  console.log(`\nwrote ${values.json}`);
}
if (values.md) {
  await appendMarkdown(values.md, results, `pnpm bench ${process.argv.slice(2).join(' ')}`);
  console.log(`appended the tables to ${values.md}`);
}
