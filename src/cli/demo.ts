/**
 * `fnwatch demo` (what `npm start` runs): the real consumer service on an embedded local Kinesis
 * (kinesalite) and DynamoDB (dynalite), fed with the bundled demo dataset; prints alerts as they
 * fire, then a summary, and exits 0.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/contracts.ts';
import { runDemo } from '../service/demo.ts';

interface DemoFlags {
  dataset?: string;
  shards: string;
  httpPort: string;
  logLevel: string;
}

function integer(name: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  return v;
}

/**
 * Registers `demo`.
 *
 * @example
 * register(program); // fnwatch demo --shards 2
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description('see fnwatch work in a minute, no AWS account: a local Kinesis fed with the bundled dataset, consumed by the real service')
    .option('--dataset <dir>', 'directory of Kinesis record dumps (*.ndjson.gz, as written by fnwatch gen) instead of the bundled demo')
    .option('--shards <n>', 'shards of the local stream', '2')
    .option('--http-port <port>', 'port for /healthz, /readyz, /metrics on 127.0.0.1 (0: any free port)', '0')
    .option('--log-level <level>', 'service log level on stderr', 'warn')
    .action(async (flags: DemoFlags) => {
      await runDemo({
        dataset: flags.dataset,
        shards: integer('shards', flags.shards, 1, 50),
        httpPort: integer('http-port', flags.httpPort, 0, 65535),
        logLevel: flags.logLevel,
        signals: true,
      });
    });
}
