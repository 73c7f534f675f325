import type { BackendGraph } from '@mamba3/tensor';
import { BackendError } from '@mamba3/tensor';
import type { WasmCaptureIO } from './capture.js';
import { closeWasmCapture, WasmCapture, WasmStepGraph } from './capture.js';
import type { WasmContext } from './context.js';
import type { WasmHeap } from './heap.js';

type EntryPoint = (...args: unknown[]) => unknown;

/** The backend's side of `captureStep`: records entry points while a capture is open (capture.ts). */
export class StepRecorder {
  private capture: WasmCapture | null = null;

  private readonly heap: WasmHeap;

  constructor(private readonly ctx: WasmContext) {
    this.heap = ctx.heap;
  }

  /** `fn` as an entry point: recorded (outermost calls only) while a step is captured. */
  entry(fn: EntryPoint): EntryPoint {
    return (...args) => {
      const cap = this.capture;
      if (!cap) return fn(...args);
      cap.record(fn, args);
      cap.depth++;
      try {
        return fn(...args);
      } finally {
        cap.depth--;
      }
    };
  }

  begin(): void {
    if (this.capture) throw new BackendError('wasm captureStep: a capture is already in progress (captures do not nest)');
    this.capture = new WasmCapture();
    this.heap.recording = this.capture.script;
  }

  cancel(): void {
    const cap = this.capture;
    this.capture = null;
    this.heap.recording = null;
    if (cap) this.heap.releaseHeld(cap.script);
  }

  end(io: WasmCaptureIO): BackendGraph {
    const cap = this.capture;
    if (!cap) throw new BackendError('wasm captureStep: endCapture without beginCapture');
    this.capture = null;
    this.heap.recording = null;
    let closed: ReturnType<typeof closeWasmCapture>;
    try {
      closed = closeWasmCapture(cap, io);
    } catch (err) {
      this.heap.releaseHeld(cap.script);
      throw err;
    }
    this.heap.hold(closed.held);
    return new WasmStepGraph(this.ctx, cap, io, closed);
  }
}
