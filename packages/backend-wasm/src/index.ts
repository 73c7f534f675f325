/**
 * @mamba3/backend-wasm: WebAssembly SIMD128 kernels, multi-threaded where the platform allows.
 * Importing the package registers it as `wasm`; `createWasmBackend()` makes standalone instances.
 */
import { listBackends, registerBackend } from '@mamba3/tensor';
import { createWasmBackend } from './backend.js';

export { createWasmBackend, wasmAvailable } from './backend.js';
export type { WasmBackendOptions } from './backend.js';

if (!listBackends().includes('wasm')) registerBackend('wasm', () => createWasmBackend(), 2);
