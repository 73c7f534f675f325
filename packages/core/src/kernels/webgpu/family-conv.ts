import type { GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs } from '@mamba3/tensor';
import type { ConvSiluAttrs, ConvSiluInputs, ConvSiluResult, ConvSiluXBCAttrs, ConvSiluXBCResult } from '../../conv-silu.js';
import { buf } from './mamba3-scan.js';

/*
 * causalConv1dSilu in one dispatch: a thread per (batch, 4 positions, channel) loads the window
 * of its positions once (K − 1 + 4 inputs; the cache's before position 0), then for each position
 * sums the K taps, adds the bias and applies SiLU; the thread of the last position also writes the
 * channel's new cache (the last K inputs). Sizes but L are baked in, so no loop carries Dawn's
 * robustness counter and no index divides by a run-time size (H200, 8192 tokens, 24 layers: one
 * thread per output with run-time sizes took 4.57 GPU ms for Mamba-1, 3.13 for Mamba-2).
 * xz [b, L, W] (channels from offset); w [C, K]; bias [C]; state [b, C, K] -> y [b, L, C], stateOut;
 * or with `parts` (causalConv1dSiluXBC) -> x [b, L, X], B [b, L, BC], C [b, L, BC] (C = X + 2·BC).
 * Grid (C / 256, L / 4, b).
 */
const POSITIONS = 4;

interface ConvDims {
  C: number;
  K: number;
  W: number;
  offset: number;
  hasBias: boolean;
  hasState: boolean;
  /** Write channels [0, x), [x, x + bc), [x + bc, C) to three tensors (x, B, C) instead of y. */
  parts?: { x: number; bc: number };
}

function convSiluWgsl(d: ConvDims): string {
  const { C, K, W, offset } = d;
  const span = K - 1 + POSITIONS;
  const outs = d.parts ? ['xOut', 'bOut', 'cOut'] : ['y'];
  const decls = ['read> xz: array<f32>', 'read> w: array<f32>', ...(d.hasBias ? ['read> bias: array<f32>'] : []), ...(d.hasState ? ['read> state: array<f32>'] : []), ...outs.map((o) => `read_write> ${o}: array<f32>`), 'read_write> stateOut: array<f32>'];
  const p = d.parts;
  // Where output (bi, t, c) goes: y's row, or the row of the part that holds channel c.
  const write = p
    ? `let row = bi * L + t;
      if (c < ${p.x}u) { xOut[row * ${p.x}u + c] = v; } else if (c < ${p.x + p.bc}u) { bOut[row * ${p.bc}u + c - ${p.x}u] = v; } else { cOut[row * ${p.bc}u + c - ${p.x + p.bc}u] = v; }`
    : `y[(bi * L + t) * ${C}u + c] = v;`;
  return /* wgsl */ `
struct Dims { L: u32, pad0: u32, pad1: u32, pad2: u32 }
${decls.map((decl, i) => `@group(0) @binding(${i}) var<storage, ${decl};`).join('\n')}
@group(0) @binding(${decls.length}) var<uniform> dims: Dims;
/** Input j of the window [cache (K), sequence (L)] of channel c. */
fn full(bi: u32, c: u32, j: u32) -> f32 {
  if (j >= ${K}u) { return xz[(bi * dims.L + j - ${K}u) * ${W}u + ${offset}u + c]; }
  return ${d.hasState ? `state[(bi * ${C}u + c) * ${K}u + j]` : '0.0'};
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let c = wid.x * 256u + tid;
  let L = dims.L;
  if (c >= ${C}u) { return; }
  let t0 = wid.y * ${POSITIONS}u;
  let bi = wid.z;
  var win: array<f32, ${span}>;
  for (var j = 0u; j < ${span}u; j++) {
    if (t0 + j + 1u < L + ${K}u) { win[j] = full(bi, c, t0 + j + 1u); }
  }
  var wk: array<f32, ${K}>;
  for (var k = 0u; k < ${K}u; k++) { wk[k] = w[c * ${K}u + k]; }
  for (var q = 0u; q < ${POSITIONS}u; q++) {
    let t = t0 + q;
    if (t < L) {
      var acc = ${d.hasBias ? 'bias[c]' : '0.0'};
      for (var k = 0u; k < ${K}u; k++) { acc += win[q + k] * wk[k]; }
      let v = acc / (1.0 + exp(-acc));
      ${write}
    }
  }
  if (L - 1u >= t0 && L - 1u < t0 + ${POSITIONS}u) {
    for (var j = 0u; j < ${K}u; j++) { stateOut[(bi * ${C}u + c) * ${K}u + j] = full(bi, c, L + j); }
  }
}`;
}

export function convSiluKernel(gpu: WebGPUBackend, i: KernelInputs<ConvSiluInputs>, a: ConvSiluAttrs): KernelOutputs<ConvSiluResult> | null {
  const r = convSilu(gpu, i, a.offset, null);
  return r && { y: r.outs[0], state: r.state };
}

export function convSiluXBCKernel(gpu: WebGPUBackend, i: KernelInputs<ConvSiluInputs>, a: ConvSiluXBCAttrs): KernelOutputs<ConvSiluXBCResult> | null {
  const r = convSilu(gpu, i, a.offset, { x: a.x, bc: a.bc });
  return r && { x: r.outs[0], B: r.outs[1], C: r.outs[2], state: r.state };
}

function convSilu(gpu: WebGPUBackend, i: KernelInputs<ConvSiluInputs>, offset: number, parts: { x: number; bc: number } | null): { outs: GPUStorage[]; state: GPUStorage } | null {
  const [b, L, W] = i.xz.shape;
  const [C, , K] = i.weight.shape;
  if (L === 0) return null;
  const rt = gpu.runtime;
  const blocks = Math.ceil(L / POSITIONS);
  if (blocks > rt.limits.maxComputeWorkgroupsPerDimension || b > rt.limits.maxComputeWorkgroupsPerDimension) return null;
  const op = parts ? 'causalConv1dSiluXBC' : 'causalConv1dSilu';
  const outs: GPUStorage[] = (parts ? [parts.x, parts.bc, parts.bc] : [C]).map((n) => rt.alloc(op, b * L * n * 4, i.xz.dtype));
  const state: GPUStorage = rt.alloc(op, b * C * K * 4, i.xz.dtype);
  const d: ConvDims = { C, K, W, offset, hasBias: !!i.bias, hasState: !!i.state, ...(parts ? { parts } : {}) };
  const inputs = [i.xz, i.weight, ...(i.bias ? [i.bias] : []), ...(i.state ? [i.state] : [])].map(buf);
  const key = `convSilu/${C}/${K}/${W}/${offset}/${+d.hasBias}${+d.hasState}${parts ? `/xbc${parts.x}/${parts.bc}` : ''}`;
  rt.dispatch(key, () => convSiluWgsl(d), [...inputs, ...outs.map((o) => o.buffer), state.buffer, rt.uniform([L, 0, 0, 0])], [Math.ceil(C / 256), blocks, b]);
  return { outs, state };
}
