import { isFloatDType } from './dtype.js';
import { engine, Tape } from './engine.js';
import { ArgumentError, DTypeError, ShapeError } from './errors.js';
import { add } from './ops/elementwise.js';
import { full, zeros } from './ops/creation.js';
import { checkInputs } from './ops/util.js';
import { formatShape, shapesEqual } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * Runs the tape backwards from `outputs` (with cotangents `dys`) and returns the gradient of each
 * tensor in `wrt` (null where no recorded op connects it). Gradient ops are not recorded.
 */
function backprop(tape: Tape, outputs: readonly Tensor[], dys: readonly Tensor[], wrt: readonly Tensor[]): (Tensor | null)[] {
  engine.pauseRecording();
  engine.startScope();
  const grads = new Map<number, Tensor>();
  const accumulate = (t: Tensor, g: Tensor, op: string): void => {
    if (!shapesEqual(t.shape, g.shape)) {
      throw new ShapeError(`internal: gradient of ${op} has shape ${formatShape(g.shape)}, its input ${formatShape(t.shape)}`);
    }
    const prev = grads.get(t.id);
    grads.set(t.id, prev ? add(prev, g) : g);
  };
  let result: (Tensor | null)[] = [];
  try {
    outputs.forEach((o, i) => accumulate(o, dys[i], 'output'));
    for (let n = tape.nodes.length - 1; n >= 0; n--) {
      const node = tape.nodes[n];
      if (!node.outputs.some((o) => grads.has(o.id))) continue;
      const dy = node.outputs.map((o) => grads.get(o.id) ?? zeros(o.shape, { dtype: o.dtype, backend: o.backend }));
      const gs = node.backward(dy, node.saved);
      node.inputs.forEach((input, i) => {
        const g = gs[i];
        if (g && tape.isTracked(input)) accumulate(input, g, node.name);
      });
    }
    result = wrt.map((w) => grads.get(w.id) ?? null);
  } finally {
    engine.endScope(result.filter((g): g is Tensor => g !== null));
    engine.resumeRecording();
  }
  return result;
}

function checkWrt(op: string, xs: readonly Tensor[]): void {
  checkInputs(op, Object.fromEntries(xs.map((x, i) => [`xs[${i}]`, x])));
  for (const [i, x] of xs.entries()) {
    if (!isFloatDType(x.dtype)) throw new DTypeError(`${op}: can only differentiate float tensors; xs[${i}] is ${x.dtype}`);
  }
}

function defaultCotangent(op: string, y: Tensor, dy?: Tensor): Tensor {
  if (!(y instanceof Tensor)) throw new ArgumentError(`${op}: the function must return a Tensor`);
  if (!isFloatDType(y.dtype)) throw new DTypeError(`${op}: the function returned a ${y.dtype} tensor; it must be float`);
  if (dy) {
    if (!shapesEqual(dy.shape, y.shape)) throw new ShapeError(`${op}: dy ${formatShape(dy.shape)} does not match the output ${formatShape(y.shape)}`);
    return dy;
  }
  if (y.size !== 1) {
    throw new ShapeError(`${op}: the function returned ${formatShape(y.shape)}; without dy it must return a scalar`);
  }
  return full(y.shape, 1, { dtype: y.dtype, backend: y.backend });
}

/**
 * Vector-Jacobian product: runs `f(...xs)` and returns its outputs and, for each input, the
 * gradient of sum(outputs · dys). Gradients of unconnected inputs are zeros.
 */
export function vjp(f: (...xs: Tensor[]) => Tensor | readonly Tensor[], xs: readonly Tensor[], dys: readonly Tensor[]): { outputs: Tensor[]; grads: Tensor[] } {
  checkWrt('vjp', xs);
  const tape = new Tape();
  // Watch private views so the caller's tensors carry no tape state.
  const inputs = xs.map((x) => engine.shareTensor(x));
  inputs.forEach((x) => tape.watch(x));
  engine.pushTape(tape);
  let out: Tensor | readonly Tensor[];
  try {
    out = f(...inputs);
  } finally {
    engine.popTape(tape);
  }
  const outputs = out instanceof Tensor ? [out] : [...out];
  if (outputs.length !== dys.length) throw new ArgumentError(`vjp: ${outputs.length} outputs but ${dys.length} cotangents`);
  try {
    const gs = backprop(tape, outputs, outputs.map((o, i) => defaultCotangent('vjp', o, dys[i])), inputs);
    const grads = gs.map((g, i) => g ?? zeros(xs[i].shape, { dtype: xs[i].dtype, backend: xs[i].backend }));
    return { outputs, grads };
  } finally {
    tape.dispose();
    inputs.forEach((x) => {
      if (!outputs.includes(x)) x.dispose();
    });
  }
}

/** f(...xs) and the gradients of its scalar output (or of sum(output · dy)) with respect to each x. */
export function valueAndGrads(f: (...xs: Tensor[]) => Tensor) {
  return (xs: readonly Tensor[], dy?: Tensor): { value: Tensor; grads: Tensor[] } => {
    checkWrt('valueAndGrads', xs);
    const tape = new Tape();
    const inputs = xs.map((x) => engine.shareTensor(x));
    inputs.forEach((x) => tape.watch(x));
    engine.pushTape(tape);
    let value: Tensor;
    engine.startScope();
    let kept: Tensor[] = [];
    try {
      value = f(...inputs);
      kept = [value];
    } finally {
      engine.popTape(tape);
      engine.endScope(kept);
    }
    try {
      const seed = defaultCotangent('valueAndGrads', value, dy);
      const gs = backprop(tape, [value], [seed], inputs);
      if (seed !== dy) seed.dispose();
      const grads = gs.map((g, i) => g ?? zeros(xs[i].shape, { dtype: xs[i].dtype, backend: xs[i].backend }));
      return { value, grads };
    } finally {
      tape.dispose();
      inputs.forEach((x) => {
        if (x !== value) x.dispose();
      });
    }
  };
}

export function grads(f: (...xs: Tensor[]) => Tensor) {
  const vg = valueAndGrads(f);
  return (xs: readonly Tensor[], dy?: Tensor): Tensor[] => {
    const { value, grads } = vg(xs, dy);
    value.dispose();
    return grads;
  };
}

export function valueAndGrad(f: (x: Tensor) => Tensor) {
  const vg = valueAndGrads((x) => f(x));
  return (x: Tensor, dy?: Tensor): { value: Tensor; grad: Tensor } => {
    const { value, grads } = vg([x], dy);
    return { value, grad: grads[0] };
  };
}

export function grad(f: (x: Tensor) => Tensor) {
  const vg = valueAndGrad(f);
  return (x: Tensor, dy?: Tensor): Tensor => {
    const { value, grad } = vg(x, dy);
    value.dispose();
    return grad;
  };
}

/**
 * Records a fused op whose gradient is the vjp of its reference composite, recomputed in the
 * backward pass. Lets a backend fuse a forward kernel without writing its backward first.
 */
export function recordCompositeGrad(
  name: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  composite: (...inputs: Tensor[]) => readonly Tensor[],
): void {
  engine.record(
    name,
    inputs,
    outputs,
    (dys, saved) => {
      const floatIdx = saved.flatMap((t, i) => (isFloatDType(t.dtype) ? [i] : []));
      const { outputs: recomputed, grads } = vjp(
        (...floats) => {
          const args = [...saved];
          floatIdx.forEach((i, k) => (args[i] = floats[k]));
          return composite(...args);
        },
        floatIdx.map((i) => saved[i]),
        dys,
      );
      recomputed.forEach((t) => t.dispose());
      const out: (Tensor | null)[] = saved.map(() => null);
      floatIdx.forEach((i, k) => (out[i] = grads[k]));
      return out;
    },
    inputs,
  );
}
