/**
 * `fnwatch demo` (and `npm start`): the real service on a local Kinesis, with no AWS account.
 * Starts kinesalite and dynalite in this process (127.0.0.1, free ports), creates a stream, runs the
 * consumer (Kinesis source with DynamoDB leases, runner, pipeline, stdout sink) and, like a
 * producer, puts the bundled demo dataset into the stream. Alerts print as they fire; once every
 * record put has been consumed and the consumer is idle, it stops gracefully and prints a summary.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { FnwatchError } from '../core/contracts.ts';
import { createKinesisClient } from '../sources/kinesis/index.ts';
import { parseServiceConfig } from './config.ts';
import { createStream, putRecords, readRecordDumps, startEmbedded } from './embedded.ts';
import { createLogger, handleSignals, Service, type ServiceSummary } from './service.ts';

/** The dataset bundled with fnwatch. */
export const DEMO_DATASET = fileURLToPath(new URL('../../datasets/demo/kinesis', import.meta.url));

export interface DemoOptions {
  /** Directory of Kinesis record dumps (default: the bundled demo dataset) */
  dataset?: string;
  /** Shards of the local stream (default 2) */
  shards?: number;
  /** Port for /healthz, /readyz, /metrics (default 0: any free port) */
  httpPort?: number;
  logLevel?: string;
  /** Where alert lines and the summary go (default process.stdout) */
  stdout?: NodeJS.WritableStream;
  /** Where progress notes go (default process.stderr) */
  stderr?: NodeJS.WritableStream;
  /** Records put at a time; the next are put once the consumer read them (default 50) */
  chunk?: number;
  /** Stop once consumed and idle for this long (default 1.5 s) */
  idleMs?: number;
  /** Give up after this long (default 5 min) */
  timeoutMs?: number;
  /** Install SIGINT/SIGTERM handlers (the CLI does) */
  signals?: boolean;
  log?: Logger;
}

export interface DemoResult extends ServiceSummary {
  put: number;
  stream: string;
}

const STREAM = 'fnwatch-demo';

/**
 * @example
 * const r = await runDemo();
 * console.log(r.put, r.counts.records, r.alerts);
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const out = opts.stdout ?? process.stdout;
  const note = (s: string): void => void (opts.stderr ?? process.stderr).write(`fnwatch demo: ${s}\n`);
  // A dataset directory (as `fnwatch gen` writes it) or its kinesis/ folder.
  const dataset = opts.dataset && existsSync(join(opts.dataset, 'kinesis')) ? join(opts.dataset, 'kinesis') : opts.dataset;
  const records = readRecordDumps(dataset ?? DEMO_DATASET);
  // The emulators accept any credentials; fixed fake ones keep the user's real ones (or an expired
  // SSO session) out of it entirely.
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFNWATCHDEMO00000';
  process.env.AWS_SECRET_ACCESS_KEY = 'fnwatch-demo';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_REGION = 'us-east-1';

  const kinesalite = await startEmbedded('kinesalite');
  const dynalite = await startEmbedded('dynalite').catch(async (err: unknown) => {
    await kinesalite.stop();
    throw err;
  });
  const kinesis = createKinesisClient({ endpoint: kinesalite.endpoint, region: 'us-east-1' });
  let service: Service | undefined;
  let removeSignals = (): void => {};
  try {
    const shards = opts.shards ?? 2;
    await createStream(kinesis, STREAM, shards);
    note(`local Kinesis (kinesalite) at ${kinesalite.endpoint}, stream ${STREAM} with ${shards} shards; lease table in local DynamoDB (dynalite) at ${dynalite.endpoint}`);
    const config = parseServiceConfig({
      sources: [
        {
          type: 'kinesis',
          streamName: STREAM,
          applicationName: 'fnwatch-demo',
          endpoint: kinesalite.endpoint,
          dynamodbEndpoint: dynalite.endpoint,
          region: 'us-east-1',
          pollInterval: '10ms',
          idleInterval: '10ms',
          checkpointInterval: '1s',
          retryBudget: '10s',
        },
      ],
      sinks: [{ type: 'stdout', format: 'text' }],
      http: { port: opts.httpPort ?? 0 },
      log: { level: opts.logLevel ?? 'warn' },
      shutdownTimeout: '10s',
    });
    service = await Service.start(config, { stdout: out, log: opts.log ?? createLogger(config.log.level) });
    if (opts.signals) removeSignals = handleSignals(service);
    if (service.ops) note(`health and metrics at ${service.ops.url}/metrics`);
    const what = opts.dataset ?? 'the bundled demo dataset (3 days of 12 functions, with injected attacks)';
    note(`putting ${records.length.toLocaleString('en-US')} records of ${what}; alerts follow as they fire:`);
    // Like a live producer: the next records go in once the consumer has read the last ones. The
    // dataset's three days pass in seconds here; put all at once, the two shards would be read
    // hours of event time apart, which a live stream never is.
    const chunk = opts.chunk ?? 50;
    for (let i = 0; i < records.length; i += chunk) {
      await putRecords(kinesis, STREAM, records.slice(i, i + chunk));
      const target = Math.min(records.length, i + chunk);
      const consumer = service;
      await new Promise<void>((resolve, reject) => {
        const check = setInterval(() => {
          if (consumer.recordsSeen >= target) {
            clearInterval(check);
            resolve();
          } else if (consumer.failed !== undefined) {
            clearInterval(check);
            reject(consumer.failed);
          }
        }, 2);
      });
    }

    const idleMs = opts.idleMs ?? 1_500;
    const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
    const running = service;
    const failed = running.done.then(
      () => undefined,
      (err: unknown) => err,
    );
    for (;;) {
      const settled = await Promise.race([failed, new Promise((r) => setTimeout(r, 100, 'tick'))]);
      if (settled !== 'tick') {
        if (settled !== undefined) throw settled;
        break; // stopped by a signal
      }
      if (running.recordsSeen >= records.length && Date.now() - running.lastBatchAt >= idleMs) break;
      if (Date.now() > deadline) throw new FnwatchError(`demo: only ${running.recordsSeen} of ${records.length} records consumed after ${opts.timeoutMs ?? 300_000} ms`);
    }
    const summary = await running.stop('demo finished');
    const c = summary.counts;
    const events = c.events.invocation + c.events.resource_access + c.events.egress + c.events.change;
    out.write(
      [
        '',
        `fnwatch demo: ${records.length.toLocaleString('en-US')} records put, ${c.records.toLocaleString('en-US')} consumed from ${config.sources.length} stream (${opts.shards ?? 2} shards) → ${events.toLocaleString('en-US')} events → ${summary.alerts} alerts in ${(summary.wallMs / 1000).toFixed(1)} s.`,
        'To watch a real stream (a CloudWatch Logs subscription into Kinesis), write a config and run:',
        '  fnwatch run --config config.yaml     # see examples/config.yaml and src/service/README.md',
        'AWS credentials and region come from the SDK default chain (AWS_PROFILE, AWS_REGION, instance role).',
        '',
      ].join('\n'),
    );
    return { ...summary, put: records.length, stream: STREAM };
  } finally {
    removeSignals();
    if (service) await service.stop('demo ending').catch(() => undefined);
    kinesis.destroy();
    await Promise.all([kinesalite.stop(), dynalite.stop()]);
  }
}
