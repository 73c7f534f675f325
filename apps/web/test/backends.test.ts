import { describe, expect, it } from 'vitest';
import { reasonOf } from '../src/backends.js';

describe('reasonOf', () => {
  it('keeps the first line and the browser hint, drops the Node install hints', () => {
    const err = new Error(
      'webgpu: no WebGPU adapter is available (requestAdapter returned null). In Node, install the optional peer `webgpu` (npm i webgpu@0.6.2) and a Vulkan driver. In a browser, use one with WebGPU enabled.\nstack',
    );
    expect(reasonOf(err)).toBe('no WebGPU adapter is available (requestAdapter returned null). In a browser, use one with WebGPU enabled.');
    expect(reasonOf('plain')).toBe('plain');
  });
});
