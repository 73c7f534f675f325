/// <reference types="@webgpu/types" preserve="true" />
/**
 * @mamba3/backend-webgpu: WGSL compute kernels behind the `Backend` interface, in browsers
 * (navigator.gpu) and Node (Dawn, the optional `webgpu` package). Importing the package
 * registers it as `webgpu` (priority 2, above `cpu`); nothing touches the GPU until the backend
 * is initialised. `createWebGPUBackend()` makes standalone instances.
 * The WebGPU types (`GPUDevice`, ...) come from `@webgpu/types`, a dependency that the
 * reference above brings into every consumer's program.
 */
import { listBackends, registerBackend } from '@mamba3/tensor';
import { createWebGPUBackend } from './backend.js';

export { createWebGPUBackend } from './backend.js';
export { DEFAULT_DAWN_FLAGS } from './device.js';
export type { WebGPUBackend, WebGPUBackendOptions } from './backend.js';
export type { GemvEpilogue } from './kernels/gemv.wgsl.js';
export type { GemvLanes, GraphCopies, MatmulTile } from './options.js';
export { DEFAULT_GRAPH_COPIES, DEFAULT_KICK_DISPATCHES } from './options.js';
/** The register-tiled matmul shapes `matmulTile` accepts by name (BMxBNxBK-TMxTN). */
export { TILE_VARIANTS as MATMUL_TILE_VARIANTS } from './kernels/matmul-tiled.wgsl.js';
// The kernel-authoring API (`WebGPUBackend.runtime`): fused-op kernels in other packages import these types only.
export type { RuntimeStats, Runtime, GPUStorage } from './runtime.js';

if (!listBackends().includes('webgpu')) registerBackend('webgpu', () => createWebGPUBackend(), 2);
