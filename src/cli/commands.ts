import type { Command } from 'commander';
import { register as evalCommand } from './eval.ts';
import { register as gen } from './gen.ts';
import { register as investigate } from './investigate.ts';
import { register as nab } from './nab.ts';
import { register as profile } from './profile.ts';
import { register as replay } from './replay.ts';
import { register as run } from './run.ts';
import { register as train } from './train.ts';
import { register as demo } from './demo.ts';

/**
 * Every command's `register`. Add one import and one entry per command file (`src/cli/<name>.ts`).
 */
export const commands: Array<(program: Command) => void> = [profile, investigate, gen, nab, replay, evalCommand, run, demo, train];
