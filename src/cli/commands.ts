import type { Command } from 'commander';
import { register as gen } from './gen.ts';
import { register as investigate } from './investigate.ts';
import { register as nab } from './nab.ts';
import { register as profile } from './profile.ts';
import { register as replay } from './replay.ts';

/**
 * Every command's `register`. Add one import and one entry per command file (`src/cli/<name>.ts`).
 */
export const commands: Array<(program: Command) => void> = [profile, investigate, gen, nab, replay];
