#!/usr/bin/env node
// Writes .gpu/prefetch-chains.json for chain-time.mjs (issue 16's probe of L2 prefetch): the 130M
// decode layer at batch 1 (in_proj with the norm, the mixer step, out_proj with the residual, as
// decode-variants.json generates them) chained for 24 layers, weights a copy per layer, and the
// same with extra workgroups in one kernel that read the next kernels' weights, so that they
// come from L2 when those kernels run. The mixer step moves little memory: DRAM idles through it.
// Run after decode-variants.mjs, on the development machine.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const variants = JSON.parse(readFileSync(join(root, '.gpu', 'decode-variants.json'), 'utf8'));

/**
 * The kernel with `extra` more workgroups along `axis` (past `orig`) that read the buffers bound
 * after its own (vec4s, `step` apart: 2 touches each 32-byte sector once) and store each thread's
 * sum to a sink, so that the reads stay. `q` numbers a prefetching workgroup from 0 to `nq` - 1.
 */
function inject(code, { wg, lid, axis, orig, q, nq, nbuf, base, step = 1, unroll = 4 }) {
  const decls = Array.from({ length: nbuf }, (_, i) => `@group(0) @binding(${base + i}) var<storage, read> pf${i}: array<vec4<u32>>;`);
  decls.push(`@group(0) @binding(${base + nbuf}) var<storage, read_write> pfSink: array<vec4<u32>>;`);
  const st = nq * wg * step;
  const reads = Array.from({ length: nbuf }, (_, i) => `  {
    let n = arrayLength(&pf${i});
    var j = (q * ${wg}u + t) * ${step}u;
    for (; j + ${(unroll - 1) * st}u < n; j += ${unroll * st}u) { s += ${Array.from({ length: unroll }, (_, u) => `pf${i}[j + ${u * st}u]`).join(' + ')}; }
    for (; j < n; j += ${st}u) { s += pf${i}[j]; }
  }`);
  const fn = `fn prefetchL2(q: u32, t: u32) {
  var s = vec4<u32>(0u);
${reads.join('\n')}
  pfSink[q * ${wg}u + t] = s;
}`;
  const at = code.indexOf('@compute');
  const head = code.slice(0, at) + decls.join('\n') + '\n' + fn + '\n' + code.slice(at);
  const open = head.indexOf('{', head.indexOf('fn main('));
  return head.slice(0, open + 1) + `\n  if (wid.${axis} >= ${orig}u) { prefetchL2(${q}, ${lid}); return; }` + head.slice(open + 1);
}

const stage = (variant, names, extra = {}) => {
  const v = variants[variant];
  if (!v) throw new Error(`no variant ${variant}`);
  return { code: v.code, grid: v.grid, bindings: v.bindings.map((b, i) => ({ name: names[i], bytes: b.bytes })), ...extra };
};
const weights = (warm) => (n) => (warm ? n.replace('{l}', '0') : n);
function layer(storage, { warm = false, mixPf = [], mixZ = 0, outPf = [], outY = 0, step = 1 } = {}) {
  const w = weights(warm);
  const inProj = stage(`in_proj ${storage} r1 t2`, ['h{p}', w('win{l}'), 'zx', 'g']);
  const mixer = stage('mixer R1 b1 slices4 sg', ['zx', 'prm{l}', 'ang{l}', 'ssm{l}', 'k{l}', 'v{l}', 'y', 'ango{l}', 'ssmo{l}', 'ko{l}', 'vo{l}']);
  const outProj = stage(`out_proj ${storage} r1 t1 rsFirst`, ['y', w('wout{l}'), 'h{q}', 'h{p}']);
  const bytesOf = { 'wout{l}': outProj.bindings[1].bytes, 'win{l1}': inProj.bindings[1].bytes };
  const addPf = (s, names, o) => {
    if (!names.length) return s;
    const code = inject(s.code, { ...o, nbuf: names.length, base: s.bindings.length, step });
    const sink = { name: `sink${o.tag}`, bytes: o.nq * o.wg * 16 };
    return { code, grid: o.grid, bindings: [...s.bindings, ...names.map((n) => ({ name: n, bytes: bytesOf[n] })), sink] };
  };
  const [H, , Z] = mixer.grid;
  const mixer2 = addPf(mixer, mixPf, { tag: 'm', wg: 256, lid: 'tid', axis: 'z', orig: Z, q: `(wid.z - ${Z}u) * ${H}u + wid.x`, nq: H * mixZ, grid: [H, 1, Z + mixZ] });
  const [N] = outProj.grid;
  const outProj2 = addPf(outProj, outPf, { tag: 'o', wg: 32, lid: 'lid.x', axis: 'y', orig: 1, q: `(wid.y - 1u) * ${N}u + wid.x`, nq: N * outY, grid: [N, 1 + outY, 1] });
  return { stages: [inProj, mixer2, outProj2] };
}

const chains = {};
for (const storage of ['f32', 'bf16']) {
  chains[`${storage} base`] = layer(storage);
  chains[`${storage} warm`] = layer(storage, { warm: true });
  for (const mixZ of [2, 6]) chains[`${storage} mixer reads out_proj z${mixZ}`] = layer(storage, { mixPf: ['wout{l}'], mixZ });
  for (const mixZ of [6, 11, 22]) chains[`${storage} mixer reads out_proj, next in_proj z${mixZ}`] = layer(storage, { mixPf: ['wout{l}', 'win{l1}'], mixZ });
  chains[`${storage} mixer reads out_proj, next in_proj z11 step2`] = layer(storage, { mixPf: ['wout{l}', 'win{l1}'], mixZ: 11, step: 2 });
  for (const outY of [1, 2]) chains[`${storage} mixer reads out_proj z6, out_proj reads next in_proj y${outY}`] = layer(storage, { mixPf: ['wout{l}'], mixZ: 6, outPf: ['win{l1}'], outY });
}
const file = join(root, '.gpu', 'prefetch-chains.json');
writeFileSync(file, JSON.stringify(chains));
console.log(`wrote ${Object.keys(chains).length} chains to ${file}`);
