import '@mamba3/backend-cpu';
import { loadPretrained } from '@mamba3/model';
// A folder (Node), a base URL, or the Files of a picked folder (browser): any supported layout.
// Checkpoints that ship no tokenizer.json (Mamba-1/2) take one: { tokenizer: gptNeoxTokenizerJson }.
const { model, tokenizer, layout } = await loadPretrained('path/to/model-dir', {
  backend: 'cpu', dtype: 'bfloat16', onProgress: (p) => console.error(p.phase, p.loaded, p.total),
});
console.log(layout, model.config.nLayer, tokenizer !== null);
