import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import type { Backend, KernelConfig } from '@mamba3/tensor';
import type { Mamba3MixerAttrs } from '../../ops/mamba3/mixer-types.js';
import type { Mamba3MixerOpInputs, Mamba3MixerOpOutputs } from '../../ops/mamba3/mixer.js';
import { mixerParamsOf, mixerStateOf } from '../../ops/mamba3/mixer.js';
import type { Mamba3ChunkScanInputs, Mamba3ChunkScanResult, Mamba3ScanAttrs, Mamba3StepScanInputs, Mamba3StepScanResult } from '../../ops/mamba3/types.js';
import type { Mamba3MixerParams, Mamba3MixerState } from '../../ops/mamba3/mixer-types.js';
import type { KernelInputs } from '@mamba3/tensor';
import { mamba3MixerChunked, mamba3MixerStep } from './mamba3-mixer.js';
import { mamba3ChunkScan, mamba3StepScan } from './mamba3-scan.js';
import type { SelectiveScanResult, SelectiveScanStepInputs } from '../../mamba1/scan.js';
import type { SsdResult, SsdStepInputs } from '../../mamba2/ssd.js';
import { mamba1StepKernel, mamba2StepKernel } from './family-steps.js';
import { mamba1ChunkCoreKernel, mamba1ScanKernel, mamba2ChunkCoreKernel, mamba2ScanKernel } from './family-scans.js';
import type { Mamba1ChunkCoreAttrs, Mamba1ChunkCoreInputs, Mamba1ChunkCoreResult } from '../../mamba1/chunk-core.js';
import type { Mamba2ChunkCoreAttrs, Mamba2ChunkCoreInputs, Mamba2ChunkCoreResult } from '../../mamba2/chunk-core.js';
import { convSiluKernel, convSiluXBCKernel } from './family-conv.js';
import type { ConvSiluAttrs, ConvSiluInputs, ConvSiluResult, ConvSiluXBCAttrs, ConvSiluXBCResult } from '../../conv-silu.js';
import { mamba1ConvStepKernel, mamba1InProjConvKernel, mamba1StepScanKernel, mamba2StepCoreKernel } from './family-mixer-steps.js';
import type { Mamba1ConvStepInputs, Mamba1ConvStepResult, Mamba1InProjConvAttrs, Mamba1InProjConvInputs, Mamba1InProjConvResult, Mamba1StepScanInputs, Mamba1StepScanResult } from '../../mamba1/step.js';
import type { Mamba2StepCoreAttrs, Mamba2StepCoreInputs, Mamba2StepCoreResult } from '../../mamba2/step.js';
import type { SelectiveScanInputs } from '../../mamba1/scan.js';
import type { SsdAttrs, SsdInputs } from '../../mamba2/ssd.js';

/*
 * The Mamba-3 kernels on @mamba3/backend-webgpu's kernel-authoring API (`WebGPUBackend.runtime`,
 * `.wgsl`). Type-only imports: core never loads the webgpu package; these run only on a webgpu
 * backend the user created, which hands itself in as `backend`.
 */

/**
 * A kernel binding more storage buffers per shader stage than the device allows cannot run
 * there (WebGPU guarantees 8; lavapipe and most GPUs offer 16 or more): it declines, and the op
 * runs its composite. The counts are the most any dispatch of the op binds (see the .wgsl.ts templates).
 */
function storageBuffers(needed: number): (backend: Backend) => true | string {
  return (backend) => {
    const limit = (backend as WebGPUBackend).device.limits.maxStorageBuffersPerShaderStage;
    return needed <= limit ? true : `needs ${needed} storage buffers per shader stage, the device allows ${limit}`;
  };
}

/** The backend, checked alive (every webgpu op checks before encoding). */
function gpuOf(backend: Backend, op: string): WebGPUBackend {
  const gpu = backend as WebGPUBackend;
  gpu.runtime.check(op);
  return gpu;
}

type Mixer = KernelConfig<Mamba3MixerOpInputs, Mamba3MixerAttrs, Mamba3MixerOpOutputs>;
const params = (i: KernelInputs<Mamba3MixerOpInputs>) => mixerParamsOf(i) as KernelInputs<Mamba3MixerParams>;
const state = (i: KernelInputs<Mamba3MixerOpInputs>) => mixerStateOf(i) as KernelInputs<Mamba3MixerState> | undefined;

export const webgpuKernels = [
  {
    kernelName: 'mamba3MixerStep',
    backendName: 'webgpu',
    supports: storageBuffers(11),
    kernelFunc: ({ inputs, attrs, backend }) => mamba3MixerStep(gpuOf(backend, 'mamba3MixerStep'), inputs.zxbcdt, params(inputs), state(inputs)!, attrs),
  } satisfies Mixer,
  {
    kernelName: 'mamba3MixerChunked',
    backendName: 'webgpu',
    supports: storageBuffers(10),
    kernelFunc: ({ inputs, attrs, backend }) => mamba3MixerChunked(gpuOf(backend, 'mamba3MixerChunked'), inputs.zxbcdt, params(inputs), state(inputs) ?? null, attrs),
  } satisfies Mixer,
  {
    kernelName: 'mamba3ChunkScan',
    backendName: 'webgpu',
    supports: storageBuffers(5),
    kernelFunc: ({ inputs, attrs, backend }) => mamba3ChunkScan(gpuOf(backend, 'mamba3ChunkScan'), inputs, attrs),
  } satisfies KernelConfig<Mamba3ChunkScanInputs, Mamba3ScanAttrs, Mamba3ChunkScanResult>,
  {
    kernelName: 'mamba3StepScan',
    backendName: 'webgpu',
    supports: storageBuffers(11),
    kernelFunc: ({ inputs, backend }) => mamba3StepScan(gpuOf(backend, 'mamba3StepScan'), inputs),
  } satisfies KernelConfig<Mamba3StepScanInputs, Record<string, never>, Mamba3StepScanResult>,
  {
    kernelName: 'mamba1SelectiveScanStep',
    backendName: 'webgpu',
    supports: storageBuffers(11),
    kernelFunc: ({ inputs, backend }) => mamba1StepKernel(gpuOf(backend, 'mamba1SelectiveScanStep'), inputs),
  } satisfies KernelConfig<SelectiveScanStepInputs, Record<string, never>, SelectiveScanResult>,
  {
    kernelName: 'mamba2SsdStep',
    backendName: 'webgpu',
    supports: storageBuffers(10),
    kernelFunc: ({ inputs, attrs, backend }) => mamba2StepKernel(gpuOf(backend, 'mamba2SsdStep'), inputs, attrs.dtLimit),
  } satisfies KernelConfig<SsdStepInputs, { dtLimit: readonly [number, number] }, SsdResult>,
  {
    kernelName: 'mamba1SelectiveScan',
    backendName: 'webgpu',
    supports: storageBuffers(11),
    kernelFunc: ({ inputs, backend }) => mamba1ScanKernel(gpuOf(backend, 'mamba1SelectiveScan'), inputs),
  } satisfies KernelConfig<SelectiveScanInputs, { chunkSize: number }, SelectiveScanResult>,
  {
    kernelName: 'mamba2SsdChunked',
    backendName: 'webgpu',
    supports: storageBuffers(10),
    kernelFunc: ({ inputs, attrs, backend }) => mamba2ScanKernel(gpuOf(backend, 'mamba2SsdChunked'), inputs, attrs),
  } satisfies KernelConfig<SsdInputs, SsdAttrs, SsdResult>,
  {
    kernelName: 'mamba1ChunkCore',
    backendName: 'webgpu',
    supports: storageBuffers(10),
    kernelFunc: ({ inputs, attrs, backend }) => mamba1ChunkCoreKernel(gpuOf(backend, 'mamba1ChunkCore'), inputs, attrs),
  } satisfies KernelConfig<Mamba1ChunkCoreInputs, Mamba1ChunkCoreAttrs, Mamba1ChunkCoreResult>,
  {
    kernelName: 'mamba2ChunkCore',
    backendName: 'webgpu',
    supports: storageBuffers(10),
    kernelFunc: ({ inputs, attrs, backend }) => mamba2ChunkCoreKernel(gpuOf(backend, 'mamba2ChunkCore'), inputs, attrs),
  } satisfies KernelConfig<Mamba2ChunkCoreInputs, Mamba2ChunkCoreAttrs, Mamba2ChunkCoreResult>,
  {
    kernelName: 'causalConv1dSilu',
    backendName: 'webgpu',
    supports: storageBuffers(6),
    kernelFunc: ({ inputs, attrs, backend }) => convSiluKernel(gpuOf(backend, 'causalConv1dSilu'), inputs, attrs),
  } satisfies KernelConfig<ConvSiluInputs, ConvSiluAttrs, ConvSiluResult>,
  {
    kernelName: 'causalConv1dSiluXBC',
    backendName: 'webgpu',
    supports: storageBuffers(8),
    kernelFunc: ({ inputs, attrs, backend }) => convSiluXBCKernel(gpuOf(backend, 'causalConv1dSiluXBC'), inputs, attrs),
  } satisfies KernelConfig<ConvSiluInputs, ConvSiluXBCAttrs, ConvSiluXBCResult>,
  {
    kernelName: 'mamba1ConvStep',
    backendName: 'webgpu',
    supports: storageBuffers(6),
    kernelFunc: ({ inputs, backend }) => mamba1ConvStepKernel(gpuOf(backend, 'mamba1ConvStep'), inputs),
  } satisfies KernelConfig<Mamba1ConvStepInputs, Record<string, never>, Mamba1ConvStepResult>,
  {
    kernelName: 'mamba1InProjConv',
    backendName: 'webgpu',
    supports: storageBuffers(9),
    kernelFunc: ({ inputs, attrs, backend }) => mamba1InProjConvKernel(gpuOf(backend, 'mamba1InProjConv'), inputs, attrs),
  } satisfies KernelConfig<Mamba1InProjConvInputs, Mamba1InProjConvAttrs, Mamba1InProjConvResult>,
  {
    kernelName: 'mamba1StepScan',
    backendName: 'webgpu',
    supports: storageBuffers(10),
    kernelFunc: ({ inputs, backend }) => mamba1StepScanKernel(gpuOf(backend, 'mamba1StepScan'), inputs),
  } satisfies KernelConfig<Mamba1StepScanInputs, Record<string, never>, Mamba1StepScanResult>,
  {
    kernelName: 'mamba2StepCore',
    backendName: 'webgpu',
    supports: storageBuffers(11),
    kernelFunc: ({ inputs, attrs, backend }) => mamba2StepCoreKernel(gpuOf(backend, 'mamba2StepCore'), inputs, attrs),
  } satisfies KernelConfig<Mamba2StepCoreInputs, Mamba2StepCoreAttrs, Mamba2StepCoreResult>,
];
