/**
 * Test fixtures for the file source: tiny recordings in every replay format, written to a
 * temporary directory, plain or gzip. Payloads are real CloudWatch Logs subscription messages
 * (gzip, base64), so the parser reads them like data from a real stream.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A temporary directory with a helper to write files into it; `remove()` deletes it. */
export interface FixtureDir {
  dir: string;
  /** Writes `content` to `name` (gzip-compressed when `gzip`), returns the path. */
  write(name: string, content: string | Buffer, gzip?: boolean): string;
  remove(): void;
}

/**
 * @example
 * const fx = fixtureDir();
 * const path = fx.write('dump.ndjson.gz', kinesisNdjson([...]), true);
 */
export function fixtureDir(prefix = 'fnwatch-files-'): FixtureDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, content, gzip = false) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, gzip ? gzipSync(content) : content);
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface FixtureLogEvent {
  id?: string;
  timestamp: number;
  message: string;
}

/**
 * `base64(gzip(DATA_MESSAGE))`, as `aws kinesis get-records` prints a subscription record's Data.
 *
 * @example
 * subscriptionData('/aws/lambda/orders', '2024/01/01/[$LATEST]abc', [{ timestamp: t, message: reportLine('r1', 12) }]);
 */
export function subscriptionData(logGroup: string, logStream: string, events: FixtureLogEvent[], owner = '111111111111'): string {
  const message = {
    messageType: 'DATA_MESSAGE',
    owner,
    logGroup,
    logStream,
    subscriptionFilters: ['fnwatch'],
    logEvents: events.map((e, i) => ({ id: e.id ?? `${e.timestamp}${String(i).padStart(40, '0')}`, timestamp: e.timestamp, message: e.message })),
  };
  return gzipSync(JSON.stringify(message)).toString('base64');
}

/** A Lambda REPORT line for one invocation. */
export function reportLine(requestId: string, durationMs: number): string {
  return `REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${Math.ceil(durationMs)} ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\t\n`;
}

/** One `aws kinesis get-records` Records[] entry (arrival in epoch seconds, as the CLI prints it). */
export function kinesisEntry(sequence: string, arrivalMs: number, data: string): Record<string, unknown> {
  return { SequenceNumber: sequence, ApproximateArrivalTimestamp: arrivalMs / 1000, Data: data, PartitionKey: 'pk' };
}

/**
 * A Kinesis dump line whose payload holds one REPORT line from `fn` at time `t`.
 *
 * @example
 * const lines = [1, 2, 3].map((i) => invocationRecord('orders', `${i}`, t0 + i * 1000));
 */
export function invocationRecord(fn: string, sequence: string, t: number): Record<string, unknown> {
  const data = subscriptionData(`/aws/lambda/${fn}`, '2024/01/01/[$LATEST]0f1e2d3c', [{ timestamp: t, message: reportLine(`req-${sequence}`, 25) }]);
  return kinesisEntry(sequence, t + 200, data);
}

/** NDJSON text of values. */
export function ndjson(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join('\n') + '\n';
}

/** A CloudTrail record of an assumed-role Lambda session calling `action` at `time` (ISO). */
export function cloudTrailRecord(fn: string, eventName: string, time: string, eventID: string): Record<string, unknown> {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE:${fn}`,
      arn: `arn:aws:sts::111111111111:assumed-role/${fn}-role/${fn}`,
      accountId: '111111111111',
      sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::111111111111:role/${fn}-role`, userName: `${fn}-role` } },
    },
    eventTime: time,
    eventSource: 's3.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '3.80.12.34',
    userAgent: 'aws-sdk-js/3.451.0 exec-env/AWS_Lambda_nodejs20.x',
    requestParameters: { bucketName: 'orders-data', key: 'a/b.json' },
    eventID,
    readOnly: true,
    resources: [{ type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::orders-data' }],
    eventType: 'AwsApiCall',
    recipientAccountId: '111111111111',
  };
}
