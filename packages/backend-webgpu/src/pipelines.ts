import { UnsupportedError } from '@mamba3/tensor';
import { USAGE_UNIFORM } from './pool.js';

const PROFILE_COMPILES = typeof process !== 'undefined' && process.env?.MAMBA3_WEBGPU_PROFILE_COMPILES === '1';
const BIND_GROUP_CACHE_MAX = 8192;
const UNIFORM_CACHE_MAX = 4096;

export interface PipelineEntry {
  id: number;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Compiled pipelines by key, bind groups by pipeline and buffers, and small uniform buffers by value. */
export class PipelineCache {
  private readonly pipelines = new Map<string, PipelineEntry>();
  /** Bind groups by pipeline and buffers: a decode step reuses the same pooled buffers every token. */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private readonly uniforms = new Map<string, GPUBuffer>();
  misses = 0;
  hits = 0;
  /** Milliseconds spent creating pipelines (shader compilation). */
  compileMs = 0;

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  /** The compute pipeline for `key`, compiling `wgsl()` on the first use. */
  get(key: string, wgsl: () => string): PipelineEntry {
    let entry = this.pipelines.get(key);
    if (entry) {
      this.hits++;
      return entry;
    }
    this.misses++;
    const t0 = performance.now();
    const code = wgsl();
    // Fused kernels bind up to 11 storage buffers; some adapters (and browser limit tiers) allow
    // fewer: say so instead of failing validation later.
    const storage = code.match(/var<storage/g)?.length ?? 0;
    const limit = this.device.limits.maxStorageBuffersPerShaderStage;
    if (storage > limit) {
      throw new UnsupportedError(
        `webgpu ${key.split('/')[0]}: the kernel binds ${storage} storage buffers but this device allows ${limit} per shader stage (maxStorageBuffersPerShaderStage)`,
      );
    }
    const module = this.device.createShaderModule({ code, label: key });
    const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    this.compileMs += performance.now() - t0;
    if (PROFILE_COMPILES) console.log(`compile ${(performance.now() - t0).toFixed(1)} ms ${key}`);
    entry = { id: this.pipelines.size, pipeline, layout: pipeline.getBindGroupLayout(0) };
    this.pipelines.set(key, entry);
    return entry;
  }

  /** The bind group of `buffers` at @binding(0..n-1) for pipeline `p`, cached. */
  bindGroup(p: PipelineEntry, buffers: readonly GPUBuffer[]): GPUBindGroup {
    let key = `${p.id}`;
    for (const b of buffers) {
      let id = this.bufferIds.get(b);
      if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
      key += `,${id}`;
    }
    let bg = this.bindGroups.get(key);
    if (!bg) {
      bg = makeBindGroup(this.device, p.layout, buffers);
      if (this.bindGroups.size >= BIND_GROUP_CACHE_MAX) this.bindGroups.clear();
      this.bindGroups.set(key, bg);
    }
    return bg;
  }

  /**
   * A small uniform buffer holding `values` as u32, cached by value: shapes repeat, so after the
   * first call this is a map lookup (written at creation, so no queue-ordering concerns).
   */
  uniform(values: readonly number[]): GPUBuffer {
    const key = values.join(',');
    let b = this.uniforms.get(key);
    if (!b) {
      b = this.device.createBuffer({ size: Math.max(16, Math.ceil((values.length * 4) / 16) * 16), usage: USAGE_UNIFORM, mappedAtCreation: true });
      new Uint32Array(b.getMappedRange()).set(values);
      b.unmap();
      if (this.uniforms.size >= UNIFORM_CACHE_MAX) this.uniforms.clear();
      this.uniforms.set(key, b);
    }
    return b;
  }

  clear(): void {
    this.pipelines.clear();
    this.bindGroups.clear();
  }
}

export function makeBindGroup(device: GPUDevice, layout: GPUBindGroupLayout, buffers: readonly GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({ layout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
}
