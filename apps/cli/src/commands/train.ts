import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MambaConfigInput } from '@mamba3/model';
import { MambaLMHeadModel } from '@mamba3/model';
import { saveModel } from '@mamba3/model/node';
import type { EvalEntry, StateTask, StateTaskResult, TrainOptions } from '@mamba3/train';
import { LmTrainer, modArithTask, parityTask, TokenStream, trainStateTask } from '@mamba3/train';
import { loadCheckpoint, saveCheckpoint } from '@mamba3/train/node';
import { ByteTokenizer, CharTokenizer } from '@mamba3/tokenizer';
import type { TokenizerLike } from '@mamba3/tokenizer';
import { fromFile, saveToFile } from '@mamba3/tokenizer/node';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { useBackendNamed } from '../backends.js';

/** The JSON file `mamba3 train --config` reads. */
export interface TrainConfigFile {
  data: { path: string; tokenizer?: 'char' | 'byte' | string; valFraction?: number };
  model: Omit<MambaConfigInput, 'vocabSize'> & { vocabSize?: number };
  /** The training loop's options, plus AdamW's weight decay (default 0.1). */
  train: Omit<TrainOptions, 'progress' | 'onEval' | 'onCheckpoint'> & { weightDecay?: number };
  /** Where the final model (config.json, model.safetensors, tokenizer.json) goes. */
  out: string;
  /** Stored dtype of the final weights (checkpoints stay F32). Default F32. */
  outDType?: 'F32' | 'F16' | 'BF16';
}

async function makeTokenizer(spec: string | undefined, text: string): Promise<TokenizerLike & { toJSON?: () => unknown }> {
  if (!spec || spec === 'char') return CharTokenizer.fromCorpus(text);
  if (spec === 'byte') return new ByteTokenizer();
  return fromFile(spec);
}

/** Applies `--set train.steps=100`-style overrides to the parsed config. */
function applyOverrides(config: Record<string, unknown>, sets: string[]): void {
  for (const kv of sets) {
    const eq = kv.indexOf('=');
    if (eq < 0) throw new UsageError(`--set expects key=value, got "${kv}"`);
    const path = kv.slice(0, eq).split('.');
    const raw = kv.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // A bare string.
    }
    let node = config;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]] = value;
  }
}

async function trainLm(values: Record<string, unknown>): Promise<number> {
  if (typeof values.config !== 'string') throw new UsageError(`train: --config FILE (or --task parity|modarith) is required\n\n${trainCommand.usage}`);
  const cfg = JSON.parse(await readFile(values.config, 'utf8')) as TrainConfigFile & Record<string, unknown>;
  applyOverrides(cfg, (values.set as string[] | undefined) ?? []);
  if (typeof values.out === 'string') cfg.out = values.out;
  const backend = await useBackendNamed(values.backend as string | undefined);
  const text = await readFile(cfg.data.path, 'utf8');
  const tokenizer = await makeTokenizer(cfg.data.tokenizer, text);
  const ids = tokenizer.encode(text);
  const data = new TokenStream(ids, { valFraction: cfg.data.valFraction ?? 0.1 });
  console.error(`data: ${cfg.data.path}, ${ids.length} tokens (train ${data.train.length}, validation ${data.val.length}), vocab ${tokenizer.vocabSize}`);
  const checkpointDir = join(cfg.out, 'checkpoint');
  let trainer: LmTrainer;
  if (values.resume && existsSync(join(checkpointDir, 'optimizer.safetensors'))) {
    trainer = await loadCheckpoint(checkpointDir, { backend, optimizer: { weightDecay: cfg.train.weightDecay ?? 0.1, beta2: 0.95 } });
    console.error(`resumed from ${checkpointDir} at step ${trainer.step}`);
  } else {
    const model = MambaLMHeadModel.create({ ...cfg.model, vocabSize: tokenizer.vocabSize } as MambaConfigInput, { seed: cfg.train.seed ?? 0, backend });
    trainer = LmTrainer.fromModel(model, { weightDecay: cfg.train.weightDecay ?? 0.1, beta2: 0.95 });
    model.dispose();
  }
  const paramCount = Object.values(trainer.params).reduce((n, t) => n + t.size, 0);
  console.error(`model: ${paramCount.toLocaleString('en')} parameters, backend ${backend.name}`);
  await mkdir(cfg.out, { recursive: true });
  const history: EvalEntry[] = [];
  const started = Date.now();
  await trainer.fit(data, {
    ...cfg.train,
    onEval: (e) => void history.push(e),
    checkpointEvery: cfg.train.checkpointEvery,
    onCheckpoint: (t) => saveCheckpoint(t, checkpointDir),
  });
  const final = trainer.model();
  await saveModel(final, cfg.out, { floatDType: cfg.outDType ?? 'F32' });
  if (tokenizer instanceof CharTokenizer || tokenizer instanceof ByteTokenizer) await saveToFile(join(cfg.out, 'tokenizer.json'), tokenizer);
  // The validation loss of the weights as shipped (half-precision storage included).
  const shipped = await MambaLMHeadModel.fromPretrained(cfg.out, { backend });
  const check = LmTrainer.fromModel(shipped);
  const shippedLoss = await check.evaluate(data, cfg.train.batchSize, cfg.train.seqLen);
  check.dispose();
  shipped.dispose();
  const summary = {
    command: `mamba3 train --config ${values.config}${(values.set as string[] | undefined)?.map((s) => ` --set ${s}`).join('') ?? ''}`,
    backend: backend.name,
    device: backend.info.device ?? null,
    params: paramCount,
    tokens: ids.length,
    steps: trainer.step,
    seconds: (Date.now() - started) / 1000,
    finalValLoss: history[history.length - 1]?.valLoss ?? null,
    shippedValLoss: shippedLoss,
    outDType: cfg.outDType ?? 'F32',
    history,
  };
  await writeFile(join(cfg.out, 'training-log.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`validation loss ${shippedLoss.toFixed(4)} nats/token (as shipped, ${summary.outDType}); wrote ${cfg.out}`);
  final.dispose();
  trainer.dispose();
  return 0;
}

const TASKS: Record<string, StateTask> = { parity: parityTask, modarith: modArithTask };

/** The synthetic state-tracking recipes: train on short sequences, evaluate on long ones. */
async function stateTask(task: StateTask, values: Record<string, unknown>): Promise<number> {
  const backend = await useBackendNamed(values.backend as string | undefined);
  const num = (k: string, d: number): number => (values[k] !== undefined ? Number(values[k]) : d);
  const variants = values.complex === undefined ? [true, false] : [values.complex === 'true'];
  const results: StateTaskResult[] = [];
  for (const complex of variants) {
    const r = await trainStateTask(task, {
      complex,
      backend,
      steps: num('steps', 3000),
      trainLength: num('train-length', 64),
      evalLength: num('eval-length', 256),
      batchSize: num('batch-size', 64),
      lr: num('lr', 5e-3),
      dModel: num('d-model', 32),
      nLayer: num('n-layer', 1),
      dState: num('d-state', 16),
      headdim: num('headdim', 8),
      seed: num('seed', 0),
      mixedDensity: values['mixed-density'] === true,
      labelSmoothing: num('label-smoothing', 0),
      weightDecay: num('weight-decay', 0),
      ...(values['min-lr'] !== undefined ? { minLr: num('min-lr', 0) } : {}),
      ...(values.beta2 !== undefined ? { beta2: num('beta2', 0.999) } : {}),
      evalEvery: num('eval-every', 0) || undefined,
      onEval: (e) => console.error(`complex=${complex} step ${e.step}: loss ${e.loss.toFixed(4)}, accuracy@eval ${(100 * e.accuracy).toFixed(1)}%`),
    });
    results.push(r);
    console.log(`${task.name} complex=${complex}: accuracy ${(100 * r.trainAccuracy).toFixed(2)}% at length ${num('train-length', 64)}, ${(100 * r.accuracy).toFixed(2)}% at length ${num('eval-length', 256)} (last answer ${(100 * r.lastAccuracy).toFixed(2)}%), ${r.params} parameters, ${r.seconds.toFixed(0)} s`);
  }
  if (typeof values.out === 'string') await writeFile(values.out, `${JSON.stringify({ backend: backend.name, device: backend.info.device ?? null, results }, null, 2)}\n`);
  return 0;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model from a JSON config, or run a state-tracking recipe (--task parity|modarith)',
  usage: [
    'usage: mamba3 train --config FILE [--backend NAME] [--out DIR] [--set key.path=value ...] [--resume]',
    '       mamba3 train --task parity|modarith [--complex true|false] [--steps N] [--train-length 64] [--eval-length 256]',
    '                    [--batch-size B] [--lr LR] [--d-model D] [--n-layer L] [--d-state N] [--headdim P]',
    '                    [--seed S] [--eval-every N] [--mixed-density] [--label-smoothing E] [--weight-decay W]',
    '                    [--min-lr LR] [--beta2 B] [--backend NAME] [--out RESULT.json]',
    '',
    'The config file: { data: { path, tokenizer: "char"|"byte"|FILE, valFraction }, model: { dModel, nLayer,',
    'ssmCfg, ... }, train: { steps, batchSize, seqLen, lr, minLr, warmupSteps, weightDecay, gradClip,',
    'accumulate, evalEvery, evalBatches, checkpointEvery, seed }, out: DIR, outDType: "F32"|"F16"|"BF16" }.',
    'The model, its tokenizer and training-log.json go to out; resumable checkpoints to out/checkpoint.',
  ].join('\n'),
  options: {
    config: { type: 'string' },
    task: { type: 'string' },
    backend: { type: 'string' },
    out: { type: 'string' },
    set: { type: 'string', multiple: true },
    resume: { type: 'boolean' },
    complex: { type: 'string' },
    steps: { type: 'string' },
    'train-length': { type: 'string' },
    'eval-length': { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    'd-model': { type: 'string' },
    'n-layer': { type: 'string' },
    'd-state': { type: 'string' },
    headdim: { type: 'string' },
    'label-smoothing': { type: 'string' },
    'weight-decay': { type: 'string' },
    'min-lr': { type: 'string' },
    beta2: { type: 'string' },
    seed: { type: 'string' },
    'eval-every': { type: 'string' },
    'mixed-density': { type: 'boolean' },
  },
  async run({ values }) {
    if (values.task === undefined) return trainLm(values);
    const task = TASKS[String(values.task)];
    if (!task) throw new UsageError(`train: unknown task "${String(values.task)}" (known: ${Object.keys(TASKS).join(', ')})`);
    return stateTask(task, values);
  },
};
