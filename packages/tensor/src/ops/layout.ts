import { isFloatDType } from '../dtype.js';
import { engine } from '../engine.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import type { Shape } from '../shape.js';
import { broadcastShapes, formatShape, inferReshape, normalizeAxis, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { zeros } from './creation.js';
import { add } from './elementwise.js';
import { checkDType, checkInputs, checkSameDType, make } from './util.js';

/** A view with another shape (no copy); one dim may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkInputs('reshape', { x });
  const newShape = inferReshape('reshape', x.shape, shape);
  const y = engine.shareTensor(x, newShape);
  if (isFloatDType(x.dtype)) {
    const from = x.shape;
    engine.record('reshape', [x], [y], ([dy]) => [reshape(dy, from)]);
  }
  return y;
}

/** A new handle on the same values (gradients pass through). */
export function identity(x: Tensor): Tensor {
  return reshape(x, x.shape);
}

export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.size]);
}

export function expandDims(x: Tensor, axis = 0): Tensor {
  checkInputs('expandDims', { x });
  const a = normalizeAxis('expandDims', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Removes size-1 dims (all, or the listed ones, which must be 1). */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  checkInputs('squeeze', { x });
  let drop: Set<number>;
  if (axes === undefined) {
    drop = new Set(x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  } else {
    drop = new Set((typeof axes === 'number' ? [axes] : axes).map((a) => normalizeAxis('squeeze', a, x.rank)));
    for (const a of drop) {
      if (x.shape[a] !== 1) throw new ShapeError(`squeeze: dim ${a} of ${formatShape(x.shape)} is ${x.shape[a]}, not 1`);
    }
  }
  return reshape(x, x.shape.filter((_, i) => !drop.has(i)));
}

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const backend = checkInputs('transpose', { x });
  const p = perm ? perm.map((a) => normalizeAxis('transpose', a, x.rank)) : [...x.shape.keys()].reverse();
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new ShapeError(`transpose: perm [${perm?.join(', ')}] is not a permutation of ${x.rank} axes`);
  }
  if (p.every((a, i) => a === i)) return identity(x);
  const outShape = p.map((a) => x.shape[a]);
  // Moving only size-1 dims keeps the memory order: a reshape suffices.
  const moved = p.filter((a) => x.shape[a] !== 1);
  if (moved.every((a, i) => i === 0 || a > moved[i - 1])) return reshape(x, outShape);
  const y = make(backend, backend.transpose(x, p, outShape), outShape, x.dtype);
  if (isFloatDType(x.dtype)) {
    const inverse = new Array<number>(p.length);
    p.forEach((a, i) => (inverse[a] = i));
    engine.record('transpose', [x], [y], ([dy]) => [transpose(dy, inverse)]);
  }
  return y;
}

/** Swaps two axes. */
export function swapAxes(x: Tensor, a: number, b: number): Tensor {
  checkInputs('swapAxes', { x });
  const perm = [...x.shape.keys()];
  const ia = normalizeAxis('swapAxes', a, x.rank);
  const ib = normalizeAxis('swapAxes', b, x.rank);
  [perm[ia], perm[ib]] = [perm[ib], perm[ia]];
  return transpose(x, perm);
}

/** A contiguous block: `size` -1 means "to the end"; negative `begin` counts from the end. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const backend = checkInputs('slice', { x });
  if (begin.length > x.rank || (size && size.length !== begin.length)) {
    throw new ShapeError(`slice: begin [${begin.join(', ')}] / size [${size?.join(', ') ?? ''}] do not fit ${formatShape(x.shape)}`);
  }
  const b: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    const dim = x.shape[i];
    let bi = i < begin.length ? begin[i] : 0;
    if (bi < 0) bi += dim;
    let si = size && i < size.length ? size[i] : -1;
    if (si === -1) si = dim - bi;
    if (!Number.isInteger(bi) || !Number.isInteger(si) || bi < 0 || si < 0 || bi + si > dim) {
      throw new ShapeError(
        `slice: begin [${begin.join(', ')}] size [${size?.join(', ') ?? ''}] out of range for ${formatShape(x.shape)} (axis ${i})`,
      );
    }
    b.push(bi);
    s.push(si);
  }
  if (shapesEqual(s, x.shape)) return identity(x);
  const y = make(backend, backend.slice(x, b, s), s, x.dtype);
  if (isFloatDType(x.dtype)) {
    const full = x.shape;
    engine.record('slice', [x], [y], ([dy]) => [pad(dy, full.map((d, i) => [b[i], d - b[i] - s[i]] as [number, number]))]);
  }
  return y;
}

/** Elements [start, end) along one axis. */
export function sliceAxis(x: Tensor, axis: number, start: number, end?: number): Tensor {
  checkInputs('sliceAxis', { x });
  const a = normalizeAxis('sliceAxis', axis, x.rank);
  const dim = x.shape[a];
  const s = start < 0 ? start + dim : start;
  const e = end === undefined ? dim : end < 0 ? end + dim : end;
  const begin = x.shape.map((_, i) => (i === a ? s : 0));
  const size = x.shape.map((d, i) => (i === a ? e - s : d));
  return slice(x, begin, size);
}

/** Splits along `axis` into pieces of the given sizes (or `n` equal pieces). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  checkInputs('split', { x });
  const a = normalizeAxis('split', axis, x.rank);
  const dim = x.shape[a];
  let list: number[];
  if (typeof sizes === 'number') {
    if (dim % sizes !== 0) throw new ShapeError(`split: dim ${a} (${dim}) of ${formatShape(x.shape)} does not split into ${sizes} equal parts`);
    list = new Array<number>(sizes).fill(dim / sizes);
  } else {
    list = [...sizes];
    const total = list.reduce((p, c) => p + c, 0);
    if (total !== dim) throw new ShapeError(`split: sizes [${list.join(', ')}] sum to ${total}, but dim ${a} of ${formatShape(x.shape)} is ${dim}`);
  }
  const out: Tensor[] = [];
  let offset = 0;
  for (const n of list) {
    out.push(sliceAxis(x, a, offset, offset + n));
    offset += n;
  }
  return out;
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ArgumentError('concat: needs at least one tensor');
  const backend = checkInputs('concat', Object.fromEntries(xs.map((t, i) => [`xs[${i}]`, t])));
  const first = xs[0];
  const a = normalizeAxis('concat', axis, first.rank);
  let total = 0;
  for (const [i, t] of xs.entries()) {
    checkSameDType('concat', first, t, ['xs[0]', `xs[${i}]`]);
    if (t.rank !== first.rank || t.shape.some((d, j) => j !== a && d !== first.shape[j])) {
      throw new ShapeError(`concat: xs[${i}] ${formatShape(t.shape)} does not match xs[0] ${formatShape(first.shape)} off axis ${a}`);
    }
    total += t.shape[a];
  }
  if (xs.length === 1) return identity(first);
  const outShape = first.shape.map((d, j) => (j === a ? total : d));
  const y = make(backend, backend.concat(xs, a, outShape), outShape, first.dtype);
  if (isFloatDType(first.dtype)) {
    const sizes = xs.map((t) => t.shape[a]);
    engine.record('concat', xs, [y], ([dy]) => split(dy, sizes, a));
  }
  return y;
}

export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ArgumentError('stack: needs at least one tensor');
  return concat(xs.map((t) => expandDims(t, axis)), axis);
}

export function unstack(x: Tensor, axis = 0): Tensor[] {
  checkInputs('unstack', { x });
  const a = normalizeAxis('unstack', axis, x.rank);
  return split(x, x.shape[a], a).map((t) => squeeze(t, a));
}

/** Pads with a constant: `paddings[i] = [before, after]` for each axis. */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  const backend = checkInputs('pad', { x });
  if (paddings.length !== x.rank || paddings.some(([b, a]) => !Number.isInteger(b) || !Number.isInteger(a) || b < 0 || a < 0)) {
    throw new ShapeError(`pad: paddings ${JSON.stringify(paddings)} must give [before, after] >= 0 for each of the ${x.rank} axes`);
  }
  if (paddings.every(([b, a]) => b === 0 && a === 0)) return identity(x);
  const outShape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
  const y = make(backend, backend.pad(x, paddings, value, outShape), outShape, x.dtype);
  if (isFloatDType(x.dtype)) {
    const shape = x.shape;
    engine.record('pad', [x], [y], ([dy]) => [slice(dy, paddings.map(([b]) => b), shape)]);
  }
  return y;
}

/** Broadcasts to `shape` (a copy). */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  checkInputs('broadcastTo', { x });
  const out = broadcastShapes('broadcastTo', x.shape, shape);
  if (!shapesEqual(out, shape)) throw new ShapeError(`broadcastTo: ${formatShape(x.shape)} does not broadcast to ${formatShape(shape)}`);
  if (shapesEqual(x.shape, shape)) return identity(x);
  return add(x, zeros(shape, { dtype: x.dtype, backend: x.backend }));
}

/** Repeats each element `repeats` times along `axis` (like torch.repeat_interleave). */
export function repeatInterleave(x: Tensor, repeats: number, axis: number): Tensor {
  checkInputs('repeatInterleave', { x });
  const a = normalizeAxis('repeatInterleave', axis, x.rank);
  if (repeats === 1) return identity(x);
  const withNew = expandDims(x, a + 1);
  const target = [...withNew.shape];
  target[a + 1] = repeats;
  const shape = [...x.shape];
  shape[a] *= repeats;
  return reshape(broadcastTo(withNew, target), shape);
}

function checkIndices(op: string, shape: Shape, indices: Tensor, axis: number): void {
  checkDType(op, 'indices', indices, 'int32');
  const dim = shape[axis];
  // Indices are validated on backends that can read synchronously (the CPU oracle); GPU
  // backends clamp out-of-range indices instead of reading back mid-graph.
  if (indices.backend.readSync) {
    const values = indices.backend.readSync(indices);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < 0 || v >= dim) {
        throw new ShapeError(`${op}: index ${v} at position ${i} is out of range [0, ${dim}) for axis ${axis} of ${formatShape(shape)}`);
      }
    }
  }
}

/** Rows of `x` along `axis` picked by int32 `indices`: x.shape[:axis] + indices.shape + x.shape[axis+1:]. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const backend = checkInputs('gather', { x, indices });
  const a = normalizeAxis('gather', axis, x.rank);
  checkIndices('gather', x.shape, indices, a);
  const outShape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  const y = make(backend, backend.gather(x, indices, a, outShape), outShape, x.dtype);
  if (isFloatDType(x.dtype)) {
    const shape = x.shape;
    engine.record('gather', [x, indices], [y], ([dy], [si]) => [scatterAdd(dy, si, a, shape), null], [indices]);
  }
  return y;
}

/** Zeros of `shape` with `updates` added at the rows `indices` name along `axis` (gather's adjoint). */
export function scatterAdd(updates: Tensor, indices: Tensor, axis: number, shape: Shape): Tensor {
  const backend = checkInputs('scatterAdd', { updates, indices });
  const a = normalizeAxis('scatterAdd', axis, shape.length);
  const expected = [...shape.slice(0, a), ...indices.shape, ...shape.slice(a + 1)];
  if (!shapesEqual(expected, updates.shape)) {
    throw new ShapeError(`scatterAdd: updates ${formatShape(updates.shape)} should be ${formatShape(expected)} for indices ${formatShape(indices.shape)} into ${formatShape(shape)}`);
  }
  if (!isFloatDType(updates.dtype) && updates.dtype !== 'int32') throw new DTypeError(`scatterAdd: bad dtype ${updates.dtype}`);
  checkIndices('scatterAdd', shape, indices, a);
  const y = make(backend, backend.scatterAdd(updates, indices, a, shape), shape, updates.dtype);
  if (isFloatDType(updates.dtype)) {
    engine.record('scatterAdd', [updates, indices], [y], ([dy], [si]) => [gather(dy, si, a), null], [indices]);
  }
  return y;
}

/** One-hot rows (float32 by default) for int32 `indices`. */
export function oneHot(indices: Tensor, depth: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  const backend = checkInputs('oneHot', { indices });
  checkDType('oneHot', 'indices', indices, 'int32');
  if (!Number.isInteger(depth) || depth <= 0) throw new ArgumentError(`oneHot: depth must be a positive integer, got ${depth}`);
  const eye = new (dtype === 'float64' ? Float64Array : Float32Array)(depth * depth);
  for (let i = 0; i < depth; i++) eye[i * depth + i] = 1;
  const table = make(backend, backend.upload(eye, [depth, depth], dtype), [depth, depth], dtype);
  const y = gather(table, indices, 0);
  table.dispose();
  return y;
}

