/**
 * @mamba3/backend-cpu: the plain-TypeScript backend and reference for all others.
 * Importing the package registers it as `cpu`; `createCpuBackend()` makes standalone instances.
 */
import { listBackends, registerBackend } from '@mamba3/tensor';
import { createCpuBackend } from './backend.js';

export { createCpuBackend } from './backend.js';
export type { CpuBackendOptions, CpuBackend } from './backend.js';

if (!listBackends().includes('cpu')) registerBackend('cpu', () => createCpuBackend(), 1);
