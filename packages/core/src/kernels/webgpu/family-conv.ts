import type { GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs } from '@mamba3/tensor';
import type { ConvSiluAttrs, ConvSiluInputs, ConvSiluResult } from '../../conv-silu.js';
import { buf } from './mamba3-scan.js';

/*
 * causalConv1dSilu in one dispatch: a thread per (batch, 4 positions, channel) loads the window
 * of its positions once (K − 1 + 4 inputs; the cache's before position 0), then for each position
 * sums the K taps, adds the bias and applies SiLU; the thread of the last position also writes the
 * channel's new cache (the last K inputs). Sizes but L are baked in, so no loop carries Dawn's
 * robustness counter and no index divides by a run-time size (H200, 8192 tokens, 24 layers: one
 * thread per output with run-time sizes took 4.57 GPU ms for Mamba-1, 3.13 for Mamba-2).
 * xz [b, L, W] (channels from offset); w [C, K]; bias [C]; state [b, C, K] -> y [b, L, C], stateOut.
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
}

function convSiluWgsl(d: ConvDims): string {
  const { C, K, W, offset } = d;
  const span = K - 1 + POSITIONS;
  const decls = ['read> xz: array<f32>', 'read> w: array<f32>', ...(d.hasBias ? ['read> bias: array<f32>'] : []), ...(d.hasState ? ['read> state: array<f32>'] : []), 'read_write> y: array<f32>', 'read_write> stateOut: array<f32>'];
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
      y[(bi * L + t) * ${C}u + c] = acc / (1.0 + exp(-acc));
    }
  }
  if (L - 1u >= t0 && L - 1u < t0 + ${POSITIONS}u) {
    for (var j = 0u; j < ${K}u; j++) { stateOut[(bi * ${C}u + c) * ${K}u + j] = full(bi, c, L + j); }
  }
}`;
}

export function convSiluKernel(gpu: WebGPUBackend, i: KernelInputs<ConvSiluInputs>, a: ConvSiluAttrs): KernelOutputs<ConvSiluResult> | null {
  const [b, L, W] = i.xz.shape;
  const [C, , K] = i.weight.shape;
  if (L === 0) return null;
  const rt = gpu.runtime;
  const blocks = Math.ceil(L / POSITIONS);
  if (blocks > rt.limits.maxComputeWorkgroupsPerDimension || b > rt.limits.maxComputeWorkgroupsPerDimension) return null;
  const op = 'causalConv1dSilu';
  const y: GPUStorage = rt.alloc(op, b * L * C * 4, i.xz.dtype);
  const state: GPUStorage = rt.alloc(op, b * C * K * 4, i.xz.dtype);
  const d: ConvDims = { C, K, W, offset: a.offset, hasBias: !!i.bias, hasState: !!i.state };
  const inputs = [i.xz, i.weight, ...(i.bias ? [i.bias] : []), ...(i.state ? [i.state] : [])].map(buf);
  const key = `convSilu/${C}/${K}/${W}/${a.offset}/${+d.hasBias}${+d.hasState}`;
  rt.dispatch(key, () => convSiluWgsl(d), [...inputs, y.buffer, state.buffer, rt.uniform([L, 0, 0, 0])], [Math.ceil(C / 256), blocks, b]);
  return { y, state };
}
