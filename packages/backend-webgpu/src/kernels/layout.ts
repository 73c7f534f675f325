import type { KernelTensor, Shape } from '@mamba3/tensor';
import { sizeOf } from '@mamba3/tensor';
import { collapse, layoutValues, lit, stridesOf, wgslType } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import { concatPartWgsl, copyWgsl, gatherWgsl, LAYOUT_WG, padLayout, padWgsl, scatterAddAtomicWgsl, scatterAddWgsl } from './layout.wgsl.js';
import { buf, groupsFor } from './util.js';

/** out = x read through `strides` from element `base`, over `outShape`. */
function stridedCopy(rt: Runtime, op: string, x: KernelTensor, outShape: Shape, strides: readonly number[], base: number): GPUStorage {
  const t = wgslType(x.dtype);
  const n = sizeOf(outShape);
  const out = rt.alloc(op, n * 4, x.dtype);
  const c = collapse(outShape, [strides]);
  const rank = c.shape.length;
  rt.dispatch(`copy/${t}/r${rank}`, () => copyWgsl(t, rank), [buf(x), out.buffer, rt.uniform(layoutValues([n, base], c.shape, c.strides))], rt.grid(groupsFor(n, LAYOUT_WG)));
  return out;
}

export function transpose(rt: Runtime, x: KernelTensor, perm: readonly number[], outShape: Shape): GPUStorage {
  const s = stridesOf(x.shape);
  return stridedCopy(rt, 'transpose', x, outShape, perm.map((a) => s[a]), 0);
}

export function slice(rt: Runtime, x: KernelTensor, begin: readonly number[], size: readonly number[]): GPUStorage {
  const s = stridesOf(x.shape);
  return stridedCopy(rt, 'slice', x, size, s, begin.reduce((acc, b, d) => acc + b * s[d], 0));
}

export function concat(rt: Runtime, xs: readonly KernelTensor[], axis: number, outShape: Shape): GPUStorage {
  const t = wgslType(xs[0].dtype);
  const out = rt.alloc('concat', sizeOf(outShape) * 4, xs[0].dtype);
  const inner = sizeOf(outShape.slice(axis + 1));
  const rowOut = outShape[axis] * inner;
  let at = 0;
  for (const x of xs) {
    const rowIn = x.shape[axis] * inner;
    const n = x.size;
    const dst = at * inner;
    at += x.shape[axis];
    if (n === 0) continue;
    rt.dispatch(`concat/${t}`, () => concatPartWgsl(t), [buf(x), out.buffer, rt.uniform([n, rowIn, rowOut, dst])], rt.grid(groupsFor(n, LAYOUT_WG)));
  }
  return out;
}

export function pad(rt: Runtime, x: KernelTensor, paddings: readonly (readonly [number, number])[], value: number, outShape: Shape): GPUStorage {
  const t = wgslType(x.dtype);
  const n = sizeOf(outShape);
  const out = rt.alloc('pad', n * 4, x.dtype);
  const before = paddings.map((p) => p[0]);
  const v = lit(value, t);
  const rank = outShape.length;
  rt.dispatch(`pad/${t}/r${rank}/${v}`, () => padWgsl(t, rank, v), [buf(x), out.buffer, rt.uniform(padLayout(outShape, x.shape, before))], rt.grid(groupsFor(n, LAYOUT_WG)));
  return out;
}

function around(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

export function gather(rt: Runtime, x: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape): GPUStorage {
  const t = wgslType(x.dtype);
  const [outer, D, inner] = around(x.shape, axis);
  const J = indices.size;
  const n = sizeOf(outShape);
  const out = rt.alloc('gather', n * 4, x.dtype);
  if (n === 0 || D === 0) return out;
  // A 16-bit table (an embedding) is read packed: only the gathered rows are unpacked.
  const half = (x.storage as GPUStorage).half?.kind;
  const src = half ? (x.storage as GPUStorage).own : buf(x);
  rt.dispatch(`gather/${half ?? t}/${outer}/${D}/${inner}`, () => gatherWgsl(t, outer, D, inner, half), [src, buf(indices), out.buffer, rt.uniform([J, 0, 0, 0])], rt.grid(groupsFor(n, LAYOUT_WG)));
  return out;
}

/** Atomics when the column-per-invocation kernel would have few columns and long loops. */
const ATOMIC_MAX_COLUMNS = 16384;
const ATOMIC_MIN_ROWS = 64;

export function scatterAdd(rt: Runtime, updates: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape): GPUStorage {
  const t = wgslType(updates.dtype);
  const [outer, D, inner] = around(outShape, axis);
  const J = indices.size;
  const out = rt.alloc('scatterAdd', sizeOf(outShape) * 4, updates.dtype);
  if (sizeOf(outShape) === 0) return out;
  if (J === 0) {
    rt.clear(out.buffer, sizeOf(outShape) * 4);
    return out;
  }
  if (outer * inner < ATOMIC_MAX_COLUMNS && J >= ATOMIC_MIN_ROWS) {
    rt.clear(out.buffer, sizeOf(outShape) * 4);
    const n = outer * J * inner;
    rt.dispatch(`scatterAddAtomic/${t}/${outer}/${D}/${J}/${inner}`, () => scatterAddAtomicWgsl(t, outer, D, J, inner), [buf(updates), buf(indices), out.buffer], rt.grid(groupsFor(n, LAYOUT_WG)));
    return out;
  }
  const key = `scatterAdd/${t}/${outer}/${D}/${J}/${inner}`;
  rt.dispatch(key, () => scatterAddWgsl(t, outer, D, J, inner), [buf(updates), buf(indices), out.buffer], rt.grid(groupsFor(outer * inner, LAYOUT_WG)));
  return out;
}
