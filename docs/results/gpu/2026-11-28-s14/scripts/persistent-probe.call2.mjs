// Issue 16, goal 1: would a batch-1 decode step as ONE persistent dispatch beat today's chain of
// 76 dependent ones? A probe of speed and of cross-workgroup visibility, not of the model's math.
//
// The step's phases move the 130M SISO model's bytes: per layer in_proj (3,432 × 768, its RMS
// norm taken on the fly from the residual and the previous out_proj's K-slice partials), a mixer
// step (1,536 channels × 128 states, read and written), out_proj (768 × 1,536 in S K-slices);
// then the head (50,280 × 768, norm) and an argmax. A "piece" is one 32-lane dot product (or one
// channel's state update); piece p runs on virtual subgroup p mod G of G = P × 8.
//   chain:    each phase a dispatch (76 of them), Dawn's barriers between them;
//   persist:  one dispatch of P workgroups; a grid barrier (an atomic arrival counter that
//             every workgroup spins on) between phases. WebGPU promises neither that all P
//             workgroups run at once nor device-scope ordering, so the outputs are compared
//             bit for bit with the chain's, token after token;
//   +pf:      the persistent kernel issuing the next phase's first weight loads before it waits
//             at the barrier (weights do not depend on the activations).
// Every variant sums the same terms in the same order, so results must be bit-identical.
// Usage (GPU host, after unpack): cp tools/gpu/{persistent-probe,pass-time}.mjs /tmp/m3/ then in
// /tmp/m3: node persistent-probe.mjs [P ...]     (PROBE_SMALL=1: tiny shapes, for lavapipe)
import { openTimingDevice, timePass } from './pass-time.mjs';

const small = process.env.PROBE_SMALL === '1';
const D = small ? 256 : 768; // d_model (a multiple of 128: 32 lanes × vec4)
const E = small ? 512 : 1536; // d_inner
const NIN = 2 * E + 256 + E / 64 + (small ? 8 : 80); // in_proj rows (x, z, B, C, dt; 3,432 at 130M)
const V = small ? 1000 : 50280;
const L = small ? 3 : 24;
const S = 4; // out_proj's K slices
const DQ = D / 4, EQ = E / 4;
const LD = DQ / 32; // vec4 loads a lane for K = D
const LE = EQ / S / 32; // for a K slice of out_proj
const MAXL = Math.max(LD, LE);
const winQ = NIN * DQ, woutQ = D * EQ, layerQ = winQ + woutQ;
const headQ = L * layerQ; // the head (embedding, tied) after the layers
// acts (f32): per layer l (at l × LAY) R (the residual entering it) | U | Y | PART[S][D], each
// region 128-byte aligned; then LOGITS | CANDV[CN]. ints: token, CANDI[CN], epoch. Nothing is
// read in a dispatch before it is written there: an SM's L1 may keep a line it read, and other
// SMs' later writes to that line would not reach it (seen: with the activations reused across
// layers, every value differed from the chain's on an H200).
const CN = Math.max(V, 8 * 4096);
const al = (n) => Math.ceil(n / 32) * 32;
const oR = 0, oU = al(D), oY = oU + al(NIN), oPart = oY + al(E), LAY = oPart + al(S * D);
const oLog = L * LAY, oCand = oLog + al(V);
const SG = process.env.PROBE_SG ? process.env.PROBE_SG === '1' : !small; // subgroupAdd for a row's 32 lanes (32-wide subgroups: NVIDIA)

const device = await openTimingDevice();
const Ps = process.argv.slice(2).map(Number);
if (Ps.length === 0) Ps.push(...(small ? [1, 2] : [132, 264, 528]));

function header(P) {
  return /* wgsl */ `
${SG ? 'enable subgroups;' : ''}
@group(0) @binding(0) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> state: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> acts: array<f32>;
@group(0) @binding(3) var<storage, read_write> ints: array<u32>;
@group(0) @binding(4) var<storage, read_write> sync: array<atomic<u32>>;
@group(0) @binding(5) var<uniform> phaseArg: vec4<u32>;
var<workgroup> red: array<f32, 256>;
var<workgroup> redI: array<u32, 256>;
var<workgroup> xsh: array<vec4<f32>, ${DQ}>;
const G = ${P * 8}u;
fn rowSum(v: f32, y: u32, x: u32) -> f32 {
  // 32 lanes of row slot y: the same reduction in every variant (bit-identical sums).
  ${SG ? 'return subgroupAdd(v);' : ''}
  red[y * 32u + x] = v;
  workgroupBarrier();
  for (var o = 16u; o > 0u; o = o >> 1u) {
    if (x < o) { red[y * 32u + x] += red[y * 32u + x + o]; }
    workgroupBarrier();
  }
  let s = red[y * 32u];
  workgroupBarrier();
  return s;
}
fn wgSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o = o >> 1u) {
    if (lid < o) { red[lid] += red[lid + o]; }
    workgroupBarrier();
  }
  let s = red[0];
  workgroupBarrier();
  return s;
}
fn silu(z: f32) -> f32 { return z / (1.0 + exp(-z)); }
`;
}

// The residual entering layer l (l > 0: R[(l-1)%2] + the S partials; l = 0: the token's
// embedding row), at element k; writes it to R[l%2] when asked.
const residual = `fn residualAt(l: u32, k: u32) -> f32 {
  if (l == 0u) { let t = ints[0]; return W[${headQ}u + t * ${DQ}u + k / 4u][k % 4u]; }
  let b = (l - 1u) * ${LAY}u;
  var r = acts[b + ${oR}u + k];
  for (var s = 0u; s < ${S}u; s++) { r += acts[b + ${oPart}u + s * ${D}u + k]; }
  return r;
}`;

/** A normed GEMV phase (in_proj of layer l, or the head with l = L): pieces = rows. Loops run
 * over the workgroup's first piece p0 (uniform, so its barriers are legal); p = p0 + y. */
function normGemv(kind, pf) {
  const rows = kind === 'head' ? V : NIN;
  const wBase = kind === 'head' ? `${headQ}u` : `l * ${layerQ}u`;
  const loads = `if (ok) { ${Array.from({ length: LD }, (_, j) => `wr[${j}] = W[${wBase} + p * ${DQ}u + x + ${32 * j}u];`).join(' ')} }`;
  return /* wgsl */ `{
    // The workgroup forms the normed row's input once, in workgroup memory.
    var ss = 0.0;
    for (var q = lid; q < ${DQ}u; q += 256u) {
      let k = q * 4u;
      let v = vec4<f32>(residualAt(l, k), residualAt(l, k + 1u), residualAt(l, k + 2u), residualAt(l, k + 3u));
      xsh[q] = v; ss += dot(v, v);
      ${kind === 'inproj' ? `if (wg == 0u) { for (var i = 0u; i < 4u; i++) { acts[l * ${LAY}u + ${oR}u + k + i] = v[i]; } }` : ''}
    }
    let inv = inverseSqrt(wgSum(ss, lid) / ${D}.0 + 1e-5);
    var xs: array<vec4<f32>, ${LD}>;
    for (var j = 0u; j < ${LD}u; j++) { xs[j] = xsh[x + 32u * j]; }
    var best = -3.0e38; var bestI = 0u;
    for (var p0 = wg * 8u; p0 < ${rows}u; p0 += G) {
      let p = p0 + y; let ok = p < ${rows}u;
      ${pf ? `if (p0 != wg * 8u) { ${loads} }` : loads}
      var d = 0.0;
      for (var j = 0u; j < ${LD}u; j++) { d += dot(wr[j], xs[j]); }
      let o = rowSum(d, y, x) * inv;
      ${kind === 'head' ? `if (ok) { if (x == 0u) { acts[${oLog}u + p] = o; } if (o > best) { best = o; bestI = p; } }` : `if (ok && x == 0u) { acts[l * ${LAY}u + ${oU}u + p] = o; }`}
    }
    ${kind === 'head' ? `if (x == 0u && vs < ${V}u) { acts[${oCand}u + vs] = best; ints[1u + vs] = bestI; }` : ''}
  }`;
}

// The mixer step of layer l: channel c's 128 states (a lane 4 of them).
const mixer = /* wgsl */ `{
  for (var c0 = wg * 8u; c0 < ${E}u; c0 += G) {
    let c = min(c0 + y, ${E - 1}u); let ok = c0 + y < ${E}u;
    let u0 = l * ${LAY}u + ${oU}u;
    let xv = acts[u0 + c];
    let z = acts[u0 + ${E}u + c];
    let dt = log(1.0 + exp(acts[u0 + ${2 * E + 256}u + c / 64u]));
    let decay = exp(-dt);
    let b0 = u0 + ${2 * E}u + 4u * x;
    let B = vec4<f32>(acts[b0], acts[b0 + 1u], acts[b0 + 2u], acts[b0 + 3u]);
    let C = vec4<f32>(acts[b0 + 128u], acts[b0 + 129u], acts[b0 + 130u], acts[b0 + 131u]);
    let si = (l * ${E}u + c) * 32u + x;
    let s = state[si] * decay + (dt * xv) * B;
    if (ok) { state[si] = s; }
    let yv = (rowSum(dot(s, C), y, x) + xv) * silu(z);
    if (ok && x == 0u) { acts[l * ${LAY}u + ${oY}u + c] = yv; }
  }
}`;

/** out_proj of layer l as S K-slices: piece p = slice × D + row. */
function outProj(pf) {
  const loads = `if (ok) { ${Array.from({ length: LE }, (_, j) => `wr[${j}] = W[l * ${layerQ}u + ${winQ}u + (p % ${D}u) * ${EQ}u + (p / ${D}u) * ${EQ / S}u + x + ${32 * j}u];`).join(' ')} }`;
  return /* wgsl */ `{
    for (var p0 = wg * 8u; p0 < ${S * D}u; p0 += G) {
      let p = p0 + y; let ok = p < ${S * D}u;
      ${pf ? `if (p0 != wg * 8u) { ${loads} }` : loads}
      let k0 = ((p / ${D}u) % ${S}u) * ${E / S}u;
      var d = 0.0;
      for (var j = 0u; j < ${LE}u; j++) {
        let k = k0 + (x + 32u * j) * 4u;
        let yk = l * ${LAY}u + ${oY}u + k;
        d += dot(wr[j], vec4<f32>(acts[yk], acts[yk + 1u], acts[yk + 2u], acts[yk + 3u]));
      }
      let o = rowSum(d, y, x);
      if (ok && x == 0u) { acts[l * ${LAY}u + ${oPart}u + p] = o; }
    }
  }`;
}

// The argmax over the G candidates (one workgroup), writing the next token.
const argmax = /* wgsl */ `if (wg == 0u) {
  var best = -3.0e38; var bestI = 0u;
  for (var i = lid; i < min(G, ${V}u); i += 256u) {
    let v = acts[${oCand}u + i]; let k = ints[1u + i];
    if (v > best || (v == best && k < bestI)) { best = v; bestI = k; }
  }
  red[lid] = best; redI[lid] = bestI;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o = o >> 1u) {
    if (lid < o) { let v = red[lid + o]; let k = redI[lid + o]; if (v > red[lid] || (v == red[lid] && k < redI[lid])) { red[lid] = v; redI[lid] = k; } }
    workgroupBarrier();
  }
  if (lid == 0u) { ints[0] = redI[0] % ${V}u; }
}`;

// First weight loads of the phase that follows, for piece vs (the +pf variant).
function prefetch(next) {
  if (next === 'mixer') return '';
  const [rows, base, stride, lds] = next === 'outproj'
    ? [S * D, `l * ${layerQ}u + ${winQ}u + (vs % ${D}u) * ${EQ}u + (vs / ${D}u) * ${EQ / S}u`, 0, LE]
    : next === 'inproj' ? [NIN, `(l + 1u) * ${layerQ}u + vs * ${DQ}u`, 0, LD] : [V, `${headQ}u + vs * ${DQ}u`, 0, LD];
  void stride;
  return `if (vs < ${rows}u) { ${Array.from({ length: lds }, (_, j) => `wr[${j}] = W[${base} + x + ${32 * j}u];`).join(' ')} }`;
}

const gridSync = (P, trailing) => /* wgsl */ `
  storageBarrier(); workgroupBarrier();
  if (lid == 0u) {
    nb += 1u;
    let goal = base + nb * ${P}u;
    atomicAdd(&sync[0], 1u);
    loop { if (bitcast<i32>(atomicLoad(&sync[0]) - goal) >= 0) { break; } }
  }
  workgroupBarrier();${trailing ? ' storageBarrier();' : ''}`;

function persistent(P, pf, trailing, work = true) {
  const sync = gridSync(P, trailing);
  return `${header(P)}
${residual}
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(local_invocation_id) li: vec3<u32>) {
  let wg = wid.x; let x = li.x; let y = li.y; let vs = wg * 8u + y;
  var wr: array<vec4<f32>, ${MAXL}>;
  var nb = 0u;
  let base = ints[${1 + CN}] * ${(3 * L + 1) * P}u;
  ${pf ? `{ let l = 0u; if (vs < ${NIN}u) { ${Array.from({ length: LD }, (_, j) => `wr[${j}] = W[vs * ${DQ}u + x + ${32 * j}u];`).join(' ')} } }` : ''}
  for (var l = 0u; l < ${L}u; l++) {
    ${work ? normGemv('inproj', pf) : ''}
    ${sync}
    ${work ? mixer : ''}
    ${pf ? prefetch('outproj') : ''}
    ${sync}
    ${work ? outProj(pf) : ''}
    ${pf ? `if (l + 1u < ${L}u) { ${prefetch('inproj')} } else { ${prefetch('head')} }` : ''}
    ${sync}
  }
  ${work ? `{ let l = ${L}u; ${normGemv('head', pf)} }` : ''}
  ${sync}
  ${argmax}
  if (wg == 0u && lid == 0u) { ints[${1 + CN}] += 1u; }
}`;
}

/** One phase as its own kernel (phaseArg.x: the layer). */
function chainKernel(kind) {
  const body = kind === 'mixer' ? mixer : kind === 'outproj' ? outProj(false) : kind === 'argmax' ? argmax : normGemv(kind, false);
  return `${header(1e6 / 8)}
${residual}
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(local_invocation_id) li: vec3<u32>) {
  let wg = wid.x; let x = li.x; let y = li.y; let vs = wg * 8u + y;
  var wr: array<vec4<f32>, ${MAXL}>;
  let l = ${kind === 'head' ? `${L}u` : 'phaseArg.x'};
  ${body}
}`;
}

const S_ = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const rnd = (n, a) => { const f = new Float32Array(n); let s = 12345; for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; f[i] = ((s >>> 8) / 16777216 - 0.5) * 2 * a; } return f; };
const Wbuf = device.createBuffer({ size: (headQ + V * DQ) * 16, usage: S_ });
{ const chunk = 1 << 24; for (let o = 0; o < headQ + V * DQ; o += chunk / 4) { const n = Math.min(chunk / 4, headQ + V * DQ - o); device.queue.writeBuffer(Wbuf, o * 16, rnd(n * 4, 0.06)); } }
const stateInit = rnd(L * E * 128, 0.5);
const bufs = () => ({
  state: device.createBuffer({ size: stateInit.byteLength, usage: S_ }),
  acts: device.createBuffer({ size: (oCand + CN) * 4, usage: S_ }),
  ints: device.createBuffer({ size: (2 + CN) * 4, usage: S_ }),
  sync: device.createBuffer({ size: 16, usage: S_ }),
});
function reset(b) {
  device.queue.writeBuffer(b.state, 0, stateInit);
  device.queue.writeBuffer(b.acts, 0, new Float32Array(oCand + CN));
  const ints = new Uint32Array(2 + CN); ints[0] = 7; device.queue.writeBuffer(b.ints, 0, ints);
  device.queue.writeBuffer(b.sync, 0, new Uint32Array(4));
}
async function read(buf, n) {
  const rd = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(buf, 0, rd, 0, n * 4); device.queue.submit([enc.finish()]);
  await rd.mapAsync(GPUMapMode.READ); const out = new Uint32Array(rd.getMappedRange().slice(0)); rd.unmap(); rd.destroy(); return out;
}
const uni = (v) => { const u = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }); device.queue.writeBuffer(u, 0, new Uint32Array([v, 0, 0, 0])); return u; };
const layerUni = Array.from({ length: L + 1 }, (_, l) => uni(l));
// One explicit layout: 'auto' would drop the bindings a phase's kernel does not use.
const bgl = device.createBindGroupLayout({ entries: ['read-only-storage', 'storage', 'storage', 'storage', 'storage', 'uniform'].map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })) });
const layout = device.createPipelineLayout({ bindGroupLayouts: [bgl] });
function bind(pipe, b, u) {
  return device.createBindGroup({ layout: bgl, entries: [Wbuf, b.state, b.acts, b.ints, b.sync, u].map((buffer, binding) => ({ binding, resource: { buffer } })) });
}
const mk = (code) => device.createComputePipeline({ layout, compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });

// The chain: 3 dispatches a layer, the head, the argmax.
const chainPipes = Object.fromEntries(['inproj', 'mixer', 'outproj', 'head', 'argmax'].map((k) => [k, mk(chainKernel(k))]));
const cb = bufs();
const grid = { inproj: Math.ceil(NIN / 8), mixer: Math.ceil(E / 8), outproj: Math.ceil((S * D) / 8), head: Math.ceil(V / 8), argmax: 1 };
const chainBgs = {};
for (const k of Object.keys(chainPipes)) chainBgs[k] = layerUni.map((u) => bind(chainPipes[k], cb, u));
const chainStep = (p) => {
  for (let l = 0; l < L; l++) for (const k of ['inproj', 'mixer', 'outproj']) { p.setPipeline(chainPipes[k]); p.setBindGroup(0, chainBgs[k][l]); p.dispatchWorkgroups(grid[k]); }
  for (const k of ['head', 'argmax']) { p.setPipeline(chainPipes[k]); p.setBindGroup(0, chainBgs[k][L]); p.dispatchWorkgroups(grid[k]); }
};
const TOKENS = small ? 4 : 32;
async function runTokens(stepFn, b) {
  reset(b);
  const toks = [];
  for (let t = 0; t < TOKENS; t++) {
    const enc = device.createCommandEncoder(); const p = enc.beginComputePass(); stepFn(p); p.end(); device.queue.submit([enc.finish()]);
    toks.push((await read(b.ints, 1))[0]);
  }
  return { toks, state: await read(b.state, stateInit.length), acts: await read(b.acts, oCand) };
}
const median = async (stepFn, n) => { for (let r = 0; r < 3; r++) await timePass(device, stepFn); const xs = []; for (let r = 0; r < n; r++) xs.push(await timePass(device, stepFn)); xs.sort((a, b) => a - b); return xs[n >> 1]; };

device.pushErrorScope('validation');
const ref = await runTokens(chainStep, cb);
console.log(`shapes: D ${D}, E ${E}, in_proj ${NIN}, V ${V}, L ${L}, S ${S}; weights ${((headQ + V * DQ) * 16 / 1e6).toFixed(1)} MB; tokens ${ref.toks.join(' ')}`);
console.log(`chain (${3 * L + 2} dispatches): ${(await median(chainStep, 9)).toFixed(1)} µs a step`);
const same = (a, b) => { let bad = 0; for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) bad++; return bad; };
for (const P of Ps) for (const [pf, trailing, work] of [[false, true, false], [false, true, true], [true, true, true], [true, false, true]]) {
  const name = `persist P ${P}${work ? '' : ' barriers only'}${pf ? ' +pf' : ''}${trailing ? '' : ' no-trailing-fence'}`;
  const pipe = mk(persistent(P, pf, trailing, work));
  const b = bufs();
  const bg = bind(pipe, b, layerUni[0]);
  const step = (p) => { p.setPipeline(pipe); p.setBindGroup(0, bg); p.dispatchWorkgroups(P); };
  const us = await median(step, 9);
  if (!work) { console.log(`${name}: ${us.toFixed(1)} µs a step (${3 * L + 1} grid barriers)`); for (const x of Object.values(b)) x.destroy(); continue; }
  // Twice, the second after the timed steps: a stale read shows as a difference.
  const diffs = [];
  for (let r = 0; r < 2; r++) {
    const got = await runTokens(step, b);
    const first = got.toks.findIndex((t, i) => t !== ref.toks[i]);
    diffs.push(`${same(ref.toks, got.toks)} tokens (first at ${first}), ${same(ref.state, got.state)} states, ${same(ref.acts, got.acts)} activations differ`);
  }
  const ok = diffs.every((d) => d.startsWith('0 tokens') && d.includes(' 0 states, 0 act'));
  console.log(`${name}: ${us.toFixed(1)} µs a step; ${ok ? `bit-identical to the chain over ${TOKENS} tokens, twice` : diffs.join('; ')}`);
  for (const x of Object.values(b)) x.destroy();
}
const err = await device.popErrorScope();
if (err) console.log(`ERROR ${err.message.split('\n').slice(0, 6).join(' | ')}`);
