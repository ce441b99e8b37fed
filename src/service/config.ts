/**
 * The service config (`fnwatch run --config FILE`): YAML or JSON, validated once at start-up into a
 * frozen {@link ServiceConfig}. Unknown keys are errors, and every error names the file, line,
 * column and field, e.g. `config.yaml:12:3: sources[0].streamName: Required`.
 *
 * AWS credentials and region are never in this file: they come from the SDK's default chain
 * (environment, profile, instance role). Endpoints come from `AWS_ENDPOINT_URL` /
 * `AWS_ENDPOINT_URL_<SERVICE>` (read by the SDK) or the `endpoint` fields here (local or VPC endpoints).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UsageError } from '../core/contracts.ts';
import { parseDuration, parseTime } from '../core/time.ts';
import { fieldPath, parsePositionedYaml } from '../core/yaml-errors.ts';
import { sinkConfigSchema, type SinkConfig } from '../sinks/config.ts';
import { parseS3Url } from './s3-url.ts';

/** `30s`, `5m`, `200ms` (a duration string), or a number of milliseconds. */
const duration = z.union([z.number().int().positive(), z.string()]).transform((s, ctx) => {
  if (typeof s === 'number') return s;
  try {
    const ms = parseDuration(s);
    if (ms > 0) return ms;
    ctx.addIssue({ code: 'custom', message: 'must be longer than 0' });
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a duration (e.g. 200ms, 30s, 5m, 1h)` });
  }
  return z.NEVER;
});

const int = (min: number) => z.number().int().min(min);
/** More pipeline threads than this is a typo, not a machine (each thread holds its own engine, ~30 MB) */
export const MAX_WORKERS = 64;
const url = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as us-east-1');

/** TRIM_HORIZON, LATEST, or an ISO-8601 time (AT_TIMESTAMP). */
const initialPosition = z.string().transform((s, ctx) => {
  if (s === 'TRIM_HORIZON' || s === 'LATEST') return s;
  try {
    return { timestamp: parseTime(s) };
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be TRIM_HORIZON, LATEST or an ISO-8601 time (AT_TIMESTAMP)' });
    return z.NEVER;
  }
});

const kinesisSource = z.strictObject({
  type: z.literal('kinesis'),
  streamName: z.string().regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'must be a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)'),
  /** The KCL application name: the DynamoDB lease table's name and the default EFO consumer name */
  applicationName: z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -)'),
  initialPosition: initialPosition.default('TRIM_HORIZON'),
  /** Enhanced fan-out (SubscribeToShard) instead of GetRecords polling */
  efo: z.boolean().default(false),
  consumerName: z.string().min(1).optional(),
  /** Shortest time between two GetRecords calls on a shard (AWS allows 5/s per shard, shared by every consumer) */
  pollInterval: duration.default(200),
  /** Wait after an empty GetRecords response */
  idleInterval: duration.default(1000),
  /** GetRecords `Limit` (at most 10,000) */
  maxRecordsPerFetch: int(1).max(10_000).default(10_000),
  region: region.optional(),
  /** Kinesis endpoint (local or VPC); otherwise the SDK's (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, AWS) */
  endpoint: url.optional(),
  /** DynamoDB endpoint for the lease table; otherwise the SDK's (AWS_ENDPOINT_URL_DYNAMODB, …) */
  dynamodbEndpoint: url.optional(),
  workerId: z.string().min(1).optional(),
  /** A lease not renewed for this long is taken over by another worker */
  failover: duration.default(10_000),
  maxLeases: int(1).optional(),
  checkpointInterval: duration.default(5_000),
  /** Batches fetched and not yet processed and acknowledged (the backpressure bound) */
  maxPendingBatches: int(1).default(32),
  maxPendingBytes: int(1024).default(64 * 1024 * 1024),
  /** Transient AWS failures are retried this long before the service stops with an error */
  retryBudget: duration.default(30_000),
  callTimeout: duration.default(10_000),
});

const cloudwatchLogsSource = z.strictObject({
  type: z.literal('cloudwatch-logs'),
  /** Log group names or ARNs to follow with Live Tail */
  logGroups: z.array(z.string().min(1)).min(1, 'name at least one log group'),
  filterPattern: z.string().optional(),
  region: region.optional(),
  /** CloudWatch Logs endpoint; otherwise the SDK's (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL, AWS) */
  endpoint: url.optional(),
});

const sourceSchema = z.discriminatedUnion('type', [kinesisSource, cloudwatchLogsSource]);

const schema = z.strictObject({
  sources: z.array(sourceSchema).min(1, 'configure at least one source'),
  /** Detector pack (default: the shipped models/default.yaml) */
  models: z.string().min(1).optional(),
  sinks: z.array(sinkConfigSchema).min(1, 'configure at least one sink').default([{ type: 'stdout', format: 'text' }]),
  state: z
    .strictObject({
      /** Directory where baselines are restored from at start and snapshotted to (`baseline.json`, the `fnwatch train` format) */
      dir: z.string().min(1).optional(),
      /** Or an S3 prefix for the same file (`s3://bucket/prefix` → object `prefix/baseline.json`) */
      s3: z
        .string()
        .superRefine((s, ctx) => {
          try {
            parseS3Url(s);
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: (err as Error).message });
          }
        })
        .optional(),
      snapshotInterval: duration.default(300_000),
    })
    .superRefine((state, ctx) => {
      if (state.dir !== undefined && state.s3 !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['s3'], message: 'set state.dir or state.s3, not both' });
      } else if (state.dir === undefined && state.s3 === undefined) {
        ctx.addIssue({ code: 'custom', message: 'set state.dir (a directory) or state.s3 (an s3://bucket/prefix URL)' });
      }
    })
    .optional(),
  /** NDJSON file for records the pipeline cannot parse */
  deadLetters: z.string().min(1).optional(),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** 0 picks a free port (logged at start) */
      port: int(0).max(65535).default(9464),
      enabled: z.boolean().default(true),
    })
    .default({ host: '127.0.0.1', port: 9464, enabled: true }),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .default({ level: 'info' }),
  /** Wait this long for in-flight work at shutdown before giving up on it (it is read again on restart) */
  shutdownTimeout: duration.default(20_000),
  /**
   * Pipeline worker threads. 1 (default): the pipeline runs on the main thread. N > 1: N threads,
   * each holding a share of the functions (src/service/workers.ts), for streams one core cannot keep up with.
   */
  workers: int(1).max(MAX_WORKERS).default(1),
});

export type ServiceConfig = DeepReadonly<z.output<typeof schema>>;
export type SourceConfig = ServiceConfig['sources'][number];
export type KinesisSourceConfig = Extract<SourceConfig, { type: 'kinesis' }>;
export type LiveTailSourceConfig = Extract<SourceConfig, { type: 'cloudwatch-logs' }>;
export type { SinkConfig };

type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/**
 * Validates a config object (already parsed), filling defaults and freezing the result. Errors are
 * one {@link UsageError} listing each bad field.
 *
 * @example
 * const config = parseServiceConfig({ sources: [{ type: 'kinesis', streamName: 'logs', applicationName: 'fnwatch' }] });
 * config.sinks; // → [{ type: 'stdout', format: 'text' }]
 */
export function parseServiceConfig(raw: unknown, file = 'config'): ServiceConfig {
  const r = schema.safeParse(raw ?? {});
  if (!r.success) throw new UsageError(r.error.issues.map((i) => `${file}: ${describeIssue(i)}`).join('; '));
  return deepFreeze(r.data);
}

/**
 * Parses and validates YAML or JSON text; errors point at `file:line:col` and name the field.
 *
 * @example
 * parseServiceConfigText('sources:\n  - type: kinesis\n', 'config.yaml');
 * // throws UsageError: config.yaml:2:5: sources[0].streamName: Invalid input: expected string, received undefined; …
 */
export function parseServiceConfigText(text: string, file: string): ServiceConfig {
  const yaml = parsePositionedYaml(text, file);
  const raw = yaml.value;
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new UsageError(`${file}: the config must be a mapping (sources, sinks, state, …)`);
  }
  const r = schema.safeParse(raw ?? {});
  if (r.success) return deepFreeze(r.data);
  throw new UsageError(r.error.issues.map((issue) => `${yaml.locate(issue.path)}: ${describeIssue(issue)}`).join('; '));
}

/**
 * Reads and validates a config file (YAML or JSON).
 *
 * @example
 * const config = loadServiceConfig('/etc/fnwatch/config.yaml');
 */
export function loadServiceConfig(path: string): ServiceConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseServiceConfigText(text, path);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = fieldPath(issue.path);
  if (issue.code === 'unrecognized_keys') return `${field}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  if (issue.code === 'invalid_union' && 'discriminator' in issue) {
    return `${field}: type must be one of ${field.startsWith('sinks') ? 'webhook, file, stdout, collect' : 'kinesis, cloudwatch-logs'}`;
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return `${field}: Required`;
  return `${field}: ${issue.message}`;
}

function deepFreeze<T>(o: T): DeepReadonly<T> {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o as DeepReadonly<T>;
}
