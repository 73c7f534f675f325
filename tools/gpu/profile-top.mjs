// The heaviest functions of a V8 CPU profile (node --cpu-prof): self and inclusive milliseconds,
// optionally only under calls of one function. Time in native code (Dawn's encoder, N-API) counts
// as the self time of the JS function that called it.
// Usage: node tools/gpu/profile-top.mjs FILE.cpuprofile [FUNCTION_NAME]
import fs from 'node:fs';

const [file, root] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
const ancestors = function* (id) {
  for (; id !== undefined; id = parent.get(id)) yield byId.get(id);
};
const self = new Map();
const inclusive = new Map();
const add = (m, k, us) => m.set(k, (m.get(k) ?? 0) + us);
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  const chain = [...ancestors(id)];
  if (root && !chain.some((n) => n.callFrame.functionName === root)) return;
  add(self, label(chain[0]), us);
  for (const k of new Set(chain.map(label))) add(inclusive, k, us);
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const show = (title, m, count) => {
  console.log(`-- ${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`${(us / 1000).toFixed(0).padStart(8)} ms  ${k}`);
};
console.log(`total ${(total / 1000).toFixed(0)} ms${root ? ` under ${root}` : ''}`);
show('self', self, 30);
show('inclusive', inclusive, 40);
