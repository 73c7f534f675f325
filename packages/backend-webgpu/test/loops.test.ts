import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halvingLoop, rangeLoop, runtimeStepLoop, strideLoop } from '../src/codegen.js';
import type { WebGPUBackend } from '../src/index.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

// The loop helpers replace loops Dawn's robustness transform would give an iteration counter
// (codegen.ts). Each must visit exactly the indices of the loop it stands for: every invocation
// of a 64-wide workgroup counts its visits into hits[lid · 256 + v], compared with the plain loop
// run in JS for the same lid.
const WG = 64;
const SPAN = 256;

/** hits[lid][v] as counted on the GPU by `loop` (which uses `lid`, `rt` = a run-time value 32 and `end`, and calls visit(v)). */
async function visits(be: WebGPUBackend, key: string, loop: string, end: number): Promise<Int32Array> {
  const rt = be.runtime;
  const hits = rt.upload(key, new Int32Array(WG * SPAN), 'int32');
  const params = rt.upload(key, new Int32Array([32, end]), 'int32');
  const wgsl = () => `
@group(0) @binding(0) var<storage, read_write> hits: array<atomic<i32>>;
@group(0) @binding(1) var<storage, read> params: array<u32>;
fn visit(lid: u32, v: u32) { if (v < ${SPAN}u) { atomicAdd(&hits[lid * ${SPAN}u + v], 1); } else { atomicAdd(&hits[lid * ${SPAN}u], 1000); } }
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let rt = params[0];
  let end = params[1];
  ${loop}
}`;
  rt.dispatch(`loops-test/${key}`, wgsl, [hits.buffer, params.buffer], [1]);
  const out = (await rt.read(key, hits, WG * SPAN * 4, 'int32')) as Int32Array;
  rt.release(hits);
  rt.release(params);
  return out;
}

/** The same counts from the plain loop `visitAll(lid, visit)` in JS. */
function expected(visitAll: (lid: number, visit: (v: number) => void) => void): Int32Array {
  const out = new Int32Array(WG * SPAN);
  for (let lid = 0; lid < WG; lid++) visitAll(lid, (v) => (v < SPAN ? out[lid * SPAN + v]++ : (out[lid * SPAN] += 1000)));
  return out;
}

(SKIP_WEBGPU ? describe.skip : describe)(`loops Tint proves finite${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  beforeAll(async () => {
    be = await makeBackend();
  });
  afterAll(() => be?.dispose());

  it('strideLoop: for (v = from; v < bound; v += step), bounds on and off a multiple of the step, starts past the step', async () => {
    for (const [bound, step, from] of [[200, 64, 'lid'], [201, 32, 'lid % 32u'], [64, 64, 'lid'], [0, 16, 'lid'], [130, 16, 'lid + 16u']] as const) {
      const jsFrom = (lid: number) => (from === 'lid' ? lid : from === 'lid % 32u' ? lid % 32 : lid + 16);
      const got = await visits(be, `stride${bound}-${step}`, strideLoop('v', from, bound, step, 'visit(lid, v);'), 0);
      const want = expected((lid, visit) => {
        for (let v = jsFrom(lid); v < bound; v += step) visit(v);
      });
      expect(got, `bound ${bound}, step ${step}, from ${from}`).toEqual(want);
    }
  });

  it('rangeLoop: for (v = from; v < end; v += step) over a run-time end no further than span from the start', async () => {
    for (const [end, span, step] of [[100, 100, 64], [97, 100, 32], [20, 100, 64], [0, 40, 8]] as const) {
      const got = await visits(be, `range${end}-${span}-${step}`, rangeLoop('v', 'lid', 'end', span, step, 'visit(lid, v);'), end);
      const want = expected((lid, visit) => {
        for (let v = lid; v < end; v += step) visit(v);
      });
      expect(got, `end ${end}, span ${span}, step ${step}`).toEqual(want);
    }
  });

  it('runtimeStepLoop: for (v = 0; v < bound; v += step) with a run-time step', async () => {
    for (const bound of [256, 100, 1]) {
      const got = await visits(be, `rstep${bound}`, runtimeStepLoop('v', bound, 'rt', 'visit(lid, v);'), 0);
      const want = expected((_lid, visit) => {
        for (let v = 0; v < bound; v += 32) visit(v);
      });
      expect(got, `bound ${bound}`).toEqual(want);
    }
  });

  it('halvingLoop: for (v = top; v > 0; v >>= 1), and a top that is not a power of two is refused', async () => {
    const got = await visits(be, 'halving', halvingLoop('v', 128, 'visit(lid, v);'), 0);
    const want = expected((_lid, visit) => {
      for (let v = 128; v > 0; v >>= 1) visit(v);
    });
    expect(got).toEqual(want);
    expect(() => halvingLoop('v', 96, '')).toThrow(/96 is not a power of two/);
  });
});
