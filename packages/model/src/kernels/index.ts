import type { KernelConfig } from '@mamba3/tensor';
import { getKernel, registerKernel } from '@mamba3/tensor';
import { headArgmaxEmbedKernel, headArgmaxKernel } from './webgpu/head-argmax.js';
import { sampleEmbedKernel, sampleKernel } from './webgpu/sample.js';

/*
 * Registers the model's fused-op kernels (token sampling, and the greedy pick through the head, on
 * the device, each also with the picked ids' rows of the embedding). Importing @mamba3/model runs
 * this (a side effect listed in package.json); the kernels reach their backend through the
 * `backend` object they are handed, so the model loads no backend package.
 */
for (const k of [sampleKernel, sampleEmbedKernel, headArgmaxKernel, headArgmaxEmbedKernel] as unknown as KernelConfig[]) if (!getKernel(k.kernelName, k.backendName)) registerKernel(k);
