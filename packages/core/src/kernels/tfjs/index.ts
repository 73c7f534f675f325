import type { TfjsBackend } from '@mamba3/backend-tfjs';
import type { KernelConfig, KernelTensor } from '@mamba3/tensor';
import type { Mamba3ChunkScanInputs, Mamba3ChunkScanResult, Mamba3ScanAttrs, Mamba3StepScanInputs, Mamba3StepScanResult } from '../../ops/mamba3/types.js';
import { mamba3ChunkScan, mamba3StepScan } from './mamba3-scan.js';

/*
 * The Mamba-3 kernels on @mamba3/backend-tfjs's kernel-authoring API (`TfjsBackend.tf`,
 * `.helpers`, `.runKernel`). Type-only imports: core never loads tfjs itself.
 */

const tensorsOf = (inputs: object): KernelTensor[] => Object.values(inputs).filter((v): v is KernelTensor => typeof v === 'object' && v !== null && 'storage' in v);

export const tfjsKernels = [
  {
    kernelName: 'mamba3ChunkScan',
    backendName: 'tfjs',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const be = backend as TfjsBackend;
      return be.runKernel(tensorsOf(inputs), () => ({ ...mamba3ChunkScan(be, inputs, attrs) }));
    },
  } satisfies KernelConfig<Mamba3ChunkScanInputs, Mamba3ScanAttrs, Mamba3ChunkScanResult>,
  {
    kernelName: 'mamba3StepScan',
    backendName: 'tfjs',
    kernelFunc: ({ inputs, backend }) => {
      const be = backend as TfjsBackend;
      return be.runKernel(tensorsOf(inputs), () => ({ ...mamba3StepScan(be, inputs) }));
    },
  } satisfies KernelConfig<Mamba3StepScanInputs, Record<string, never>, Mamba3StepScanResult>,
];
