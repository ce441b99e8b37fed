import { ListShardsCommand, MergeShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient, createKinesisClient } from './clients.ts';
import { LeaseTable, SHARD_END } from './lease-table.ts';
import type { KinesisSourceEvent } from './reader.ts';
import { KinesisSource } from './source.ts';
import { collect } from './testing/collect.ts';
import { createStream, putRecords, useFakeAwsEnv, waitActive } from './testing/aws.ts';
import { startDynalite, startKinesalite, type LocalServer } from './testing/servers.ts';

let restoreEnv: () => void;
let kinesalite: LocalServer;
let dynalite: LocalServer;
let kinesis: ReturnType<typeof createKinesisClient>;
let dynamodb: ReturnType<typeof createDynamoClient>;

beforeAll(async () => {
  restoreEnv = useFakeAwsEnv();
  [kinesalite, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
  kinesis = createKinesisClient({ endpoint: kinesalite.endpoint });
  dynamodb = createDynamoClient({ endpoint: dynalite.endpoint });
});
afterAll(async () => {
  kinesis.destroy();
  dynamodb.destroy();
  await Promise.all([kinesalite.stop(), dynalite.stop()]);
  restoreEnv();
});

const KEYS = 12;
let counters = new Array<number>(KEYS).fill(0);
/** `count` records spread over the keys, each carrying its key's next counter. */
const lot = (count: number) =>
  Array.from({ length: count }, (_, i) => {
    const k = i % KEYS;
    return { data: `k${k}:${counters[k]++}`, key: `key-${k}` };
  });

/** Per key: every counter exactly once, in order. */
function expectPerKeyOrder(records: { data: string }[]): void {
  const perKey = new Map<string, number[]>();
  for (const r of records) {
    const [k, n] = r.data.split(':');
    perKey.set(k!, [...(perKey.get(k!) ?? []), Number(n)]);
  }
  for (let k = 0; k < KEYS; k++) expect(perKey.get(`k${k}`)).toEqual(Array.from({ length: counters[k]! }, (_, i) => i));
}

/** Delivery positions of a shard's records. */
function positions(records: { shard: string }[], shard: number): number[] {
  return records.flatMap((r, i) => (r.shard === `shardId-00000000000${shard}` ? [i] : []));
}

/** Every record of each parent is delivered before any record of its child. */
function expectParentsFirst(records: { shard: string }[], pairs: [number, number][]): void {
  for (const [parent, child] of pairs) {
    const p = positions(records, parent);
    const c = positions(records, child);
    expect(p.length).toBeGreaterThan(0);
    expect(c.length).toBeGreaterThan(0);
    expect(Math.max(...p)).toBeLessThan(Math.min(...c));
  }
}

describe('resharding while consuming (kinesalite)', () => {
  it('loses nothing across a split and a merge, and reads parents before children', async () => {
    const stream = 'reshard';
    await createStream(kinesis, stream, 2);
    await putRecords(kinesis, stream, lot(60));
    const events: KinesisSourceEvent[] = [];
    const source = new KinesisSource({
      stream,
      application: 'app-reshard',
      kinesis,
      dynamodb,
      failoverMs: 3_000,
      takeIntervalMs: 300,
      parentPollMs: 100,
      checkpointIntervalMs: 100,
      polling: { idleIntervalMs: 100, minIntervalMs: 20, maxRecordsPerCall: 7 },
      onEvent: (e) => e.type !== 'lag' && events.push(e),
    });
    const c = collect(source);
    try {
      await expect.poll(() => c.records.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(20);

      // Split shard 0 in two (shards 2 and 3), keep writing.
      await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 126n).toString() }));
      await waitActive(kinesis, stream);
      await putRecords(kinesis, stream, lot(60));
      // Merge shard 3 with its neighbour, shard 1 (into shard 4), keep writing.
      await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: 'shardId-000000000003', AdjacentShardToMerge: 'shardId-000000000001' }));
      await waitActive(kinesis, stream);
      await putRecords(kinesis, stream, lot(60));
      const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
      expect(shards.find((s) => s.ShardId === 'shardId-000000000004')).toMatchObject({
        ParentShardId: 'shardId-000000000003',
        AdjacentParentShardId: 'shardId-000000000001',
      });

      await expect.poll(() => c.records.length, { timeout: 20_000 }).toBe(180);
      await new Promise((r) => setTimeout(r, 300));
      expect(c.records).toHaveLength(180);

      expectPerKeyOrder(c.records);
      expectParentsFirst(c.records, [[0, 2], [0, 3], [3, 4], [1, 4]]);

      const leases = Object.fromEntries((await new LeaseTable(dynamodb, 'app-reshard').list()).map((l) => [l.leaseKey, l]));
      expect(leases['shardId-000000000000']).toMatchObject({ checkpoint: SHARD_END, childShardIds: ['shardId-000000000002', 'shardId-000000000003'] });
      expect(leases['shardId-000000000001']).toMatchObject({ checkpoint: SHARD_END, childShardIds: ['shardId-000000000004'] });
      expect(leases['shardId-000000000003']).toMatchObject({ checkpoint: SHARD_END, childShardIds: ['shardId-000000000004'] });
      expect(leases['shardId-000000000004']!.parentShardIds.sort()).toEqual(['shardId-000000000001', 'shardId-000000000003']);
      expect(events.filter((e) => e.type === 'shard-end').map((e) => e.shard).sort()).toEqual([
        'shardId-000000000000',
        'shardId-000000000001',
        'shardId-000000000003',
      ]);
    } finally {
      await source.close();
    }
  });

  it('on a stream resharded before the worker starts, reads every closed parent before its children', async () => {
    counters = new Array<number>(KEYS).fill(0);
    const stream = 'resharded-before';
    await createStream(kinesis, stream, 1);
    await putRecords(kinesis, stream, lot(40));
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
    await waitActive(kinesis, stream);
    await putRecords(kinesis, stream, lot(40));
    await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: 'shardId-000000000001', AdjacentShardToMerge: 'shardId-000000000002' }));
    await waitActive(kinesis, stream);
    await putRecords(kinesis, stream, lot(40));

    // All four leases exist from the start and are all this worker's: only the parent rule orders them.
    const source = new KinesisSource({
      stream,
      application: 'app-resharded-before',
      kinesis,
      dynamodb,
      takeIntervalMs: 300,
      parentPollMs: 50,
      checkpointIntervalMs: 100,
      polling: { idleIntervalMs: 100, minIntervalMs: 20, maxRecordsPerCall: 5 },
    });
    const c = collect(source);
    try {
      await expect.poll(() => c.records.length, { timeout: 20_000 }).toBe(120);
      expectPerKeyOrder(c.records);
      expectParentsFirst(c.records, [[0, 1], [0, 2], [1, 3], [2, 3]]);
    } finally {
      await source.close();
    }
  });
});
