import type { GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs } from '@mamba3/tensor';
import type { ConvSiluAttrs, ConvSiluInputs, ConvSiluResult } from '../../conv-silu.js';
import { buf } from './mamba3-scan.js';

/*
 * causalConv1dSilu in one dispatch: a thread per (batch, position, channel) sums the K taps
 * over the window (the cache's inputs before position 0), adds the bias, applies SiLU; the
 * last position's thread also writes the channel's new cache (the last K inputs).
 * xz [b, L, W] (channels from offset); w [C, K]; bias [C]; state [b, C, K] -> y [b, L, C], stateOut.
 */
const convSiluWgsl = (): string => /* wgsl */ `
struct Dims { B: u32, L: u32, W: u32, C: u32, K: u32, offset: u32, hasBias: u32, hasState: u32 }
@group(0) @binding(0) var<storage, read> xz: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> stateOut: array<f32>;
@group(0) @binding(6) var<uniform> dims: Dims;
/** Input j of the window [cache (K), sequence (L)] of channel c. */
fn full(bi: u32, c: u32, j: u32) -> f32 {
  if (j >= dims.K) { return xz[(bi * dims.L + j - dims.K) * dims.W + dims.offset + c]; }
  if (dims.hasState == 1u) { return state[(bi * dims.C + c) * dims.K + j]; }
  return 0.0;
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + tid;
  let C = dims.C;
  let K = dims.K;
  if (i >= dims.B * dims.L * C) { return; }
  let c = i % C;
  let t = (i / C) % dims.L;
  let bi = i / (C * dims.L);
  var acc = 0.0;
  if (dims.hasBias == 1u) { acc = bias[c]; }
  for (var k = 0u; k < K; k++) { acc += full(bi, c, t + k + 1u) * w[c * K + k]; }
  y[i] = acc / (1.0 + exp(-acc));
  if (t + 1u == dims.L) {
    for (var j = 0u; j < K; j++) { stateOut[(bi * C + c) * K + j] = full(bi, c, dims.L + j); }
  }
}`;

export function convSiluKernel(gpu: WebGPUBackend, i: KernelInputs<ConvSiluInputs>, a: ConvSiluAttrs): KernelOutputs<ConvSiluResult> | null {
  const [b, L, W] = i.xz.shape;
  const [C, , K] = i.weight.shape;
  if (L === 0) return null;
  const rt = gpu.runtime;
  const op = 'causalConv1dSilu';
  const y: GPUStorage = rt.alloc(op, b * L * C * 4, i.xz.dtype);
  const state: GPUStorage = rt.alloc(op, b * C * K * 4, i.xz.dtype);
  // Absent bias or state: their bindings hold any buffer (never read: the flags are 0).
  const inputs = [i.xz, i.weight, i.bias ?? i.weight, i.state ?? i.weight].map(buf);
  const dims = rt.uniform([b, L, W, C, K, a.offset, i.bias ? 1 : 0, i.state ? 1 : 0]);
  rt.dispatch('convSilu', convSiluWgsl, [...inputs, y.buffer, state.buffer, dims], rt.grid(Math.ceil((b * L * C) / 256)));
  return { y, state };
}
