import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CharTokenizer, Tokenizer, TokenizerConfigError } from '../src/index.js';
import { fromFile, saveToFile } from '../src/node.js';
import { goldenCases, neoxJSON } from './helpers.js';

const gz = fileURLToPath(new URL('../fixtures/gpt-neox-20b-tokenizer.json.gz', import.meta.url));

describe('@mamba3/tokenizer/node', () => {
  it('loads a gzipped tokenizer.json', async () => {
    const tok = await fromFile(gz);
    expect(tok).toBeInstanceOf(Tokenizer);
    const c = goldenCases()[0];
    expect(tok.encode(c.text)).toEqual(c.ids);
  });

  it('loads a plain one, and says which file is malformed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamba3-tok-'));
    const plain = join(dir, 'tokenizer.json');
    writeFileSync(plain, neoxJSON());
    expect((await fromFile(plain)).vocabSize).toBe(50277);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"model": {"type": "WordPiece"}}');
    const err = await fromFile(broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenizerConfigError);
    expect((err as Error).message).toBe(`${broken}: model: unknown model type "WordPiece" (supported: BPE)`);
  });

  it('saves a char tokenizer and loads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamba3-tok-'));
    const path = join(dir, 'char.json');
    const tok = CharTokenizer.fromCorpus('to be or not to be', { eosToken: '<eos>' });
    await saveToFile(path, tok);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(tok.toJSON());
    const again = await fromFile(path);
    expect(again).toBeInstanceOf(CharTokenizer);
    expect(again.encode('not to be<eos>')).toEqual(tok.encode('not to be<eos>'));
  });
});

describe('browser safety', () => {
  it('only src/node.ts imports node: modules', () => {
    const src = fileURLToPath(new URL('../src/', import.meta.url));
    const files = readdirSync(src).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) => f !== 'node.ts' && /from ['"]node:|require\(['"]node:|import\(['"]node:/.test(readFileSync(join(src, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
