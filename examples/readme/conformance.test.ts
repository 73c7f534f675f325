// A backend's test file: the shared suite checks every op and gradient against float64.
import { describeConformance } from '@mamba3/tensor/testing';
import { createCpuBackend } from '@mamba3/backend-cpu'; // your backend's factory here
describeConformance('cpu', { backend: () => createCpuBackend() });
