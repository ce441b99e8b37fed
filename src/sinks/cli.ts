/**
 * Sink options shared by the commands that raise alerts (`replay`, `investigate`, …):
 *
 * ```
 * --alerts FILE                  OCSF findings as NDJSON (the file is replaced)
 * --webhook-url URL              signed webhook delivery through a durable outbox
 * --webhook-format FORMAT        ocsf (default) | splunk-hec | ecs
 * --webhook-secret-file FILE     Standard Webhooks secret; default: $FNWATCH_WEBHOOK_SECRET
 * --webhook-token-file FILE      Splunk HEC token; default: $FNWATCH_SPLUNK_HEC_TOKEN
 * --outbox DIR                   default: $XDG_STATE_HOME/fnwatch/outbox/<url hash>
 * ```
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { UsageError, type Sink } from '../core/contracts.ts';
import { createSink, parseSinksConfig, type SinkDeps } from './config.ts';
import { WEBHOOK_FORMATS } from './formats/index.ts';
import { redactUrl, stderrLogger } from './log.ts';

export const SECRET_ENV = 'FNWATCH_WEBHOOK_SECRET';
export const HEC_TOKEN_ENV = 'FNWATCH_SPLUNK_HEC_TOKEN';

/** What {@link addSinkOptions} adds to a command's parsed options. */
export interface SinkCliOptions {
  alerts?: string;
  webhookUrl?: string;
  webhookFormat?: string;
  webhookSecretFile?: string;
  webhookTokenFile?: string;
  outbox?: string;
}

/**
 * Adds the sink options to a command.
 *
 * @example
 * addSinkOptions(program.command('replay').argument('<files...>')).action(async (files, o) => {
 *   const sink = new FanoutSink(await sinksFromOptions(o));
 * });
 */
export function addSinkOptions(cmd: Command): Command {
  return cmd
    .option('--alerts <file>', 'write the alerts (OCSF Detection Findings) to this file, one JSON object per line')
    .option('--webhook-url <url>', 'deliver the alerts to this http(s) endpoint, signed (Standard Webhooks), through a durable outbox')
    .addOption(new Option('--webhook-format <format>', 'webhook body format').choices(WEBHOOK_FORMATS))
    .option('--webhook-secret-file <file>', `file with the webhook signing secret (whsec_<base64> or raw); default: $${SECRET_ENV}`)
    .option('--webhook-token-file <file>', `file with the Splunk HEC token (--webhook-format splunk-hec); default: $${HEC_TOKEN_ENV}`)
    .option('--outbox <dir>', 'outbox directory for webhook delivery; undelivered alerts wait here for the next run (default: $XDG_STATE_HOME/fnwatch/outbox/<url hash>)');
}

/**
 * The sinks the options ask for (none when no option is given). Secrets are read now; errors are
 * UsageErrors naming the option.
 *
 * @example
 * const sinks = await sinksFromOptions({ alerts: 'out.ndjson', webhookUrl: 'https://siem.example/hook' });
 */
export async function sinksFromOptions(opts: SinkCliOptions, deps: SinkDeps = {}): Promise<Sink[]> {
  const env = deps.env ?? process.env;
  const log = deps.log ?? stderrLogger();
  if (!opts.webhookUrl) {
    for (const [flag, v] of [['--webhook-format', opts.webhookFormat], ['--webhook-secret-file', opts.webhookSecretFile], ['--webhook-token-file', opts.webhookTokenFile], ['--outbox', opts.outbox]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} needs --webhook-url`);
    }
  }
  const raw: Record<string, unknown>[] = [];
  if (opts.alerts) raw.push({ type: 'file', path: opts.alerts, maxBytes: 0, truncate: true });
  if (opts.webhookUrl) {
    const format = opts.webhookFormat ?? 'ocsf';
    const hec = format === 'splunk-hec';
    if (opts.webhookTokenFile && !hec) throw new UsageError('--webhook-token-file applies to --webhook-format splunk-hec only');
    const outboxDir = opts.outbox ?? defaultOutboxDir(opts.webhookUrl, env);
    if (!opts.outbox) log.info(`webhook deliveries are queued in ${outboxDir} (--outbox to choose)`);
    raw.push({
      type: 'webhook',
      url: opts.webhookUrl,
      format,
      outboxDir,
      ...(opts.webhookSecretFile ? { secretFile: opts.webhookSecretFile } : env[SECRET_ENV] ? { secretEnv: SECRET_ENV } : {}),
      ...(hec ? (opts.webhookTokenFile ? { splunkTokenFile: opts.webhookTokenFile } : env[HEC_TOKEN_ENV] ? { splunkTokenEnv: HEC_TOKEN_ENV } : {}) : {}),
    });
    if (hec && !opts.webhookTokenFile && !env[HEC_TOKEN_ENV]) throw new UsageError(`--webhook-format splunk-hec needs --webhook-token-file FILE or $${HEC_TOKEN_ENV}`);
  }
  if (raw.length === 0) return [];
  let configs;
  try {
    configs = parseSinksConfig(raw);
  } catch (err) {
    // Name the option, not the config path the options were turned into.
    throw new UsageError(
      (err as Error).message
        .replace(/sinks\[\d+\]\.url/g, '--webhook-url')
        .replace(/sinks\[\d+\]\.path/g, '--alerts')
        .replace(/sinks\[\d+\]\.outboxDir/g, '--outbox'),
    );
  }
  const sinks: Sink[] = [];
  try {
    for (const c of configs) sinks.push(await createSink(c, { ...deps, log, env }));
  } catch (err) {
    await Promise.allSettled(sinks.map((s) => s.close()));
    throw err;
  }
  return sinks;
}

/**
 * Where a webhook's outbox lives by default: one directory per endpoint under the XDG state dir.
 *
 * @example
 * defaultOutboxDir('https://siem.example/hook', { HOME: '/home/ana' });
 * // → '/home/ana/.local/state/fnwatch/outbox/siem.example-<12 hex>'
 */
export function defaultOutboxDir(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  let host = 'endpoint';
  try {
    host = new URL(url).hostname.replace(/[^A-Za-z0-9.-]/g, '_') || host;
  } catch {
    throw new UsageError(`--webhook-url: not a URL: ${redactUrl(url)}`);
  }
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return join(state, 'fnwatch', 'outbox', `${host}-${hash}`);
}
