#!/usr/bin/env node
// Merges two decode-variants.json files, written by decode-variants.mjs in two trees (an earlier
// commit's worktree and this one) with the same REGEX, into one for kernel-time.mjs: each variant
// as "NAME old" and "NAME new", side by side, so that one run times both generators' code on one
// machine. Variants whose code is the same in both are reported. Usage:
//   node tools/gpu/merge-variants.mjs OLD.json NEW.json [OUT.json (default .gpu/decode-variants.json)]
import { readFileSync, writeFileSync } from 'node:fs';

const [oldFile, newFile, outFile = '.gpu/decode-variants.json'] = process.argv.slice(2);
if (!oldFile || !newFile) {
  console.error('usage: node tools/gpu/merge-variants.mjs OLD.json NEW.json [OUT.json]');
  process.exit(2);
}
const read = (f) => {
  try {
    return JSON.parse(readFileSync(f, 'utf8'));
  } catch (err) {
    console.error(`merge-variants: cannot read ${f} (${err.message}); write it with tools/gpu/decode-variants.mjs`);
    process.exit(1);
  }
};
const [older, newer] = [read(oldFile), read(newFile)];
const out = {};
for (const [name, v] of Object.entries(newer)) {
  if (!older[name]) {
    console.error(`merge-variants: ${name} is in ${newFile} only; run decode-variants.mjs with the same REGEX in both trees`);
    process.exit(1);
  }
  if (older[name].code === v.code) console.log(`same code: ${name}`);
  out[`${name} old`] = older[name];
  out[`${name} new`] = v;
}
writeFileSync(outFile, JSON.stringify(out));
console.log(`wrote ${Object.keys(out).length} variants to ${outFile}`);
