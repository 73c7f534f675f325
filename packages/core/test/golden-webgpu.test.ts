import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { describeGolden } from '../src/testing/index.js';
import { SKIP_REASON, SKIP_WEBGPU } from './webgpu.js';

// The fused mixer kernels (lavapipe in CI) against the official module's outputs.
describeGolden('webgpu', { backend: () => createWebGPUBackend({ name: 'webgpu-golden' }), skip: SKIP_WEBGPU ? SKIP_REASON : null });
