import { availableParallelism } from 'node:os';

/**
 * Test files run at once (vitest's `maxWorkers`) in the packages whose tests mostly wait: on
 * lavapipe compiling shaders, on a thread of its own (the WebGPU backend does not spin while it
 * waits: backend-webgpu's waiting.ts), or on the child processes they start. Two files at once
 * use both cores of a 2-core machine, where vitest's default (cores - 1) runs one.
 */
export const WAITING_TEST_WORKERS = Math.max(2, availableParallelism() - 1);
