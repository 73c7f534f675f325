import type { Backend, Tensor } from '@mamba3/tensor';
import { ArgumentError, positiveInt, Rng, tensor } from '@mamba3/tensor';

export interface Batch {
  /** int32 [batch, seqLen] */
  inputs: Tensor;
  /** int32 [batch, seqLen]: the next token at each position */
  targets: Tensor;
}

function checkWindows(op: string, batchSize: number, seqLen: number): void {
  positiveInt(op, 'batchSize', batchSize);
  positiveInt(op, 'seqLen', seqLen);
}

/**
 * A token stream split into training and validation parts (the last `valFraction` is
 * validation). Training batches are random windows; validation walks the held-out part in
 * order, so its loss is the same on every call.
 */
export class TokenStream {
  readonly train: Int32Array;
  readonly val: Int32Array;

  constructor(ids: ArrayLike<number>, opts?: { valFraction?: number }) {
    const frac = opts?.valFraction ?? 0.1;
    if (!(frac >= 0 && frac < 1)) throw new ArgumentError(`TokenStream: valFraction must be in [0, 1), got ${frac}`);
    const all = Int32Array.from(ids);
    const cut = Math.floor(all.length * (1 - frac));
    this.train = all.subarray(0, cut);
    this.val = all.subarray(cut);
  }

  private static window(source: Int32Array, starts: number[], seqLen: number, backend?: Backend): Batch {
    const B = starts.length;
    const inputs = new Int32Array(B * seqLen);
    const targets = new Int32Array(B * seqLen);
    starts.forEach((s, b) => {
      inputs.set(source.subarray(s, s + seqLen), b * seqLen);
      targets.set(source.subarray(s + 1, s + seqLen + 1), b * seqLen);
    });
    return {
      inputs: tensor(inputs, [B, seqLen], { dtype: 'int32', backend }),
      targets: tensor(targets, [B, seqLen], { dtype: 'int32', backend }),
    };
  }

  /** Random training windows of seqLen + 1 tokens. */
  sample(batchSize: number, seqLen: number, rng: Rng, backend?: Backend): Batch {
    checkWindows('TokenStream.sample', batchSize, seqLen);
    if (this.train.length < seqLen + 1) throw new ArgumentError(`TokenStream: ${this.train.length} training tokens are fewer than one window of ${seqLen + 1}`);
    const starts = Array.from({ length: batchSize }, () => rng.int(this.train.length - seqLen));
    return TokenStream.window(this.train, starts, seqLen, backend);
  }

  /** Consecutive validation windows (at most `maxBatches` batches), covering the held-out text in order. */
  *validation(batchSize: number, seqLen: number, maxBatches = Infinity, backend?: Backend): Generator<Batch> {
    checkWindows('TokenStream.validation', batchSize, seqLen);
    const windows = Math.floor((this.val.length - 1) / seqLen);
    let yielded = 0;
    for (let w = 0; w < windows && yielded < maxBatches; w += batchSize, yielded++) {
      const starts = Array.from({ length: Math.min(batchSize, windows - w) }, (_, i) => (w + i) * seqLen);
      yield TokenStream.window(this.val, starts, seqLen, backend);
    }
  }
}
