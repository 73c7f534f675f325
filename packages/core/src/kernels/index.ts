import type { KernelConfig } from '@mamba3/tensor';
import { getKernel, registerKernel } from '@mamba3/tensor';
import { cpuKernels } from './cpu/index.js';
import { tfjsKernels } from './tfjs/index.js';
import { wasmKernels } from './wasm/index.js';
import { webgpuKernels } from './webgpu/index.js';

/*
 * Registers core's fused-op kernels for every backend kind it has kernels for. Importing
 * @mamba3/core runs this (a side effect listed in package.json): a user who imports a backend
 * package and core gets the fused kernels, and core loads no backend package (kernels reach the
 * backend through the `backend` object they are handed; their imports of backend packages are
 * type-only).
 */
const all = [...cpuKernels, ...webgpuKernels, ...tfjsKernels, ...wasmKernels] as unknown as KernelConfig[];
for (const k of all) if (!getKernel(k.kernelName, k.backendName)) registerKernel(k);
