import { LimitExceededException, ProvisionedThroughputExceededException } from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient, createKinesisClient } from './clients.ts';
import { LeaseTable } from './lease-table.ts';
import type { KinesisSourceEvent } from './reader.ts';
import { KinesisSource, type KinesisSourceOptions } from './source.ts';
import { collect } from './testing/collect.ts';
import { createStream, injectFaults, putRecords, useFakeAwsEnv } from './testing/aws.ts';
import { startDynalite, startKinesalite, type LocalServer } from './testing/servers.ts';

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

/** A fresh stream and application name. */
async function stream(shards: number): Promise<{ stream: string; application: string }> {
  const id = ++n;
  await createStream(kinesis, `src-${id}`, shards);
  return { stream: `src-${id}`, application: `app-${id}` };
}

function source(opts: Partial<KinesisSourceOptions> & { stream: string; application: string }): KinesisSource {
  const s = new KinesisSource({
    kinesis,
    dynamodb,
    failoverMs: 1_500,
    takeIntervalMs: 300,
    parentPollMs: 100,
    checkpointIntervalMs: 100,
    closeTimeoutMs: 300,
    polling: { idleIntervalMs: 100, minIntervalMs: 20, maxRecordsPerCall: 10 },
    ...opts,
  });
  sources.push(s);
  return s;
}

const records = (count: number, keys: number) => Array.from({ length: count }, (_, i) => ({ data: `r${i}`, key: `key-${i % keys}` }));
const byShard = (placed: { shard: string; sequence: string }[]): Map<string, string[]> => {
  const m = new Map<string, string[]>();
  for (const p of placed) m.set(p.shard, [...(m.get(p.shard) ?? []), p.sequence]);
  return m;
};
const checkpoints = async (application: string): Promise<Record<string, string>> =>
  Object.fromEntries((await new LeaseTable(dynamodb, application).list()).map((l) => [l.leaseKey, l.checkpoint]));

describe('KinesisSource on kinesalite + dynalite', () => {
  it('delivers every record in order per shard, as payload items with positions, arrival and watermark', async () => {
    const s = await stream(4);
    const before = Date.now() - 1000;
    const placed = await putRecords(kinesis, s.stream, records(400, 20));
    const c = collect(source(s));
    await expect.poll(() => c.records.length, { timeout: 15_000 }).toBe(400);
    for (const [shard, seqs] of byShard(placed)) expect(c.sequences(shard)).toEqual(seqs);
    expect(new Set(c.records.map((r) => r.data)).size).toBe(400);
    const batch = c.batches[0]!;
    const item = batch.items[0]!;
    expect(item.type).toBe('payload');
    if (item.type !== 'payload') return;
    expect(item.data).toBeInstanceOf(Uint8Array);
    expect(item.arrival).toBeGreaterThanOrEqual(before);
    expect(batch.watermark).toBe(Math.max(...batch.items.map((i) => (i.type === 'payload' ? i.arrival! : 0))));
    expect(batch.items.length).toBeLessThanOrEqual(10);
  });

  it('checkpoints only over contiguous acknowledged batches, whatever the ack order', async () => {
    const s = await stream(1);
    const placed = await putRecords(kinesis, s.stream, records(30, 1));
    const src = source({ ...s, checkpointRecords: 1 });
    const c = collect(src, { autoAck: false });
    await expect.poll(() => c.batches.length, { timeout: 10_000 }).toBe(3);
    const shard = placed[0]!.shard;
    await c.ack(2);
    await c.ack(1);
    await new Promise((r) => setTimeout(r, 400));
    expect((await checkpoints(s.application))[shard]).toBe('TRIM_HORIZON');
    await c.ack(0);
    await expect.poll(async () => (await checkpoints(s.application))[shard], { timeout: 5_000 }).toBe(placed[29]!.sequence);
    expect(src.stats().shards[shard]).toMatchObject({ checkpoint: placed[29]!.sequence, unacked: 0, records: 30, batches: 3 });
  });

  it('after a restart re-delivers exactly the unacknowledged tail', async () => {
    const s = await stream(2);
    const placed = await putRecords(kinesis, s.stream, records(100, 8));
    const shards = byShard(placed);
    const [holed, full] = [...shards.keys()];
    let seenOnHoled = 0;
    // Leave the third batch of one shard unacknowledged; acknowledge everything else.
    const first = collect(source(s), {
      skip: (b) => b.items[0]!.position.shard === holed && ++seenOnHoled === 3,
    });
    await expect.poll(() => first.records.length, { timeout: 10_000 }).toBe(100);
    await sources[0]!.close();
    await first.done;
    const holedBatches = [...new Set(first.records.filter((r) => r.shard === holed).map((r) => r.batch))];
    const hole = first.records.find((r) => r.batch === holedBatches[2])!;
    const tail = shards.get(holed)!.slice(shards.get(holed)!.indexOf(hole.sequence));
    const cps = await checkpoints(s.application);
    expect(cps[holed]).toBe(shards.get(holed)![shards.get(holed)!.indexOf(hole.sequence) - 1]);
    expect(cps[full!]).toBe(shards.get(full!)!.at(-1));
    const leases = await new LeaseTable(dynamodb, s.application).list();
    expect(leases.every((l) => l.leaseOwner === undefined)).toBe(true);

    const second = collect(source(s));
    await expect.poll(() => second.records.length, { timeout: 10_000 }).toBe(tail.length);
    await new Promise((r) => setTimeout(r, 500));
    expect(second.sequences(holed!)).toEqual(tail);
    expect(second.sequences(full!)).toEqual([]);
  });

  it('stops fetching while the consumer falls behind, then catches up with nothing lost', async () => {
    const s = await stream(1);
    const placed = await putRecords(kinesis, s.stream, records(300, 1));
    const client = createKinesisClient({ endpoint: kinesalite.endpoint });
    const calls = injectFaults(client);
    const src = source({ ...s, kinesis: client, maxPendingBatches: 4 });
    const c = collect(src, { autoAck: false });
    await expect.poll(() => c.batches.length, { timeout: 10_000 }).toBe(4);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(c.batches.length).toBe(4);
    expect(src.stats().pendingBatches).toBe(4);
    expect(calls.filter((x) => x.operation === 'GetRecords').length).toBe(4);
    c.autoAck = true;
    await c.ackAll();
    await expect.poll(() => c.records.length, { timeout: 15_000 }).toBe(300);
    expect(c.records.map((r) => r.sequence)).toEqual(placed.map((p) => p.sequence));
    await src.close();
    client.destroy();
  });

  it('rides out throttling of GetShardIterator and GetRecords, counting it', async () => {
    const s = await stream(1);
    const placed = await putRecords(kinesis, s.stream, records(50, 1));
    const client = createKinesisClient({ endpoint: kinesalite.endpoint });
    const calls = injectFaults(client, (c) => {
      if (c.operation === 'GetShardIterator' && c.n === 1) return new LimitExceededException({ message: 'Rate exceeded for shard', $metadata: {} });
      if (c.operation === 'GetRecords' && c.n >= 2 && c.n <= 4) return new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
      return undefined;
    });
    const src = source({ ...s, kinesis: client, polling: { idleIntervalMs: 100, minIntervalMs: 20, maxRecordsPerCall: 10, backoff: { baseMs: 20, maxMs: 200 } } });
    const c = collect(src);
    await expect.poll(() => c.records.length, { timeout: 10_000 }).toBe(50);
    expect(c.records.map((r) => r.sequence)).toEqual(placed.map((p) => p.sequence));
    expect(src.stats().throttled).toBe(4);
    expect(calls.filter((x) => x.operation === 'GetShardIterator')).toHaveLength(2);
    await src.close();
    client.destroy();
  });

  it('bounds the bytes in flight too', async () => {
    const s = await stream(1);
    await putRecords(kinesis, s.stream, Array.from({ length: 40 }, (_, i) => ({ data: `${i}:`.padEnd(20_000, 'x'), key: 'k' })));
    const src = source({ ...s, maxPendingBytes: 50_000 });
    const c = collect(src, { autoAck: false });
    await expect.poll(() => c.batches.length, { timeout: 10_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 600));
    // One batch of 10 × 20 kB is over the bound already: nothing more is fetched.
    expect(c.batches.length).toBe(1);
    expect(src.stats().pendingBytes).toBeGreaterThanOrEqual(200_000);
    c.autoAck = true;
    await c.ackAll();
    await expect.poll(() => c.records.length, { timeout: 10_000 }).toBe(40);
  });

  it('close() waits for batches in flight, checkpoints them and releases the leases', async () => {
    const s = await stream(1);
    const placed = await putRecords(kinesis, s.stream, records(10, 1));
    const events: KinesisSourceEvent[] = [];
    const src = source({ ...s, checkpointIntervalMs: 60_000, checkpointRecords: 1_000_000, closeTimeoutMs: 5_000, onEvent: (e) => events.push(e) });
    const c = collect(src, { autoAck: false });
    await expect.poll(() => c.batches.length, { timeout: 10_000 }).toBe(1);
    const closing = src.close();
    setTimeout(() => void c.ack(0), 200);
    await closing;
    await c.done;
    const [lease] = await new LeaseTable(dynamodb, s.application).list();
    expect(lease).toMatchObject({ checkpoint: placed[9]!.sequence });
    expect(lease!.leaseOwner).toBeUndefined();
    expect(events.map((e) => e.type)).toContain('lease-released');
  });

  it('starts at LATEST on a new lease table when asked', async () => {
    const s = await stream(1);
    await putRecords(kinesis, s.stream, records(5, 1));
    const events: KinesisSourceEvent[] = [];
    const c = collect(source({ ...s, initialPosition: 'LATEST', onEvent: (e) => events.push(e) }));
    await expect.poll(() => events.some((e) => e.type === 'shard-started'), { timeout: 5_000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const later = await putRecords(kinesis, s.stream, [{ data: 'new', key: 'k' }]);
    await expect.poll(() => c.records.map((r) => r.sequence), { timeout: 5_000 }).toEqual([later[0]!.sequence]);
  });

  it('starts at a timestamp on a new lease table when asked', async () => {
    const s = await stream(1);
    await putRecords(kinesis, s.stream, records(5, 1));
    await new Promise((r) => setTimeout(r, 1_100));
    const from = Date.now();
    const later = await putRecords(kinesis, s.stream, records(3, 1));
    const c = collect(source({ ...s, initialPosition: { timestamp: from } }));
    await expect.poll(() => c.records.map((r) => r.sequence), { timeout: 5_000 }).toEqual(later.map((p) => p.sequence));
  });

  it('closes itself when the reader leaves the loop, releasing its leases', async () => {
    const s = await stream(2);
    await putRecords(kinesis, s.stream, records(40, 4));
    const src = source(s);
    for await (const batch of src.batches()) {
      await batch.ack();
      break;
    }
    await src.close();
    const leases = await new LeaseTable(dynamodb, s.application).list();
    expect(leases).toHaveLength(2);
    expect(leases.every((l) => l.leaseOwner === undefined)).toBe(true);
    expect(leases.some((l) => /^\d+$/.test(l.checkpoint))).toBe(true);
  });

  it('refuses bad options with a one-line UsageError', () => {
    expect(() => new KinesisSource({ stream: '', application: 'app' })).toThrow(/stream name is required/);
    expect(() => new KinesisSource({ stream: 's', application: 'a' })).toThrow(/not a valid DynamoDB table name/);
    expect(() => new KinesisSource({ stream: 's', application: 'app', failoverMs: 0 })).toThrow(/failoverMs must be a positive number/);
    expect(() => new KinesisSource({ stream: 's', application: 'app', mode: 'push' as 'efo' })).toThrow(/mode must be/);
    expect(() => new KinesisSource({ stream: 's', application: 'app', initialPosition: { timestamp: NaN } })).toThrow(/initialPosition must be/);
  });
});
