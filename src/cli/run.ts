/**
 * `fnwatch run [--config FILE]`: the long-lived consumer service (see src/service/README.md for the
 * config). Without `--config` it runs the embedded demo (`fnwatch demo`): a local Kinesis fed with
 * the bundled dataset, so a first run needs no AWS account.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from '../core/contracts.ts';
import { loadPack } from '../detectors/pack.ts';
import { loadServiceConfig, MAX_WORKERS, type ServiceConfig } from '../service/config.ts';
import { runDemo } from '../service/demo.ts';
import { createLogger, handleSignals, Service } from '../service/service.ts';

interface RunFlags {
  config?: string;
  check?: boolean;
  logLevel?: string;
  workers?: number;
}

/**
 * `--workers N`: a whole number from 1 to {@link MAX_WORKERS}, as the config's `workers`.
 *
 * @example
 * workerCount('2'); // → 2
 * workerCount('0'); // throws InvalidArgumentError (commander prints it naming --workers)
 */
export function workerCount(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_WORKERS} (got ${JSON.stringify(raw)})`);
  }
  return n;
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
    .option('--workers <n>', 'override workers: pipeline worker threads, partitioned by function (1: the main thread)', workerCount)
    .action(async (flags: RunFlags) => {
      if (flags.logLevel !== undefined && !LEVELS.includes(flags.logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
      if (!flags.config) {
        if (flags.check) throw new UsageError('--check needs --config FILE');
        if (flags.workers !== undefined) throw new UsageError('--workers needs --config FILE (the embedded demo runs one pipeline)');
        process.stderr.write('fnwatch run: no --config given: running the embedded demo (fnwatch demo)\n');
        await runDemo({ signals: true, logLevel: flags.logLevel });
        return;
      }
      const loaded = loadServiceConfig(flags.config);
      const config: ServiceConfig = flags.workers !== undefined ? Object.freeze({ ...loaded, workers: flags.workers }) : loaded;
      if (flags.check) {
        if (config.models) loadPack(config.models);
        const workers = config.workers > 1 ? `, ${config.workers} pipeline workers` : '';
        process.stdout.write(`${flags.config}: ok (${config.sources.length} source(s), ${config.sinks.length} sink(s)${workers})\n`);
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
