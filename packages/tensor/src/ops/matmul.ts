import { isFloatDType } from '../dtype.js';
import { engine } from '../engine.js';
import { ShapeError } from '../errors.js';
import { broadcastShapes, formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { sumToShape } from './elementwise.js';
import { reshape } from './layout.js';
import { checkInputs, checkSameDType, make } from './util.js';

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

/**
 * Batched matrix product: a [..., M, K] @ b [..., K, N] -> [..., M, N]; `transposeA` reads a
 * as [..., K, M], `transposeB` reads b as [..., N, K]. Batch dims broadcast.
 */
export function matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor {
  const backend = checkInputs('matmul', { a, b });
  checkSameDType('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: both operands need rank >= 2, got a ${formatShape(a.shape)} and b ${formatShape(b.shape)}`);
  }
  const ta = opts?.transposeA ?? false;
  const tb = opts?.transposeB ?? false;
  const [m, ka] = ta ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [kb, n] = tb ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dims differ: a ${formatShape(a.shape)}${ta ? 'ᵀ' : ''} has K=${ka}, b ${formatShape(b.shape)}${tb ? 'ᵀ' : ''} has K=${kb}`,
    );
  }
  const batch = broadcastShapes('matmul (batch dims)', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...batch, m, n];
  const y = make(backend, backend.matmul(a, b, ta, tb, outShape), outShape, a.dtype);
  if (isFloatDType(a.dtype)) {
    engine.record(
      'matmul',
      [a, b],
      [y],
      ([dy], [sa, sb]) => {
        let ga: Tensor;
        let gb: Tensor;
        if (!ta && !tb) {
          ga = matmul(dy, sb, { transposeB: true });
          gb = matmul(sa, dy, { transposeA: true });
        } else if (!ta && tb) {
          ga = matmul(dy, sb);
          gb = matmul(dy, sa, { transposeA: true });
        } else if (ta && !tb) {
          ga = matmul(sb, dy, { transposeB: true });
          gb = matmul(sa, dy);
        } else {
          ga = matmul(sb, dy, { transposeA: true, transposeB: true });
          gb = matmul(dy, sa, { transposeA: true, transposeB: true });
        }
        return [sumToShape(ga, sa.shape), sumToShape(gb, sb.shape)];
      },
      [a, b],
    );
  }
  return y;
}

/** x [..., inFeatures] @ weightᵀ, weight [outFeatures, inFeatures] (the PyTorch nn.Linear layout). */
export function linear(x: Tensor, weight: Tensor): Tensor {
  checkInputs('linear', { x, weight });
  if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new ShapeError(`linear: x ${formatShape(x.shape)} does not fit weight ${formatShape(weight.shape)} ([out, in])`);
  }
  // Leading dims fold into M: one 2-D product instead of a batch of small ones.
  const inFeatures = weight.shape[1];
  const y = matmul(reshape(x, [-1, inFeatures]), weight, { transposeB: true });
  return reshape(y, [...x.shape.slice(0, -1), weight.shape[0]]);
}
