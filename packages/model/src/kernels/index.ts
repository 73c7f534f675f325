import type { KernelConfig } from '@mamba3/tensor';
import { getKernel, registerKernel } from '@mamba3/tensor';
import { webgpuKernels } from './webgpu/sample.js';

/*
 * Registers the model's fused-op kernels (token sampling on the device). Importing @mamba3/model
 * runs this (a side effect listed in package.json); the kernels reach their backend through the
 * `backend` object they are handed, so the model loads no backend package.
 */
for (const k of webgpuKernels as unknown as KernelConfig[]) if (!getKernel(k.kernelName, k.backendName)) registerKernel(k);
