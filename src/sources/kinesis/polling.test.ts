import { ExpiredIteratorException, ListShardsCommand, ProvisionedThroughputExceededException, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FnwatchError } from '../../core/contracts.ts';
import { createKinesisClient } from './clients.ts';
import { idleWait, PollingReader, type PollingOptions } from './polling.ts';
import type { Fetched, KinesisSourceEvent, StartPosition } from './reader.ts';
import { createStream, injectFaults, putRecords, useFakeAwsEnv, type CallInfo } from './testing/aws.ts';
import { startKinesalite, type LocalServer } from './testing/servers.ts';

let restoreEnv: () => void;
let server: LocalServer;
let streams = 0;
const clients: KinesisClient[] = [];

beforeAll(async () => {
  restoreEnv = useFakeAwsEnv();
  server = await startKinesalite();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});
afterAll(async () => {
  await server.stop();
  restoreEnv();
});

/** A one-shard stream holding `records` records, and a client with a fault rule on it. */
async function setup(records: number, rule?: (c: CallInfo) => Error | undefined, size = 10) {
  const client = createKinesisClient({ endpoint: server.endpoint });
  clients.push(client);
  const stream = `poll-${++streams}`;
  await createStream(client, stream, 1);
  const placed = await putRecords(client, stream, Array.from({ length: records }, (_, i) => ({ data: String(i).padStart(size, '0'), key: 'k' })));
  const shard = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards![0]!.ShardId!;
  const calls = injectFaults(client, rule);
  return { client, stream, shard, calls, sequences: placed.map((p) => p.sequence) };
}

/** Reads until `want` records arrived (or the time is up), then stops the reader. */
async function readRecords(
  reader: PollingReader,
  shard: string,
  want: number,
  timeoutMs = 10_000,
  start: StartPosition = { type: 'TRIM_HORIZON' },
): Promise<{ sequences: string[]; fetches: Fetched[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const sequences: string[] = [];
  const fetches: Fetched[] = [];
  for await (const f of reader.read(shard, start, ac.signal)) {
    fetches.push(f);
    for (const r of f.records) sequences.push(r.SequenceNumber!);
    if (sequences.length >= want) break;
  }
  clearTimeout(timer);
  return { sequences, fetches };
}

const gaps = (calls: CallInfo[], op = 'GetRecords'): number[] => {
  const at = calls.filter((c) => c.operation === op).map((c) => c.at);
  return at.slice(1).map((t, i) => t - at[i]!);
};

function reader(s: { client: KinesisClient; stream: string }, opts: PollingOptions, events: KinesisSourceEvent[] = []): PollingReader {
  return new PollingReader(s.client, s.stream, server.endpoint, opts, (e) => events.push(e));
}

describe('PollingReader on kinesalite', () => {
  it('reads every record once, in order, and reports lag', async () => {
    const s = await setup(120);
    const events: KinesisSourceEvent[] = [];
    const { sequences } = await readRecords(reader(s, { maxRecordsPerCall: 25, minIntervalMs: 10 }, events), s.shard, 120);
    expect(sequences).toEqual(s.sequences);
    expect(events.some((e) => e.type === 'lag' && e.millisBehindLatest >= 0)).toBe(true);
  });

  it('spaces GetRecords calls on a shard at least 200 ms apart by default', async () => {
    const s = await setup(40);
    await readRecords(reader(s, { maxRecordsPerCall: 10 }), s.shard, 40);
    const g = gaps(s.calls);
    expect(g.length).toBeGreaterThanOrEqual(3);
    for (const gap of g) expect(gap).toBeGreaterThanOrEqual(195);
  });

  it('waits the idle interval after an empty response', async () => {
    const s = await setup(0);
    await readRecords(reader(s, { idleIntervalMs: 300, minIntervalMs: 10 }), s.shard, 1, 1_100);
    const g = gaps(s.calls);
    expect(g.length).toBeGreaterThanOrEqual(2);
    for (const gap of g) expect(gap).toBeGreaterThanOrEqual(295);
  });

  it('after records, re-polls at the minimum spacing and doubles the wait per empty response up to the idle interval', async () => {
    const s = await setup(10);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 1_500);
    let got = 0;
    for await (const f of reader(s, { maxRecordsPerCall: 10, minIntervalMs: 50, idleIntervalMs: 400 }).read(s.shard, { type: 'TRIM_HORIZON' }, ac.signal)) got += f.records.length;
    clearTimeout(timer);
    expect(got).toBe(10);
    // Call 1 returns the 10 records; calls 2, 3, … are empty: waits 50 (spacing), 50, 100, 200, 400, 400.
    const g = gaps(s.calls);
    const want = [50, 50, 100, 200, 400];
    expect(g.length).toBeGreaterThanOrEqual(want.length);
    want.forEach((w, i) => {
      expect(g[i]).toBeGreaterThanOrEqual(w - 3);
      expect(g[i]).toBeLessThan(w + 150);
    });
  });

  it('keeps to the byte budget: after B bytes the next call waits B / rate', async () => {
    const s = await setup(20, undefined, 10_000);
    const { fetches } = await readRecords(reader(s, { maxBytesPerSecond: 100_000, maxRecordsPerCall: 5, minIntervalMs: 10 }), s.shard, 20);
    const g = gaps(s.calls);
    expect(fetches.length).toBe(4);
    for (let i = 0; i < fetches.length - 1; i++) expect(g[i]).toBeGreaterThanOrEqual((fetches[i]!.bytes / 100_000) * 1000 - 5);
    expect(fetches[0]!.bytes).toBeGreaterThanOrEqual(50_000);
  });

  it('backs off with growing, jittered delays while throttled, then carries on with nothing lost', async () => {
    const throttled = (c: CallInfo): Error | undefined =>
      c.operation === 'GetRecords' && c.n >= 2 && c.n <= 5
        ? new ProvisionedThroughputExceededException({ message: 'Rate exceeded for shard', $metadata: { httpStatusCode: 400 } })
        : undefined;
    const s = await setup(30, throttled);
    const events: KinesisSourceEvent[] = [];
    const { sequences } = await readRecords(reader(s, { maxRecordsPerCall: 10, minIntervalMs: 10, backoff: { baseMs: 40, maxMs: 1000 } }, events), s.shard, 30);
    expect(sequences).toEqual(s.sequences);
    const delays = events.filter((e) => e.type === 'throttled').map((e) => (e as { delayMs: number }).delayMs);
    expect(delays).toHaveLength(4);
    delays.forEach((d, i) => {
      const ceiling = 40 * 2 ** i;
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    });
    // Call 2 is the first throttled one: the gap after call k+2 is the k-th backoff.
    const g = gaps(s.calls);
    for (let i = 0; i < 4; i++) expect(g[i + 1]).toBeGreaterThanOrEqual(delays[i]! - 2);
  });

  it('renews an expired iterator right after the last record handed out', async () => {
    const expired = (c: CallInfo): Error | undefined =>
      c.operation === 'GetRecords' && c.n === 3 ? new ExpiredIteratorException({ message: 'Iterator expired', $metadata: { httpStatusCode: 400 } }) : undefined;
    const s = await setup(50, expired);
    const events: KinesisSourceEvent[] = [];
    const { sequences } = await readRecords(reader(s, { maxRecordsPerCall: 10, minIntervalMs: 10 }, events), s.shard, 50);
    expect(sequences).toEqual(s.sequences);
    const iterators = s.calls.filter((c) => c.operation === 'GetShardIterator');
    expect(iterators).toHaveLength(2);
    expect(iterators[1]!.input).toMatchObject({ ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: s.sequences[19] });
    expect(events).toContainEqual({ type: 'iterator-renewed', shard: s.shard, after: s.sequences[19] });
  });

  it('starts after a checkpoint', async () => {
    const s = await setup(30);
    const { sequences } = await readRecords(reader(s, { minIntervalMs: 10 }), s.shard, 10, 5_000, { type: 'AFTER_SEQUENCE_NUMBER', sequence: s.sequences[19] });
    expect(sequences).toEqual(s.sequences.slice(20));
  });

  it('gives up on a connection that keeps failing after the retry budget, naming the endpoint', async () => {
    const reset = (c: CallInfo): Error | undefined =>
      c.operation === 'GetRecords' ? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) : undefined;
    const s = await setup(5, reset);
    const events: KinesisSourceEvent[] = [];
    const started = performance.now();
    const err = await readRecords(reader(s, { retryBudgetMs: 600, backoff: { baseMs: 50, maxMs: 200 } }, events), s.shard, 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FnwatchError);
    expect((err as Error).message).toContain(server.endpoint);
    expect((err as Error).message).toContain(s.stream);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(events.filter((e) => e.type === 'retry').length).toBeGreaterThanOrEqual(2);
  });
});

describe('idleWait', () => {
  it('is no wait after records, the spacing after the first empty response, then doubles up to the idle interval', () => {
    expect([0, 1, 2, 3, 4, 5].map((k) => idleWait(k, 200, 1000))).toEqual([0, 200, 400, 800, 1000, 1000]);
    expect(idleWait(Infinity, 200, 1000)).toBe(1000);
    expect(idleWait(1, 0, 1000)).toBe(1);
    expect(idleWait(2, 500, 300)).toBe(300);
  });
});
