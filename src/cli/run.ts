/**
 * `fnwatch run [--config FILE]`: the long-lived consumer service (see src/service/README.md for the
 * config). Without `--config` it runs the embedded demo (`fnwatch demo`): a local Kinesis fed with
 * the bundled dataset, so a first run needs no AWS account.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/contracts.ts';
import { loadPack } from '../detectors/pack.ts';
import { loadServiceConfig } from '../service/config.ts';
import { runDemo } from '../service/demo.ts';
import { createLogger, handleSignals, Service } from '../service/service.ts';

interface RunFlags {
  config?: string;
  check?: boolean;
  logLevel?: string;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Registers `run`.
 *
 * @example
 * register(program); // fnwatch run --config /etc/fnwatch/config.yaml
 */
export function register(program: Command): void {
  program
    .command('run')
    .description('run the consumer service: Kinesis (or CloudWatch Logs Live Tail) → detection → sinks, with /healthz, /readyz, /metrics')
    .option('--config <file>', 'service config, YAML or JSON (without it: the embedded demo on a local Kinesis)')
    .option('--check', 'validate the config and exit')
    .option('--log-level <level>', `override log.level (${LEVELS.join(', ')})`)
    .action(async (flags: RunFlags) => {
      if (flags.logLevel !== undefined && !LEVELS.includes(flags.logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
      if (!flags.config) {
        if (flags.check) throw new UsageError('--check needs --config FILE');
        process.stderr.write('fnwatch run: no --config given: running the embedded demo (fnwatch demo)\n');
        await runDemo({ signals: true, logLevel: flags.logLevel });
        return;
      }
      const config = loadServiceConfig(flags.config);
      if (flags.check) {
        if (config.models) loadPack(config.models);
        process.stdout.write(`${flags.config}: ok (${config.sources.length} source(s), ${config.sinks.length} sink(s))\n`);
        return;
      }
      const log = createLogger(flags.logLevel ?? config.log.level);
      const service = await Service.start(config, { log });
      const removeSignals = handleSignals(service);
      try {
        await service.done;
      } finally {
        removeSignals();
      }
    });
}
