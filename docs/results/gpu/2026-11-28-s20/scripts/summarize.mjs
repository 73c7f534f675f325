// Prints the session's tables from the calls' JSON: node scripts/summarize.mjs (from this folder).
// Calls 1-2: prefill GPU ms with 'auto' and each tile forced (rounds A and B); the chain timings
// (kt1/kt2, the lower median of the two); calls 3-5: GPU ms of the rounds and new/base.
import { readFileSync } from 'node:fs';
const rows = (f) => JSON.parse(readFileSync(f, 'utf8'))[0].rows;
const key = (r) => `${r.model} ${r.context}`;
const gpu = 'prefill GPU ms';

console.log('calls 1-2: prefill GPU ms, round A / round B (auto, 128x128 forced, 64x128 forced)');
const A = rows('call1/tilesA.json');
const B = new Map(rows('call2/tilesB.json').map((r) => [`${key(r)} ${r.backend}`, r]));
const byCtx = new Map();
for (const r of A) byCtx.set(key(r), [...(byCtx.get(key(r)) ?? []), `${r[gpu]}/${B.get(`${key(r)} ${r.backend}`)[gpu]}`]);
for (const [k, v] of byCtx) console.log(`  ${k.padEnd(22)} ${v.join('  ')}`);

console.log('call 2: chain µs (KT_CHAIN=1), the lower median of two runs, * the fastest');
const kt = (f) => {
  const o = new Map();
  for (const l of readFileSync(f, 'utf8').split('\n')) {
    const m = l.match(/^chain (.*) M(\d+) (\S+): median ([\d.]+)/);
    if (m) o.set(`${m[1]} M${m[2]}`, { ...(o.get(`${m[1]} M${m[2]}`) ?? {}), [m[3]]: +m[4] });
  }
  return o;
};
const [k1, k2] = [kt('call2/kt1.txt'), kt('call2/kt2.txt')];
for (const [k, v] of k1) {
  const t = Object.entries(v).map(([n, x]) => [n, Math.min(x, k2.get(k)?.[n] ?? x)]);
  const best = Math.min(...t.map(([, x]) => x));
  console.log(`  ${k.padEnd(18)} ${t.map(([n, x]) => `${n} ${x.toFixed(1)}${x === best ? '*' : ''}`).join('  ')}`);
}

for (const [call, names] of [['call3', ['1-base', '2-new', '3-new', '4-base']], ['call4', ['1-base2', '2-new', '3-new', '4-base2']], ['call5', ['1-base2', '2-new', '3-new', '4-base2']]]) {
  console.log(`${call}: prefill GPU ms ${names.join(' ')}, dispatches base/new, new/base (means of the rounds)`);
  const runs = names.map((n) => new Map(rows(`${call}/${n}.json`).map((r) => [key(r), r])));
  for (const k of runs[0].keys()) {
    const g = runs.map((r) => r.get(k)[gpu]);
    const ratio = (g[1] + g[2]) / (g[0] + g[3]);
    console.log(`  ${k.padEnd(22)} ${g.join(' ')}  ${runs[0].get(k)['prefill dispatches']}/${runs[1].get(k)['prefill dispatches']}  ${ratio.toFixed(3)}`);
  }
}
