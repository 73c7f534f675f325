import { loadDefaultModel } from '@mamba3/default-model';
import type { Command } from '../command.js';
import { EXIT_INTERRUPTED } from '../command.js';
import { checkGenerateOptions } from '@mamba3/model';
import { prefillProgress, samplingFlags } from './generate.js';
import { pickBackendNamed } from '../backends.js';
import { batchedWriter } from '../stream-writer.js';

/**
 * The README's main job: the embedded default model (a small character-level Mamba-3 trained
 * on Tiny Shakespeare) writes text, streamed, on the best available backend.
 */
export const demo: Command = {
  name: 'demo',
  summary: 'generate text with the embedded default model on the best backend (streaming)',
  usage: [
    'usage: mamba3 demo [--prompt TEXT] [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S]',
    '                   [--backend auto|webgpu|wasm|cpu|tfjs]',
  ].join('\n'),
  options: {
    prompt: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string' },
  },
  async run({ values }) {
    const options = samplingFlags(values, { maxNewTokens: 400, temperature: 0.8, topP: 0.95, seed: 1 });
    checkGenerateOptions(options);
    const { backend, why } = await pickBackendNamed((values.backend as string | undefined) ?? 'auto');
    console.error(`backend: ${backend.name}${backend.info.device ? ` (${backend.info.device})` : ''}: ${why}`);
    const loadStart = performance.now();
    const model = await loadDefaultModel({ backend });
    console.error(`default model: ${model.paramCount.toLocaleString('en')} parameters, ${model.config.nLayer} Mamba-3 layers, loaded in ${(performance.now() - loadStart).toFixed(0)} ms\n`);
    const prompt = (values.prompt as string | undefined) ?? 'ROMEO:\n';
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.once('SIGINT', onSigint);
    let tokens = 0;
    let firstTokenAt = 0;
    const out = batchedWriter((text) => process.stdout.write(text));
    const started = performance.now();
    try {
      const progress = prefillProgress();
      let echoed = false;
      const result = await model.generateText(prompt, {
        ...options,
        signal: controller.signal,
        onPrefillProgress: (p) => {
          progress(p);
          if (p.done === p.total && !echoed) {
            out.write(prompt);
            out.flush();
            echoed = true;
          }
        },
        onChunk: (c) => {
          if (tokens++ === 0) firstTokenAt = performance.now();
          out.write(c.text);
        },
      });
      // The last batch is part of streaming the text: written before the clock stops.
      out.flush();
      const total = (performance.now() - started) / 1000;
      const decode = (performance.now() - firstTokenAt) / 1000;
      console.error(
        `\n\n[${backend.name}] ${tokens} tokens in ${total.toFixed(2)} s: ${(tokens / total).toFixed(1)} tokens/s overall, ` +
          `${((tokens - 1) / Math.max(decode, 1e-9)).toFixed(1)} tokens/s decoding (finish: ${result.sequences[0].finishReason})`,
      );
    } finally {
      out.flush();
      process.off('SIGINT', onSigint);
      model.dispose();
    }
    return controller.signal.aborted ? EXIT_INTERRUPTED : 0;
  },
};
