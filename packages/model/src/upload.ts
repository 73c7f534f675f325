import type { Backend, ReadTensorData, Tensor } from '@mamba3/tensor';
import { ArgumentError, engine, floatToBf16, floatToHalf, halfToFloat } from '@mamba3/tensor';

/** On-device storage of float weights; math stays float32. */
export type WeightDType = 'float32' | 'float16' | 'bfloat16';

export const WEIGHT_DTYPES: readonly WeightDType[] = ['float32', 'float16', 'bfloat16'];

export function checkWeightDType(d: unknown): WeightDType {
  if (d === undefined) return 'float32';
  if (!WEIGHT_DTYPES.includes(d as WeightDType)) throw new ArgumentError(`dtype must be one of ${WEIGHT_DTYPES.join(', ')}, got ${JSON.stringify(d)}`);
  return d as WeightDType;
}

/**
 * The one place a checkpoint weight goes onto a backend. Weights arrive as float32 host arrays
 * (16-bit storages decoded by the readers). With a 16-bit `dtype` the values are rounded to that
 * precision here, so every backend computes with exactly the weights a 16-bit store holds;
 * backends that keep 16-bit copies on the device pack them from these values.
 */
export function uploadWeight(data: ReadTensorData, opts: { backend?: Backend; dtype?: WeightDType }): Tensor {
  const backend = opts.backend ?? engine.getBackend();
  const dtype = checkWeightDType(opts.dtype);
  let values = data.values;
  if (data.dtype === 'float32' && dtype !== 'float32' && !(data.stored === (dtype === 'float16' ? 'F16' : 'BF16'))) {
    values = roundTo(values as Float32Array, dtype);
  }
  // Backends that keep 16-bit storage get it (half the device memory); the others hold the rounded values in float32.
  const storage = dtype !== 'float32' && data.dtype === 'float32' && backend.uploadHalf ? backend.uploadHalf(values as Float32Array, data.shape, dtype) : backend.upload(values, data.shape, data.dtype);
  return engine.makeTensor(backend, storage, data.shape, data.dtype);
}

function roundTo(values: Float32Array, dtype: 'float16' | 'bfloat16'): Float32Array {
  const out = new Float32Array(values.length);
  if (dtype === 'float16') {
    for (let i = 0; i < values.length; i++) out[i] = halfToFloat(floatToHalf(values[i]));
  } else {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < values.length; i++) u[i] = floatToBf16(values[i]) << 16;
  }
  return out;
}
