/**
 * Test helpers around the local servers: fake AWS settings, clients, streams, records, and fault
 * injection into a real SDK client (the emulators never throttle and never expire iterators within
 * a test's lifetime).
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDynamoClient, createKinesisClient } from '../clients.ts';

/**
 * Static fake credentials and a region, no instance metadata and no config files: also the whole
 * AWS environment of the child processes tests start.
 *
 * @example
 * spawn(process.execPath, [BIN, 'run'], { env: { PATH: process.env.PATH, ...FAKE_AWS_ENV } });
 */
export const FAKE_AWS_ENV = Object.freeze({
  AWS_ACCESS_KEY_ID: 'AKIAFNWATCHTEST00000',
  AWS_SECRET_ACCESS_KEY: 'fnwatch-test-secret',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

/**
 * Applies {@link FAKE_AWS_ENV} and removes every setting that could point the SDK at a real account
 * or endpoint. Returns a function that restores the previous values.
 *
 * @example
 * const restore = useFakeAwsEnv();
 * afterAll(restore);
 */
export function useFakeAwsEnv(): () => void {
  const names = [
    ...Object.keys(FAKE_AWS_ENV),
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_DEFAULT_REGION',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_KINESIS',
    'AWS_ENDPOINT_URL_DYNAMODB',
    'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
    'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  ];
  const saved = new Map(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, FAKE_AWS_ENV);
  return () => {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  };
}

/**
 * Clients for local servers (explicit endpoints, fake environment credentials).
 *
 * @example
 * const { kinesis, dynamodb } = localClients(kinesalite.endpoint, dynalite.endpoint);
 */
export function localClients(kinesisEndpoint: string, dynamoEndpoint: string): { kinesis: KinesisClient; dynamodb: DynamoDBClient } {
  return {
    kinesis: createKinesisClient({ endpoint: kinesisEndpoint, region: 'us-east-1' }),
    dynamodb: createDynamoClient({ endpoint: dynamoEndpoint, region: 'us-east-1' }),
  };
}

/**
 * Waits until the stream is ACTIVE.
 *
 * @example
 * await kinesis.send(new SplitShardCommand(input));
 * await waitActive(kinesis, 'fnwatch-logs');
 */
export async function waitActive(kinesis: KinesisClient, stream: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const out = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      if (out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    }
    if (Date.now() > deadline) throw new Error(`stream ${stream} not ACTIVE after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Creates a stream and waits until it is ACTIVE.
 *
 * @example
 * await createStream(kinesis, 'fnwatch-logs', 4);
 */
export async function createStream(kinesis: KinesisClient, stream: string, shards: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  await waitActive(kinesis, stream);
}

/** A test record: its payload and partition key. */
export interface TestRecord {
  data: string | Uint8Array;
  key: string;
}

/**
 * Puts records in order (500 per call) and returns, for each, the shard and sequence number it got.
 * A partial failure throws: the tests need every record placed.
 *
 * @example
 * const placed = await putRecords(kinesis, 'fnwatch-logs', [{ data: 'hello', key: 'k1' }]);
 */
export async function putRecords(kinesis: KinesisClient, stream: string, records: readonly TestRecord[]): Promise<{ shard: string; sequence: string }[]> {
  const placed: { shard: string; sequence: string }[] = [];
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    const entries: PutRecordsRequestEntry[] = chunk.map((r) => ({
      Data: typeof r.data === 'string' ? new TextEncoder().encode(r.data) : r.data,
      PartitionKey: r.key,
    }));
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
    if (out.FailedRecordCount) throw new Error(`PutRecords: ${out.FailedRecordCount} records failed`);
    for (const r of out.Records ?? []) placed.push({ shard: r.ShardId!, sequence: r.SequenceNumber! });
  }
  return placed;
}

/** What a fault-injection rule sees about a call. */
export interface CallInfo {
  /** Command name without `Command`: `GetRecords`, `SubscribeToShard`, … */
  operation: string;
  input: Record<string, unknown>;
  /** 1-based count of calls of this operation so far */
  n: number;
  /** performance.now() at the call */
  at: number;
}

/**
 * Adds a middleware in front of the SDK's own retries: `rule` sees every call and may return an error
 * to throw instead of sending it. Every call is logged. Returns the log.
 *
 * @example
 * const calls = injectFaults(kinesis, (c) => (c.operation === 'GetRecords' && c.n <= 3 ? throttled() : undefined));
 */
export function injectFaults(client: KinesisClient | DynamoDBClient, rule: (call: CallInfo) => Error | undefined = () => undefined): CallInfo[] {
  const log: CallInfo[] = [];
  const counts = new Map<string, number>();
  (client as KinesisClient).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? '').replace(/Command$/, '');
      const n = (counts.get(operation) ?? 0) + 1;
      counts.set(operation, n);
      const call: CallInfo = { operation, input: args.input as Record<string, unknown>, n, at: performance.now() };
      log.push(call);
      const fault = rule(call);
      if (fault) throw fault;
      return next(args);
    },
    { step: 'initialize', name: 'fnwatchFaultInjection', override: true },
  );
  return log;
}
