/**
 * @mamba3/backend-wasm: WebAssembly SIMD128 kernels, multi-threaded where the platform allows.
 * Importing the package registers it as `wasm`; `createWasmBackend()` makes standalone instances.
 */
import { listBackends, registerBackend } from '@mamba3/tensor';
import { createWasmBackend } from './backend.js';

export { createWasmBackend, wasmAvailable } from './backend.js';
export type { WasmBackend, WasmBackendOptions } from './backend.js';
export type { WasmStorage } from './heap.js';
export type { ScanKernelInputs, StepKernelInputs } from './kernels/mamba3.js';
export type { Mamba1ConvStepKernelInputs, Mamba1ScanKernelInputs, Mamba1StepScanKernelInputs } from './kernels/mamba1.js';
export type { MixerKernelAttrs, MixerKernelParams, MixerKernelState, MixerOutputs } from './kernels/mixer.js';

if (!listBackends().includes('wasm')) registerBackend('wasm', () => createWasmBackend(), 2);
