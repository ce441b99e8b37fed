import type { Command } from 'commander';

/**
 * Every command's `register`. Add one import and one entry per command file (`src/cli/<name>.ts`).
 */
export const commands: Array<(program: Command) => void> = [];
