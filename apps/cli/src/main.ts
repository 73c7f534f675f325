#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { Mamba3Error } from '@mamba3/tensor';
import { TokenizerError } from '@mamba3/tokenizer';
import { UsageError } from './command.js';
import { commands } from './commands/index.js';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: mamba3 <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'mamba3 <command> --help for its options',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`mamba3: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`mamba3 ${name}: ${err instanceof Error ? err.message : String(err)}\n\n${command.usage}`);
    return 2;
  }
  return command.run(parsed as Parameters<typeof command.run>[0]);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof Mamba3Error || err instanceof TokenizerError) {
      console.error(`mamba3: ${err.name === 'UsageError' || err.name === 'Error' ? '' : `${err.name}: `}${err.message}`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
