import type { Suite } from '../suite.js';
import { mixerSuite } from './mixer.js';
import { modelSuite } from './model.js';
import { tfjsSuite } from './tfjs.js';
import { tokenizerSuite } from './tokenizer.js';
import { wasmSuite } from './wasm.js';
import { webgpuKernelsSuite } from './webgpu-kernels.js';
import { webgpuProfileSuite } from './webgpu-profile.js';
import { decodePartsSuite } from './decode-parts.js';

/** Every suite; add new ones here. */
export const suites: Suite[] = [decodePartsSuite, mixerSuite, modelSuite, tfjsSuite, tokenizerSuite, wasmSuite, webgpuKernelsSuite, webgpuProfileSuite];
