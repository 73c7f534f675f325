import type { Backend, DType, Tensor } from '@mamba3/tensor';
import {
  add, ArgumentError, arange, cast, concat, cos, engine, equal, expandDims, formatShape, keep, lessEqual, matmul, mul, Rng, reshape, repeatInterleave,
  ShapeError, silu, sin, sliceAxis, softmax, split, stack, sub, sum, tensor, tidy, transpose, where, zeros,
} from '@mamba3/tensor';
import { causalConv1d, causalConv1dStep } from '../conv.js';
import type { StepFusion } from '../mixer.js';
import { inProjection, outProjection } from '../projections.js';
import type { InitOptions } from '../params.js';
import { linearInit } from '../params.js';
import type { MhaConfig } from './config.js';

/**
 * The decode cache of one attention layer: kv [b, maxSeqlen, 2, numHeadsKv, headDim] (the
 * official layout; keys stored rotated), pos [b] (tokens cached per sequence, as floats so a
 * step graph can feed it back) and, with dConv, conv [b, qkvDim, dConv].
 */
export interface MhaState extends Record<string, Tensor> {
  kv: Tensor;
  pos: Tensor;
}

export function mhaParamShapes(c: MhaConfig): Record<string, number[]> {
  const s: Record<string, number[]> = { 'in_proj.weight': [c.qkvDim + c.mlpDim, c.embedDim] };
  if (c.qkvProjBias) s['in_proj.bias'] = [c.qkvDim + c.mlpDim];
  if (c.dConv > 0) {
    s['conv1d.weight'] = [c.qkvDim, 1, c.dConv];
    s['conv1d.bias'] = [c.qkvDim];
  }
  s['out_proj.weight'] = [c.embedDim, c.outDim + c.mlpDim / 2];
  if (c.outProjBias) s['out_proj.bias'] = [c.embedDim];
  return s;
}

/** PyTorch's defaults for nn.Linear and nn.Conv1d (uniform ±1/√fanIn, biases too). */
export function initMhaParams(c: MhaConfig, opts?: InitOptions): Record<string, Tensor> {
  const rng = opts?.rng ?? new Rng(opts?.seed);
  const o = { dtype: opts?.dtype ?? 'float32', backend: opts?.backend ?? engine.getBackend() };
  const uniform = (n: number, fanIn: number): Float64Array => Float64Array.from({ length: n }, () => (2 * rng.uniform() - 1) / Math.sqrt(fanIn));
  const p: Record<string, Tensor> = {};
  for (const [name, shape] of Object.entries(mhaParamShapes(c))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const fanIn = name.startsWith('conv1d') ? c.dConv : name.startsWith('in_proj') ? c.embedDim : c.outDim + c.mlpDim / 2;
    const values = name.endsWith('weight') && shape.length === 2 ? linearInit(rng, shape[0], shape[1]) : uniform(size, fanIn);
    p[name] = keep(tensor(values, shape, o));
  }
  return p;
}

export function mhaZeroState(c: MhaConfig, batch: number, maxSeqlen: number, opts?: { backend?: Backend; dtype?: DType }): MhaState {
  if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`MHA: batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(maxSeqlen) || maxSeqlen < 1) throw new ArgumentError(`MHA: maxSeqlen must be a positive integer, got ${maxSeqlen}`);
  const o = { backend: opts?.backend ?? engine.getBackend(), dtype: opts?.dtype ?? 'float32' };
  return {
    kv: zeros([batch, maxSeqlen, 2, c.numHeadsKv, c.headDim], o),
    pos: zeros([batch], o),
    ...(c.dConv > 0 ? { conv: zeros([batch, c.qkvDim, c.dConv], o) } : {}),
  };
}

/** GPT-NeoX rotary embedding on the first rotaryEmbDim dims: x [b, L, h, D], positions [b, L] or [L]. */
function rotary(c: MhaConfig, x: Tensor, positions: Tensor): Tensor {
  const rd = c.rotaryEmbDim;
  const invFreq = tensor(Array.from({ length: rd / 2 }, (_, i) => 1 / c.rotaryEmbBase ** ((2 * i) / rd)), [rd / 2], { dtype: x.dtype, backend: x.backend });
  const angles = expandDims(mul(expandDims(positions, -1), invFreq), -2);
  const [cs, sn] = [cos(angles), sin(angles)];
  const [head, rest] = rd === x.shape[3] ? [x, null] : split(x, [rd, x.shape[3] - rd], -1);
  let rotated: Tensor;
  if (c.rotaryEmbInterleaved) {
    const lead = head.shape.slice(0, 3);
    const [x1, x2] = split(reshape(head, [...lead, rd / 2, 2]), 2, -1).map((t) => reshape(t, [...lead, rd / 2]));
    rotated = reshape(stack([sub(mul(x1, cs), mul(x2, sn)), add(mul(x2, cs), mul(x1, sn))], -1), head.shape);
  } else {
    const [x1, x2] = split(head, 2, -1);
    rotated = concat([sub(mul(x1, cs), mul(x2, sn)), add(mul(x2, cs), mul(x1, sn))], -1);
  }
  return rest ? concat([rotated, rest], -1) : rotated;
}

/** Softmax attention: q [b, Lq, H, D], k, v [b, Lk, Hkv, D], allowed [b or 1, Lq, Lk] (1 = attend) -> [b, Lq, H·D]. */
function attend(c: MhaConfig, q: Tensor, k: Tensor, v: Tensor, allowed: Tensor): Tensor {
  const rep = c.numHeads / c.numHeadsKv;
  const heads = (t: Tensor): Tensor => transpose(repeatInterleave(t, rep, 2), [0, 2, 1, 3]);
  const scores = mul(matmul(transpose(q, [0, 2, 1, 3]), heads(k), { transposeB: true }), c.softmaxScale);
  // A large finite fill: exp underflows to 0 without inf − inf in the max shift.
  const probs = softmax(where(expandDims(allowed, 1), scores, -1e30), -1);
  const ctx = transpose(matmul(probs, heads(v)), [0, 2, 1, 3]);
  return reshape(ctx, [q.shape[0], q.shape[1], c.outDim]);
}

/** in_proj (+ the optional conv over qkv) -> q [b, L, H, D], k and v [b, L, Hkv, D], the MLP part. */
function project(p: Record<string, Tensor>, c: MhaConfig, qkvAll: Tensor, conv: (qkv: Tensor) => Tensor): { q: Tensor; k: Tensor; v: Tensor; mlp: Tensor | null } {
  const [b, L] = qkvAll.shape;
  let qkv = qkvAll;
  let mlp: Tensor | null = null;
  if (c.mlpDim > 0) {
    const [a, m] = split(qkvAll, [c.qkvDim, c.mlpDim], -1);
    const [up, gate] = split(m, 2, -1);
    qkv = a;
    mlp = mul(up, silu(gate));
  }
  if (c.dConv > 0) qkv = conv(qkv);
  const [q, kv] = split(qkv, [c.outDim, 2 * c.numHeadsKv * c.headDim], -1);
  const [k, v] = split(reshape(kv, [b, L, 2, c.numHeadsKv, c.headDim]), 2, 2);
  const shapeKv = [b, L, c.numHeadsKv, c.headDim];
  return { q: reshape(q, [b, L, c.numHeads, c.headDim]), k: reshape(k, shapeKv), v: reshape(v, shapeKv), mlp };
}

function output(p: Record<string, Tensor>, ctx: Tensor, mlp: Tensor | null, residual?: Tensor): Tensor {
  const h = mlp ? concat([ctx, mlp], -1) : ctx;
  return outProjection(h, p['out_proj.weight'], p['out_proj.bias'], residual);
}

function checkInput(op: string, c: MhaConfig, x: Tensor, rank: number): void {
  if (x.rank !== rank || x.shape[rank - 1] !== c.embedDim) {
    throw new ShapeError(`${op}: input should be ${rank === 3 ? `[batch, seqlen, ${c.embedDim}]` : `[batch, ${c.embedDim}]`}, got ${formatShape(x.shape)}`);
  }
}

/**
 * Attention over a sequence: x [b, L, embedDim] -> [b, L, embedDim]. Without a state the
 * positions are 0..L−1 and only these keys are seen; with one, the sequence continues each
 * row's cache (positions pos_b + t), is written into it, and the next state comes back.
 * The caller keeps pos_b + L within maxSeqlen (the model checks it).
 */
export function mhaForward(p: Record<string, Tensor>, c: MhaConfig, x: Tensor, state?: MhaState, fuse: StepFusion = {}): { y: Tensor; state: MhaState | null } {
  checkInput('MHA.forward', c, x, 3);
  const [b, L] = x.shape;
  return tidy(() => {
    let convState: Tensor | undefined;
    const r = project(p, c, inProjection(x, p['in_proj.weight'], p['in_proj.bias'], fuse), (qkv) => {
      const out = causalConv1d(qkv, p['conv1d.weight'], p['conv1d.bias'], state?.conv);
      convState = out.state;
      return out.y;
    });
    if (!state) {
      const positions = cast(arange(L, undefined, 1, { backend: x.backend }), x.dtype);
      const [q, k] = c.rotaryEmbDim > 0 ? [rotary(c, r.q, positions), rotary(c, r.k, positions)] : [r.q, r.k];
      const keyPos = reshape(positions, [1, 1, L]);
      const allowed = c.causal ? lessEqual(keyPos, reshape(positions, [1, L, 1])) : add(mul(keyPos, 0), 1);
      return { y: output(p, attend(c, q, k, r.v, allowed), r.mlp, fuse.residual), state: null };
    }
    const next = cachedAttention(c, r, state);
    return { y: output(p, next.ctx, r.mlp, fuse.residual), state: { ...next.state, ...(convState ? { conv: convState } : {}) } };
  });
}

/** Writes the new keys/values at each row's positions and attends over the cache. */
function cachedAttention(c: MhaConfig, r: { q: Tensor; k: Tensor; v: Tensor }, state: MhaState): { ctx: Tensor; state: MhaState } {
  const [b, L] = r.q.shape;
  const maxSeqlen = state.kv.shape[1];
  const dtype = r.q.dtype;
  const positions = add(expandDims(state.pos, 1), cast(arange(L, undefined, 1, { backend: r.q.backend }), dtype));
  const [q, k] = c.rotaryEmbDim > 0 ? [rotary(c, r.q, positions), rotary(c, r.k, positions)] : [r.q, r.k];
  const slots = reshape(cast(arange(maxSeqlen, undefined, 1, { backend: r.q.backend }), dtype), [1, 1, maxSeqlen]);
  // onehot[b, t, s] = 1 where position pos_b + t is slot s: a scatter written as a product, so
  // a step graph (whose pos lives on the device) can replay it.
  const onehot = equal(expandDims(positions, -1), slots);
  const fresh = reshape(stack([k, r.v], 2), [b, L, 2 * c.numHeadsKv * c.headDim]);
  const written = reshape(matmul(onehot, fresh, { transposeA: true }), state.kv.shape);
  const keepOld = reshape(sub(1, sum(onehot, 1)), [b, maxSeqlen, 1, 1, 1]);
  const kv = add(mul(state.kv, keepOld), written);
  const allowed = c.causal ? lessEqual(slots, expandDims(positions, -1)) : lessEqual(slots, reshape(add(state.pos, L - 1), [b, 1, 1]));
  const [kc, vc] = split(kv, 2, 2).map((t) => reshape(t, [b, maxSeqlen, c.numHeadsKv, c.headDim]));
  return { ctx: attend(c, q, kc, vc, allowed), state: { kv, pos: add(state.pos, L) } };
}

/** One decode step: x [b, embedDim] -> [b, embedDim] and the next state (see `StepFusion`). */
export function mhaStepForward(p: Record<string, Tensor>, c: MhaConfig, x: Tensor, state: MhaState, fuse: StepFusion = {}): { y: Tensor; state: MhaState } {
  checkInput('MHA.step', c, x, 2);
  const b = x.shape[0];
  return tidy(() => {
    let convState: Tensor | undefined;
    const qkv = inProjection(x, p['in_proj.weight'], p['in_proj.bias'], fuse);
    const r = project(p, c, reshape(qkv, [b, 1, qkv.shape[1]]), (t) => {
      const out = causalConv1dStep(reshape(t, [b, c.qkvDim]), p['conv1d.weight'], p['conv1d.bias'], state.conv);
      convState = out.state;
      return reshape(out.y, [b, 1, c.qkvDim]);
    });
    const next = cachedAttention(c, r, state);
    const y = output(p, reshape(next.ctx, [b, c.outDim]), r.mlp ? reshape(r.mlp, [b, c.mlpDim / 2]) : null, fuse.residual);
    return { y, state: { ...next.state, ...(convState ? { conv: convState } : {}) } };
  });
}
