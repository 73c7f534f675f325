import type { GemvEpilogue, GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs, KernelTensor } from '@mamba3/tensor';
import type { Mamba1ConvStepInputs, Mamba1ConvStepResult, Mamba1InProjConvAttrs, Mamba1InProjConvInputs, Mamba1InProjConvResult, Mamba1StepScanInputs, Mamba1StepScanResult } from '../../mamba1/step.js';
import type { Mamba2StepCoreAttrs, Mamba2StepCoreInputs, Mamba2StepCoreResult } from '../../mamba2/step.js';
import type { Mamba1StepHalves } from './family-mixer-steps.wgsl.js';
import { m1ConvEpilogueWgsl, m1ConvStepWgsl, m1StepScanWgsl, stateLanes } from './family-mixer-steps.wgsl.js';
import type { Mamba2StepDims } from './mamba2-step.wgsl.js';
import { mamba2StepKey, mamba2StepSharedBytes, mamba2StepWgsl } from './mamba2-step.wgsl.js';
import { stepSlices } from './mamba3-mixer-step.wgsl.js';
import { buf } from './mamba3-scan.js';

/*
 * The fused Mamba-1/2 decode steps. A Mamba-1 layer's step is in_proj with mamba1ConvStep as its
 * epilogue (mamba1InProjConv, one dispatch), x_proj, mamba1StepScan (one dispatch: dt_proj,
 * softplus, scan, D, gate), out_proj. A Mamba-2 layer's is in_proj, mamba2StepCore (one dispatch:
 * conv, SiLU, dt, SSD step, D, gate; its kernel in mamba2-step.wgsl.ts), out_proj (with the norm).
 * No host-written data per step, so step graphs capture them.
 */

export function mamba1ConvStepKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba1ConvStepInputs>): KernelOutputs<Mamba1ConvStepResult> {
  const rt = gpu.runtime;
  const op = 'mamba1ConvStep';
  const [b, E, K] = i.conv.shape;
  const x: GPUStorage = rt.alloc(op, b * E * 4, i.xz.dtype);
  const conv: GPUStorage = rt.alloc(op, b * E * K * 4, i.xz.dtype);
  const inputs = [i.xz, i.conv, i.convWeight, ...(i.convBias ? [i.convBias] : [])].map(buf);
  const hasBias = !!i.convBias;
  rt.dispatch(`m1convStep/${E}/${K}/${+hasBias}`, () => m1ConvStepWgsl(E, K, hasBias), [...inputs, x.buffer, conv.buffer], [Math.ceil(E / 256), b]);
  return { x, conv };
}

/**
 * in_proj by the backend's decode GEMV with the conv step as its epilogue: one dispatch where
 * fusedLinear and mamba1ConvStep take two. Null (the composite runs) where that GEMV does not serve.
 */
export function mamba1InProjConvKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba1InProjConvInputs>, a: Mamba1InProjConvAttrs): KernelOutputs<Mamba1InProjConvResult> | null {
  const rt = gpu.runtime;
  const op = 'mamba1InProjConv';
  const [b, E, K] = i.conv.shape;
  const x: GPUStorage = rt.alloc(op, b * E * 4, i.u.dtype);
  const conv: GPUStorage = rt.alloc(op, b * E * K * 4, i.u.dtype);
  const hasBias = !!i.convBias;
  const epilogue: GemvEpilogue = {
    key: `m1conv/${E}/${K}/${+hasBias}`,
    wgsl: (first) => m1ConvEpilogueWgsl(E, K, hasBias, first),
    buffers: [i.conv, i.convWeight, ...(i.convBias ? [i.convBias] : [])].map(buf).concat([x.buffer, conv.buffer]),
  };
  const xz = gpu.linearWithEpilogue(i.u, i.weight, epilogue, i.normWeight ? { g: i.normWeight, eps: a.eps } : undefined);
  if (!xz) {
    rt.release(x);
    rt.release(conv);
    return null;
  }
  return { xz, x, conv };
}

export function mamba1StepScanKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba1StepScanInputs>): KernelOutputs<Mamba1StepScanResult> {
  const rt = gpu.runtime;
  const op = 'mamba1StepScan';
  const [b, E, N] = i.h.shape;
  const R = i.dtWeight.shape[1];
  const lanes = stateLanes(N);
  const y: GPUStorage = rt.alloc(op, b * E * 4, i.x.dtype);
  const state: GPUStorage = rt.alloc(op, b * E * N * 4, i.x.dtype);
  // 16-bit dt_proj and A_log weights are bound packed (their `own` buffers), not as the op's float32 copies.
  const packed = (t: KernelTensor) => (t.storage as GPUStorage).half?.kind;
  const half: Mamba1StepHalves = { dtWeight: packed(i.dtWeight), ALog: packed(i.ALog) };
  const own = (t: KernelTensor) => (packed(t) ? (t.storage as GPUStorage).own : buf(t));
  const inputs = [buf(i.xz), buf(i.x), buf(i.dbc), own(i.dtWeight), buf(i.dtBias), own(i.ALog), buf(i.D), buf(i.h)];
  const sg = rt.subgroupReduce;
  const key = `m1stepScan/${E}/${N}/${R}/${lanes}${sg ? '/sg' : ''}/${half.dtWeight ?? ''}/${half.ALog ?? ''}`;
  rt.dispatch(key, () => m1StepScanWgsl({ E, N, R }, lanes, sg, gpu.wgsl, half), [...inputs, y.buffer, state.buffer], [Math.ceil(E / (256 / lanes)), b]);
  return { y, state };
}

export function mamba2StepCoreKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba2StepCoreInputs>, a: Mamba2StepCoreAttrs): KernelOutputs<Mamba2StepCoreResult> | null {
  const rt = gpu.runtime;
  const op = 'mamba2StepCore';
  const [b, H, P, N] = i.h.shape;
  const [convDim, , K] = i.convWeight.shape;
  const d: Mamba2StepDims = { H, P, N, G: a.ngroups, K, dMlp: a.dMlp, dtLimit: a.dtLimit, dPerChannel: i.D.size !== H, gate: a.gate, hasBias: !!i.convBias };
  // Slices of P as Mamba-3's step takes them; a large batch falls back to the most slices allowed.
  const most = rt.limits.maxComputeWorkgroupStorageSize;
  let slices = stepSlices(P, false, H * b);
  if (mamba2StepSharedBytes(d, slices) > most) slices = stepSlices(P, false, 0);
  if (mamba2StepSharedBytes(d, slices) > most) return null;
  const y: GPUStorage = rt.alloc(op, b * H * P * 4, i.zxbcdt.dtype);
  const conv: GPUStorage = rt.alloc(op, b * convDim * K * 4, i.zxbcdt.dtype);
  const state: GPUStorage = rt.alloc(op, b * H * P * N * 4, i.zxbcdt.dtype);
  const inputs = [i.zxbcdt, i.conv, i.convWeight, ...(i.convBias ? [i.convBias] : []), i.dtBias, i.ALog, i.D, i.h].map(buf);
  const sg = rt.subgroupReduce;
  rt.dispatch(mamba2StepKey(d, slices, sg), () => mamba2StepWgsl(d, gpu.wgsl, slices, sg), [...inputs, y.buffer, conv.buffer, state.buffer], [slices, H, b]);
  return { y, conv, state };
}
