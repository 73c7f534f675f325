#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { commands } from './commands/index.js';
import { reportError } from './errors.js';
import { validateFlags } from './schema.js';

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

let prefix = 'mamba3';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`mamba3: unknown command "${name}" (mamba3 --help lists them: ${commands.map((c) => c.name).join(', ')})`);
    return 2;
  }
  prefix = `mamba3 ${name}`;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's later lines carry the fix ("use '--temperature=-XYZ'"), so all of them go on the one line.
    console.error(`${prefix}: ${err instanceof Error ? err.message.split('\n').join(' ') : String(err)} (mamba3 ${name} --help for usage)`);
    return 2;
  }
  const values = validateFlags(parsed.values);
  return command.run({ values, positionals: parsed.positionals });
}

// Whatever escapes a command (a stray rejection included) is one line, never a stack trace.
process.on('uncaughtException', (err) => {
  process.exit(reportError(prefix, err));
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportError(prefix, err);
  },
);
