import type { Tf, TfTensor } from '../tf.js';

/**
 * What a tfjs backend can be trusted with. Found on tfjs-backend-webgpu 4.22 (conformance
 * against the reference): its generic Transpose shader does not compile for int32 (so int32
 * transposes, and int32 reductions or scans over a non-innermost axis, which tfjs transposes
 * internally, come back as garbage), and its reverse cumsum caches one shader for every axis
 * length (the key lacks the length), so later calls read the wrong extent.
 */
export interface Traits {
  /** Sequential kernels (cpu, wasm, TensorFlow C): argmax/argmin return the first index on ties. */
  sequential: boolean;
  /** Avoid the shaky paths above: int32 transposes and reverse cumsum done another way. */
  careful: boolean;
  /**
   * tfjs-cpu's plain JS kernels broadcast, and slice across strides, element by element through
   * index arithmetic (~10x a same-shape op): the scans avoid both there.
   */
  jsKernels: boolean;
}

export function traitsOf(tfjsBackend: string): Traits {
  const trusted = tfjsBackend === 'cpu' || tfjsBackend === 'wasm' || tfjsBackend === 'tensorflow';
  return { sequential: tfjsBackend === 'cpu' || tfjsBackend === 'wasm', careful: !trusted, jsKernels: tfjsBackend === 'cpu' };
}

/**
 * The same transpose at the lowest rank: size-1 axes dropped, and axes that stay neighbours in
 * the same order merged. tfjs's GPU shaders stop at rank 6 and its cpu kernel pays per index
 * dimension, so e.g. [b, nc, T, R, H, D] -> [b, H, nc, T, R, D] runs as [b, nc·T·R, H, D] -> [b, H, nc·T·R, D].
 */
export function simplifyTranspose(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((a) => shape[a] !== 1);
  const groups: number[][] = [];
  for (const a of kept) {
    const last = groups[groups.length - 1];
    if (last && a === last[last.length - 1] + 1) last.push(a);
    else groups.push([a]);
  }
  const bySource = [...groups].sort((g, h) => g[0] - h[0]);
  return {
    shape: bySource.map((g) => g.reduce((n, a) => n * shape[a], 1)),
    perm: groups.map((g) => bySource.indexOf(g)),
  };
}

/**
 * tf.transpose at the lowest rank; for int32 on careful backends the two 16-bit halves travel
 * as float32 (exact below 2^24) and are put back together, all on the device.
 */
export function transposeAny(tf: Tf, x: TfTensor, perm: number[], traits: Traits): TfTensor {
  const outShape = perm.map((a) => x.shape[a]);
  const s = simplifyTranspose(x.shape, perm);
  if (s.perm.every((p, i) => p === i)) return tf.reshape(x, outShape);
  const flat = tf.reshape(x, s.shape);
  let out: TfTensor;
  if (x.dtype !== 'int32' || !traits.careful) {
    out = tf.transpose(flat, s.perm);
  } else {
    const base = tf.scalar(65536, 'int32');
    const hi = tf.floorDiv(flat, base);
    const lo = tf.sub(flat, tf.mul(hi, base));
    const move = (h: TfTensor): TfTensor => tf.cast(tf.transpose(tf.cast(h, 'float32'), s.perm), 'int32');
    out = tf.add(tf.mul(move(hi), base), move(lo));
  }
  return tf.reshape(out, outShape);
}

/** A permutation moving `axes` (sorted) to the end, keeping the others' order. */
export function axesLast(rank: number, axes: readonly number[]): number[] {
  const rest = [...Array(rank).keys()].filter((a) => !axes.includes(a));
  return [...rest, ...axes];
}

/**
 * Groups dims for pad/slice: each dim that changes, with the unchanged dims after it (their
 * product scales its begin/extent), and the unchanged leading dims as one. Padding or slicing
 * the merged dims is the same operation at rank ≤ (changed dims + 1): tfjs-backend-webgpu's pad
 * shader does not compile above rank 4, and low ranks are cheaper everywhere.
 */
function groupDims(shape: readonly number[], changed: (axis: number) => boolean): { dims: number[]; lead: number[]; scale: number[] } {
  const dims: number[] = [];
  const lead: number[] = []; // original axis heading each group (-1: the unchanged leading group)
  const scale: number[] = [];
  for (let a = 0; a < shape.length; a++) {
    if (changed(a) || dims.length === 0) {
      dims.push(shape[a]);
      lead.push(changed(a) ? a : -1);
      scale.push(1);
    } else {
      dims[dims.length - 1] *= shape[a];
      scale[scale.length - 1] *= shape[a];
    }
  }
  return { dims, lead, scale };
}

export function padAny(tf: Tf, x: TfTensor, paddings: readonly (readonly [number, number])[], value: number): TfTensor {
  const shape = x.shape;
  const g = groupDims(shape, (a) => paddings[a][0] !== 0 || paddings[a][1] !== 0);
  const merged = g.lead.map((a, i) => (a < 0 ? [0, 0] : [paddings[a][0] * g.scale[i], paddings[a][1] * g.scale[i]]) as [number, number]);
  const out = tf.pad(tf.reshape(x, g.dims), merged, value);
  return tf.reshape(out, shape.map((d, a) => d + paddings[a][0] + paddings[a][1]));
}

export function sliceAny(tf: Tf, x: TfTensor, begin: readonly number[], size: readonly number[]): TfTensor {
  const shape = x.shape;
  const g = groupDims(shape, (a) => begin[a] !== 0 || size[a] !== shape[a]);
  const b = g.lead.map((a, i) => (a < 0 ? 0 : begin[a] * g.scale[i]));
  const s = g.lead.map((a, i) => (a < 0 ? g.dims[i] : size[a] * g.scale[i]));
  return tf.reshape(tf.slice(tf.reshape(x, g.dims), b, s), [...size]);
}
