/**
 * A small, hand-shaped Lambda log dataset in wire form (START/END/REPORT text lines and fnwatch
 * egress lines, per log group and log stream), and a loader that puts it into CloudWatch Logs
 * (moto) with PutLogEvents. Seeded and deterministic; every timestamp is unique across the whole
 * dataset so that any event-time order of it is the same order.
 */
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  type CloudWatchLogsClient,
} from '@aws-sdk/client-cloudwatch-logs';

export const MIN = 60_000;
/** The CloudTrail log group and account of generated API calls (moto's default account). */
export const TRAIL_GROUP = 'aws-cloudtrail-logs-123456789012';
export const TRAIL_ACCOUNT = '123456789012';
export const HOUR = 3_600_000;

/** One log event as written (no id: CloudWatch assigns it). */
export interface WrittenEvent {
  logGroup: string;
  logStream: string;
  timestamp: number;
  message: string;
}

/** mulberry32 */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds a dataset; `take` keeps timestamps unique across everything added.
 *
 * @example
 * const w = new LambdaLogWriter();
 * w.steady('orders-api', t0, t0 + 3_600_000, 60);
 * w.egress('orders-api', t0 + 60_000, 'api.stripe.com', 443);
 * await putLogEvents(client, w.events);
 */
export class LambdaLogWriter {
  readonly events: WrittenEvent[] = [];
  private readonly used = new Set<number>();
  private readonly rand: () => number;
  private seq = 0;

  constructor(seed = 7) {
    this.rand = prng(seed);
  }

  private take(t: number): number {
    let ts = Math.floor(t);
    while (this.used.has(ts)) ts++;
    this.used.add(ts);
    return ts;
  }

  /** A log stream name as Lambda writes it: `YYYY/MM/DD/[version]<32 hex>`. */
  stream(t: number, version = '$LATEST', n = 0): string {
    const d = new Date(t).toISOString().slice(0, 10).replace(/-/g, '/');
    return `${d}/[${version}]${(n + 1).toString(16).padStart(32, 'a')}`;
  }

  /** One invocation: START, END and REPORT lines; the REPORT lands `durationMs` after `t`. */
  invocation(fn: string, t: number, opts: { durationMs?: number; stream?: string; version?: string; status?: 'timeout' } = {}): void {
    const group = `/aws/lambda/${fn}`;
    const version = opts.version ?? '$LATEST';
    const logStream = opts.stream ?? this.stream(t, version);
    const id = `${(this.seq++).toString(16).padStart(8, '0')}-0000-4000-8000-${fn.length.toString(16).padStart(12, '0')}`;
    const d = opts.durationMs ?? 80 + this.rand() * 40;
    const start = this.take(t);
    const end = this.take(start + d);
    this.events.push({ logGroup: group, logStream, timestamp: start, message: `START RequestId: ${id} Version: ${version}\n` });
    this.events.push({ logGroup: group, logStream, timestamp: end, message: `END RequestId: ${id}\n` });
    const status = opts.status === 'timeout' ? '\tStatus: timeout' : '';
    this.events.push({
      logGroup: group,
      logStream,
      timestamp: this.take(end),
      message: `REPORT RequestId: ${id}\tDuration: ${d.toFixed(2)} ms\tBilled Duration: ${Math.ceil(d)} ms\tMemory Size: 256 MB\tMax Memory Used: 71 MB\t${status}\n`,
    });
  }

  /** An egress line from fnwatch's in-function instrumentation. */
  egress(fn: string, t: number, host: string, port: number, stream?: string): void {
    const group = `/aws/lambda/${fn}`;
    this.events.push({
      logGroup: group,
      logStream: stream ?? this.stream(t),
      timestamp: this.take(t),
      message: `{"fnwatch":"egress","host":"${host}","port":${port},"proto":"tls"}\n`,
    });
  }

  /**
   * A CloudTrail record of an API call made by a function's code (assumed-role session named after
   * the function, Lambda user agent), as CloudTrail writes it into a log group.
   */
  apiCall(fn: string, t: number, eventSource: string, eventName: string, resourceArns: string[], group = TRAIL_GROUP): void {
    const ts = this.take(t);
    const record = {
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: `AROAEXAMPLE:${fn}`,
        arn: `arn:aws:sts::${TRAIL_ACCOUNT}:assumed-role/${fn}-role/${fn}`,
        accountId: TRAIL_ACCOUNT,
        sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${TRAIL_ACCOUNT}:role/${fn}-role`, accountId: TRAIL_ACCOUNT, userName: `${fn}-role` } },
      },
      eventTime: new Date(ts).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource,
      eventName,
      awsRegion: 'us-east-1',
      sourceIPAddress: '3.80.12.34',
      userAgent: 'aws-sdk-js/3.451.0 lang/js md/nodejs#20.10.0 exec-env/AWS_Lambda_nodejs20.x',
      requestParameters: null,
      responseElements: null,
      eventID: `e${ts.toString(16)}-0000-4000-8000-${(this.seq++).toString(16).padStart(12, '0')}`,
      readOnly: true,
      resources: resourceArns.map((ARN) => ({ ARN })),
      eventType: 'AwsApiCall',
      managementEvent: false,
      recipientAccountId: TRAIL_ACCOUNT,
    };
    this.events.push({ logGroup: group, logStream: `${TRAIL_ACCOUNT}_CloudTrail_us-east-1`, timestamp: ts, message: JSON.stringify(record) });
  }

  /** `count` invocations spread evenly over [from, to), round-robin over `streams` execution environments. */
  steady(fn: string, from: number, to: number, count: number, opts: { durationMs?: () => number; streams?: number } = {}): void {
    const step = (to - from) / count;
    for (let i = 0; i < count; i++) {
      const t = from + i * step + this.rand() * step * 0.5;
      const stream = opts.streams ? this.stream(from, '$LATEST', i % opts.streams) : undefined;
      this.invocation(fn, t, { durationMs: opts.durationMs?.(), stream });
    }
  }

  /** Events sorted by time (they are unique, so this order is total). */
  sorted(): WrittenEvent[] {
    return [...this.events].sort((a, b) => a.timestamp - b.timestamp);
  }
}

/**
 * The investigation scenario: `orders-api` busy and steady (reading S3 every hour, per CloudTrail in
 * {@link TRAIL_GROUP}), `billing-cron` nearly silent; then after `learnHours` orders-api reaches a
 * new egress host, reads a secret it never read, and surges, and billing-cron wakes up. Starts at `t0`; `learnHours + 6` hours long.
 *
 * @example
 * const w = investigationScenario(Math.floor((Date.now() - 2 * 86_400_000) / HOUR) * HOUR);
 * await putLogEvents(client, w.events);
 */
export function investigationScenario(t0: number, learnHours = 24): LambdaLogWriter {
  const w = new LambdaLogWriter(11);
  const end = t0 + (learnHours + 6) * HOUR;
  w.steady('orders-api', t0, end, (learnHours + 6) * 60);
  for (let t = t0 + 2 * MIN; t < end; t += 5 * MIN) w.egress('orders-api', t, 'api.stripe.com', 443);
  for (let t = t0 + 30 * MIN; t < t0 + learnHours * HOUR; t += 8 * HOUR) w.invocation('billing-cron', t);
  for (let t = t0 + 10 * MIN; t < end; t += HOUR) w.apiCall('orders-api', t, 's3.amazonaws.com', 'GetObject', ['arn:aws:s3:::orders-data/invoices']);
  const after = t0 + learnHours * HOUR;
  w.apiCall('orders-api', after + 2 * HOUR + 20 * MIN, 'secretsmanager.amazonaws.com', 'GetSecretValue', [
    `arn:aws:secretsmanager:us-east-1:${TRAIL_ACCOUNT}:secret:prod/db-admin-AbCdEf`,
  ]);
  w.egress('orders-api', after + 2 * HOUR + 17 * MIN, 'exfil.example.net', 8443);
  // A surge that holds for eight minutes: 50 invocations a minute where one a minute is normal (its
  // denial-of-wallet alert opens medium and is updated to high once the rate has held five minutes).
  for (let i = 0; i < 400; i++) w.invocation('orders-api', after + 3 * HOUR + (i * 8 * MIN) / 400, { stream: w.stream(after, '$LATEST', 9) });
  for (let i = 0; i < 40; i++) w.invocation('billing-cron', after + 4 * HOUR + i * 15_000, { stream: w.stream(after, '$LATEST', 3) });
  return w;
}

/**
 * Creates the groups and streams and writes the events with PutLogEvents (chronological batches per
 * stream, at most 10,000 events each). Throws if the service rejects any event (too old, too new),
 * so a test never runs on silently missing data.
 *
 * @example
 * await putLogEvents(client, writer.events);
 */
export async function putLogEvents(client: CloudWatchLogsClient, events: readonly WrittenEvent[]): Promise<void> {
  const byStream = new Map<string, WrittenEvent[]>();
  for (const e of events) {
    const key = `${e.logGroup}\u0000${e.logStream}`;
    let list = byStream.get(key);
    if (!list) byStream.set(key, (list = []));
    list.push(e);
  }
  const groups = new Set(events.map((e) => e.logGroup));
  for (const g of groups) {
    await client.send(new CreateLogGroupCommand({ logGroupName: g })).catch((err: { name?: string }) => {
      if (err.name !== 'ResourceAlreadyExistsException') throw err;
    });
  }
  for (const list of byStream.values()) {
    const { logGroup, logStream } = list[0]!;
    await client.send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: logStream })).catch((err: { name?: string }) => {
      if (err.name !== 'ResourceAlreadyExistsException') throw err;
    });
    list.sort((a, b) => a.timestamp - b.timestamp);
    for (let i = 0; i < list.length; i += 10_000) {
      const chunk = list.slice(i, i + 10_000);
      const res = await client.send(
        new PutLogEventsCommand({
          logGroupName: logGroup,
          logStreamName: logStream,
          logEvents: chunk.map((e) => ({ timestamp: e.timestamp, message: e.message })),
        }),
      );
      const rejected = res.rejectedLogEventsInfo;
      if (rejected && Object.values(rejected).some((v) => v !== undefined)) {
        throw new Error(`PutLogEvents rejected events of ${logGroup} ${logStream}: ${JSON.stringify(rejected)}`);
      }
    }
  }
}
