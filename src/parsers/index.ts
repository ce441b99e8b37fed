/**
 * The telemetry parsers' entry point. Parsers are pure: raw input in, normalized events (or a dead
 * letter, an ignored count, a control message) out through a {@link ParseSink}; they never throw on data.
 *
 * What is read: CloudWatch Logs subscription payloads (base64/gzip/JSON), Lambda platform and app
 * logs (text and JSON), CloudTrail records (log files or a CloudTrail log group), fnwatch's egress
 * instrumentation lines, VPC flow logs and Route 53 Resolver query logs.
 */
import type { LogEvent, Position } from '../core/events.ts';
import type { ParseSink } from '../core/parse-sink.ts';
import { TelemetryParser } from './parser.ts';
import { decodePayload as decodeFloor } from './envelope.ts';

export interface ParserOptions {
  /** log groups whose messages are CloudTrail records (also detected by content: a JSON object with eventVersion+eventSource) */
  cloudTrailLogGroups?: string[];
  /** VPC flow log / Route 53 Resolver query log groups, and the custom flow-log format (`${version} ${account-id} ...`); default v2 format */
  flowLogGroups?: string[];
  resolverLogGroups?: string[];
  flowLogFormat?: string;
  /** attribution for flow/resolver logs, which name an interface, not a function: ENI id, private IP or security group -> function name(s) */
  networkMap?: { eni?: Record<string, string[]>; ip?: Record<string, string[]>; securityGroup?: Record<string, string[]> };
  /** default region when the input does not say (e.g. from the stream ARN or AWS_REGION) */
  region?: string;
  /** how many delivery ids (CloudWatch event id, CloudTrail eventID) to remember for dedupe; default 200_000; 0 disables */
  dedupeIds?: number;
  /**
   * attribute CloudTrail sessions to functions only when this says the (account, name) is a function.
   * A `userAgent` with `exec-env/AWS_Lambda` attributes regardless; with no predicate at all, every
   * assumed-role session that is not an EC2 instance, SDK default or Lambda service session is taken
   * to be a function (no inventory means no way to tell).
   */
  isKnownFunction?: (account: string | undefined, name: string) => boolean;
}

export interface Parser {
  /** one subscription payload / Kinesis record Data: Uint8Array (gzip or JSON bytes) or string (base64 of gzip, or JSON text) */
  payload(data: Uint8Array | string, pos: Position, out: ParseSink): void;
  /** one already-split CloudWatch Logs event */
  logEvent(le: LogEvent, pos: Position, out: ParseSink): void;
  /** one CloudTrail record object (from a CloudTrail log file's Records[]) */
  cloudTrailRecord(rec: unknown, pos: Position, out: ParseSink): void;
}

/**
 * A parser with its own bounded state (dedupe window, per-stream and per-function memory). Use one
 * per pipeline; state carries across calls, which is what makes dedupe and REPORT status work.
 * Throws `UsageError` on bad options (an invalid `flowLogFormat`, a negative `dedupeIds`).
 *
 * @example
 * const parser = createParser({ region: 'us-east-1', cloudTrailLogGroups: ['aws-cloudtrail-logs'] });
 * parser.payload(record.Data, { shard: 'shardId-000000000000', sequence: record.SequenceNumber }, sink);
 */
export function createParser(opts?: ParserOptions): Parser {
  return new TelemetryParser(opts);
}

/**
 * decode-only floor for benchmarks: base64 (if string) + gunzip (if gzip magic) + JSON.parse; returns the parsed object
 *
 * @example
 * const doc = decodePayload(gzipSync(JSON.stringify({ messageType: 'CONTROL_MESSAGE' })));
 * // → { messageType: 'CONTROL_MESSAGE' }
 */
export function decodePayload(data: Uint8Array | string): unknown {
  return decodeFloor(data);
}
