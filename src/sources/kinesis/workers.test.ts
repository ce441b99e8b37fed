import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient, createKinesisClient } from './clients.ts';
import { LeaseTable } from './lease-table.ts';
import type { KinesisSourceEvent } from './reader.ts';
import { KinesisSource, type KinesisSourceOptions } from './source.ts';
import { collect } from './testing/collect.ts';
import { createStream, putRecords, useFakeAwsEnv } from './testing/aws.ts';
import { startDynalite, startKinesalite, type LocalServer } from './testing/servers.ts';

let restoreEnv: () => void;
let kinesalite: LocalServer;
let dynalite: LocalServer;
let kinesis: ReturnType<typeof createKinesisClient>;
let dynamodb: ReturnType<typeof createDynamoClient>;
const sources: KinesisSource[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  restoreEnv = useFakeAwsEnv();
  [kinesalite, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
  kinesis = createKinesisClient({ endpoint: kinesalite.endpoint });
  dynamodb = createDynamoClient({ endpoint: dynalite.endpoint });
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await Promise.all(sources.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  kinesis.destroy();
  dynamodb.destroy();
  await Promise.all([kinesalite.stop(), dynalite.stop()]);
  restoreEnv();
});

const common = {
  failoverMs: 1_500,
  takeIntervalMs: 250,
  checkpointIntervalMs: 50,
  checkpointRecords: 1,
  closeTimeoutMs: 300,
  polling: { idleIntervalMs: 100, minIntervalMs: 20, maxRecordsPerCall: 5 },
} satisfies Partial<KinesisSourceOptions>;

function worker(workerId: string, opts: { stream: string; application: string }, onEvent?: (e: KinesisSourceEvent) => void): KinesisSource {
  const s = new KinesisSource({ ...common, ...opts, workerId, kinesis, dynamodb, onEvent });
  sources.push(s);
  return s;
}

const owners = async (application: string): Promise<Record<string, number>> => {
  const counts: Record<string, number> = {};
  for (const l of await new LeaseTable(dynamodb, application).list()) if (l.leaseOwner) counts[l.leaseOwner] = (counts[l.leaseOwner] ?? 0) + 1;
  return counts;
};

describe('several workers on one stream', () => {
  it('split a 4-shard stream 2/2 and lose nothing while rebalancing', async () => {
    const s = { stream: 'split-2-2', application: 'app-split' };
    await createStream(kinesis, s.stream, 4);
    const a = worker('worker-a', s);
    const ca = collect(a);
    await expect.poll(() => Object.keys(a.stats().shards).length, { timeout: 10_000 }).toBe(4);
    const first = await putRecords(kinesis, s.stream, Array.from({ length: 100 }, (_, i) => ({ data: `a${i}`, key: `k${i}` })));
    const b = worker('worker-b', s);
    const cb = collect(b);
    await expect.poll(() => owners(s.application), { timeout: 15_000, interval: 200 }).toEqual({ 'worker-a': 2, 'worker-b': 2 });
    // A notices a stolen lease at its next heartbeat (failover/3).
    await expect.poll(() => Object.keys(a.stats().shards).length, { timeout: 2_000 }).toBe(2);
    expect(Object.keys(b.stats().shards)).toHaveLength(2);
    expect(a.stats().leasesLost).toBe(2);
    const movedToB = Object.keys(b.stats().shards);

    const second = await putRecords(kinesis, s.stream, Array.from({ length: 100 }, (_, i) => ({ data: `b${i}`, key: `k${i}` })));
    const all = [...first, ...second].map((p) => p.sequence);
    const seen = (): Set<string> => new Set([...ca.records, ...cb.records].map((r) => r.sequence));
    await expect.poll(() => all.filter((q) => !seen().has(q)).length, { timeout: 15_000 }).toBe(0);
    // After the balance, the second lot went only to each shard's new owner.
    const secondByB = new Set(cb.records.map((r) => r.sequence));
    for (const p of second) expect(secondByB.has(p.sequence)).toBe(movedToB.includes(p.shard));
  });

  it('take over a crashed worker after the failover time and continue from its checkpoints with nothing lost', async () => {
    const s = { stream: 'failover', application: 'app-failover' };
    await createStream(kinesis, s.stream, 4);
    const before = await putRecords(kinesis, s.stream, Array.from({ length: 200 }, (_, i) => ({ data: `x${i}`, key: `k${i % 16}` })));

    // Worker A in its own process acknowledges its first 12 batches only, then gets SIGKILLed.
    const script = fileURLToPath(new URL('./testing/worker-process.ts', import.meta.url));
    const config = {
      ...common,
      ...s,
      workerId: 'crasher',
      kinesisEndpoint: kinesalite.endpoint,
      dynamodbEndpoint: dynalite.endpoint,
      region: 'us-east-1',
      maxPendingBatches: 200,
      ackBatches: 12,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    children.push(child);
    const acked = new Set<string>();
    let printed = 0;
    let checkpointsWritten = 0;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { type: string; acked?: boolean; records?: [string, string][]; event?: KinesisSourceEvent };
      if (msg.type === 'batch') {
        printed++;
        if (msg.acked) for (const [, seq] of msg.records!) acked.add(seq);
      }
      if (msg.type === 'event' && msg.event?.type === 'checkpoint') checkpointsWritten++;
    });
    await expect.poll(() => printed, { timeout: 20_000 }).toBeGreaterThanOrEqual(40);
    await expect.poll(() => checkpointsWritten, { timeout: 5_000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const table = new LeaseTable(dynamodb, s.application);
    const atCrash = await table.list();
    expect(atCrash.every((l) => l.leaseOwner === 'crasher')).toBe(true);
    const checkpointOf = new Map(atCrash.map((l) => [l.leaseKey, l.checkpoint]));
    const after = await putRecords(kinesis, s.stream, Array.from({ length: 40 }, (_, i) => ({ data: `y${i}`, key: `k${i % 16}` })));

    const events: KinesisSourceEvent[] = [];
    const startedAt = performance.now();
    const acquiredAt: number[] = [];
    const b = worker('survivor', s, (e) => {
      events.push(e);
      if (e.type === 'lease-acquired') acquiredAt.push(performance.now() - startedAt);
    });
    const cb = collect(b);
    const placed = [...before, ...after];
    const shards = [...new Set(placed.map((p) => p.shard))];
    const expected = new Map(shards.map((shard) => {
      const seqs = placed.filter((p) => p.shard === shard).map((p) => p.sequence);
      const cp = checkpointOf.get(shard)!;
      return [shard, cp === 'TRIM_HORIZON' ? seqs : seqs.slice(seqs.indexOf(cp) + 1)];
    }));
    const want = [...expected.values()].reduce((n, v) => n + v.length, 0);
    await expect.poll(() => cb.records.length, { timeout: 20_000 }).toBe(want);
    // The crashed worker still looks alive at first: the survivor steals up to its fair share (2)
    // at once, and takes the rest only once their counters have stood still for the failover time.
    expect(acquiredAt).toHaveLength(4);
    expect(acquiredAt[1]!).toBeLessThan(1_500);
    expect(acquiredAt[2]!).toBeGreaterThanOrEqual(1_500);
    for (const shard of shards) {
      expect(cb.sequences(shard)).toEqual(expected.get(shard));
      // Everything up to the checkpoint had been acknowledged by the crashed worker.
      const seqs = placed.filter((p) => p.shard === shard).map((p) => p.sequence);
      const cp = checkpointOf.get(shard)!;
      if (cp !== 'TRIM_HORIZON') for (const q of seqs.slice(0, seqs.indexOf(cp) + 1)) expect(acked.has(q)).toBe(true);
    }
    // Some shard had an acknowledged prefix and an unacknowledged tail at the crash.
    expect([...checkpointOf.values()].some((cp) => cp !== 'TRIM_HORIZON')).toBe(true);
    expect((await table.list()).every((l) => l.leaseOwner === 'survivor' && l.ownerSwitchesSinceCheckpoint >= 0)).toBe(true);
  });
});
