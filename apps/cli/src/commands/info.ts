import { initBackend, listBackends } from '@mamba3/tensor';
import { registerAll } from '../backends.js';
import type { Command } from '../command.js';

export const info: Command = {
  name: 'info',
  summary: 'list backends and whether each can start here',
  usage: 'usage: mamba3 info',
  options: {},
  async run() {
    await registerAll();
    for (const name of listBackends()) {
      try {
        const b = await initBackend(name);
        console.log(`${name.padEnd(8)} ok   ${b.info.device ?? ''} (dtypes: ${b.info.dtypes.join(', ')})`);
      } catch (err) {
        console.log(`${name.padEnd(8)} --   ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return 0;
  },
};
