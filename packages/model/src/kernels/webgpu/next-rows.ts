import type { GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelTensor } from '@mamba3/tensor';

/*
 * The picked ids' rows of the embedding, written by a pick kernel (one workgroup a row) once its
 * workgroup knows the id: the next decode step's input, without the embedding's gather dispatch.
 *
 * Shapes: table [tableRows, e] (f32, or 16-bit pairs in u32 as `uploadHalf` stores them) and the
 * ids [rows] -> next [rows, e] f32.
 */

/** How a pick kernel reads the table: its buffer, 16-bit kind and shape (the pipeline key's part). */
export interface NextRows {
  table: GPUBuffer;
  half: 'f16' | 'bf16' | null;
  tableRows: number;
  e: number;
}

export function nextRowsOf(embedding: KernelTensor): NextRows {
  const s = embedding.storage as GPUStorage;
  // A 16-bit table is read packed (as the backend's gather reads it): only the picked rows are unpacked.
  return { table: s.half ? s.own : s.buffer, half: s.half?.kind ?? null, tableRows: embedding.shape[0], e: embedding.shape[1] };
}

export function nextRowsKey(n: NextRows): string {
  return `${n.half ?? 'f32'}/${n.tableRows}/${n.e}`;
}

/**
 * The bindings `first` (table) and `first + 1` (next) and `fn writeNext(row, id, tid)`, which the
 * workgroup's `threads` invocations call together: row `row` of next becomes the table's row `id`
 * (clamped into the table, as the gather clamps).
 */
export function nextRowsWgsl(gpu: WebGPUBackend, n: NextRows, first: number, threads: number): string {
  const read = n.half ? 'tableAt' : 'table';
  return /* wgsl */ `
@group(0) @binding(${first}) var<storage, read> table: array<${n.half ? 'u32' : 'f32'}>;
@group(0) @binding(${first + 1}) var<storage, read_write> next: array<f32>;
${n.half ? gpu.wgsl.halfElementFn(n.half, 'tableAt', 'table') : ''}
fn writeNext(row: u32, id: u32, tid: u32) {
  let at = min(id, ${n.tableRows - 1}u) * ${n.e}u;
  for (var j = tid; j < ${n.e}u; j += ${threads}u) { next[row * ${n.e}u + j] = ${n.half ? `${read}(at + j)` : `${read}[at + j]`}; }
}`;
}
