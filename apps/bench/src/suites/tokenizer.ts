/*
 * Tokenizer speed on one core (Node runs the tokenizer on its main thread): the GPT-NeoX-20B
 * byte-level BPE encoding a text (cold cache and warm), with offsets, decoding, streaming
 * decode one id at a time; then the byte and char tokenizers on the same text.
 *
 *   node apps/bench/dist/main.js --suite tokenizer [--quick]
 *        [--set file=PATH] [--set tokenizer=PATH] [--set repeats=5]
 *
 * file defaults to packages/train/data/tinyshakespeare.txt (1.1 MB); tokenizer to the gzipped
 * GPT-NeoX tokenizer.json in packages/tokenizer/fixtures. Times are medians over the repeats.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ByteTokenizer, CharTokenizer, Tokenizer } from '@mamba3/tokenizer';
import { readTokenizerText } from '@mamba3/tokenizer/node';
import { machineInfo } from '../machine.js';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.js';

type Row = SuiteResult['rows'][number];

const root = (rel: string): string => fileURLToPath(new URL(`../../../../${rel}`, import.meta.url));
const DEFAULT_TEXT = 'packages/train/data/tinyshakespeare.txt';
const DEFAULT_TOKENIZER = 'packages/tokenizer/fixtures/gpt-neox-20b-tokenizer.json.gz';

function textPath(settings: Record<string, string>): string {
  const path = settings.file ?? root(DEFAULT_TEXT);
  if (!existsSync(path)) {
    throw new Error(
      settings.file
        ? `tokenizer bench: no file at ${path}`
        : `tokenizer bench: the default text ${DEFAULT_TEXT} is missing; pass --set file=PATH (e.g. ../shared/data/tinyshakespeare.txt)`,
    );
  }
  return path;
}

/** Median and minimum milliseconds of `fn` over `repeats` runs; `setup` runs untimed before each. */
function time<S>(repeats: number, setup: () => S, fn: (s: S) => void): { median: number; min: number } {
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const s = setup();
    const t0 = performance.now();
    fn(s);
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  return { median: runs[Math.floor(runs.length / 2)], min: runs[0] };
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

function row(what: string, ms: { median: number; min: number }, bytes: number, tokens: number): Row {
  const r: Row = {
    what,
    ms: round(ms.median),
    'min ms': round(ms.min),
    'MB/s': round(bytes / 1e6 / (ms.median / 1000), 2),
    'tokens/s': Math.round(tokens / (ms.median / 1000)),
    tokens,
  };
  console.log(`${what.padEnd(44)} ${String(r.ms).padStart(8)} ms (min ${String(r['min ms']).padStart(7)})  ${String(r['MB/s']).padStart(7)} MB/s  ${String(r['tokens/s']).padStart(9)} tokens/s`);
  return r;
}

function bpeRows(json: string, text: string, bytes: number, repeats: number): Row[] {
  const rows: Row[] = [];
  const load = time(repeats, () => null, () => Tokenizer.fromJSON(json));
  console.log(`${'load tokenizer.json (parse + build)'.padEnd(44)} ${String(round(load.median)).padStart(8)} ms`);
  rows.push({ what: 'load tokenizer.json', ms: round(load.median), 'min ms': round(load.min) });
  const tok = Tokenizer.fromJSON(json);
  const ids = tok.encode(text);
  const n = ids.length;
  // A fresh tokenizer per run: nothing in the word cache.
  rows.push(row('BPE encode, cold cache', time(repeats, () => Tokenizer.fromJSON(json), (t) => t.encode(text)), bytes, n));
  rows.push(row('BPE encode, warm cache', time(repeats, () => tok, (t) => t.encode(text)), bytes, n));
  rows.push(row('BPE encodeDetailed (tokens + offsets), warm', time(repeats, () => tok, (t) => t.encodeDetailed(text)), bytes, n));
  // The same text as one sequence per line, the shape of a training corpus.
  const lines = text.split('\n');
  const lineTokens = tok.encodeBatch(lines).reduce((a, ids) => a + ids.length, 0);
  rows.push(row(`BPE encodeBatch (${lines.length} lines), cold cache`, time(repeats, () => Tokenizer.fromJSON(json), (t) => t.encodeBatch(lines)), bytes, lineTokens));
  rows.push(row('BPE decode (all ids at once)', time(repeats, () => tok, (t) => t.decode(ids)), bytes, n));
  const stream = (): void => {
    const s = tok.createStreamingDecoder();
    for (const id of ids) s.push(id);
    s.flush();
  };
  rows.push(row('BPE streaming decode (push per id)', time(repeats, () => null, stream), bytes, n));
  const roundTrip = tok.decode(ids) === text.normalize('NFC');
  console.log(`round trip decode(encode(text)) === NFC(text): ${roundTrip}`);
  rows.push({ what: 'round trip ok', ok: roundTrip });
  return rows;
}

function simpleRows(text: string, bytes: number, repeats: number): Row[] {
  const byte = new ByteTokenizer({ eosToken: '<|endoftext|>' });
  const char = CharTokenizer.fromCorpus(text, { eosToken: '<|endoftext|>' });
  const byteIds = byte.encode(text);
  const charIds = char.encode(text);
  return [
    row('byte tokenizer encode', time(repeats, () => byte, (t) => t.encode(text)), bytes, byteIds.length),
    row('byte tokenizer decode', time(repeats, () => byte, (t) => t.decode(byteIds)), bytes, byteIds.length),
    row(`char tokenizer encode (${char.vocabSize} ids)`, time(repeats, () => char, (t) => t.encode(text)), bytes, charIds.length),
    row('char tokenizer decode', time(repeats, () => char, (t) => t.decode(charIds)), bytes, charIds.length),
  ];
}

async function run(opts: SuiteOptions): Promise<SuiteResult> {
  const path = textPath(opts.settings);
  const tokenizerPath = opts.settings.tokenizer ?? root(DEFAULT_TOKENIZER);
  const repeats = Number(opts.settings.repeats ?? (opts.quick ? 2 : 5));
  let text = readFileSync(path, 'utf8');
  if (opts.quick) text = text.slice(0, 100_000);
  const bytes = new TextEncoder().encode(text).length;
  const json = await readTokenizerText(tokenizerPath);
  console.log(`text ${path}: ${bytes} bytes, ${text.length} UTF-16 units; tokenizer ${tokenizerPath}; ${repeats} runs each`);
  const rows = [...bpeRows(json, text, bytes, repeats), ...simpleRows(text, bytes, repeats)];
  return {
    suite: 'tokenizer',
    machine: machineInfo(),
    rows,
    notes: [
      `text: ${path} (${bytes} bytes); tokenizer: ${tokenizerPath}`,
      'single thread (Node main thread); medians over the runs; cold = a fresh Tokenizer (empty word cache) per run',
      'the Hugging Face Rust tokenizer was not measured on this machine (Python tokenizers is not installed and PyPI is unreachable)',
    ],
  };
}

export const tokenizerSuite: Suite = {
  name: 'tokenizer',
  summary: 'tokenizer speed: GPT-NeoX BPE encode (cold/warm), offsets, decode, streaming; byte and char tokenizers',
  run,
};
