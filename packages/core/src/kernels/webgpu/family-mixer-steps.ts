import type { GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs } from '@mamba3/tensor';
import type { Mamba1ConvStepInputs, Mamba1ConvStepResult, Mamba1StepScanInputs, Mamba1StepScanResult } from '../../mamba1/step.js';
import type { Mamba2StepCoreAttrs, Mamba2StepCoreInputs, Mamba2StepCoreResult } from '../../mamba2/step.js';
import { m1ConvStepWgsl, m1StepScanWgsl, m2StepCoreWgsl, stateLanes } from './family-mixer-steps.wgsl.js';
import { buf } from './mamba3-scan.js';

/*
 * The fused Mamba-1/2 decode steps: a Mamba-1 layer's step is in_proj, mamba1ConvStep (one
 * dispatch), x_proj, mamba1StepScan (one dispatch: dt_proj, softplus, scan, D, gate), out_proj;
 * a Mamba-2 layer's is in_proj, mamba2StepCore (one dispatch: conv, SiLU, dt, SSD step, D, gate),
 * out_proj (with the norm). No host-written data per step, so step graphs capture them.
 */

/** f32 bits as u32, for the uniform (which holds u32 words). */
function bits(v: number): number {
  return new Uint32Array(new Float32Array([v]).buffer)[0];
}

export function mamba1ConvStepKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba1ConvStepInputs>): KernelOutputs<Mamba1ConvStepResult> {
  const rt = gpu.runtime;
  const op = 'mamba1ConvStep';
  const [b, E, K] = i.conv.shape;
  const x: GPUStorage = rt.alloc(op, b * E * 4, i.xz.dtype);
  const conv: GPUStorage = rt.alloc(op, b * E * K * 4, i.xz.dtype);
  // Without a bias its binding holds any buffer (never read: hasBias is 0).
  const inputs = [i.xz, i.conv, i.convWeight, i.convBias ?? i.convWeight].map(buf);
  rt.dispatch('m1convStep', m1ConvStepWgsl, [...inputs, x.buffer, conv.buffer, rt.uniform([E, K, i.convBias ? 1 : 0, 0])], [Math.ceil(E / 256), b]);
  return { x, conv };
}

export function mamba1StepScanKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba1StepScanInputs>): KernelOutputs<Mamba1StepScanResult> {
  const rt = gpu.runtime;
  const op = 'mamba1StepScan';
  const [b, E, N] = i.h.shape;
  const R = i.dtWeight.shape[1];
  const lanes = stateLanes(N);
  const y: GPUStorage = rt.alloc(op, b * E * 4, i.x.dtype);
  const state: GPUStorage = rt.alloc(op, b * E * N * 4, i.x.dtype);
  const inputs = [i.xz, i.x, i.dbc, i.dtWeight, i.dtBias, i.ALog, i.D, i.h].map(buf);
  rt.dispatch(`m1stepScan/${lanes}`, () => m1StepScanWgsl(lanes), [...inputs, y.buffer, state.buffer, rt.uniform([E, N, R, 0])], [Math.ceil(E / (256 / lanes)), b]);
  return { y, state };
}

export function mamba2StepCoreKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba2StepCoreInputs>, a: Mamba2StepCoreAttrs): KernelOutputs<Mamba2StepCoreResult> | null {
  const rt = gpu.runtime;
  const op = 'mamba2StepCore';
  const [b, H, P, N] = i.h.shape;
  const [convDim, , K] = i.convWeight.shape;
  // B and C of one group in workgroup memory beside the reduction's 256 floats.
  if (4 * (256 + 2 * N) > rt.limits.maxComputeWorkgroupStorageSize) return null;
  const lanes = stateLanes(N);
  const y: GPUStorage = rt.alloc(op, b * H * P * 4, i.zxbcdt.dtype);
  const conv: GPUStorage = rt.alloc(op, b * convDim * K * 4, i.zxbcdt.dtype);
  const state: GPUStorage = rt.alloc(op, b * H * P * N * 4, i.zxbcdt.dtype);
  const inputs = [i.zxbcdt, i.conv, i.convWeight, i.convBias ?? i.convWeight, i.dtBias, i.ALog, i.D, i.h].map(buf);
  const hi = Number.isFinite(a.dtLimit[1]) ? a.dtLimit[1] : 3.4e38;
  const dims = [H, P, N, a.ngroups, K, a.dMlp, bits(a.dtLimit[0]), bits(hi), i.D.size === H ? 0 : 1, a.gate ? 1 : 0, i.convBias ? 1 : 0, 0];
  const outputs = [y.buffer, conv.buffer, state.buffer];
  rt.dispatch(`m2stepCore/${lanes}/${N}`, () => m2StepCoreWgsl(lanes, N), [...inputs, ...outputs, rt.uniform(dims)], [Math.ceil(P / (256 / lanes)), H, b]);
  return { y, conv, state };
}
