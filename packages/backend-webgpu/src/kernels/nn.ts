import type { KernelTensor } from '@mamba3/tensor';
import { f32Lit } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import { rmsNormWgsl, softmaxSplitWgsl, softmaxWgsl } from './nn.wgsl.js';
import { buf } from './util.js';

/** Softmax rows at least this long take the two-pass split, SOFTMAX_CHUNK elements a workgroup. */
const SOFTMAX_SPLIT_MIN = 8192;
const SOFTMAX_CHUNK = 2048;

function lastDim(x: KernelTensor): number {
  return x.shape.length ? x.shape[x.shape.length - 1] : 1;
}

export function softmax(rt: Runtime, x: KernelTensor, log: boolean): GPUStorage {
  const D = lastDim(x);
  const rows = D ? x.size / D : 0;
  const out = rt.alloc(log ? 'logSoftmax' : 'softmax', x.size * 4, x.dtype);
  if (x.size === 0) return out;
  const sg = rt.subgroupReduce;
  if (D >= SOFTMAX_SPLIT_MIN) {
    // Long rows (a vocabulary): S workgroups a row, two passes (see softmaxSplitWgsl).
    const S = Math.ceil(D / SOFTMAX_CHUNK);
    const part = rt.alloc('softmax', rows * S * 8, x.dtype);
    const key = `${+log}/${D}/${S}/${+sg}`;
    const n = rt.uniform([rows, 0, 0, 0]);
    rt.dispatch(`softmaxStats/${key}`, () => softmaxSplitWgsl(D, log, S, SOFTMAX_CHUNK, 'stats', sg), [buf(x), part.buffer, n], rt.grid(rows * S));
    rt.dispatch(`softmaxWrite/${key}`, () => softmaxSplitWgsl(D, log, S, SOFTMAX_CHUNK, 'write', sg), [buf(x), part.buffer, out.buffer, n], rt.grid(rows * S));
    rt.release(part);
    return out;
  }
  rt.dispatch(`softmax/${+log}/${D}/${+sg}`, () => softmaxWgsl(D, log, sg), [buf(x), out.buffer, rt.uniform([rows, 0, 0, 0])], rt.grid(rows));
  return out;
}

export function rmsNorm(
  rt: Runtime,
  x: KernelTensor,
  z: KernelTensor | null,
  w: KernelTensor | null,
  eps: number,
  groupSize: number,
  normBeforeGate: boolean,
): GPUStorage {
  const dim = lastDim(x);
  const D = z ? groupSize : dim;
  const groups = dim / D;
  const rows = D ? x.size / D : 0;
  const op = z ? 'gatedRmsNorm' : 'rmsNorm';
  const out = rt.alloc(op, x.size * 4, x.dtype);
  if (x.size === 0) return out;
  const gate = z ? (normBeforeGate ? 'before' : 'after') : 'none';
  const e = f32Lit(eps);
  const inputs = [buf(x), ...(z ? [buf(z)] : []), ...(w ? [buf(w)] : [])];
  const sg = rt.subgroupReduce;
  rt.dispatch(`rmsNorm/${gate}/${+!!w}/${D}/${groups}/${e}/${+sg}`, () => rmsNormWgsl(D, groups, e, !!w, gate, sg), [...inputs, out.buffer, rt.uniform([rows, 0, 0, 0])], rt.grid(rows));
  return out;
}
