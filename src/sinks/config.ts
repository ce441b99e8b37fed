/**
 * The `sinks` section of the service config: a list of sinks, validated strictly (unknown keys are
 * errors naming the field), with defaults filled in and the result frozen; and `createSink`, which
 * turns one validated entry into a running sink.
 *
 * ```yaml
 * sinks:
 *   - type: webhook
 *     url: https://siem.example/fnwatch
 *     format: ocsf            # ocsf | splunk-hec | ecs
 *     secretEnv: FNWATCH_WEBHOOK_SECRET
 *     outboxDir: /var/lib/fnwatch/outbox
 *     maxOutboxBytes: 268435456
 *     onFull: block           # block | drop-oldest
 *   - type: file
 *     path: /var/log/fnwatch/alerts.ndjson
 *     maxBytes: 104857600
 *     keep: 5
 *   - type: stdout
 *     format: text            # text | ndjson
 * ```
 */
import { z } from 'zod';
import type { Sink } from '../core/contracts.ts';
import { UsageError } from '../core/contracts.ts';
import { CollectSink } from './collect.ts';
import { FanoutSink } from './fanout.ts';
import { FileSink } from './file.ts';
import { WEBHOOK_FORMATS } from './formats/index.ts';
import type { SinkLogger } from './log.ts';
import type { SinkMetrics } from './metrics.ts';
import { StdoutSink } from './stdout.ts';
import { loadSecrets, loadToken } from './webhook/sign.ts';
import { WEBHOOK_DEFAULTS, WebhookSink } from './webhook/sink.ts';

const int = (min: number) => z.number().int().min(min);

const webhookSchema = z
  .strictObject({
    type: z.literal('webhook'),
    name: z.string().min(1).optional(),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    format: z.enum(WEBHOOK_FORMATS).default('ocsf'),
    /** Environment variable holding the Standard Webhooks secret(s) */
    secretEnv: z.string().min(1).optional(),
    /** File holding the secret(s) */
    secretFile: z.string().min(1).optional(),
    splunkTokenEnv: z.string().min(1).optional(),
    splunkTokenFile: z.string().min(1).optional(),
    splunkIndex: z.string().min(1).optional(),
    outboxDir: z.string().min(1),
    maxOutboxBytes: int(16 * 1024).default(WEBHOOK_DEFAULTS.maxOutboxBytes),
    onFull: z.enum(['block', 'drop-oldest']).default(WEBHOOK_DEFAULTS.onFull),
    batchMaxAlerts: int(1).max(10_000).default(WEBHOOK_DEFAULTS.batchMaxAlerts),
    batchMaxBytes: int(1024).default(WEBHOOK_DEFAULTS.batchMaxBytes),
    connectTimeoutMs: int(1).default(WEBHOOK_DEFAULTS.connectTimeoutMs),
    timeoutMs: int(1).default(WEBHOOK_DEFAULTS.timeoutMs),
    backoffBaseMs: int(1).default(WEBHOOK_DEFAULTS.backoffBaseMs),
    backoffCapMs: int(1).default(WEBHOOK_DEFAULTS.backoffCapMs),
    maxRejectedAttempts: int(1).max(100).default(WEBHOOK_DEFAULTS.maxRejectedAttempts),
    maxRetryDurationMs: int(1).default(WEBHOOK_DEFAULTS.maxRetryDurationMs),
    flushTimeoutMs: int(0).default(WEBHOOK_DEFAULTS.flushTimeoutMs),
    caFile: z.string().min(1).optional(),
    insecureSkipVerify: z.boolean().default(false),
    deadLetterPath: z.string().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.secretEnv && c.secretFile) issue('secretFile', 'give secretEnv or secretFile, not both');
    if (c.splunkTokenEnv && c.splunkTokenFile) issue('splunkTokenFile', 'give splunkTokenEnv or splunkTokenFile, not both');
    if (c.format === 'splunk-hec' && !c.splunkTokenEnv && !c.splunkTokenFile) issue('splunkTokenEnv', 'format splunk-hec needs splunkTokenEnv or splunkTokenFile');
    if (c.format !== 'splunk-hec') {
      for (const k of ['splunkTokenEnv', 'splunkTokenFile', 'splunkIndex'] as const) if (c[k]) issue(k, 'only applies to format splunk-hec');
    }
    if (c.backoffCapMs < c.backoffBaseMs) issue('backoffCapMs', 'must be at least backoffBaseMs');
    if (!c.url.startsWith('https:')) {
      if (c.caFile) issue('caFile', 'only applies to https:// URLs');
      if (c.insecureSkipVerify) issue('insecureSkipVerify', 'only applies to https:// URLs');
    }
  });

const fileSchema = z.strictObject({
  type: z.literal('file'),
  name: z.string().min(1).optional(),
  path: z.string().min(1),
  /** Rotate at this size (0: never) */
  maxBytes: int(0).default(100 * 2 ** 20),
  keep: int(1).max(1000).default(5),
  truncate: z.boolean().default(false),
});

const stdoutSchema = z.strictObject({
  type: z.literal('stdout'),
  name: z.string().min(1).optional(),
  format: z.enum(['text', 'ndjson']).default('text'),
});

const collectSchema = z.strictObject({
  type: z.literal('collect'),
  name: z.string().min(1).optional(),
});

/** One entry of `sinks`. */
export const sinkConfigSchema = z.discriminatedUnion('type', [webhookSchema, fileSchema, stdoutSchema, collectSchema]);
/** The `sinks` section. */
export const sinksConfigSchema = z.array(sinkConfigSchema).min(1, 'configure at least one sink');

export type SinkConfig = Readonly<z.output<typeof sinkConfigSchema>>;
export type WebhookSinkConfig = Readonly<z.output<typeof webhookSchema>>;
export type FileSinkConfig = Readonly<z.output<typeof fileSchema>>;

/**
 * Validates the `sinks` section: defaults filled in, frozen. Errors are one UsageError naming each
 * bad field, e.g. `sinks[0].url: must be an http:// or https:// URL`.
 *
 * @example
 * const sinks = parseSinksConfig(yaml.parse(text).sinks);
 */
export function parseSinksConfig(raw: unknown, label = 'sinks'): readonly SinkConfig[] {
  const r = sinksConfigSchema.safeParse(raw);
  if (!r.success) throw new UsageError(formatIssues(r.error.issues, label));
  return Object.freeze(r.data.map((c) => Object.freeze(c)));
}

function formatIssues(issues: readonly z.core.$ZodIssue[], label: string): string {
  return issues
    .map((i) => {
      const path = i.path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : `${p}.${String(k)}`), label);
      if (i.code === 'unrecognized_keys') return `${path}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      if (i.code === 'invalid_union' && 'discriminator' in i) return `${path}: must be one of webhook, file, stdout, collect`;
      return `${path}: ${i.message}`;
    })
    .join('; ');
}

export interface SinkDeps {
  log?: SinkLogger;
  /** Metrics for a sink, by its name (e.g. `(name) => promSinkMetrics(registry, name)`) */
  metrics?: (sinkName: string) => SinkMetrics;
  env?: NodeJS.ProcessEnv;
  /** Where stdout sinks write (default process.stdout) */
  stdout?: NodeJS.WritableStream;
}

/**
 * A running sink for one validated config entry (secrets and tokens are read here).
 *
 * @example
 * const [config] = parseSinksConfig([{ type: 'webhook', url, outboxDir: '/var/lib/fnwatch/outbox', secretEnv: 'FNWATCH_WEBHOOK_SECRET' }]);
 * const sink = await createSink(config!, { log });
 */
export async function createSink(config: SinkConfig, deps: SinkDeps = {}): Promise<Sink> {
  switch (config.type) {
    case 'stdout':
      return new StdoutSink({ format: config.format, stream: deps.stdout, name: config.name });
    case 'collect':
      return new CollectSink(config.name);
    case 'file':
      return FileSink.open({ path: config.path, maxBytes: config.maxBytes, keep: config.keep, truncate: config.truncate, name: config.name });
    case 'webhook': {
      const name = config.name ?? 'webhook';
      const env = deps.env ?? process.env;
      const { type: _type, secretEnv, secretFile, splunkTokenEnv, splunkTokenFile, ...rest } = config;
      return WebhookSink.open(
        {
          ...rest,
          name,
          secrets: loadSecrets({ env: secretEnv, file: secretFile }, env),
          splunkToken: loadToken({ env: splunkTokenEnv, file: splunkTokenFile }, 'Splunk HEC token', env),
        },
        { log: deps.log, metrics: deps.metrics?.(name) },
      );
    }
  }
}

/**
 * Every configured sink as one (a {@link FanoutSink} when there are several). If one fails to
 * open, those already open are closed.
 *
 * @example
 * const sink = await createSinks(parseSinksConfig(config.sinks), { log });
 */
export async function createSinks(configs: readonly SinkConfig[], deps: SinkDeps = {}): Promise<Sink> {
  const sinks: Sink[] = [];
  try {
    for (const c of configs) sinks.push(await createSink(c, deps));
  } catch (err) {
    await Promise.allSettled(sinks.map((s) => s.close()));
    throw err;
  }
  return sinks.length === 1 ? sinks[0]! : new FanoutSink(sinks);
}
