/**
 * Typed errors. Every error this project throws on purpose is a `Mamba3Error`, so callers can
 * catch them as a family or one kind at a time. Messages name the op (or parameter), what was
 * expected and what was given.
 */
export class Mamba3Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A shape that does not fit: wrong rank, mismatched dims, axes out of range. */
export class ShapeError extends Mamba3Error {}

/** A dtype the op does not accept, or two inputs whose dtypes differ. */
export class DTypeError extends Mamba3Error {}

/** A tensor used after `dispose()` (or after the `tidy` that owned it ended). */
export class DisposedError extends Mamba3Error {}

/** No backend registered under a name, tensors from two backends in one op, or a backend that cannot start. */
export class BackendError extends Mamba3Error {}

/** A backend that cannot run here (no WebGPU adapter, a missing optional peer, ...): says why and how to get one. */
export class BackendUnavailableError extends BackendError {}

/** An operation a backend does not support (a synchronous read on WebGPU, float64 on a GPU, ...). */
export class UnsupportedError extends Mamba3Error {}

/** A malformed or inconsistent safetensors file. */
export class SafetensorsError extends Mamba3Error {}

/** Weights missing, unexpected or misshaped for a model's config. */
export class WeightsError extends Mamba3Error {}

/** An invalid configuration value (names the parameter). */
export class ConfigError extends Mamba3Error {}

/** Any other invalid argument. */
export class ArgumentError extends Mamba3Error {}

/** A malformed, truncated or inconsistent checkpoint archive (PyTorch `.bin` zip, shard index). */
export class CheckpointError extends Mamba3Error {}

/** A pickle that names a global outside the allow-list or uses an opcode that could run code: refused before anything runs. */
export class UnsafePickleError extends CheckpointError {}
