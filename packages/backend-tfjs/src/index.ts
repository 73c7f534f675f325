/// <reference types="long" preserve="true" />
/**
 * @mamba3/backend-tfjs: the mamba3-ts op set on TensorFlow.js, on whichever tfjs backend runs
 * (cpu, wasm, webgpu, webgl, tfjs-node). Importing the package registers it as `tfjs`; nothing
 * tfjs-related loads until `setBackend('tfjs')` (or `createTfjsBackend()`) is called.
 * The reference above: tfjs-core's declarations use the global `Long` of `@types/long` without
 * referencing it, so consumers type-checking libraries (`skipLibCheck: false`) need it in.
 */
import { listBackends, registerBackend } from '@mamba3/tensor';
import { createTfjsBackend } from './backend.js';

export { createTfjsBackend, tfjsKernelHelpers } from './backend.js';
export type { TfjsBackendOptions, TfjsBackend } from './backend.js';
export type { Traits } from './kernels/quirks.js';
export type { KnownTfjsBackend } from './loader.js';
export type { Tf, TfTensor } from './tf.js';

// Below a native WebGPU backend, above the plain CPU one (priority 1).
if (!listBackends().includes('tfjs')) registerBackend('tfjs', () => createTfjsBackend(), 2);
