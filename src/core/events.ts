/**
 * The normalized event model. Every parser produces these; every later stage (profiler, detectors,
 * scorer) consumes only these. No I/O here.
 *
 * Every metric is optional: real logs omit fields (Lambda Managed Instances report only `durationMs`,
 * SnapStart reports `restoreDurationMs` instead of `initDurationMs`, CloudTrail omits `resources`).
 */

/** Where a piece of input came from, so a dead letter or an alert can point back at it. */
export interface Position {
  /** Input file (replay) */
  file?: string;
  /** 1-based line number in `file` (NDJSON inputs) */
  line?: number;
  /** 0-based index of the record inside a file or a batch */
  record?: number;
  /** Kinesis shard id and sequence number (service) */
  shard?: string;
  sequence?: string;
  /** CloudWatch Logs event id */
  logEventId?: string;
  /** Log group (CloudWatch Logs sources) */
  logGroup?: string;
}

/**
 * One CloudWatch Logs log event, as it comes out of a subscription payload, FilterLogEvents, live tail
 * or an NDJSON recording. `message` is the raw line.
 */
export interface LogEvent {
  logGroup: string;
  logStream: string;
  /** Account id: the subscription payload's `owner` */
  owner?: string;
  /** Region, when the source knows it (stream ARN, configuration) */
  region?: string;
  /** CloudWatch log event id (56-digit string in AWS, a small number in moto): the dedupe key */
  id?: string;
  /** Event time, epoch ms */
  timestamp: number;
  message: string;
}

/**
 * Identity of a function. `key()` of this (see {@link functionKey}) is what profiles are keyed by.
 * `account`/`region` are absent when the input does not tell them.
 */
export interface FunctionRef {
  name: string;
  account?: string;
  region?: string;
  /** Unqualified function ARN when known (CloudTrail, config); never with a version suffix */
  arn?: string;
}

/** Log format the event was read from (a function can switch between them at any time). */
export type LogFormat = 'text' | 'json';

/** How an invocation ended. */
export type InvocationStatus = 'success' | 'error' | 'timeout' | 'crash';

interface EventBase {
  /** Event time, epoch ms */
  time: number;
  fn: FunctionRef;
  /** Dedupe key of the delivery that produced the event (CloudWatch event id, CloudTrail eventID) */
  id?: string;
}

/** One finished invocation: from a REPORT line (text) or a `platform.report` record (JSON). */
export interface InvocationEvent extends EventBase {
  kind: 'invocation';
  requestId?: string;
  /** `$LATEST` or a number, from START/platform.start/initStart or the log stream's `[version]` */
  version?: string;
  durationMs?: number;
  billedDurationMs?: number;
  memorySizeMB?: number;
  maxMemoryUsedMB?: number;
  /** Present on the first request an environment serves: a cold start */
  initDurationMs?: number;
  /** SnapStart restore */
  restoreDurationMs?: number;
  status: InvocationStatus;
  errorType?: string;
  format: LogFormat;
}

/** One AWS API call made by a function's code (CloudTrail, attributed by assumed-role session name). */
export interface ResourceAccessEvent extends EventBase {
  kind: 'resource_access';
  /** Execution role name */
  role?: string;
  /** Short service name: `s3`, `dynamodb`, `secretsmanager`, … (eventSource without `.amazonaws.com`) */
  service: string;
  /** `service:EventName`, e.g. `s3:GetObject` */
  action: string;
  /** Resource ARNs or ARN-like keys (S3 object keys truncated to a prefix); may be empty */
  resources: string[];
  errorCode?: string;
  sourceIp?: string;
  userAgent?: string;
  readOnly?: boolean;
}

/** How an egress observation was made. */
export type EgressVia = 'instrumentation' | 'resolver' | 'flow';

/** One outbound connection (or DNS resolution) by a function. */
export interface EgressEvent extends EventBase {
  kind: 'egress';
  /** Hostname (lower case, no trailing dot) or IP literal */
  host: string;
  port?: number;
  /** `tcp`, `udp`, `tls`, `http`, `dns` … */
  protocol?: string;
  via: EgressVia;
  bytes?: number;
}

/** What kind of change a {@link ChangeEvent} is. */
export type ChangeType = 'create' | 'code' | 'config' | 'publish' | 'permission' | 'delete' | 'version';

/**
 * A change to a function: CloudTrail management events, or a `Version` in START/platform.start that
 * differs from the last one seen for the function.
 */
export interface ChangeEvent extends EventBase {
  kind: 'change';
  change: ChangeType;
  /** New version, when known */
  version?: string;
  /** Who made the change (CloudTrail userIdentity.arn) */
  actor?: string;
  /** CloudTrail eventName, or `START Version` */
  detail?: string;
}

/** Any normalized event. Switch on `kind`. */
export type FnEvent = InvocationEvent | ResourceAccessEvent | EgressEvent | ChangeEvent;
export type FnEventKind = FnEvent['kind'];
export const EVENT_KINDS: readonly FnEventKind[] = ['invocation', 'resource_access', 'egress', 'change'];

/**
 * The key profiles and alerts are indexed by: `account/region/name`, with `-` for an unknown part.
 *
 * @example
 * functionKey({ name: 'orders-api', account: '111111111111', region: 'us-east-1' })
 * // → '111111111111/us-east-1/orders-api'
 */
export function functionKey(fn: FunctionRef): string {
  return `${fn.account ?? '-'}/${fn.region ?? '-'}/${fn.name}`;
}

/**
 * The unqualified ARN of a function when account and region are known.
 *
 * @example
 * functionArn({ name: 'f', account: '111111111111', region: 'eu-west-1' })
 * // → 'arn:aws:lambda:eu-west-1:111111111111:function:f'
 */
export function functionArn(fn: FunctionRef): string | undefined {
  if (fn.arn) return fn.arn;
  if (!fn.account || !fn.region) return undefined;
  return `arn:aws:lambda:${fn.region}:${fn.account}:function:${fn.name}`;
}

/** A record or log event that could not be decoded or parsed, with the reason and where it was. */
export interface DeadLetter {
  /** Short machine-readable reason class, e.g. `bad-base64`, `bad-gzip`, `bad-json`, `bad-field` */
  reason: string;
  /** Human-readable detail (the parser's error message) */
  detail?: string;
  position: Position;
  /** The offending input, truncated to a few KB so a 1 MB line does not make a 1 MB dead letter */
  raw?: string;
  /** Wall-clock or event time at which it was dead-lettered (epoch ms) */
  time?: number;
}

/** Cap on the raw sample kept in a dead letter. */
export const DEAD_LETTER_RAW_MAX = 4096;

/** Truncates raw input for a {@link DeadLetter}. */
export function deadLetterSample(raw: string | Uint8Array | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const s = typeof raw === 'string' ? raw : Buffer.from(raw.subarray(0, DEAD_LETTER_RAW_MAX)).toString('base64');
  return s.length > DEAD_LETTER_RAW_MAX ? s.slice(0, DEAD_LETTER_RAW_MAX) + `…[${s.length} chars]` : s;
}
