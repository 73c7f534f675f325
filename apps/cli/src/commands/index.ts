import type { Command } from '../command.js';
import { check } from './check.js';
import { demo } from './demo.js';
import { convert } from './convert.js';
import { forward } from './forward.js';
import { generateCommand } from './generate.js';
import { info } from './info.js';
import { evalCommand } from './eval.js';
import { trainCommand } from './train.js';
import { tokenize } from './tokenize.js';

/** Every subcommand; add new ones here. */
export const commands: Command[] = [demo, generateCommand, trainCommand, evalCommand, forward, convert, check, tokenize, info];
