import { join } from 'node:path';
import type { Tensor } from '@mamba3/tensor';
import { concat, dispose, formatShape, reshape, sliceAxis, tensor, tidy } from '@mamba3/tensor';
import { openSafetensors, writeSafetensorsFile } from '@mamba3/tensor/node';
import type { MambaLMHeadModel, WeightDType } from '@mamba3/model';
import { loadPretrained } from '@mamba3/model';
import type { Backend } from '@mamba3/tensor';
import { UsageError } from './command.js';
import type { Mode } from './fixture-runner.js';

/*
 * `mamba3 forward DIR`: a checkpoint folder of any layout holding io.safetensors (`input.ids`
 * [batch, seqlen]) → `output.logits` [batch, seqlen, vocab] (chunked, or one token at a time
 * through the cache) and, with greedy, `output.greedy` (int32: the first P ids of row 0, then N
 * greedy ids, no early stop), named like the golden `expected.*`.
 */

export interface ForwardDirOptions {
  mode: Mode;
  greedy?: number;
  promptLen?: number;
  /** On-device storage of float weights (loadPretrained `dtype`). */
  dtype?: WeightDType;
}

function stepLogits(model: MambaLMHeadModel, ids: Tensor): Tensor {
  const [b, L] = ids.shape;
  const cache = model.allocateInferenceCache(b, { maxSeqlen: L });
  const rows: Tensor[] = [];
  try {
    for (let t = 0; t < L; t++) rows.push(tidy(() => reshape(model.step(reshape(sliceAxis(ids, 1, t, t + 1), [b]), cache), [b, 1, -1])));
    return concat(rows, 1);
  } finally {
    dispose(rows);
    cache.dispose();
  }
}

/**
 * Greedy over the full (padded) vocabulary, as the official generate(top_k=1) does. No early
 * stop: the eos ids config.json names (Hugging Face checkpoints) are never picked, as with
 * transformers' min_new_tokens.
 */
async function greedyIds(model: MambaLMHeadModel, prompt: number[], n: number, mode: Mode, suppress: readonly number[]): Promise<Int32Array> {
  const out = [...prompt];
  const cache = model.allocateInferenceCache(1, { maxSeqlen: prompt.length + n });
  let logits: Tensor | null = null;
  try {
    if (mode === 'chunked') logits = model.prefill([prompt], cache);
    else {
      for (const id of prompt) {
        logits?.dispose();
        logits = model.step([id], cache);
      }
    }
    for (let i = 0; i < n; i++) {
      const row = await (logits as Tensor).data();
      let pick = -1;
      for (let v = 0; v < row.length; v++) if (!suppress.includes(v) && (pick < 0 || row[v] > row[pick])) pick = v;
      out.push(pick);
      logits?.dispose();
      logits = i < n - 1 ? model.step([pick], cache) : null;
    }
  } finally {
    logits?.dispose();
    cache.dispose();
  }
  return Int32Array.from(out);
}

export async function runForwardDir(dir: string, out: string, backend: Backend, opts: ForwardDirOptions): Promise<string[]> {
  const io = await openSafetensors(join(dir, 'io.safetensors')).catch(() => {
    throw new UsageError(`forward: ${dir} has no readable io.safetensors (it must hold input.ids [batch, seqlen], int32)`);
  });
  const { model, eosTokenIds } = await loadPretrained(dir, { backend, dtype: opts.dtype, tokenizer: false });
  const outputs: Record<string, Tensor> = {};
  let ids: Tensor | null = null;
  try {
    if (!io.entries.has('input.ids')) throw new UsageError(`forward: ${dir}/io.safetensors has no input.ids`);
    ids = await io.tensor('input.ids', { backend });
    if (ids.rank !== 2) throw new UsageError(`forward: input.ids must be [batch, seqlen], got ${formatShape(ids.shape)}`);
    outputs['output.logits'] = opts.mode === 'chunked' ? model.forward(ids) : stepLogits(model, ids);
    if (opts.greedy !== undefined) {
      const p = opts.promptLen ?? ids.shape[1];
      if (p < 1 || p > ids.shape[1]) throw new UsageError(`forward: --prompt-len must be between 1 and ${ids.shape[1]}, got ${p}`);
      const row0 = Array.from((await ids.data()).subarray(0, p));
      const greedy = await greedyIds(model, row0, opts.greedy, opts.mode, eosTokenIds);
      outputs['output.greedy'] = tensor(greedy, [greedy.length], { dtype: 'int32', backend });
    }
    await writeSafetensorsFile(out, outputs, { metadata: { ...io.metadata, backend: backend.name, mode: opts.mode } });
    return Object.entries(outputs).map(([name, t]) => `${name.padEnd(20)} ${formatShape(t.shape)}`);
  } finally {
    dispose(outputs);
    ids?.dispose();
    model.dispose();
    await io.close();
  }
}
