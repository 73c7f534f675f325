import type { BinaryOp, DType, KernelTensor, Shape, UnaryOp } from '@mamba3/tensor';
import { sizeOf } from '@mamba3/tensor';
import { broadcastStrides, collapse, layoutValues, wgslType } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import { binaryExpr, binaryWgsl, castWgsl, splatWgsl, unaryWgsl, whereWgsl, WG } from './elementwise.wgsl.js';
import { buf, groupsFor } from './util.js';

export function unary(rt: Runtime, op: UnaryOp, x: KernelTensor): GPUStorage {
  const t = wgslType(x.dtype);
  const out = rt.alloc(op, x.size * 4, x.dtype);
  rt.dispatch(`unary/${op}/${t}`, () => unaryWgsl(op, t), [buf(x), out.buffer], rt.grid(groupsFor(x.size, WG)));
  return out;
}

export function binary(rt: Runtime, op: BinaryOp, a: KernelTensor, b: KernelTensor, outShape: Shape): GPUStorage {
  const t = wgslType(a.dtype);
  const n = sizeOf(outShape);
  const out = rt.alloc(op, n * 4, a.dtype);
  const { shape, strides } = collapse(outShape, [broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape)]);
  const flat = shape.length <= 1 && strides.every((s) => s.length === 0 || s[0] <= 1);
  const expr = binaryExpr(op, t);
  if (flat) {
    // Same-shape or scalar operands: one pipeline for every size.
    const f: [boolean, boolean] = [strides[0][0] === 1, strides[1][0] === 1];
    rt.dispatch(`binary/${op}/${t}/flat${+f[0]}${+f[1]}`, () => binaryWgsl(expr, t, t, { flat: f }), [buf(a), buf(b), out.buffer], rt.grid(groupsFor(n, WG)));
  } else {
    const rank = shape.length;
    rt.dispatch(`binary/${op}/${t}/r${rank}`, () => binaryWgsl(expr, t, t, { rank }), [buf(a), buf(b), out.buffer, rt.uniform(layoutValues([n], shape, strides))], rt.grid(groupsFor(n, WG)));
  }
  return out;
}

export function where(rt: Runtime, cond: KernelTensor, a: KernelTensor, b: KernelTensor, outShape: Shape): GPUStorage {
  const t = wgslType(a.dtype);
  const tc = wgslType(cond.dtype);
  const n = sizeOf(outShape);
  const out = rt.alloc('where', n * 4, a.dtype);
  const { shape, strides } = collapse(outShape, [cond, a, b].map((x) => broadcastStrides(x.shape, outShape)));
  const rank = shape.length;
  rt.dispatch(`where/${tc}/${t}/r${rank}`, () => whereWgsl(tc, t, rank), [buf(cond), buf(a), buf(b), out.buffer, rt.uniform(layoutValues([n], shape, strides))], rt.grid(groupsFor(n, WG)));
  return out;
}

export function cast(rt: Runtime, x: KernelTensor, dtype: DType): GPUStorage {
  const from = wgslType(x.dtype);
  const to = wgslType(dtype);
  const out = rt.alloc('cast', x.size * 4, dtype);
  rt.dispatch(`cast/${from}/${to}`, () => castWgsl(from, to), [buf(x), out.buffer], rt.grid(groupsFor(x.size, WG)));
  return out;
}

/** Up to this many elements, a constant fill is a host write; above, a one-element upload splatted on the GPU. */
const HOST_FILL_MAX = 1 << 14;

export function fill(rt: Runtime, shape: Shape, dtype: DType, value: number): GPUStorage {
  const n = sizeOf(shape);
  const make = (len: number) => (dtype === 'int32' ? new Int32Array(len) : new Float32Array(len));
  if (n <= HOST_FILL_MAX) {
    const values = make(n);
    if (value !== 0) values.fill(value);
    return rt.upload('fill', values, dtype);
  }
  const out = rt.alloc('fill', n * 4, dtype);
  const one = make(1);
  one[0] = value;
  const src = rt.upload('fill', one, dtype);
  rt.dispatch('splat', splatWgsl, [src.buffer, out.buffer], rt.grid(groupsFor(n, WG)));
  rt.release(src);
  return out;
}
