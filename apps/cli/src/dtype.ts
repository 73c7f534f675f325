import type { WeightDType } from '@mamba3/model';
import { checkWeightDType, WEIGHT_DTYPES } from '@mamba3/model';
import { UsageError } from './command.js';

/** `--dtype` of a command: how float weights are stored (convert: in the file; loading: on the device, math stays float32). */
export function parseDType(command: string, v: unknown): WeightDType | undefined {
  if (v === undefined) return undefined;
  try {
    return checkWeightDType(v);
  } catch {
    throw new UsageError(`${command}: --dtype must be ${WEIGHT_DTYPES.join(', ')}, got "${String(v)}"`);
  }
}

/** The usage line for loading commands. */
export const DTYPE_USAGE = '--dtype bfloat16|float16 keeps float weights in 16 bits on the device (half the memory on webgpu; math stays float32); default float32.';
