import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, Source, SourceItem } from '../core/contracts.ts';
import { createDynamoClient, createKinesisClient, KinesisSource, LeaseTable } from '../sources/kinesis/index.ts';
import { startDynalite, startKinesalite, type LocalServer } from '../sources/kinesis/testing/servers.ts';
import { createStream } from './embedded.ts';
import { ShardMerge } from './merge-sources.ts';
import { useFakeAws } from './testing.ts';

/** [shard, sequence, arrival ms] */
type Rec = [string, number, number];

/**
 * A source over fixed batches, handed out in the given order, that counts what it handed out and
 * was not yet acknowledged (what a real source's bounded queue counts).
 */
class ScriptedSource implements Source {
  readonly name = 'scripted';
  readonly acked: number[] = [];
  readonly released: number[] = [];
  outstanding = 0;
  maxOutstanding = 0;
  closed = false;
  constructor(
    private readonly script: Rec[][],
    /** wait before handing out batch i (ms), so a shard can go quiet */
    private readonly gapBefore: (i: number) => number = () => 0,
  ) {}
  async *batches(): AsyncGenerator<Batch> {
    for (const [i, recs] of this.script.entries()) {
      const gap = this.gapBefore(i);
      if (gap > 0) await new Promise((r) => setTimeout(r, gap));
      if (this.closed) return;
      const items: SourceItem[] = recs.map(([shard, seq, arrival]) => ({ type: 'payload', data: `${shard}/${seq}`, position: { shard, sequence: String(seq) }, arrival }));
      this.outstanding++;
      this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
      let done = false;
      yield {
        items,
        watermark: Math.max(...recs.map((r) => r[2])),
        ack: () => {
          if (done) throw new Error(`batch ${i} acknowledged or given back twice`);
          done = true;
          this.outstanding--;
          this.acked.push(i);
        },
        release: () => {
          if (done) throw new Error(`batch ${i} acknowledged or given back twice`);
          done = true;
          this.outstanding--;
          this.released.push(i);
        },
      };
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Records of one shard: `count` records from `first`, arrivals `step` ms apart from `t0`. */
function shardRecs(shard: string, first: number, count: number, t0: number, step: number): Rec[] {
  return Array.from({ length: count }, (_, k) => [shard, first + k, t0 + (first + k) * step] as Rec);
}

const arrival = (i: SourceItem) => (i.type === 'payload' ? i.arrival! : NaN);
const nondecreasing = (xs: number[]) => xs.every((x, k) => k === 0 || xs[k - 1]! <= x);

/** Reads a source to its end, acknowledging each batch; what came out, per batch. */
async function drain(source: Source): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of source.batches()) {
    out.push(b);
    await b.ack();
  }
  return out;
}

// A backlog: an hour ago, two shards written in turns. The source hands out all of shard A first.
const T0 = Date.now() - 3_600_000;

describe('ShardMerge', () => {
  it('hands on records of several shards in arrival order, each shard in its own order', async () => {
    const a = [shardRecs('A', 0, 5, T0, 1000), shardRecs('A', 5, 5, T0, 1000), shardRecs('A', 10, 5, T0, 1000)];
    const b = [shardRecs('B', 0, 5, T0 + 500, 1000), shardRecs('B', 5, 5, T0 + 500, 1000), shardRecs('B', 10, 5, T0 + 500, 1000)];
    const source = new ScriptedSource([...a, ...b]);
    const out = await drain(new ShardMerge(source, { maxWaitMs: 200, minBatchItems: 4 }));
    const items = out.flatMap((x) => x.items);
    expect(items.map(arrival)).toEqual([...a.flat(), ...b.flat()].map((r) => r[2]).sort((x, y) => x - y));
    expect(items.filter((i) => i.position.shard === 'A').map((i) => Number(i.position.sequence))).toEqual([...Array(15).keys()]);
    expect(items.filter((i) => i.position.shard === 'B').map((i) => Number(i.position.sequence))).toEqual([...Array(15).keys()]);
    // Batches are re-cut, each ending where a source batch ends; their watermark only moves forward.
    expect(out.length).toBeGreaterThan(1);
    for (const x of out) expect(Number(x.items.at(-1)!.position.sequence) % 5).toBe(4);
    expect(nondecreasing(out.map((x) => x.watermark!))).toBe(true);
    expect(out.at(-1)!.watermark).toBe(Math.max(...items.map(arrival)));
    expect(source.acked.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(source.closed).toBe(true);
  });

  it('acknowledges a source batch only once all its records were handed on and acknowledged', async () => {
    // A0 spans arrivals 0..4 s, B0 0.5..4.5 s, A1 5..9 s.
    const source = new ScriptedSource([shardRecs('A', 0, 5, T0, 1000), shardRecs('B', 0, 5, T0 + 500, 1000), shardRecs('A', 5, 5, T0, 1000)]);
    const it = new ShardMerge(source, { maxWaitMs: 200, minBatchItems: 3 }).batches()[Symbol.asyncIterator]();
    const got: Batch[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value);
    // Three items at least, then up to the end of a source batch.
    expect(got.map((b) => b.items.map((i) => `${i.position.shard}${i.position.sequence}`).join(' '))).toEqual([
      'A0 B0 A1 B1 A2 B2 A3 B3 A4',
      'B4 A5 A6 A7 A8 A9',
    ]);
    // Acknowledged out of order, as the contract allows: the source hears of a batch only when it is all done.
    await got[1]!.ack();
    expect(source.acked).toEqual([2]);
    await got[1]!.ack(); // a second ack of the same batch is ignored
    expect(source.acked).toEqual([2]);
    await got[0]!.ack();
    expect(source.acked).toEqual([2, 0, 1]);
  });

  it('holds at most maxHeldBatches of the source, and keeps each shard in order past the window', async () => {
    // Shard A's whole backlog comes first; a window of 2 batches cannot wait for B.
    const script = [0, 1, 2, 3, 4].map((k) => shardRecs('A', k * 3, 3, T0, 1000)).concat([shardRecs('B', 0, 15, T0 + 500, 1000)]);
    const source = new ScriptedSource(script);
    const out = await drain(new ShardMerge(source, { maxWaitMs: 60_000, maxHeldBatches: 2, minBatchItems: 100 }));
    const items = out.flatMap((x) => x.items);
    expect(items).toHaveLength(30);
    // At most two held here plus the one being processed.
    expect(source.maxOutstanding).toBeLessThanOrEqual(3);
    expect(items.filter((i) => i.position.shard === 'A').map((i) => Number(i.position.sequence))).toEqual([...Array(15).keys()]);
    expect(items.filter((i) => i.position.shard === 'B').map((i) => Number(i.position.sequence))).toEqual([...Array(15).keys()]);
    expect(source.acked.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('does not wait for a shard that went quiet (caught up or gone)', async () => {
    // B gives one batch, then nothing for a while; A's backlog must not wait for B for ever (maxWait 100 ms).
    const script = [shardRecs('B', 0, 2, T0, 1000), shardRecs('A', 0, 3, T0 + 10_000, 1000), shardRecs('A', 3, 3, T0 + 10_000, 1000)];
    const source = new ScriptedSource(script, (i) => (i === 1 ? 300 : 0));
    const out = await drain(new ShardMerge(source, { maxWaitMs: 100 }));
    expect(out.flatMap((x) => x.items).map((i) => `${i.position.shard}${i.position.sequence}`)).toEqual(['B0', 'B1', 'A0', 'A1', 'A2', 'A3', 'A4', 'A5']);
  });

  it('hands on what it holds when the shard it waited for goes idle between two readings of the clock', async () => {
    // A live source with one old record and then nothing more. The clock moves 200 ms at each reading,
    // so the starting wait (1 s) can end between the check of what may go on and the computing of how
    // long to wait: a merge that read the clock twice there waited for the source for ever.
    let t = Date.now();
    const now = () => (t += 200);
    let wake = (): void => {};
    const source: Source = {
      name: 'live',
      async *batches() {
        yield { items: [{ type: 'payload', data: 'A/0', position: { shard: 'A', sequence: '0' }, arrival: T0 }], ack: () => {} };
        await new Promise<void>((r) => (wake = r)); // nothing more until closed
      },
      async close() {
        wake();
      },
    };
    const merge = new ShardMerge(source, { maxWaitMs: 1_000, now });
    const it = merge.batches()[Symbol.asyncIterator]();
    const first = await Promise.race([it.next(), new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 3_000))]);
    expect(first).not.toBe('stuck');
    expect(((first as IteratorResult<Batch>).value as Batch).items.map((i) => i.position.sequence)).toEqual(['0']);
    await merge.close();
  });

  it('hands on live records at once, even while another shard is expected', async () => {
    // maxWait is a minute: a held live record would make this test time out.
    const now = Date.now();
    const source = new ScriptedSource([shardRecs('A', 0, 2, now - 100, 10), shardRecs('B', 0, 2, now - 50, 10)], (i) => (i === 1 ? 200 : 0));
    const it = new ShardMerge(source, { maxWaitMs: 60_000 }).batches()[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    expect((first.value as Batch).items.map((i) => `${i.position.shard}${i.position.sequence}`)).toEqual(['A0', 'A1']);
    await (first.value as Batch).ack();
    await it.return(undefined);
  });

  it('acknowledges an empty source batch at once and passes untimed items through in order', async () => {
    const items: SourceItem[] = [{ type: 'payload', data: 'x', position: { shard: 'A', sequence: '1' } }];
    const acked: string[] = [];
    const source: Source = {
      name: 's',
      async *batches() {
        yield { items: [], ack: () => void acked.push('empty') };
        yield { items, ack: () => void acked.push('one') };
      },
      close: async () => {},
    };
    const out = await drain(new ShardMerge(source, { maxWaitMs: 60_000 }));
    expect(out.map((b) => b.items.length)).toEqual([1]);
    expect(out[0]!.watermark).toBeUndefined();
    expect(acked).toEqual(['empty', 'one']);
  });

  it('gives back what it holds when closed, never acknowledging a batch only partly handed on', async () => {
    const source = new ScriptedSource([shardRecs('A', 0, 5, T0, 1000), shardRecs('B', 0, 5, T0 + 500, 1000), shardRecs('A', 5, 5, T0, 1000)]);
    const merge = new ShardMerge(source, { maxWaitMs: 60_000, minBatchItems: 3 });
    const it = merge.batches()[Symbol.asyncIterator]();
    const first = (await it.next()).value as Batch;
    expect(first.items.map((i) => `${i.position.shard}${i.position.sequence}`).join(' ')).toBe('A0 B0 A1 B1 A2 B2 A3 B3 A4');
    await merge.close();
    await first.ack();
    // B0..B3 were processed, but B's batch was not all handed on: given back, not acknowledged,
    // like the batch held whole. A's first batch was all handed on and acknowledged.
    expect(source.acked).toEqual([0]);
    expect(source.released.sort()).toEqual([1, 2]);
    expect(source.closed).toBe(true);
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(source.outstanding).toBe(0);
  });

  it('refuses a window of no batches', () => {
    expect(() => new ShardMerge(new ScriptedSource([]), { maxHeldBatches: 0 })).toThrow(RangeError);
  });
});

describe('ShardMerge over a 2-shard Kinesis stream catching up (kinesalite + dynalite)', () => {
  let restoreEnv: () => void;
  let kinesalite: LocalServer;
  let dynalite: LocalServer;
  let kinesis: KinesisClient;
  let dynamodb: DynamoDBClient;
  /** per shard, in put order: [sequence, arrival] */
  const put = new Map<string, [string, number][]>();
  const STREAM = 'catch-up';
  const ROUNDS = 8;
  const PER_CALL = 10;

  beforeAll(async () => {
    restoreEnv = useFakeAws();
    [kinesalite, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
    kinesis = createKinesisClient({ endpoint: kinesalite.endpoint, region: 'us-east-1' });
    dynamodb = createDynamoClient({ endpoint: dynalite.endpoint, region: 'us-east-1' });
    await createStream(kinesis, STREAM, 2);
    // The backlog: the two shards written in turns, so each shard's records span the whole time.
    const hashKeys = ['0', (2n ** 127n).toString()];
    for (let round = 0; round < ROUNDS; round++) {
      const hashKey = hashKeys[round % 2]!;
      const out = await kinesis.send(
        new PutRecordsCommand({
          StreamName: STREAM,
          Records: Array.from({ length: PER_CALL }, (_, k) => ({ Data: Buffer.from(`r${round}-${k}`), PartitionKey: `p${k}`, ExplicitHashKey: hashKey })),
        }),
      );
      expect(out.FailedRecordCount ?? 0).toBe(0);
      for (const r of out.Records!) put.set(r.ShardId!, [...(put.get(r.ShardId!) ?? []), [r.SequenceNumber!, 0]]);
      // Arrival times are whole milliseconds: keep the rounds apart.
      await new Promise((r) => setTimeout(r, 15));
    }
    expect([...put.values()].map((v) => v.length)).toEqual([(ROUNDS / 2) * PER_CALL, (ROUNDS / 2) * PER_CALL]);
  }, 60_000);

  afterAll(async () => {
    kinesis.destroy();
    dynamodb.destroy();
    await Promise.all([kinesalite.stop(), dynalite.stop()]);
    restoreEnv();
  });

  // The backlog was written seconds ago: `liveLagMs: 0` treats it as old, as an hour's backlog would be.
  function source(application: string): KinesisSource {
    return new KinesisSource({
      stream: STREAM,
      application,
      kinesis,
      dynamodb,
      checkpointIntervalMs: 50,
      closeTimeoutMs: 500,
      // Each fetch takes a whole shard's backlog: batches span every round, as when catching up.
      polling: { idleIntervalMs: 50, minIntervalMs: 10, maxRecordsPerCall: 10_000 },
    });
  }

  /** Reads `total` records (acknowledging as it goes unless told to stop), then closes. */
  async function read(s: Source, total: number, ackWhile: (seen: number) => boolean = () => true): Promise<SourceItem[]> {
    const seen: SourceItem[] = [];
    for await (const b of s.batches()) {
      seen.push(...b.items);
      if (ackWhile(seen.length)) await b.ack();
      if (seen.length >= total) break;
    }
    await s.close();
    return seen;
  }

  const checkpoints = async (application: string) => Object.fromEntries((await new LeaseTable(dynamodb, application).list()).map((l) => [l.leaseKey, l.checkpoint]));

  it('without it, the shards come one after the other (the bug this fixes)', async () => {
    const seen = await read(source('raw'), ROUNDS * PER_CALL);
    expect(nondecreasing(seen.map(arrival))).toBe(false);
  }, 30_000);

  it('with it, every record comes once, in arrival order, and every shard is checkpointed to its end', async () => {
    const seen = await read(new ShardMerge(source('merged'), { maxWaitMs: 1_000, liveLagMs: 0 }), ROUNDS * PER_CALL);
    expect(seen).toHaveLength(ROUNDS * PER_CALL);
    expect(nondecreasing(seen.map(arrival))).toBe(true);
    for (const [shard, seqs] of put) expect(seen.filter((i) => i.position.shard === shard).map((i) => i.position.sequence)).toEqual(seqs.map(([s]) => s));
    expect(await checkpoints('merged')).toEqual(Object.fromEntries([...put].map(([shard, seqs]) => [shard, seqs.at(-1)![0]])));
  }, 30_000);

  it('closing while records are held gives them back: close() does not wait for them, and a restart reads them again', async () => {
    // close() would wait a minute for batches handed out and never acknowledged (more than this test's timeout).
    const s = new KinesisSource({
      stream: STREAM,
      application: 'give-back',
      kinesis,
      dynamodb,
      checkpointIntervalMs: 50,
      closeTimeoutMs: 60_000,
      // Two rounds per fetch: shard A's first batch holds rounds 0 and 2, shard B's rounds 1 and 3.
      polling: { idleIntervalMs: 50, minIntervalMs: 10, maxRecordsPerCall: 2 * PER_CALL },
    });
    const merge = new ShardMerge(s, { maxWaitMs: 1_000, minBatchItems: PER_CALL, liveLagMs: 0 });
    const it = merge.batches()[Symbol.asyncIterator]();
    const first = (await it.next()).value as Batch;
    // Rounds 0, 1, 2: A's first batch is all handed on, B's only half.
    expect(first.items).toHaveLength(3 * PER_CALL);
    await first.ack();
    await it.return(undefined);
    await merge.close();
    const [shardA, shardB] = [...put.keys()].sort() as [string, string];
    const cps = await checkpoints('give-back');
    expect(cps[shardA]).toBe(put.get(shardA)![2 * PER_CALL - 1]![0]);
    expect(put.get(shardB)!.map(([seq]) => seq)).not.toContain(cps[shardB]);
    // The next owner reads again all that was not acknowledged whole (B's half included), in order.
    const again = await read(new ShardMerge(source('give-back'), { maxWaitMs: 1_000, liveLagMs: 0 }), 6 * PER_CALL);
    expect(again).toHaveLength(6 * PER_CALL);
    expect(nondecreasing(again.map(arrival))).toBe(true);
    expect(again.filter((i) => i.position.shard === shardB).map((i) => i.position.sequence)).toEqual(put.get(shardB)!.map(([seq]) => seq));
  }, 30_000);

  it('checkpoints only over acknowledged work when processing stops half-way', async () => {
    const half = (ROUNDS * PER_CALL) / 2;
    // Handed-on batches are acknowledged until half the records are seen, then no more.
    const seen = await read(new ShardMerge(source('half'), { maxWaitMs: 1_000, minBatchItems: 10, liveLagMs: 0 }), ROUNDS * PER_CALL, (n) => n <= half);
    const acked = seen.slice(0, half);
    const cps = await checkpoints('half');
    for (const [shard, seqs] of put) {
      const cp = cps[shard];
      // Each shard's one source batch held records past the acknowledged half: it was never acknowledged.
      const sequences = seqs.map(([s]) => s);
      const ackedHere = acked.filter((i) => i.position.shard === shard).length;
      expect(ackedHere).toBeLessThan(sequences.length);
      expect(cp === undefined || cp === 'TRIM_HORIZON' || !sequences.includes(cp), `${shard} checkpoint ${cp}`).toBe(true);
    }
  }, 30_000);
});
