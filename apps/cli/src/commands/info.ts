import { explainKernels, initBackend, listBackends } from '@mamba3/tensor';
import '@mamba3/core'; // registers the Mamba-3 fused kernels, so the report below covers them
import { registerAll } from '../backends.js';
import type { Command } from '../command.js';

export const info: Command = {
  name: 'info',
  summary: 'list backends, whether each can start here, and which fused ops run a kernel on it',
  usage: 'usage: mamba3 info',
  options: {},
  async run() {
    await registerAll();
    for (const name of listBackends()) {
      try {
        const b = await initBackend(name);
        console.log(`${name.padEnd(8)} ok   ${b.info.device ?? ''} (dtypes: ${b.info.dtypes.join(', ')})`);
        const ops = explainKernels(b);
        const fused = ops.filter((e) => e.runs === 'kernel').map((e) => e.op);
        console.log(`${''.padEnd(13)}fused kernels: ${fused.length ? fused.join(', ') : 'none'}`);
        for (const e of ops.filter((o) => o.runs === 'composite')) console.log(`${''.padEnd(13)}composite: ${e.op} (${e.reason})`);
      } catch (err) {
        console.log(`${name.padEnd(8)} --   ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return 0;
  },
};
