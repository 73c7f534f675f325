// Prints the session's tables from the calls' JSON: node scripts/summarize.mjs (from this folder).
// Call 1: prefill GPU ms of the rounds base, new, new, base; dispatches; new/base (means of the
// rounds); the median tok/s of 5 prefills, the rounds side by side.
import { readFileSync } from 'node:fs';
const rows = (f) => JSON.parse(readFileSync(f, 'utf8'))[0].rows;
const key = (r) => `${r.model} ${r.context}`;
const gpu = 'prefill GPU ms';
const tok = 'prefill tok/s, median of 5';
const names = ['1-base', '2-new', '3-new', '4-base'];
console.log(`call 1: prefill GPU ms ${names.join(' ')}, dispatches base/new, new/base; tok/s (median of 5) ${names.join(' ')}`);
const runs = names.map((n) => new Map(rows(`call1/${n}.json`).map((r) => [key(r), r])));
for (const k of runs[0].keys()) {
  const g = runs.map((r) => r.get(k)[gpu]);
  const ratio = (g[1] + g[2]) / (g[0] + g[3]);
  console.log(`  ${k.padEnd(22)} ${g.join(' ')}  ${runs[0].get(k)['prefill dispatches']}/${runs[1].get(k)['prefill dispatches']}  ${ratio.toFixed(3)}  ${runs.map((r) => Math.round(r.get(k)[tok])).join(' ')}`);
}
