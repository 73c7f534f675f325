import type { Command } from '../command.js';
import { demo } from './demo.js';
import { info } from './info.js';

/** Every subcommand; add new ones here. */
export const commands: Command[] = [demo, info];
