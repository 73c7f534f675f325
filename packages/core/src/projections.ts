import type { Tensor } from '@mamba3/tensor';
import { add, fusedLinear } from '@mamba3/tensor';
import type { StepFusion } from './mixer.js';

/** y + bias, or y when the projection has none (the released models' usually have none). */
export function withBias(y: Tensor, bias: Tensor | undefined): Tensor {
  return bias ? add(y, bias) : y;
}

/**
 * A mixer's in_proj, with the block's RMSNorm folded in when the block fuses it (`StepFusion`):
 * u is then the un-normed residual stream. The bias follows the product.
 */
export function inProjection(u: Tensor, weight: Tensor, bias: Tensor | undefined, fuse: StepFusion): Tensor {
  return withBias(fusedLinear(u, weight, fuse.norm ? { norm: fuse.norm } : {}), bias);
}

/**
 * A mixer's out_proj, with the block's residual add folded in when given (`StepFusion`): the
 * residual is added in the product, before the bias (a float32 rounding from the unfused order).
 */
export function outProjection(y: Tensor, weight: Tensor, bias: Tensor | undefined, residual: Tensor | undefined): Tensor {
  return withBias(fusedLinear(y, weight, residual ? { residual } : {}), bias);
}
