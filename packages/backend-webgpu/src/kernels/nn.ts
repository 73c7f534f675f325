import type { KernelTensor } from '@mamba3/tensor';
import { f32Lit } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import { rmsNormWgsl, softmaxWgsl } from './nn.wgsl.js';
import { buf } from './util.js';

function lastDim(x: KernelTensor): number {
  return x.shape.length ? x.shape[x.shape.length - 1] : 1;
}

export function softmax(rt: Runtime, x: KernelTensor, log: boolean): GPUStorage {
  const D = lastDim(x);
  const rows = D ? x.size / D : 0;
  const out = rt.alloc(log ? 'logSoftmax' : 'softmax', x.size * 4, x.dtype);
  if (x.size === 0) return out;
  const sg = rt.subgroupReduce;
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
