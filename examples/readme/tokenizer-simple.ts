import { ByteTokenizer, CharTokenizer } from '@mamba3/tokenizer';
import { fromFile, saveToFile } from '@mamba3/tokenizer/node';
const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n';
const chars = CharTokenizer.fromCorpus(text, { specials: ['<|endoftext|>'], eosToken: '<|endoftext|>', unkToken: '<unk>' });
await saveToFile('tokenizer.char.json', chars); // later: await fromFile('tokenizer.char.json')
const bytes = new ByteTokenizer({ eosToken: '<|endoftext|>', addEosToken: true });
console.log((await fromFile('tokenizer.char.json')).encode('hear me'), bytes.encode('hi'));
