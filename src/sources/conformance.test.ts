/**
 * Every source passes the same contract (conformance.ts), each against its real backing: files on
 * disk, kinesalite + dynalite, moto_server, and the local Live Tail event-stream server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll } from 'vitest';
import { createLogsClient } from './cloudwatch-logs/client.ts';
import { FilterLogEventsSource } from './cloudwatch-logs/filter.ts';
import { resolveLogGroups } from './cloudwatch-logs/groups.ts';
import { LiveTailSource } from './cloudwatch-logs/live-tail.ts';
import { putLogEvents, TRAIL_ACCOUNT, type WrittenEvent } from './cloudwatch-logs/testing/lambda-dataset.ts';
import { startLiveTailServer, testLogGroupArn, TEST_REGION, type LiveTailServer } from './cloudwatch-logs/testing/live-tail-server.ts';
import { startMoto, type Moto } from './cloudwatch-logs/testing/moto.ts';
import { RateLimiter } from './cloudwatch-logs/throttle.ts';
import { describeSourceConformance } from './conformance.ts';
import { openReplaySource } from './files/index.ts';
import { createDynamoClient, createKinesisClient } from './kinesis/clients.ts';
import { KinesisSource } from './kinesis/source.ts';
import { createStream, putRecords, useFakeAwsEnv } from './kinesis/testing/aws.ts';
import { startDynalite, startKinesalite, type LocalServer } from './kinesis/testing/servers.ts';

const restoreEnv = useFakeAwsEnv();
const dir = mkdtempSync(join(tmpdir(), 'fnwatch-conformance-'));
let kinesalite: LocalServer;
let dynalite: LocalServer;
let moto: Moto;
const liveTailServers: LiveTailServer[] = [];

beforeAll(async () => {
  [kinesalite, dynalite, moto] = await Promise.all([startKinesalite(), startDynalite(), startMoto()]);
});
afterAll(async () => {
  await Promise.all([kinesalite?.stop(), dynalite?.stop(), moto?.stop(), ...liveTailServers.map((s) => s.close())]);
  rmSync(dir, { recursive: true, force: true });
  restoreEnv();
});

/** Log events grouped per (group, stream) in time order, as CloudWatch Logs batches them for a subscription. */
function byStream(fixture: readonly WrittenEvent[]): Map<string, WrittenEvent[]> {
  const m = new Map<string, WrittenEvent[]>();
  for (const e of [...fixture].sort((a, b) => a.timestamp - b.timestamp)) {
    const k = `${e.logGroup}\n${e.logStream}`;
    m.set(k, [...(m.get(k) ?? []), e]);
  }
  return m;
}

/** Subscription DATA_MESSAGE payloads of at most 25 log events each. */
function subscriptionPayloads(fixture: readonly WrittenEvent[]): Buffer[] {
  const out: Buffer[] = [];
  let id = 0;
  for (const events of byStream(fixture).values()) {
    for (let i = 0; i < events.length; i += 25) {
      const chunk = events.slice(i, i + 25);
      const doc = {
        messageType: 'DATA_MESSAGE',
        owner: TRAIL_ACCOUNT,
        logGroup: chunk[0]!.logGroup,
        logStream: chunk[0]!.logStream,
        subscriptionFilters: ['fnwatch'],
        logEvents: chunk.map((e) => ({ id: String(++id).padStart(56, '0'), timestamp: e.timestamp, message: e.message })),
      };
      out.push(gzipSync(JSON.stringify(doc)));
    }
  }
  return out;
}

describeSourceConformance({
  name: 'files (log-event NDJSON)',
  bounded: true,
  async open(fixture, tag) {
    const path = join(dir, `${tag}.ndjson`);
    writeFileSync(path, fixture.map((e) => JSON.stringify(e)).join('\n') + '\n');
    return { source: openReplaySource([path], { batchSize: 40 }) };
  },
});

describeSourceConformance({
  name: 'files (Kinesis get-records dump, gzip)',
  bounded: true,
  async open(fixture, tag) {
    const path = join(dir, `${tag}.ndjson.gz`);
    const lines = subscriptionPayloads(fixture).map((data, i) =>
      JSON.stringify({ SequenceNumber: String(1000 + i), ApproximateArrivalTimestamp: 1_767_571_200 + i, Data: data.toString('base64'), PartitionKey: 'pk' }),
    );
    writeFileSync(path, gzipSync(lines.join('\n') + '\n'));
    return { source: openReplaySource([path], { batchSize: 5 }), owner: TRAIL_ACCOUNT, region: TEST_REGION };
  },
});

describeSourceConformance({
  name: 'Kinesis (kinesalite + dynalite leases)',
  bounded: false,
  async open(fixture, tag) {
    const kinesis = createKinesisClient({ endpoint: kinesalite.endpoint });
    const dynamodb = createDynamoClient({ endpoint: dynalite.endpoint });
    await createStream(kinesis, tag, 2);
    await putRecords(
      kinesis,
      tag,
      subscriptionPayloads(fixture).map((data, i) => ({ data, key: `pk-${i % 7}` })),
    );
    const source = new KinesisSource({
      stream: tag,
      application: `app-${tag}`,
      kinesis,
      dynamodb,
      failoverMs: 1_500,
      takeIntervalMs: 200,
      parentPollMs: 100,
      checkpointIntervalMs: 100,
      closeTimeoutMs: 500,
      polling: { idleIntervalMs: 100, minIntervalMs: 20, maxRecordsPerCall: 4 },
    });
    return { source, owner: TRAIL_ACCOUNT, region: TEST_REGION };
  },
});

describeSourceConformance({
  name: 'CloudWatch Logs FilterLogEvents (moto)',
  bounded: true,
  async open(fixture) {
    const logs = createLogsClient({ endpoint: moto.endpoint });
    await putLogEvents(logs, fixture);
    const groups = [...new Set(fixture.map((e) => e.logGroup))];
    const times = fixture.map((e) => e.timestamp);
    const refs = await resolveLogGroups(logs, { names: groups });
    const source = new FilterLogEventsSource(logs, {
      logGroups: refs,
      from: Math.min(...times),
      to: Math.max(...times) + 1,
      batchSize: 50,
      limiter: new RateLimiter(1000),
    });
    return { source, owner: TRAIL_ACCOUNT, region: TEST_REGION };
  },
});

describeSourceConformance({
  name: 'CloudWatch Logs Live Tail (event-stream server)',
  bounded: false,
  async open(fixture) {
    const groups = [...new Set(fixture.map((e) => e.logGroup))];
    const sorted = [...fixture].sort((a, b) => a.timestamp - b.timestamp);
    const server = await startLiveTailServer({
      logGroups: groups,
      onSession: (s) => {
        if (s.index > 0) return s.start(); // a reconnect gets no replay, as on the service
        s.start();
        for (let i = 0; i < sorted.length; i += 30) {
          s.update(
            sorted.slice(i, i + 30).map((e) => ({
              logGroupIdentifier: testLogGroupArn(e.logGroup),
              logStreamName: e.logStream,
              message: e.message,
              timestamp: e.timestamp,
              ingestionTime: e.timestamp + 5,
            })),
          );
        }
      },
    });
    liveTailServers.push(server);
    const source = new LiveTailSource(createLogsClient({ endpoint: server.endpoint }), { logGroups: groups, backoff: { baseMs: 5, maxMs: 20 } });
    return { source, owner: TRAIL_ACCOUNT, region: TEST_REGION };
  },
});
