import { describe, expect, it } from 'vitest';
import { ratios } from '../src/suites/model.js';

// The official figures as perf_ref.py / decode_ref.py / family_ref.py print them.
const reference = {
  prefill_float32_L8192_tok_s: 100_000,
  prefill_bfloat16_L8192_tok_s: 200_000,
  float32_cudagraph_ms_per_token: 2,
  bfloat16_cudagraph_ms_per_token: 1,
  Mamba2_float32_prefill_L8192_tok_s: 160_000,
  Mamba2_float32_cudagraph_ms_per_token: 1,
};

describe('model suite: ours / official', () => {
  it('prefill from the median of the extra prefills when there are some, not the one timed prefill', () => {
    const row = { model: '130M SISO', context: 8192, 'prefill tok/s': 60_000, 'prefill tok/s, median of 5': 120_000, 'graph decode tok/s': 1_000 };
    const r = ratios(reference, row);
    expect(r['prefill / official fp32']).toBe(1.2);
    expect(r['prefill / official bf16']).toBe(0.6);
    expect(r['graph decode / official fp32 (CUDA graph)']).toBe(2); // 1,000 tok/s against 500
    expect(r['graph decode / official bf16 (CUDA graph)']).toBe(1);
  });

  it('the one timed prefill when no extra prefills ran; the family prefix for Mamba-2; none for MIMO', () => {
    const row = { model: '130M Mamba-2', context: 8192, 'prefill tok/s': 80_000, 'graph decode tok/s': 2_000 };
    const r = ratios(reference, row);
    expect(r['official fp32 prefill tok/s']).toBe(160_000);
    expect(r['prefill / official fp32']).toBe(0.5);
    expect(r['prefill / official bf16']).toBe('-');
    expect(r['graph decode / official fp32 (CUDA graph)']).toBe(2);
    expect(ratios(reference, { model: '130M MIMO r4', context: 8192, 'prefill tok/s': 1 })).toEqual({});
  });
});
