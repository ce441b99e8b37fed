/**
 * The `fnwatch` command line. One file per command in this folder; each exports `register(program)`.
 * Errors a user can fix (bad input, bad config, missing file) print one line and exit 2.
 */
import { Command, CommanderError } from 'commander';
import { FnwatchError, UsageError } from '../core/contracts.ts';
import { commands } from './commands.ts';

const program = new Command('fnwatch')
  .description('Behavioral anomaly detection for AWS Lambda telemetry')
  .showHelpAfterError()
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof UsageError) {
    process.stderr.write(`fnwatch: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof FnwatchError) {
    process.stderr.write(`fnwatch: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
