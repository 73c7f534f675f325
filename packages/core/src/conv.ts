import type { Tensor } from '@mamba3/tensor';
import { add, concat, formatShape, mul, reshape, ShapeError, sliceAxis, sum, transpose, zeros } from '@mamba3/tensor';

/**
 * The causal depthwise conv1d of the Mamba mixers, with the official decode cache.
 * Shapes: x [b, L, C], weight [C, 1, K] (PyTorch's Conv1d with groups = C), bias [C] or null,
 * state [b, C, K]: the last K conv inputs (oldest first), as the official `conv_state`.
 */
export interface ConvResult {
  y: Tensor;
  state: Tensor;
}

function taps(weight: Tensor, channels: number): Tensor {
  if (weight.rank !== 3 || weight.shape[0] !== channels || weight.shape[1] !== 1) {
    throw new ShapeError(`conv1d: weight ${formatShape(weight.shape)} should be [${channels}, 1, d_conv]`);
  }
  return reshape(weight, [channels, weight.shape[2]]);
}

/** Over a sequence, continuing from `state` (zeros when absent); returns the state after the last input. */
export function causalConv1d(x: Tensor, weight: Tensor, bias: Tensor | null, state?: Tensor): ConvResult {
  const [b, L, C] = x.shape;
  const w = taps(weight, C);
  const K = w.shape[1];
  const prev = state ? transpose(state, [0, 2, 1]) : zeros([b, K, C], { dtype: x.dtype, backend: x.backend });
  // Time-major history: K earlier inputs, then the sequence.
  const full = concat([prev, x], 1);
  let y: Tensor | null = bias;
  for (let k = 0; k < K; k++) {
    const term = mul(sliceAxis(full, 1, k + 1, k + 1 + L), reshape(sliceAxis(w, 1, k, k + 1), [C]));
    y = y ? add(y, term) : term;
  }
  return { y: y as Tensor, state: transpose(sliceAxis(full, 1, L, L + K), [0, 2, 1]) };
}

/** One position: x [b, C] -> y [b, C] and the rolled state (the official `conv_state` update). */
export function causalConv1dStep(x: Tensor, weight: Tensor, bias: Tensor | null, state: Tensor): ConvResult {
  const [b, C] = x.shape;
  const w = taps(weight, C);
  const K = w.shape[1];
  if (state.rank !== 3 || state.shape[0] !== b || state.shape[1] !== C || state.shape[2] !== K) {
    throw new ShapeError(`conv1d step: state.conv ${formatShape(state.shape)} should be [${b}, ${C}, ${K}]`);
  }
  const next = concat([sliceAxis(state, 2, 1, K), reshape(x, [b, C, 1])], 2);
  const y = sum(mul(next, w), -1);
  return { y: bias ? add(y, bias) : y, state: next };
}
