import type { WasmBackend } from '@mamba3/backend-wasm';
import type { KernelConfig, KernelInputs } from '@mamba3/tensor';
import type { Mamba3MixerAttrs, Mamba3MixerParams, Mamba3MixerState } from '../../ops/mamba3/mixer-types.js';
import type { Mamba3MixerOpInputs, Mamba3MixerOpOutputs } from '../../ops/mamba3/mixer.js';
import { mixerParamsOf, mixerStateOf } from '../../ops/mamba3/mixer.js';
import type { Mamba3ChunkScanInputs, Mamba3ChunkScanResult, Mamba3ScanAttrs, Mamba3StepScanInputs, Mamba3StepScanResult } from '../../ops/mamba3/types.js';
import type { SelectiveScanInputs, SelectiveScanResult, SelectiveScanStepInputs } from '../../mamba1/scan.js';
import type { Mamba1ConvStepInputs, Mamba1ConvStepResult, Mamba1StepScanInputs, Mamba1StepScanResult } from '../../mamba1/step.js';

/*
 * The Mamba-3 kernels, and Mamba-1's selective scan (sequence and step) and fused decode step
 * (conv step; dt_proj + scan step + gate), on @mamba3/backend-wasm's kernel-authoring API (`WasmBackend.wasmKernels`:
 * SIMD128 code compiled into that package's WebAssembly module, run position by position with
 * the state in L1, threads over (batch, head)). Type-only import: core never loads the package.
 */

type Mixer = KernelConfig<Mamba3MixerOpInputs, Mamba3MixerAttrs, Mamba3MixerOpOutputs>;
const params = (i: KernelInputs<Mamba3MixerOpInputs>) => mixerParamsOf(i) as KernelInputs<Mamba3MixerParams>;
const state = (i: KernelInputs<Mamba3MixerOpInputs>) => (mixerStateOf(i) as KernelInputs<Mamba3MixerState> | undefined) ?? null;
const wasm = (backend: unknown) => (backend as WasmBackend).wasmKernels;

export const wasmKernels = [
  {
    kernelName: 'mamba3MixerChunked',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => ({ ...wasm(backend).mamba3Mixer(inputs.zxbcdt, inputs.zxbcdt.shape[1], params(inputs), state(inputs), attrs) }),
  } satisfies Mixer,
  {
    kernelName: 'mamba3MixerStep',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => ({ ...wasm(backend).mamba3Mixer(inputs.zxbcdt, 1, params(inputs), state(inputs), attrs) }),
  } satisfies Mixer,
  {
    kernelName: 'mamba3ChunkScan',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => ({ ...wasm(backend).mamba3ChunkScan(inputs) }),
  } satisfies KernelConfig<Mamba3ChunkScanInputs, Mamba3ScanAttrs, Mamba3ChunkScanResult>,
  {
    kernelName: 'mamba3StepScan',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => ({ ...wasm(backend).mamba3StepScan(inputs) }),
  } satisfies KernelConfig<Mamba3StepScanInputs, Record<string, never>, Mamba3StepScanResult>,
  {
    kernelName: 'mamba1SelectiveScan',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => ({ ...wasm(backend).mamba1Scan(inputs) }),
  } satisfies KernelConfig<SelectiveScanInputs, { chunkSize: number }, SelectiveScanResult>,
  {
    kernelName: 'mamba1SelectiveScanStep',
    backendName: 'wasm',
    kernelFunc: ({ inputs: { h, ...rest }, backend }) => ({ ...wasm(backend).mamba1Scan({ ...rest, h0: h }) }),
  } satisfies KernelConfig<SelectiveScanStepInputs, Record<string, never>, SelectiveScanResult>,
  {
    kernelName: 'mamba1ConvStep',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => ({ ...wasm(backend).mamba1ConvStep(inputs) }),
  } satisfies KernelConfig<Mamba1ConvStepInputs, Record<string, never>, Mamba1ConvStepResult>,
  {
    kernelName: 'mamba1StepScan',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => ({ ...wasm(backend).mamba1StepScan(inputs) }),
  } satisfies KernelConfig<Mamba1StepScanInputs, Record<string, never>, Mamba1StepScanResult>,
];
