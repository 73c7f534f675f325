import type { ArgReduceOp, KernelTensor, ReduceOp, Shape } from '@mamba3/tensor';
import { sizeOf } from '@mamba3/tensor';
import { collapse, stridesOf, wgslType } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import { fill } from './elementwise.js';
import type { ReduceLayout } from './reduce.wgsl.js';
import { argReduceWgsl, cumsumWgsl, RED_WG, reduceWgsl } from './reduce.wgsl.js';
import { buf, groupsFor } from './util.js';

/** Below this many elements per output, one invocation per output beats a workgroup each. */
const PER_WORKGROUP_MIN = 64;

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
  const perWg = R >= PER_WORKGROUP_MIN;
  const key = `reduce/${op}/${t}/${+perWg}/${nOut}/${R}/${l.keptShape}/${l.keptStrides}/${l.redShape}/${l.redStrides}`;
  rt.dispatch(key, () => reduceWgsl(op, t, l, perWg), [buf(x), out.buffer], rt.grid(perWg ? nOut : groupsFor(nOut, RED_WG)));
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
  const perWg = D >= PER_WORKGROUP_MIN;
  const key = `${op}/${t}/${+perWg}/${outer}/${D}/${inner}`;
  rt.dispatch(key, () => argReduceWgsl(op, t, outer, D, inner, perWg), [buf(x), out.buffer], rt.grid(perWg ? nOut : groupsFor(nOut, RED_WG)));
  return out;
}

export function cumsum(rt: Runtime, x: KernelTensor, axis: number, exclusive: boolean, reverse: boolean): GPUStorage {
  const t = wgslType(x.dtype);
  const [outer, D, inner] = around(x.shape, axis);
  const out = rt.alloc('cumsum', x.size * 4, x.dtype);
  const key = `cumsum/${t}/${outer}/${D}/${inner}/${+exclusive}${+reverse}`;
  rt.dispatch(key, () => cumsumWgsl(t, outer, D, inner, exclusive, reverse), [buf(x), out.buffer], rt.grid(groupsFor(outer * inner, RED_WG)));
  return out;
}
