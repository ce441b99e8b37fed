import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FnwatchError, UsageError } from '../../core/contracts.ts';
import { createDynamoClient, createKinesisClient } from './clients.ts';
import { KinesisSource, type KinesisSourceOptions } from './source.ts';
import { collect } from './testing/collect.ts';
import { createStream, putRecords, useFakeAwsEnv } from './testing/aws.ts';
import { startDenyProxy } from './testing/deny-proxy.ts';
import { freePort, startDynalite, startKinesalite, type LocalServer } from './testing/servers.ts';

let restoreEnv: () => void;
let kinesalite: LocalServer;
let dynalite: LocalServer;
let kinesis: ReturnType<typeof createKinesisClient>;
let dynamodb: ReturnType<typeof createDynamoClient>;
let n = 0;
const sources: KinesisSource[] = [];

beforeAll(async () => {
  restoreEnv = useFakeAwsEnv();
  [kinesalite, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
  kinesis = createKinesisClient({ endpoint: kinesalite.endpoint });
  dynamodb = createDynamoClient({ endpoint: dynalite.endpoint });
});
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  kinesis.destroy();
  dynamodb.destroy();
  await Promise.all([kinesalite.stop(), dynalite.stop()]);
  restoreEnv();
});

function source(opts: Partial<KinesisSourceOptions>): KinesisSource {
  const s = new KinesisSource({
    stream: `err-${++n}`,
    application: `app-err-${n}`,
    kinesisEndpoint: kinesalite.endpoint,
    dynamodbEndpoint: dynalite.endpoint,
    failoverMs: 1_500,
    takeIntervalMs: 300,
    polling: { idleIntervalMs: 100, minIntervalMs: 20 },
    ...opts,
  });
  sources.push(s);
  return s;
}

/** The error `batches()` ends with, and how long it took. */
async function failure(s: KinesisSource): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    for await (const b of s.batches()) await b.ack();
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('batches() ended without an error');
}

describe('KinesisSource failures', () => {
  it('names a stream that does not exist, at once', async () => {
    const s = source({ stream: 'no-such-stream' });
    const { error, ms } = await failure(s);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^Kinesis stream "no-such-stream" does not exist \(or was deleted\) at http:\/\/127\.0\.0\.1:\d+: ListShards/);
    expect(ms).toBeLessThan(3_000);
  });

  it('ends with an error naming the stream when it is deleted while being read', async () => {
    const stream = `deleted-${++n}`;
    await createStream(kinesis, stream, 2);
    await putRecords(kinesis, stream, [{ data: 'a', key: 'k' }]);
    const s = source({ stream });
    const c = collect(s);
    await expect.poll(() => c.records.length, { timeout: 5_000 }).toBe(1);
    const started = performance.now();
    await kinesis.send(new DeleteStreamCommand({ StreamName: stream }));
    await c.done;
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(c.error).toBeInstanceOf(FnwatchError);
    expect((c.error as Error).message).toMatch(new RegExp(`Kinesis stream "${stream}" does not exist \\(or was deleted\\)`));
  });

  it('names a Kinesis endpoint that refuses connections, within seconds', async () => {
    const port = await freePort();
    const { error, ms } = await failure(source({ kinesisEndpoint: `http://127.0.0.1:${port}` }));
    expect(error).toBeInstanceOf(FnwatchError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port} for ListShards on Kinesis stream "err-\\d+": ECONNREFUSED`));
    expect(ms).toBeLessThan(5_000);
  });

  it('names a lease-table endpoint that refuses connections, within seconds', async () => {
    const port = await freePort();
    const { error, ms } = await failure(source({ dynamodbEndpoint: `http://127.0.0.1:${port}` }));
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port} for DescribeTable on lease table "app-err-\\d+": ECONNREFUSED`));
    expect(ms).toBeLessThan(5_000);
  });

  it('does not hang on an endpoint that accepts connections and never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const { error, ms } = await failure(source({ kinesisEndpoint: endpoint, callTimeoutMs: 800 }));
      expect((error as Error).message).toBe(`cannot reach ${endpoint} for ListShards on Kinesis stream "err-${n}": TimeoutError: no answer within 800 ms`);
      expect(ms).toBeLessThan(3_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('says when the lease table may not be used (AccessDenied)', async () => {
    const proxy = await startDenyProxy(dynalite.endpoint, ['DescribeTable', 'CreateTable']);
    try {
      const { error, ms } = await failure(source({ dynamodbEndpoint: proxy.endpoint }));
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(
        new RegExp(`^no permission for DescribeTable on lease table "app-err-\\d+" at ${proxy.endpoint}: AccessDeniedException: User: .* is not authorized to perform: dynamodb:DescribeTable`),
      );
      expect(ms).toBeLessThan(3_000);
      expect(proxy.denied).toContain('DescribeTable');
    } finally {
      await proxy.close();
    }
  });

  it('ends with an error naming the lease table when it is deleted under a running worker', async () => {
    const stream = `table-gone-${++n}`;
    const application = `app-gone-${n}`;
    await createStream(kinesis, stream, 1);
    const s = source({ stream, application, failoverMs: 600 });
    const c = collect(s);
    await expect.poll(() => Object.keys(s.stats().shards).length, { timeout: 5_000 }).toBe(1);
    await dynamodb.send(new DeleteTableCommand({ TableName: application }));
    await c.done;
    expect(c.error).toBeInstanceOf(UsageError);
    expect((c.error as Error).message).toContain(`lease table "${application}" does not exist at ${dynalite.endpoint}`);
  });

  it('finds its endpoints in AWS_ENDPOINT_URL_KINESIS and AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const stream = `env-${++n}`;
    await createStream(kinesis, stream, 1);
    const placed = await putRecords(kinesis, stream, [{ data: 'via env', key: 'k' }]);
    process.env.AWS_ENDPOINT_URL_KINESIS = kinesalite.endpoint;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynalite.endpoint;
    try {
      const s = new KinesisSource({ stream, application: `app-env-${n}`, polling: { idleIntervalMs: 100 } });
      sources.push(s);
      const c = collect(s);
      await expect.poll(() => c.records.map((r) => r.sequence), { timeout: 5_000 }).toEqual([placed[0]!.sequence]);
      expect(c.records[0]!.data).toBe('via env');
    } finally {
      delete process.env.AWS_ENDPOINT_URL_KINESIS;
      delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    }
  });
});
