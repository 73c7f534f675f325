import type { ArgReduceOp, KernelTensor, ReduceOp, Shape } from '@mamba3/tensor';
import { sizeOf } from '@mamba3/tensor';
import { collapse, stridesOf, wgslType } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import { fill } from './elementwise.js';
import type { ReduceLayout } from './reduce.wgsl.js';
import { argReduceSplitWgsl, argReduceWgsl, CUMSUM_CHUNK, cumsumChunkedWgsl, cumsumChunkSumsWgsl, cumsumWgsl, RED_WG, reduceLayoutValues, reduceWgsl } from './reduce.wgsl.js';
import { buf, groupsFor } from './util.js';

/** Below this many elements per output, one invocation per output beats a workgroup each. */
const PER_WORKGROUP_MIN = 64;
/** Two-pass reductions: at most this many outputs, at least this R, about this much per workgroup. */
const SPLIT_MAX_OUTPUTS = 64;
const SPLIT_MIN_R = 1 << 16;
const SPLIT_CHUNK = 1 << 14;
/** Arg-reductions over rows at least this long take the two-pass split, ARG_CHUNK positions a workgroup. */
const ARG_SPLIT_MIN = 8192;
const ARG_CHUNK = 2048;

export function reduce(rt: Runtime, op: ReduceOp, x: KernelTensor, axes: readonly number[], outShape: Shape): GPUStorage {
  const t = wgslType(x.dtype);
  const nOut = sizeOf(outShape);
  const strides = stridesOf(x.shape);
  const kept = collapse(x.shape.filter((_, d) => !axes.includes(d)), [strides.filter((_, d) => !axes.includes(d))]);
  const red = collapse(axes.map((a) => x.shape[a]), [axes.map((a) => strides[a])]);
  const R = sizeOf(axes.map((a) => x.shape[a]));
  if (R === 0 || nOut === 0) return fill(rt, outShape, x.dtype, op === 'prod' ? 1 : 0);
  const l: ReduceLayout = { nOut, R, keptShape: kept.shape, keptStrides: kept.strides[0], redShape: red.shape, redStrides: red.strides[0] };
  const out = rt.alloc(op, nOut * 4, x.dtype);
  const ranks = `${l.keptShape.length}/${l.redShape.length}`;
  if (nOut <= SPLIT_MAX_OUTPUTS && R >= SPLIT_MIN_R) {
    // Few outputs over a huge R: spread each over S workgroups, then reduce the S partials.
    const S = Math.min(256, Math.ceil(R / SPLIT_CHUNK));
    const chunk = Math.ceil(R / S);
    const part = rt.alloc(op, nOut * S * 4, x.dtype);
    const first = op === 'mean' ? 'sum' : op;
    rt.dispatch(`reduceSplit/${first}/${t}/${ranks}`, () => reduceWgsl(first, t, l.keptShape.length, l.redShape.length, true, true), [buf(x), part.buffer, rt.uniform(reduceLayoutValues(l, { S, chunk }))], rt.grid(nOut * S));
    const l2: ReduceLayout = { nOut, R: S, keptShape: nOut > 1 ? [nOut] : [], keptStrides: nOut > 1 ? [S] : [], redShape: [S], redStrides: [1] };
    const ranks2 = `${l2.keptShape.length}/1`;
    rt.dispatch(`reduce/${op}/${t}/1/${ranks2}`, () => reduceWgsl(op, t, l2.keptShape.length, 1, true, false), [part.buffer, out.buffer, rt.uniform(reduceLayoutValues(l2, undefined, R))], rt.grid(nOut));
    rt.release(part);
    return out;
  }
  const perWg = R >= PER_WORKGROUP_MIN;
  rt.dispatch(`reduce/${op}/${t}/${+perWg}/${ranks}`, () => reduceWgsl(op, t, l.keptShape.length, l.redShape.length, perWg, false), [buf(x), out.buffer, rt.uniform(reduceLayoutValues(l))], rt.grid(perWg ? nOut : groupsFor(nOut, RED_WG)));
  return out;
}

function around(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

export function argReduce(rt: Runtime, op: ArgReduceOp, x: KernelTensor, axis: number, outShape: Shape): GPUStorage {
  const t = wgslType(x.dtype);
  const [outer, D, inner] = around(x.shape, axis);
  const nOut = sizeOf(outShape);
  const out = rt.alloc(op, nOut * 4, 'int32');
  if (D >= ARG_SPLIT_MIN) {
    const S = Math.ceil(D / ARG_CHUNK);
    const dims = `${op}/${t}/${outer}/${D}/${inner}/${S}`;
    const pv = rt.alloc(op, nOut * S * 4, x.dtype);
    const pi = rt.alloc(op, nOut * S * 4, 'int32');
    rt.dispatch(`${op}Chunks/${dims}`, () => argReduceSplitWgsl(op, t, 'chunks', outer, D, inner, S, ARG_CHUNK), [buf(x), pv.buffer, pi.buffer], rt.grid(nOut * S));
    rt.dispatch(`${op}Partials/${dims}`, () => argReduceSplitWgsl(op, t, 'partials', outer, D, inner, S, ARG_CHUNK), [pv.buffer, pi.buffer, out.buffer], rt.grid(nOut));
    rt.release(pv);
    rt.release(pi);
    return out;
  }
  const perWg = D >= PER_WORKGROUP_MIN;
  const key = `${op}/${t}/${+perWg}/${outer}/${D}/${inner}`;
  rt.dispatch(key, () => argReduceWgsl(op, t, outer, D, inner, perWg), [buf(x), out.buffer], rt.grid(perWg ? nOut : groupsFor(nOut, RED_WG)));
  return out;
}

export function cumsum(rt: Runtime, x: KernelTensor, axis: number, exclusive: boolean, reverse: boolean): GPUStorage {
  const t = wgslType(x.dtype);
  const [outer, D, inner] = around(x.shape, axis);
  const out = rt.alloc('cumsum', x.size * 4, x.dtype);
  if (D > 4 * CUMSUM_CHUNK) {
    const nC = Math.ceil(D / CUMSUM_CHUNK);
    const lines = outer * inner;
    const sums = rt.alloc('cumsum', lines * nC * 4, x.dtype);
    const dims = `${t}/${outer}/${D}/${inner}`;
    rt.dispatch(`cumsumSums/${dims}/${+reverse}`, () => cumsumChunkSumsWgsl(t, outer, D, inner, reverse), [buf(x), sums.buffer], rt.grid(groupsFor(lines * nC, RED_WG)));
    rt.dispatch(`cumsumChunked/${dims}/${+exclusive}${+reverse}`, () => cumsumChunkedWgsl(t, outer, D, inner, exclusive, reverse), [buf(x), sums.buffer, out.buffer], rt.grid(groupsFor(lines * nC, RED_WG)));
    rt.release(sums);
    return out;
  }
  rt.dispatch(`cumsum/${t}/${+exclusive}${+reverse}`, () => cumsumWgsl(t, exclusive, reverse), [buf(x), out.buffer, rt.uniform([outer * inner, D, inner, 0])], rt.grid(groupsFor(outer * inner, RED_WG)));
  return out;
}
