import { createInterface } from 'node:readline';
import type { AnyTokenizer } from '@mamba3/tokenizer';
import { TokenizerError } from '@mamba3/tokenizer';
import { fromFile } from '@mamba3/tokenizer/node';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { requireFile } from '../files.js';

const usage = [
  'usage: mamba3 tokenize --tokenizer FILE [--text TEXT] [--details] [--no-special-tokens] [--decode]',
  '',
  'Encodes TEXT and prints its ids as a JSON array. Without --text, reads one JSON string per',
  'line from stdin and prints one JSON array of ids per line.',
  '',
  '  --tokenizer FILE     a tokenizer.json (.gz too), or a saved byte/char tokenizer',
  '  --details            print {"ids", "tokens", "offsets"} instead (offsets: UTF-16 indices)',
  '  --no-special-tokens  do not add BOS/EOS (the post-processor\'s special tokens)',
  '  --decode             the other way: JSON arrays of ids in, JSON strings out',
].join('\n');

type Line = (input: string, lineNo: number) => string;

/** One input line (a JSON string, or a JSON id array with --decode) to one output line. */
function lineHandler(tok: AnyTokenizer, values: Record<string, unknown>): Line {
  const addSpecialTokens = values['no-special-tokens'] !== true;
  if (values.decode === true) {
    return (input, lineNo) => JSON.stringify(tok.decode(parseIds(input, lineNo)));
  }
  return (input, lineNo) => {
    const text = parseText(input, lineNo);
    return JSON.stringify(values.details === true ? tok.encodeDetailed(text, { addSpecialTokens }) : tok.encode(text, { addSpecialTokens }));
  };
}

function parseJSONLine(input: string, lineNo: number, expected: string): unknown {
  try {
    return JSON.parse(input);
  } catch {
    throw new UsageError(`line ${lineNo}: expected ${expected}, got ${JSON.stringify(input.slice(0, 60))}`);
  }
}

function parseText(input: string, lineNo: number): string {
  const v = parseJSONLine(input, lineNo, 'a JSON string');
  if (typeof v !== 'string') throw new UsageError(`line ${lineNo}: expected a JSON string, got ${input.slice(0, 60)}`);
  return v;
}

function parseIds(input: string, lineNo: number): number[] {
  const v = parseJSONLine(input, lineNo, 'a JSON array of ids');
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new UsageError(`line ${lineNo}: expected a JSON array of ids, got ${input.slice(0, 60)}`);
  return v as number[];
}

async function eachStdinLine(handle: Line): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (!process.stdout.write(`${handle(line, lineNo)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
  }
}

export const tokenize: Command = {
  name: 'tokenize',
  summary: 'encode text to token ids (or ids to text) with a tokenizer file',
  usage,
  options: {
    tokenizer: { type: 'string' },
    text: { type: 'string' },
    details: { type: 'boolean' },
    'no-special-tokens': { type: 'boolean' },
    decode: { type: 'boolean' },
  },
  async run({ values }) {
    if (typeof values.tokenizer !== 'string') throw new UsageError('--tokenizer FILE is required (mamba3 tokenize --help for usage)');
    requireFile('--tokenizer', values.tokenizer);
    try {
      const handle = lineHandler(await fromFile(values.tokenizer), values);
      if (typeof values.text === 'string') {
        // --text is the text itself (or, with --decode, a JSON array of ids).
        console.log(handle(values.decode === true ? values.text : JSON.stringify(values.text), 1));
      } else {
        await eachStdinLine(handle);
      }
    } catch (err) {
      if (!(err instanceof TokenizerError)) throw err;
      console.error(`mamba3 tokenize: ${err.name}: ${err.message}`);
      return 1;
    }
    return 0;
  },
};
