import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { MambaConfigInput } from '@mamba3/model';
import { MambaLMHeadModel, resolveMambaConfig } from '@mamba3/model';
import { saveModel } from '@mamba3/model/node';
import type { EvalEntry, StateTask, StateTaskResult } from '@mamba3/train';
import { LmTrainer, modArithTask, parityTask, TokenStream, trainStateTask } from '@mamba3/train';
import { findCheckpoint, loadCheckpoint, saveCheckpoint } from '@mamba3/train/node';
import { ByteTokenizer, CharTokenizer } from '@mamba3/tokenizer';
import type { TokenizerLike } from '@mamba3/tokenizer';
import { fromFile, saveToFile } from '@mamba3/tokenizer/node';
import { ConfigError } from '@mamba3/tensor';
import type { Command } from '../command.js';
import { CliError, EXIT_INTERRUPTED, UsageError } from '../command.js';
import { useBackendNamed } from '../backends.js';
import { isDirectory, prepareOutputFolder, readJsonFile, readTextFile, requireFile } from '../files.js';
import type { TrainConfigFile } from '../schema.js';
import { parseTrainConfig } from '../schema.js';

export type { TrainConfigFile } from '../schema.js';

async function makeTokenizer(spec: string | undefined, text: string): Promise<TokenizerLike & { toJSON?: () => unknown }> {
  if (!spec || spec === 'char') return CharTokenizer.fromCorpus(text);
  if (spec === 'byte') return new ByteTokenizer();
  return fromFile(requireFile('data.tokenizer', spec));
}

/** Applies `--set train.steps=100`-style overrides to the parsed config (checked with the rest after). */
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
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      if (child !== undefined && (child === null || typeof child !== 'object')) throw new UsageError(`--set ${kv}: "${key}" is not an object in the config`);
      node = (node[key] ??= {}) as Record<string, unknown>;
    }
    node[path[path.length - 1]] = value;
  }
}

/** The run's name: the config's `name`, else the config file's name (train.config.json in a folder: the folder's name). */
function runName(cfg: TrainConfigFile, file: string): string {
  if (cfg.name) return cfg.name;
  const stem = basename(file).replace(/\.json$/, '').replace(/\.config$/, '');
  return stem === 'train' || stem === 'config' ? basename(dirname(resolve(file))) : stem;
}

/** Files that mark a folder as holding a model or a run. */
const MODEL_FILES = ['model.safetensors', 'model.safetensors.index.json', 'config.json', 'checkpoint'];

/** The output folder: --out, else the config's `out`, else runs/NAME. */
function outputPath(cfg: TrainConfigFile, values: Record<string, unknown>): string {
  return typeof values.out === 'string' ? values.out : (cfg.out ?? join('runs', runName(cfg, values.config as string)));
}

/** Creates the output folder; one that already holds a model is never overwritten unless --resume (continue that run) or --overwrite says so. */
async function prepareOutput(out: string, cfg: TrainConfigFile, values: Record<string, unknown>): Promise<void> {
  const what = typeof values.out === 'string' ? '--out' : cfg.out ? `${String(values.config)}: out` : 'output folder';
  if (isDirectory(out) && values.resume !== true && values.overwrite !== true) {
    const held = readdirSync(out).filter((f) => MODEL_FILES.includes(f));
    if (held.length) throw new CliError(`${what} ${out}: already holds a model (${held.join(', ')}); pass --resume to continue its run, --overwrite to replace it, or --out DIR`);
  }
  await prepareOutputFolder(what, out);
}

async function loadConfig(values: Record<string, unknown>): Promise<TrainConfigFile> {
  const file = values.config as string;
  const raw = await readJsonFile('--config', file);
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) applyOverrides(raw as Record<string, unknown>, (values.set as string[] | undefined) ?? []);
  const cfg = parseTrainConfig(file, raw);
  // The model section's rules beyond single values (headdim divides expand·dModel, ...).
  try {
    resolveMambaConfig({ ...cfg.model, vocabSize: cfg.model.vocabSize ?? 1 } as MambaConfigInput);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`${file}: model: ${err.message}`);
    throw err;
  }
  return cfg;
}

async function trainLm(values: Record<string, unknown>): Promise<number> {
  if (typeof values.config !== 'string') throw new UsageError('--config FILE (or --task parity|modarith) is required (mamba3 train --help for usage)');
  const cfg = await loadConfig(values);
  const out = outputPath(cfg, values);
  const checkpointDir = join(out, 'checkpoint');
  const resumeFrom = values.resume === true ? findCheckpoint(checkpointDir) : null;
  if (values.resume === true && !resumeFrom) throw new CliError(`--resume: no checkpoint in ${checkpointDir} to resume from (run without --resume to start afresh)`);
  await prepareOutput(out, cfg, values);
  const text = await readTextFile('data.path', cfg.data.path);
  const backend = await useBackendNamed(values.backend as string | undefined);
  const tokenizer = await makeTokenizer(cfg.data.tokenizer, text);
  const ids = tokenizer.encode(text);
  const data = new TokenStream(ids, { valFraction: cfg.data.valFraction ?? 0.1 });
  if (data.train.length < cfg.train.seqLen + 1) throw new CliError(`data.path ${cfg.data.path}: ${data.train.length} training tokens are fewer than one window of seqLen + 1 = ${cfg.train.seqLen + 1}`);
  console.error(`data: ${cfg.data.path}, ${ids.length} tokens (train ${data.train.length}, validation ${data.val.length}), vocab ${tokenizer.vocabSize}`);
  const optimizer = { weightDecay: cfg.train.weightDecay ?? 0.1, beta2: 0.95 };
  let trainer: LmTrainer;
  if (resumeFrom) {
    trainer = await loadCheckpoint(checkpointDir, { backend, optimizer });
    console.error(`resumed from ${resumeFrom} at step ${trainer.step}`);
  } else {
    const model = MambaLMHeadModel.create({ ...cfg.model, vocabSize: tokenizer.vocabSize } as MambaConfigInput, { seed: cfg.train.seed ?? 0, backend });
    trainer = LmTrainer.fromModel(model, optimizer);
    model.dispose();
  }
  const paramCount = Object.values(trainer.params).reduce((n, t) => n + t.size, 0);
  console.error(`model: ${paramCount.toLocaleString('en')} parameters, backend ${backend.name}; writing to ${out}`);
  const history: EvalEntry[] = [];
  const started = Date.now();
  // Ctrl-C: the current step finishes, a checkpoint is written, exit 130. A second Ctrl-C quits at once.
  const controller = new AbortController();
  const onSigint = (): void => {
    console.error(`\ninterrupted: finishing step ${trainer.step + 1} and saving a checkpoint (Ctrl-C again to quit without it)`);
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  const { weightDecay: _wd, ...trainOptions } = cfg.train;
  try {
    await trainer.fit(data, {
      ...trainOptions,
      signal: controller.signal,
      onEval: (e) => void history.push(e),
      onCheckpoint: (t) => saveCheckpoint(t, checkpointDir),
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (controller.signal.aborted) {
    console.error(`stopped at step ${trainer.step}; checkpoint in ${checkpointDir} (continue with --resume)`);
    trainer.dispose();
    return EXIT_INTERRUPTED;
  }
  const final = trainer.model();
  await saveModel(final, out, { floatDType: cfg.outDType ?? 'F32' });
  if (tokenizer instanceof CharTokenizer || tokenizer instanceof ByteTokenizer) await saveToFile(join(out, 'tokenizer.json'), tokenizer);
  // The validation loss of the weights as shipped (half-precision storage included).
  const shipped = await MambaLMHeadModel.fromPretrained(out, { backend });
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
  await writeFile(join(out, 'training-log.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`validation loss ${shippedLoss.toFixed(4)} nats/token (as shipped, ${summary.outDType}); wrote ${out}`);
  final.dispose();
  trainer.dispose();
  return 0;
}

const TASKS: Record<string, StateTask> = { parity: parityTask, modarith: modArithTask };

/** The synthetic state-tracking recipes: train on short sequences, evaluate on long ones. */
async function stateTask(task: StateTask, values: Record<string, unknown>): Promise<number> {
  if (typeof values.out === 'string') {
    if (isDirectory(values.out)) throw new CliError(`--out ${values.out}: is a folder; --task writes one RESULT.json file`);
    await prepareOutputFolder('--out', dirname(resolve(values.out)));
  }
  const backend = await useBackendNamed(values.backend as string | undefined);
  const num = (k: string, d: number): number => (values[k] as number | undefined) ?? d;
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
    'usage: mamba3 train --config FILE [--backend NAME] [--out DIR] [--set key.path=value ...] [--resume] [--overwrite]',
    '       mamba3 train --task parity|modarith [--complex true|false] [--steps N] [--train-length 64] [--eval-length 256]',
    '                    [--batch-size B] [--lr LR] [--d-model D] [--n-layer L] [--d-state N] [--headdim P]',
    '                    [--seed S] [--eval-every N] [--mixed-density] [--label-smoothing E] [--weight-decay W]',
    '                    [--min-lr LR] [--beta2 B] [--backend NAME] [--out RESULT.json]',
    '',
    'The config file: { data: { path, tokenizer: "char"|"byte"|FILE, valFraction }, model: { dModel, nLayer,',
    'ssmCfg, ... }, train: { steps, batchSize, seqLen, lr, minLr, warmupSteps, weightDecay, gradClip,',
    'accumulate, evalEvery, evalBatches, checkpointEvery, seed }, name, out: DIR, outDType: "F32"|"F16"|"BF16" }.',
    'Unknown keys and bad values are errors. The model, its tokenizer and training-log.json go to --out, else',
    'the config\'s out, else runs/NAME (NAME: the config\'s name or file name); a folder that already holds a',
    'model needs --overwrite (or --resume). Resumable checkpoints go to OUT/checkpoint, written atomically.',
    'Ctrl-C finishes the current step, saves a checkpoint and exits 130; --resume continues from it.',
  ].join('\n'),
  options: {
    config: { type: 'string' },
    task: { type: 'string' },
    backend: { type: 'string' },
    out: { type: 'string' },
    set: { type: 'string', multiple: true },
    resume: { type: 'boolean' },
    overwrite: { type: 'boolean' },
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
    const name = String(values.task);
    // Own keys only: --task toString must not find Object's method.
    const task = Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
    if (!task) throw new UsageError(`unknown task "${String(values.task)}" (known: ${Object.keys(TASKS).join(', ')})`);
    return stateTask(task, values);
  },
};
