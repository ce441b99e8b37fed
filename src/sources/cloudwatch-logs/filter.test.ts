import { CreateLogGroupCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FnwatchError, UsageError } from '../../core/contracts.ts';
import type { LogEvent } from '../../core/events.ts';
import { createLogsClient } from './client.ts';
import { compareEventIds, compareLogEvents, FilterLogEventsSource, type FilterRangeOptions } from './filter.ts';
import { resolveLogGroups } from './groups.ts';
import { useFakeAwsEnv } from './testing/aws-env.ts';
import { startFaultProxy, THROTTLE, type FaultDecision } from './testing/fault-proxy.ts';
import { HOUR, MIN, putLogEvents, type WrittenEvent } from './testing/lambda-dataset.ts';
import { startMoto, type Moto } from './testing/moto.ts';
import { RateLimiter } from './throttle.ts';

const restoreEnv = useFakeAwsEnv();
let moto: Moto;
let client: CloudWatchLogsClient;
// Recent enough for CloudWatch Logs to accept (it refuses events older than 14 days).
const T0 = Math.floor((Date.now() - 2 * 86_400_000) / HOUR) * HOUR;

beforeAll(async () => {
  moto = await startMoto();
  client = createLogsClient({ endpoint: moto.endpoint });
});
afterAll(async () => {
  await moto?.stop();
  restoreEnv();
});
beforeEach(() => moto.reset());

/** Reads a whole source: the events, and each batch's watermark. */
async function drain(source: FilterLogEventsSource): Promise<{ events: LogEvent[]; watermarks: number[]; batches: number }> {
  const events: LogEvent[] = [];
  const watermarks: number[] = [];
  let batches = 0;
  for await (const b of source.batches()) {
    batches++;
    for (const item of b.items) {
      expect(item.type).toBe('log-event');
      if (item.type === 'log-event') {
        expect(item.position).toEqual({ logGroup: item.event.logGroup, logEventId: item.event.id });
        events.push(item.event);
      }
    }
    watermarks.push(b.watermark!);
    await b.ack();
  }
  return { events, watermarks, batches };
}

function source(opts: Partial<FilterRangeOptions> & Pick<FilterRangeOptions, 'logGroups'>, c: CloudWatchLogsClient = client): FilterLogEventsSource {
  return new FilterLogEventsSource(c, { from: T0, to: T0 + 24 * HOUR, limiter: new RateLimiter(1000), ...opts });
}

describe('FilterLogEventsSource on moto', () => {
  it('follows nextToken across many pages and loses nothing', async () => {
    const written: WrittenEvent[] = [];
    for (let i = 0; i < 2_500; i++) written.push({ logGroup: '/aws/lambda/pages', logStream: `s${i % 3}`, timestamp: T0 + i * 1_000, message: `line ${i}` });
    await putLogEvents(client, written);

    const src = source({ logGroups: ['/aws/lambda/pages'], pageLimit: 100, batchSize: 300 });
    const { events, watermarks, batches } = await drain(src);

    expect(events.map((e) => e.message)).toEqual(written.map((e) => e.message));
    expect(src.progress.pages).toBe(25);
    expect(src.progress).toMatchObject({ groups: 1, groupsDone: 1, fetched: 2_500, merged: 2_500, position: T0 + 2_499_000 });
    expect(batches).toBe(Math.ceil(2_500 / 300));
    expect(watermarks).toEqual([...watermarks].sort((a, b) => a - b));
    expect(events[0]).toMatchObject({ logGroup: '/aws/lambda/pages', logStream: 's0', timestamp: T0, message: 'line 0' });
    expect(typeof events[0]!.id).toBe('string');
  });

  it('reads the half-open range [from, to)', async () => {
    const written = [0, 1, 2, 3].map((i) => ({ logGroup: '/aws/lambda/edge', logStream: 's', timestamp: T0 + i * MIN, message: `m${i}` }));
    await putLogEvents(client, written);
    const { events } = await drain(source({ logGroups: ['/aws/lambda/edge'], from: T0 + MIN, to: T0 + 3 * MIN }));
    expect(events.map((e) => e.message)).toEqual(['m1', 'm2']);
  });

  it('merges several groups into event-time order, ties broken by event id, with the group identity from its ARN', async () => {
    const groups = ['/aws/lambda/a', '/aws/lambda/b', '/aws/lambda/c'];
    const written: WrittenEvent[] = [];
    for (let i = 0; i < 300; i++) {
      const g = groups[i % 3]!;
      // Every fifth timestamp is shared by all three groups, to exercise the tie-break.
      const t = i % 5 === 0 ? T0 + Math.floor(i / 5) * 10_000 : T0 + i * 997;
      written.push({ logGroup: g, logStream: `${g}-s${i % 2}`, timestamp: t, message: `${g} ${i}` });
      if (i % 5 === 0) for (const other of groups) if (other !== g) written.push({ logGroup: other, logStream: `${other}-s0`, timestamp: t, message: `${other} tie ${i}` });
    }
    await putLogEvents(client, written);
    const refs = await resolveLogGroups(client, { prefixes: ['/aws/lambda/'] });
    expect(refs.map((r) => r.name)).toEqual(groups);

    const src = source({ logGroups: refs, pageLimit: 37, batchSize: 50 });
    const { events } = await drain(src);

    expect(events).toHaveLength(written.length);
    expect(new Set(events.map((e) => `${e.logGroup} ${e.logStream} ${e.id}`)).size).toBe(written.length);
    for (let i = 1; i < events.length; i++) expect(compareLogEvents(events[i - 1]!, events[i]!)).toBeLessThan(0);
    expect(events.map((e) => e.message).sort()).toEqual(written.map((e) => e.message).sort());
    expect(events[0]).toMatchObject({ owner: '123456789012', region: 'us-east-1' });
    expect(src.progress).toMatchObject({ groups: 3, groupsDone: 3, merged: written.length });
  });

  it('pages through DescribeLogGroups for a prefix', async () => {
    for (let i = 0; i < 7; i++) await client.send(new CreateLogGroupCommand({ logGroupName: `/aws/lambda/fn-${i}` }));
    await client.send(new CreateLogGroupCommand({ logGroupName: '/other/x' }));
    const refs = await resolveLogGroups(client, { prefixes: ['/aws/lambda/'], names: ['/other/x'] }, { pageSize: 2 });
    expect(refs.map((r) => r.name)).toEqual([...Array.from({ length: 7 }, (_, i) => `/aws/lambda/fn-${i}`), '/other/x']);
    await expect(resolveLogGroups(client, { prefixes: ['/aws/lambda/nothing-'] })).rejects.toThrow(/no log group starts with \/aws\/lambda\/nothing-/);
    await expect(resolveLogGroups(client, { names: ['/aws/lambda/typo'] })).rejects.toThrow(new UsageError('log group /aws/lambda/typo does not exist'));
  });

  it('names an unknown log group in a one-line UsageError', async () => {
    const src = source({ logGroups: ['/aws/lambda/missing'] });
    const err = await drain(src).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^log group \/aws\/lambda\/missing does not exist \(FilterLogEvents: /);
    expect((err as Error).message).not.toContain('\n');
  });

  describe('through a fault-injecting proxy', () => {
    const written: WrittenEvent[] = [];
    for (let i = 0; i < 600; i++) written.push({ logGroup: '/aws/lambda/t', logStream: 's', timestamp: T0 + i * 1_000, message: `t${i}` });

    async function withProxy<T>(decide: (r: { n: number; operation: string; body: Record<string, unknown> }) => FaultDecision, run: (c: CloudWatchLogsClient) => Promise<T>, maxAttempts?: number) {
      await putLogEvents(client, written);
      const proxy = await startFaultProxy(moto.endpoint, decide);
      try {
        return { result: await run(createLogsClient({ endpoint: proxy.endpoint, maxAttempts })), log: proxy.log };
      } finally {
        await proxy.close();
      }
    }

    it('lets the SDK retry a single ThrottlingException on its own', async () => {
      const { result, log } = await withProxy(
        (r) => (r.operation === 'FilterLogEvents' && r.n === 2 ? THROTTLE : { forward: true }),
        async (c) => {
          const src = source({ logGroups: ['/aws/lambda/t'], pageLimit: 100 }, c);
          return { ...(await drain(src)), progress: src.progress };
        },
      );
      expect(result.events.map((e) => e.message)).toEqual(written.map((e) => e.message));
      expect(log.filter((l) => l.errorType === 'ThrottlingException')).toHaveLength(1);
      expect(result.progress.retries).toBe(0);
    });

    it('backs off and retries pages once the SDK gives up, then completes', async () => {
      const { result, log } = await withProxy(
        (r) => (r.operation === 'FilterLogEvents' && r.n >= 3 && r.n <= 6 ? THROTTLE : { forward: true }),
        async (c) => {
          const retries: number[] = [];
          const src = source({ logGroups: ['/aws/lambda/t'], pageLimit: 100, backoff: { attempts: 8, baseMs: 5, maxMs: 20 }, onRetry: (_g, _e, n) => retries.push(n) }, c);
          return { ...(await drain(src)), progress: src.progress, retries };
        },
        1,
      );
      expect(result.events.map((e) => e.message)).toEqual(written.map((e) => e.message));
      expect(log.filter((l) => l.errorType === 'ThrottlingException')).toHaveLength(4);
      expect(result.progress).toMatchObject({ retries: 4, throttled: 4, pages: 6 });
      expect(result.retries).toEqual([1, 2, 3, 4]);
    });

    it('fails with a retriable FnwatchError naming the group when throttling never stops', async () => {
      const { result } = await withProxy(
        (r) => (r.operation === 'FilterLogEvents' ? THROTTLE : { forward: true }),
        (c) => drain(source({ logGroups: ['/aws/lambda/t'], backoff: { attempts: 3, baseMs: 1, maxMs: 2 } }, c)).catch((e: unknown) => e),
        1,
      );
      expect(result).toBeInstanceOf(FnwatchError);
      expect(result).not.toBeInstanceOf(UsageError);
      expect((result as FnwatchError).retriable).toBe(true);
      expect((result as Error).message).toMatch(/^FilterLogEvents failed for log group \/aws\/lambda\/t: ThrottlingException: Rate exceeded/);
    });

    it('keeps paging through empty pages until nextToken is absent', async () => {
      const { result, log } = await withProxy(
        // An empty page that hands the same token back, as the service does while it searches.
        (r) =>
          r.operation === 'FilterLogEvents' && typeof r.body.nextToken === 'string' && r.n % 2 === 0
            ? { status: 200, json: { events: [], searchedLogStreams: [], nextToken: r.body.nextToken } }
            : { forward: true },
        async (c) => {
          const src = source({ logGroups: ['/aws/lambda/t'], pageLimit: 100 }, c);
          return { ...(await drain(src)), progress: src.progress };
        },
      );
      expect(result.events.map((e) => e.message)).toEqual(written.map((e) => e.message));
      expect(result.progress.emptyPages).toBeGreaterThanOrEqual(4);
      expect(log.filter((l) => l.action === 'reply')).toHaveLength(result.progress.emptyPages);
    });

    it('reports AccessDeniedException as a UsageError naming the group', async () => {
      const { result } = await withProxy(
        (r) => (r.operation === 'FilterLogEvents' ? { status: 400, errorType: 'AccessDeniedException', message: 'User is not authorized to perform: logs:FilterLogEvents' } : { forward: true }),
        (c) => drain(source({ logGroups: ['/aws/lambda/t'] }, c)).catch((e: unknown) => e),
      );
      expect(result).toBeInstanceOf(UsageError);
      expect((result as Error).message).toBe(
        'FilterLogEvents denied for log group /aws/lambda/t: AccessDeniedException: User is not authorized to perform: logs:FilterLogEvents',
      );
    });
  });

  it('stops fetching when closed', async () => {
    const written = Array.from({ length: 500 }, (_, i) => ({ logGroup: '/aws/lambda/c', logStream: 's', timestamp: T0 + i, message: `c${i}` }));
    await putLogEvents(client, written);
    const src = source({ logGroups: ['/aws/lambda/c'], pageLimit: 50, batchSize: 50 });
    let seen = 0;
    for await (const b of src.batches()) {
      seen += b.items.length;
      await src.close();
    }
    expect(seen).toBe(50);
    expect(src.progress.pages).toBeLessThanOrEqual(3);
  });
});

describe('ordering helpers', () => {
  it('orders numeric event ids by value, beyond 2^53', () => {
    expect(compareEventIds('9', '10')).toBeLessThan(0);
    expect(compareEventIds('31953106606966983378809025079804211143289615424298221568', '31953106606966983378809025079804211143289615424298221569')).toBeLessThan(0);
    expect(compareEventIds(undefined, '1')).toBeLessThan(0);
    expect(compareEventIds('5', '5')).toBe(0);
  });

  it('spaces requests with the rate limiter', async () => {
    const limiter = new RateLimiter(50, 1);
    const t = performance.now();
    for (let i = 0; i < 6; i++) await limiter.take();
    expect(performance.now() - t).toBeGreaterThanOrEqual(90);
  });
});
