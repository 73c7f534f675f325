import { Mamba3Error } from '@mamba3/tensor';

/**
 * The model produced NaN or infinite logits (NaN or overflowing weights, a broken kernel):
 * generation stops instead of picking from garbage.
 */
export class NonFiniteLogitsError extends Mamba3Error {
  constructor(
    /** The sequence of the batch whose logits were bad. */
    readonly sequence: number,
    /** How many tokens it had generated before. */
    readonly index: number,
  ) {
    super(`generate: the logits of sequence ${sequence} are not finite (NaN or infinity) at new token ${index}: the weights or the computation are broken (NaN weights? an overflow in half precision?)`);
  }
}
