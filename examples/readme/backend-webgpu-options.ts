import { createWebGPUBackend } from '@mamba3/backend-webgpu';
const gpu = await createWebGPUBackend({ powerPreference: 'high-performance' });
// or bring your own: { adapter }, { device }, or { gpu } (any object with requestAdapter)
console.log(gpu.info.device);
