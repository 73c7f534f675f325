import { fromFile } from '@mamba3/tokenizer/node'; // or Tokenizer.fromJSON(text) in a browser
const tok = await fromFile('gpt-neox-20b-tokenizer.json'); // .json.gz works too
const ids = tok.encode('Hello, world!'); // [12092, 13, 1533, 2]
const stream = tok.createStreamingDecoder();
for (const id of ids) process.stdout.write(stream.push(id)); // never half a character
console.log('\n' + JSON.stringify(ids));
