import type { BinaryOp, CompareOp, UnaryOp } from '../backend.js';
import { INT_UNARY_OPS } from '../backend.js';
import type { DType } from '../dtype.js';
import { isFloatDType } from '../dtype.js';
import { engine } from '../engine.js';
import { DTypeError } from '../errors.js';
import { broadcastShapes, broadcastedAxes, shapesEqual } from '../shape.js';
import type { Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { full, zerosLike } from './creation.js';
import { identity, reshape } from './layout.js';
import { sum } from './reduce.js';
import { checkBackendDType, checkInputs, checkSameDType, make } from './util.js';

export type TensorOrNumber = Tensor | number;

// Unary ---------------------------------------------------------------------------------------

function unary(op: UnaryOp, x: Tensor, grad: ((dy: Tensor, x: Tensor, y: Tensor) => Tensor) | null): Tensor {
  const backend = checkInputs(op, { x });
  if (!isFloatDType(x.dtype) && !INT_UNARY_OPS.has(op)) {
    throw new DTypeError(`${op}: needs a float tensor, got ${x.dtype} (cast it first)`);
  }
  const y = make(backend, backend.unary(op, x), x.shape, x.dtype);
  if (grad && isFloatDType(x.dtype)) {
    engine.record(op, [x], [y], ([dy], [sx, sy]) => [grad(dy, sx, sy)], [x, y]);
  }
  return y;
}

export const neg = (x: Tensor): Tensor => unary('neg', x, (dy) => neg(dy));
export const abs = (x: Tensor): Tensor => unary('abs', x, (dy, x) => mul(dy, sign(x)));
export const sign = (x: Tensor): Tensor => unary('sign', x, null);
export const exp = (x: Tensor): Tensor => unary('exp', x, (dy, _x, y) => mul(dy, y));
export const expm1 = (x: Tensor): Tensor => unary('expm1', x, (dy, _x, y) => mul(dy, add(y, 1)));
export const log = (x: Tensor): Tensor => unary('log', x, (dy, x) => div(dy, x));
export const log1p = (x: Tensor): Tensor => unary('log1p', x, (dy, x) => div(dy, add(x, 1)));
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, (dy, _x, y) => div(dy, mul(y, 2)));
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x, (dy, _x, y) => mul(dy, mul(pow(y, 3), -0.5)));
export const square = (x: Tensor): Tensor => unary('square', x, (dy, x) => mul(dy, mul(x, 2)));
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x, (dy, _x, y) => neg(mul(dy, square(y))));
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, (dy, _x, y) => mul(dy, mul(y, sub(1, y))));
export const softplus = (x: Tensor): Tensor => unary('softplus', x, (dy, x) => mul(dy, sigmoid(x)));
export const silu = (x: Tensor): Tensor =>
  unary('silu', x, (dy, x) => {
    const s = sigmoid(x);
    return mul(dy, mul(s, add(1, mul(x, sub(1, s)))));
  });
export const tanh = (x: Tensor): Tensor => unary('tanh', x, (dy, _x, y) => mul(dy, sub(1, square(y))));
export const relu = (x: Tensor): Tensor => unary('relu', x, (dy, x) => mul(dy, greater(x, 0)));
export const sin = (x: Tensor): Tensor => unary('sin', x, (dy, x) => mul(dy, cos(x)));
export const cos = (x: Tensor): Tensor => unary('cos', x, (dy, x) => neg(mul(dy, sin(x))));
export const floor = (x: Tensor): Tensor => unary('floor', x, null);
export const ceil = (x: Tensor): Tensor => unary('ceil', x, null);
export const round = (x: Tensor): Tensor => unary('round', x, null);

// Binary --------------------------------------------------------------------------------------

/** Turns a number into a scalar tensor matching the other operand. */
function lift(op: string, a: TensorOrNumber, b: TensorOrNumber): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor) {
    checkInputs(op, { a });
    return [a, full([], b as number, { dtype: a.dtype, backend: a.backend })];
  }
  if (b instanceof Tensor) {
    checkInputs(op, { b });
    return [full([], a, { dtype: b.dtype, backend: b.backend }), b];
  }
  throw new DTypeError(`${op}: at least one operand must be a Tensor`);
}

/** Sums a broadcast gradient back to `shape`. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const axes = broadcastedAxes(shape, g.shape);
  const s = axes.length > 0 ? sum(g, axes) : g;
  return shapesEqual(s.shape, shape) ? s : reshape(s, shape);
}

type BinaryGrad = (dy: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null];

function binary(op: BinaryOp, a0: TensorOrNumber, b0: TensorOrNumber, grad: BinaryGrad | null): Tensor {
  const [a, b] = lift(op, a0, b0);
  const backend = checkInputs(op, { a, b });
  checkSameDType(op, a, b);
  if (op === 'pow' && !isFloatDType(a.dtype)) throw new DTypeError(`pow: needs float tensors, got ${a.dtype}`);
  const outShape = broadcastShapes(op, a.shape, b.shape);
  const y = make(backend, backend.binary(op, a, b, outShape), outShape, a.dtype);
  if (grad && isFloatDType(a.dtype)) {
    engine.record(
      op,
      [a, b],
      [y],
      ([dy], [sa, sb, sy]) => {
        const [ga, gb] = grad(dy, sa, sb, sy);
        return [ga && sumToShape(ga, sa.shape), gb && sumToShape(gb, sb.shape)];
      },
      [a, b, y],
    );
  }
  return y;
}

export const add = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binary('add', a, b, (dy) => [dy, dy]);
export const sub = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binary('sub', a, b, (dy) => [dy, neg(dy)]);
export const mul = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binary('mul', a, b, (dy, a, b) => [mul(dy, b), mul(dy, a)]);
export const div = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binary('div', a, b, (dy, a, b) => [div(dy, b), neg(div(mul(dy, a), square(b)))]);
/** a^b; the gradient for b is taken where a > 0 (0 elsewhere). */
export const pow = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binary('pow', a, b, (dy, a, b, y) => {
    const ga = mul(dy, mul(b, pow(a, sub(b, 1))));
    const positive = greater(a, 0);
    const safeLog = log(where(positive, a, 1));
    const gb = mul(mul(dy, mul(y, safeLog)), positive);
    return [ga, gb];
  });
/** Elementwise max; on ties the gradient goes to `a`. */
export const maximum = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binary('maximum', a, b, (dy, a, b) => {
    const m = greaterEqual(a, b);
    return [mul(dy, m), mul(dy, sub(1, m))];
  });
/** Elementwise min; on ties the gradient goes to `a`. */
export const minimum = (a: TensorOrNumber, b: TensorOrNumber): Tensor =>
  binary('minimum', a, b, (dy, a, b) => {
    const m = lessEqual(a, b);
    return [mul(dy, m), mul(dy, sub(1, m))];
  });

const compare = (op: CompareOp) => (a: TensorOrNumber, b: TensorOrNumber): Tensor => binary(op, a, b, null);
/** 1 where equal, else 0 (in the inputs' dtype). */
export const equal = compare('equal');
export const notEqual = compare('notEqual');
export const less = compare('less');
export const lessEqual = compare('lessEqual');
export const greater = compare('greater');
export const greaterEqual = compare('greaterEqual');

/** `cond != 0 ? a : b` with broadcasting; the result takes `a`'s dtype. */
export function where(cond: Tensor, a0: TensorOrNumber, b0: TensorOrNumber): Tensor {
  const [a, b] = lift('where', a0, b0);
  const backend = checkInputs('where', { cond, a, b });
  checkSameDType('where', a, b);
  const outShape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  const y = make(backend, backend.where(cond, a, b, outShape), outShape, a.dtype);
  if (isFloatDType(a.dtype)) {
    engine.record(
      'where',
      [a, b],
      [y],
      ([dy], [sc, sa, sb]) => {
        const zero = zerosLike(dy);
        return [sumToShape(where(sc, dy, zero), sa.shape), sumToShape(where(sc, zero, dy), sb.shape)];
      },
      [cond, a, b],
    );
  }
  return y;
}

export function cast(x: Tensor, dtype: DType): Tensor {
  const backend = checkInputs('cast', { x });
  checkBackendDType('cast', backend, dtype);
  if (x.dtype === dtype) return identity(x);
  const y = make(backend, backend.cast(x, dtype), x.shape, dtype);
  if (isFloatDType(x.dtype) && isFloatDType(dtype)) {
    engine.record('cast', [x], [y], ([dy], [sx]) => [cast(dy, sx.dtype)], [x]);
  }
  return y;
}

/** Clamps into [min, max] (either bound optional). */
export function clip(x: Tensor, min?: number, max?: number): Tensor {
  let y = x;
  if (min !== undefined) y = maximum(y, min);
  if (max !== undefined) y = minimum(y, max);
  return y === x ? identity(x) : y;
}

/** A view of `x` whose gradient is zero (gradients stop here). */
export function stopGradient(x: Tensor): Tensor {
  checkInputs('stopGradient', { x });
  return engine.shareTensor(x);
}
