// Issue 16, goal 1: would a batch-1 decode step as ONE persistent dispatch beat today's chain of
// 76 dependent ones, and can WebGPU make it correct? A probe of speed and of cross-workgroup
// visibility, not of the model's math.
//
// The step's phases move the 130M SISO model's bytes: per layer in_proj (3,432 × 768, its RMS
// norm over the residual), a mixer step (1,536 channels × 128 states, read and written), out_proj
// (768 × 1,536, adding the residual); then the head (50,280 × 768, norm) and an argmax. Each
// phase's workgroup first stages the activations it needs in workgroup memory (each read once a
// workgroup), then runs its pieces: an in_proj or head row is one subgroup of 32 lanes, an
// out_proj row RL lanes (3 weight loads a lane), a channel one subgroup. Workgroups of 32 × Y.
//   chain:    each phase a dispatch (3 a layer, 74 in all), Dawn's barriers between them; also
//             timed with empty bodies (its boundaries alone);
//   persist:  one dispatch of P workgroups (at most what the GPU holds at once: more hang); a
//             grid barrier between phases: an arrival counter every workgroup spins on;
//   +pf:      the persistent kernel issuing the next phase's first weight loads before it waits
//             at the barrier (weights do not depend on the activations).
// WebGPU promises neither that all P workgroups run at once nor any ordering across workgroups
// (its atomics are relaxed, its barriers workgroup-scoped), so the outputs are compared bit for
// bit with the chain's (every variant sums the same terms in the same order) over CHECKS runs of
// 32 tokens. PROBE_SYNC picks how activations cross workgroups: plain loads and stores, or
// (atomic) relaxed atomics, which go to L2, the storing thread waiting for its exchanges to
// return before the barrier. Within a dispatch no address is read before it is written: an SM's
// L1 can keep a line it read and miss other SMs' later writes.
// Usage (GPU host, after unpack): cp tools/gpu/{persistent-probe,pass-time}.mjs /tmp/m3/ then in
// /tmp/m3: [PROBE_WEIGHTS=bf16] [PROBE_SYNC=atomic] [PROBE_Y=32] node persistent-probe.mjs P...
// (PROBE_SMALL=1: tiny shapes, for lavapipe, where only P = 1 or 2 can be resident.)
import { openTimingDevice, timeRuns, uniformBuffer } from './pass-time.mjs';

const env = process.env;
const small = env.PROBE_SMALL === '1';
const D = small ? 256 : 768; // d_model
const E = small ? 768 : 1536; // d_inner (a multiple of 384: 3 loads a lane, 128 or 64 lanes a row)
const NIN = 2 * E + 256 + E / 64 + (small ? 8 : 80); // in_proj rows (x, z, B, C, dt; 3,432 at 130M)
const V = small ? 1000 : 50280;
const L = small ? 3 : 24;
const BF = env.PROBE_WEIGHTS === 'bf16'; // weights as bf16 pairs in u32 (8 a 16-byte load)
const AT = env.PROBE_SYNC === 'atomic';
const Y = Number(env.PROBE_Y ?? 8); // row slots (subgroups) a workgroup
const T = 32 * Y; // threads a workgroup
const CHECKS = Number(env.PROBE_CHECKS ?? 4);
const TOKENS = small ? 4 : 32;
const WPL = BF ? 8 : 4; // weights a load
const H = WPL / 4; // vec4<f32>s of activations a load covers
const DQ = D / 4, EQ = E / 4;
const DL = D / WPL, EL = E / WPL; // loads of a weight row
const LD = DL / 32; // loads a lane of an in_proj / head row
const RL = EL / 3; // lanes of an out_proj row (3 loads each)
const SPR = RL / 32; // subgroups an out_proj row
const RW = Y / SPR; // out_proj rows a workgroup at a time
const winQ = NIN * DL, layerQ = winQ + D * EL, headQ = L * layerQ, WQ = headQ + V * DL;
// acts (f32): per layer l = 0..L: R (the residual entering l) | U | Y, each 128-byte aligned;
// then LOGITS | CANDV. ints: token | CANDI | epoch, each on lines of their own.
const al = (n) => Math.ceil(n / 32) * 32;
const CN = Math.max(V, 8 * 4096);
const oR = 0, oU = al(D), oY = oU + al(NIN), LAY = oY + al(E);
const oLog = (L + 1) * LAY, oCand = oLog + al(V), nActs = oCand + CN;
const iTok = 0, iCand = 32, iEpoch = iCand + al(CN), nInts = iEpoch + 32;
if (LD < 1 || !Number.isInteger(LD) || !Number.isInteger(RL) || SPR < 1 || Y % SPR) throw new Error('probe: shapes do not divide');

const header = (P) => /* wgsl */ `enable subgroups;
@group(0) @binding(0) var<storage, read> W: array<${BF ? 'vec4<u32>' : 'vec4<f32>'}>;
@group(0) @binding(1) var<storage, read_write> state: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> acts: array<${AT ? 'atomic<u32>' : 'f32'}>;
@group(0) @binding(3) var<storage, read_write> ints: array<${AT ? 'atomic<u32>' : 'u32'}>;
@group(0) @binding(4) var<storage, read_write> sync: array<atomic<u32>>;
@group(0) @binding(5) var<uniform> phaseArg: vec4<u32>;
const P = ${P}u;
const G = ${P * Y}u;
var<workgroup> red: array<f32, ${T}>;
var<workgroup> redI: array<u32, ${T}>;
var<workgroup> xsh: array<vec4<f32>, ${Math.max(DQ, EQ)}>;
var<workgroup> bc: array<f32, ${256 + E / 64}>;
var<workgroup> xz: array<f32, ${2 * Y}>;
var<workgroup> rowp: array<f32, ${Y}>;
var<workgroup> fenceSink: u32;
${AT ? `fn ld(i: u32) -> f32 { return bitcast<f32>(atomicLoad(&acts[i])); }
fn st(i: u32, v: f32) -> u32 { return atomicExchange(&acts[i], bitcast<u32>(v)); }
fn ldi(i: u32) -> u32 { return atomicLoad(&ints[i]); }
fn sti(i: u32, v: u32) -> u32 { return atomicExchange(&ints[i], v); }` : `fn ld(i: u32) -> f32 { return acts[i]; }
fn st(i: u32, v: f32) -> u32 { acts[i] = v; return 0u; }
fn ldi(i: u32) -> u32 { return ints[i]; }
fn sti(i: u32, v: u32) -> u32 { ints[i] = v; return 0u; }`}
fn ld4(i: u32) -> vec4<f32> { return vec4<f32>(ld(i), ld(i + 1u), ld(i + 2u), ld(i + 3u)); }
fn wgSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var o = ${T / 2}u; o > 0u; o = o >> 1u) {
    if (lid < o) { red[lid] += red[lid + o]; }
    workgroupBarrier();
  }
  let s = red[0];
  workgroupBarrier();
  return s;
}
fn silu(z: f32) -> f32 { return z / (1.0 + exp(-z)); }
fn lo(w: vec4<u32>) -> vec4<f32> { return vec4<f32>(bitcast<f32>(w.x << 16u), bitcast<f32>(w.x & 0xffff0000u), bitcast<f32>(w.y << 16u), bitcast<f32>(w.y & 0xffff0000u)); }
fn hi(w: vec4<u32>) -> vec4<f32> { return vec4<f32>(bitcast<f32>(w.z << 16u), bitcast<f32>(w.z & 0xffff0000u), bitcast<f32>(w.w << 16u), bitcast<f32>(w.w & 0xffff0000u)); }
// The token's input row: another row of the head's matrix than its own (tied, the next token
// would mostly be the input one again, and the token path would test nothing).
fn embedding(tok: u32, k: u32) -> f32 {
  let t = (tok * 7919u + 13u) % ${V}u;
  ${BF ? `let word = W[${headQ}u + t * ${DL}u + k / 8u][(k % 8u) / 2u]; return bitcast<f32>(select(word << 16u, word & 0xffff0000u, k % 2u == 1u));` : `return W[${headQ}u + t * ${DL}u + k / 4u][k % 4u];`}
}
`;

/** The dot of load wr[j] (weights at activation vec4 index q·H) with xsh. */
const dotLoad = (j, q) => (BF ? `dot(lo(wr[${j}]), xsh[(${q}) * 2u]) + dot(hi(wr[${j}]), xsh[(${q}) * 2u + 1u])` : `dot(wr[${j}], xsh[${q}])`);

/** Weight loads of a phase's piece, from its first-piece index expression `p`. */
function weightLoads(kind, p, ok) {
  if (kind === 'outproj') {
    const row = `(${p}) / ${SPR}u`, lane = `((${p}) % ${SPR}u) * 32u + x`;
    return `if (${ok}) { ${[0, 1, 2].map((j) => `wr[${j}] = W[l * ${layerQ}u + ${winQ}u + (${row}) * ${EL}u + ${lane} + ${RL * j}u];`).join(' ')} }`;
  }
  const base = kind === 'head' ? `${headQ}u` : `l * ${layerQ}u`;
  return `if (${ok}) { ${Array.from({ length: LD }, (_, j) => `wr[${j}] = W[${base} + (${p}) * ${DL}u + x + ${32 * j}u];`).join(' ')} }`;
}

/** in_proj of layer l, or the head (l = L): the normed residual staged, then a subgroup a row. */
function normGemv(kind, pf) {
  const rows = kind === 'head' ? V : NIN;
  return /* wgsl */ `{
    var ss = 0.0;
    for (var q = lid; q < ${DQ}u; q += ${T}u) {
      var v: vec4<f32>;
      if (l == 0u) {
        let t = ldi(${iTok}); let k = q * 4u;
        v = vec4<f32>(embedding(t, k), embedding(t, k + 1u), embedding(t, k + 2u), embedding(t, k + 3u));
        if (wg == 0u) { for (var i = 0u; i < 4u; i++) { fa ^= st(${oR}u + k + i, v[i]); } }
      } else { v = ld4(l * ${LAY}u + ${oR}u + q * 4u); }
      xsh[q] = v; ss += dot(v, v);
    }
    let inv = inverseSqrt(wgSum(ss, lid) / ${D}.0 + 1e-5);
    var best = -3.0e38; var bestI = 0u;
    for (var p0 = wg * ${Y}u; p0 < ${rows}u; p0 += G) {
      let p = p0 + y; let ok = p < ${rows}u;
      ${pf ? `if (p0 != wg * ${Y}u) { ${weightLoads(kind, 'p', 'ok')} }` : weightLoads(kind, 'p', 'ok')}
      var d = 0.0;
      ${Array.from({ length: LD }, (_, j) => `d += ${dotLoad(j, `x + ${32 * j}u`)};`).join('\n      ')}
      let o = subgroupAdd(d) * inv;
      ${kind === 'head' ? `if (ok) { if (x == 0u) { fa ^= st(${oLog}u + p, o); } if (o > best) { best = o; bestI = p; } }` : `if (ok && x == 0u) { fa ^= st(l * ${LAY}u + ${oU}u + p, o); }`}
    }
    ${kind === 'head' ? `if (x == 0u && vs < ${V}u) { fa ^= st(${oCand}u + vs, best); fa ^= sti(${iCand}u + vs, bestI); }` : ''}
  }`;
}

// The mixer step of layer l: B, C and dt staged; channel c's 128 states a subgroup (4 a lane).
const mixer = /* wgsl */ `{
  let u0 = l * ${LAY}u + ${oU}u;
  for (var i = lid; i < ${256 + E / 64}u; i += ${T}u) { bc[i] = ld(u0 + ${2 * E}u + i); }
  for (var c0 = wg * ${Y}u; c0 < ${E}u; c0 += G) {
    if (lid < ${2 * Y}u) { xz[lid] = ld(u0 + (lid / ${Y}u) * ${E}u + min(c0 + lid % ${Y}u, ${E - 1}u)); }
    workgroupBarrier();
    let c = min(c0 + y, ${E - 1}u); let ok = c0 + y < ${E}u;
    let xv = xz[y]; let z = xz[${Y}u + y];
    let dt = log(1.0 + exp(bc[256u + c / 64u]));
    let decay = exp(-dt);
    let B = vec4<f32>(bc[4u * x], bc[4u * x + 1u], bc[4u * x + 2u], bc[4u * x + 3u]);
    let C = vec4<f32>(bc[128u + 4u * x], bc[129u + 4u * x], bc[130u + 4u * x], bc[131u + 4u * x]);
    let si = (l * ${E}u + c) * 32u + x;
    let s = state[si] * decay + (dt * xv) * B;
    if (ok) { state[si] = s; }
    let yv = (subgroupAdd(dot(s, C)) + xv) * silu(z);
    if (ok && x == 0u) { fa ^= st(l * ${LAY}u + ${oY}u + c, yv); }
    workgroupBarrier();
  }
}`;

/** out_proj of layer l with the residual: y staged; a row is SPR subgroups, summed in order. */
function outProj(pf) {
  return /* wgsl */ `{
    for (var q = lid; q < ${EQ}u; q += ${T}u) { xsh[q] = ld4(l * ${LAY}u + ${oY}u + q * 4u); }
    workgroupBarrier();
    for (var r0 = wg * ${RW}u; r0 < ${D}u; r0 += P * ${RW}u) {
      let p = r0 * ${SPR}u + y; let row = p / ${SPR}u; let ok = row < ${D}u;
      ${pf ? `if (r0 != wg * ${RW}u) { ${weightLoads('outproj', 'p', 'ok')} }` : weightLoads('outproj', 'p', 'ok')}
      let lane = (y % ${SPR}u) * 32u + x;
      let d = subgroupAdd(${[0, 1, 2].map((j) => dotLoad(j, `lane + ${RL * j}u`)).join(' + ')});
      if (x == 0u) { rowp[y] = d; }
      workgroupBarrier();
      if (ok && x == 0u && y % ${SPR}u == 0u) {
        var o = ld(l * ${LAY}u + ${oR}u + row);
        for (var i = 0u; i < ${SPR}u; i++) { o += rowp[y + i]; }
        fa ^= st((l + 1u) * ${LAY}u + ${oR}u + row, o);
      }
      workgroupBarrier();
    }
  }`;
}

// The argmax over the candidates (one workgroup), writing the next token.
const argmax = /* wgsl */ `if (wg == 0u) {
  var best = -3.0e38; var bestI = 0u;
  for (var i = lid; i < min(G, ${V}u); i += ${T}u) {
    let v = ld(${oCand}u + i); let k = ldi(${iCand}u + i);
    if (v > best || (v == best && k < bestI)) { best = v; bestI = k; }
  }
  red[lid] = best; redI[lid] = bestI;
  workgroupBarrier();
  for (var o = ${T / 2}u; o > 0u; o = o >> 1u) {
    if (lid < o) { let v = red[lid + o]; let k = redI[lid + o]; if (v > red[lid] || (v == red[lid] && k < redI[lid])) { red[lid] = v; redI[lid] = k; } }
    workgroupBarrier();
  }
  if (lid == 0u) { fa ^= sti(${iTok}, redI[0] % ${V}u); }
}`;

// The trailing storageBarrier stays: without it, plain loads after the wait went wrong far more
// often on H200s (BENCHMARKS, issue 16, fourteenth session).
const gridSync = /* wgsl */ `
  ${AT ? 'if (fa == 0x7fc00123u) { fenceSink = fa; }' : ''}
  storageBarrier(); workgroupBarrier();
  if (lid == 0u) {
    nb += 1u;
    let goal = base + nb * P;
    atomicAdd(&sync[0], 1u);
    loop { if (bitcast<i32>(atomicLoad(&sync[0]) - goal) >= 0) { break; } }
  }
  workgroupBarrier(); storageBarrier();`;

const entry = `@compute @workgroup_size(32, ${Y})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(local_invocation_id) li: vec3<u32>) {
  let wg = wid.x; let x = li.x; let y = li.y; let vs = wg * ${Y}u + y;
  var wr: array<${BF ? 'vec4<u32>' : 'vec4<f32>'}, ${Math.max(LD, 3)}>;
  var fa = 0u;`;

function persistent(P, pf, work = true) {
  const next = (kind, p, ok) => (pf ? `{ let p = ${p}; ${weightLoads(kind, 'p', ok)} }` : '');
  return `${header(P)}
${entry}
  var nb = 0u;
  let base = ldi(${iEpoch}) * ${(3 * L + 1) * P}u;
  ${pf ? `{ let l = 0u; ${next('inproj', 'vs', `vs < ${NIN}u`)} }` : ''}
  for (var l = 0u; l < ${L}u; l++) {
    ${work ? normGemv('inproj', pf) : ''}
    ${gridSync}
    ${work ? mixer : ''}
    ${next('outproj', `wg * ${RW * SPR}u + y`, `wg * ${RW}u + y / ${SPR}u < ${D}u`)}
    ${gridSync}
    ${work ? outProj(pf) : ''}
    ${pf ? `if (l + 1u < ${L}u) { let l = l + 1u; ${next('inproj', 'vs', `vs < ${NIN}u`)} } else { ${next('head', 'vs', `vs < ${V}u`)} }` : ''}
    ${gridSync}
  }
  ${work ? `{ let l = ${L}u; ${normGemv('head', pf)} }` : ''}
  ${gridSync}
  ${argmax}
  if (wg == 0u && lid == 0u) { fa ^= sti(${iEpoch}, ldi(${iEpoch}) + 1u); }
}`;
}

/** One phase as its own kernel (phaseArg.x: the layer); P large, so every loop runs once. */
function chainKernel(kind, work = true) {
  const body = !work ? '' : kind === 'mixer' ? mixer : kind === 'outproj' ? outProj(false) : kind === 'argmax' ? argmax : normGemv(kind, false);
  return `${header(1 << 20)}
${entry}
  let l = ${kind === 'head' ? `${L}u` : 'phaseArg.x'};
  ${body}
}`;
}

// Host side.
const device = await openTimingDevice();
const Ps = process.argv.slice(2).map(Number);
if (Ps.length === 0) Ps.push(...(small ? [1, 2] : [132, 264]));
const S_ = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const rnd = (n, a) => { const f = new Float32Array(n); let s = 12345; for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; f[i] = ((s >>> 8) / 16777216 - 0.5) * 2 * a; } return f; };
/** n loads' worth of weights as u32 words: f32 bits, or two bf16 (the element 2i in the low half). */
function weightWords(n) {
  if (!BF) return new Uint32Array(rnd(n * 4, 0.06).buffer);
  const f = new Uint32Array(rnd(n * 8, 0.06).buffer);
  const w = new Uint32Array(n * 4);
  for (let i = 0; i < w.length; i++) w[i] = (f[2 * i] >>> 16) | (f[2 * i + 1] & 0xffff0000);
  return w;
}
const Wbuf = device.createBuffer({ size: WQ * 16, usage: S_ });
// Each chunk of 2^20 loads repeats the same values (the generator restarts): enough for timing and
// for the bit-for-bit comparison, whose argmax breaks the ties between repeated head rows the same
// way in every variant (the lowest index).
for (let o = 0; o < WQ; o += 1 << 20) device.queue.writeBuffer(Wbuf, o * 16, weightWords(Math.min(1 << 20, WQ - o)));
const stateInit = rnd(L * E * 128, 0.5);
const bufs = () => ({
  state: device.createBuffer({ size: stateInit.byteLength, usage: S_ }),
  acts: device.createBuffer({ size: nActs * 4, usage: S_ }),
  ints: device.createBuffer({ size: nInts * 4, usage: S_ }),
  sync: device.createBuffer({ size: 16, usage: S_ }),
});
function reset(b) {
  device.queue.writeBuffer(b.state, 0, stateInit);
  device.queue.writeBuffer(b.acts, 0, new Float32Array(nActs));
  const ints = new Uint32Array(nInts); ints[iTok] = 7; device.queue.writeBuffer(b.ints, 0, ints);
  device.queue.writeBuffer(b.sync, 0, new Uint32Array(4));
}
async function read(buf, n) {
  const rd = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(buf, 0, rd, 0, n * 4); device.queue.submit([enc.finish()]);
  await rd.mapAsync(GPUMapMode.READ); const out = new Uint32Array(rd.getMappedRange().slice(0)); rd.unmap(); rd.destroy(); return out;
}
const layerUni = Array.from({ length: L + 1 }, (_, l) => uniformBuffer(device, [l]));
// One explicit layout: 'auto' would drop the bindings a phase's kernel does not use.
const bgl = device.createBindGroupLayout({ entries: ['read-only-storage', 'storage', 'storage', 'storage', 'storage', 'uniform'].map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })) });
const layout = device.createPipelineLayout({ bindGroupLayouts: [bgl] });
const bind = (b, u) => device.createBindGroup({ layout: bgl, entries: [Wbuf, b.state, b.acts, b.ints, b.sync, u].map((buffer, binding) => ({ binding, resource: { buffer } })) });
const mk = (code) => device.createComputePipeline({ layout, compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });

const kinds = ['inproj', 'mixer', 'outproj', 'head', 'argmax'];
const chainPipes = Object.fromEntries(kinds.map((k) => [k, mk(chainKernel(k))]));
const grid = { inproj: Math.ceil(NIN / Y), mixer: Math.ceil(E / Y), outproj: Math.ceil(D / RW), head: Math.ceil(V / Y), argmax: 1 };
const cb = bufs();
const chainBgs = layerUni.map((u) => bind(cb, u));
const chainOf = (pipes, one = false) => (p) => {
  for (let l = 0; l < L; l++) for (const k of ['inproj', 'mixer', 'outproj']) { p.setPipeline(pipes[k]); p.setBindGroup(0, chainBgs[l]); p.dispatchWorkgroups(one ? 1 : grid[k]); }
  for (const k of ['head', 'argmax']) { p.setPipeline(pipes[k]); p.setBindGroup(0, chainBgs[L]); p.dispatchWorkgroups(one ? 1 : grid[k]); }
};
const chainStep = chainOf(chainPipes);
// The same dispatches with empty bodies: what the chain's boundaries cost alone (the bindings,
// hence Dawn's barriers between the dispatches, are the same).
const emptyPipes = Object.fromEntries(kinds.map((k) => [k, mk(chainKernel(k, false))]));
const emptyStep = chainOf(emptyPipes);
const emptyStep1 = chainOf(emptyPipes, true); // and of one workgroup each
async function runTokens(stepFn, b) {
  reset(b);
  const toks = [];
  for (let t = 0; t < TOKENS; t++) {
    const enc = device.createCommandEncoder(); const p = enc.beginComputePass(); stepFn(p); p.end(); device.queue.submit([enc.finish()]);
    toks.push((await read(b.ints, 1))[iTok]);
  }
  return { toks, state: await read(b.state, stateInit.length), acts: await read(b.acts, oCand) };
}
const median = async (stepFn, n) => (await timeRuns(device, stepFn, n))[n >> 1];
const differ = (a, b) => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);

device.pushErrorScope('validation');
const ref = await runTokens(chainStep, cb);
console.log(`shapes: D ${D}, E ${E}, in_proj ${NIN}, V ${V}, L ${L}; weights ${BF ? 'bf16' : 'f32'} ${(WQ * 16 / 1e6).toFixed(1)} MB; workgroups of ${T}; sync ${AT ? 'atomic' : 'plain'}; tokens ${ref.toks.join(' ')}`);
console.log(`chain (${3 * L + 2} dispatches): ${(await median(chainStep, 9)).toFixed(1)} µs a step; the same dispatches empty: ${(await median(emptyStep, 9)).toFixed(1)} µs, empty of one workgroup each: ${(await median(emptyStep1, 9)).toFixed(1)} µs`);
for (const P of Ps) for (const [pf, work] of [[false, false], [false, true], [true, true]]) {
  const name = `persist P ${P}${work ? '' : ' barriers only'}${pf ? ' +pf' : ''}`;
  const pipe = mk(persistent(P, pf, work));
  const b = bufs();
  const bg = bind(b, layerUni[0]);
  const step = (p) => { p.setPipeline(pipe); p.setBindGroup(0, bg); p.dispatchWorkgroups(P); };
  const us = await median(step, 9);
  if (!work) { console.log(`${name}: ${us.toFixed(1)} µs a step (${3 * L + 1} grid barriers)`); for (const x of Object.values(b)) x.destroy(); continue; }
  // After the timed steps: a stale read shows as a difference.
  const bad = [];
  for (let r = 0; r < CHECKS; r++) {
    const got = await runTokens(step, b);
    const n = differ(ref.toks, got.toks) + differ(ref.state, got.state) + differ(ref.acts, got.acts);
    if (n) bad.push(`run ${r}: ${differ(ref.toks, got.toks)} tokens (first at ${got.toks.findIndex((t, i) => t !== ref.toks[i])}), ${n} values`);
  }
  console.log(`${name}: ${us.toFixed(1)} µs a step; ${bad.length ? `DIFFERS from the chain in ${bad.length} of ${CHECKS} runs (${bad.join('; ')})` : `bit-identical to the chain in ${CHECKS} runs of ${TOKENS} tokens`}`);
  for (const x of Object.values(b)) x.destroy();
}
const err = await device.popErrorScope();
if (err) console.log(`ERROR ${err.message.split('\n').slice(0, 6).join(' | ')}`);
