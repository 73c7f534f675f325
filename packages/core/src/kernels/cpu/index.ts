import type { CpuBackend } from '@mamba3/backend-cpu';
import type { KernelConfig } from '@mamba3/tensor';
import type { Mamba3StepScanInputs, Mamba3StepScanResult } from '../../ops/mamba3/types.js';
import { mamba3StepScan } from './mamba3-step-scan.js';

/* The Mamba-3 kernels on @mamba3/backend-cpu (typed arrays; `CpuBackend.alloc` counts their bytes). */
export const cpuKernels = [
  {
    kernelName: 'mamba3StepScan',
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => mamba3StepScan(backend as CpuBackend, inputs),
  } satisfies KernelConfig<Mamba3StepScanInputs, Record<string, never>, Mamba3StepScanResult>,
];
