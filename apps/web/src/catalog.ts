/**
 * Released checkpoints the model picker offers by URL. The sizes are the weight files' sizes on
 * the Hugging Face hub (rounded); nothing here is fetched until the user presses Load.
 */

export interface ReleasedCheckpoint {
  id: string;
  /** Folder URL: config.json, the weights and (for the -hf folders) tokenizer.json. */
  url: string;
  /** Approximate download, in bytes. */
  bytes: number;
  note: string;
}

const hub = (repo: string): string => `https://huggingface.co/${repo}/resolve/main/`;
const MB = 1e6;

export const RELEASED: readonly ReleasedCheckpoint[] = [
  { id: 'state-spaces/mamba-130m-hf', url: hub('state-spaces/mamba-130m-hf'), bytes: 517 * MB, note: 'Mamba-1, 130M parameters, English (the Pile); ships its tokenizer' },
  { id: 'state-spaces/mamba-370m-hf', url: hub('state-spaces/mamba-370m-hf'), bytes: 1490 * MB, note: 'Mamba-1, 370M parameters; ships its tokenizer' },
  { id: 'state-spaces/mamba-790m-hf', url: hub('state-spaces/mamba-790m-hf'), bytes: 3170 * MB, note: 'Mamba-1, 790M parameters; ships its tokenizer' },
  { id: 'state-spaces/mamba-1.4b-hf', url: hub('state-spaces/mamba-1.4b-hf'), bytes: 5600 * MB, note: 'Mamba-1, 1.4B parameters; ships its tokenizer' },
  { id: 'state-spaces/mamba2-130m', url: hub('state-spaces/mamba2-130m'), bytes: 517 * MB, note: 'Mamba-2, 130M parameters (official .bin); needs GPT-NeoX’s tokenizer.json' },
  { id: 'state-spaces/mamba2-370m', url: hub('state-spaces/mamba2-370m'), bytes: 1480 * MB, note: 'Mamba-2, 370M parameters (official .bin); needs GPT-NeoX’s tokenizer.json' },
];
