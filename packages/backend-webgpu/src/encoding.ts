/**
 * One open command encoder with one open compute pass, submitted lazily: kernels encode into it
 * and nothing waits on the GPU until a read or a sync. Counts submits and dispatches.
 */
export class CommandStream {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** The pipeline set last in the open pass (repeated ones are not set again). */
  lastPipeline: GPUComputePipeline | null = null;
  submits = 0;
  dispatches = 0;
  /** Buffer-to-buffer copies encoded by `copy` (readbacks to staging buffers are not counted). */
  copies = 0;
  /** Dispatches encoded and not yet submitted. */
  pending = 0;
  /** Dispatches encoded by replaying step graphs (also counted in `dispatches`). */
  replayed = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Called after every submit (the pool cleans and destroys what waited for it). */
    private readonly onSubmit: () => void,
  ) {}

  /** Whether commands are encoded and not yet submitted. */
  get open(): boolean {
    return this.encoder !== null;
  }

  encoderNow(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  passNow(): GPUComputePassEncoder {
    if (!this.pass) {
      this.pass = this.encoderNow().beginComputePass();
      this.lastPipeline = null;
    }
    return this.pass;
  }

  /** Ends the open pass (if any) and returns the encoder, for copies, clears and queries. */
  endPass(): GPUCommandEncoder {
    const enc = this.encoderNow();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return enc;
  }

  /** Starts a pass of its own (timestamp writes) that the next dispatches encode into. */
  beginPass(desc: GPUComputePassDescriptor): void {
    this.pass = this.endPass().beginComputePass(desc);
    this.lastPipeline = null;
  }

  /** Copies bytes between device buffers, outside any pass. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.copies++;
  }

  dispatch(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number, z: number): void {
    const pass = this.passNow();
    if (this.lastPipeline !== pipeline) {
      pass.setPipeline(pipeline);
      this.lastPipeline = pipeline;
    }
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    this.pending++;
  }

  /** Submits the open encoder (if any). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const cb = this.encoder.finish();
    this.encoder = null;
    this.pending = 0;
    this.device.queue.submit([cb]);
    this.submits++;
    this.onSubmit();
  }
}
