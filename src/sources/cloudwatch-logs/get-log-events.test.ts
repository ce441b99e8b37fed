import { paginateGetLogEvents, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FnwatchError, UsageError } from '../../core/contracts.ts';
import type { LogEvent } from '../../core/events.ts';
import { createLogsClient } from './client.ts';
import { readLogStream, streamEventKey } from './get-log-events.ts';
import { useFakeAwsEnv } from './testing/aws-env.ts';
import { HOUR, putLogEvents } from './testing/lambda-dataset.ts';
import { startMoto, type Moto } from './testing/moto.ts';

const restoreEnv = useFakeAwsEnv();
let moto: Moto;
let client: CloudWatchLogsClient;
const T0 = Math.floor((Date.now() - 86_400_000) / HOUR) * HOUR;
const GROUP = '/aws/lambda/stream-reader';
const STREAM = '2026/01/01/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0';

beforeAll(async () => {
  moto = await startMoto();
  client = createLogsClient({ endpoint: moto.endpoint });
});
afterAll(async () => {
  await moto?.stop();
  restoreEnv();
});
beforeEach(async () => {
  await moto.reset();
  await putLogEvents(
    client,
    Array.from({ length: 400 }, (_, i) => ({ logGroup: GROUP, logStream: STREAM, timestamp: T0 + i * 1_000, message: `e${i}` })),
  );
});

async function readAll(opts: Parameters<typeof readLogStream>[1]): Promise<LogEvent[][]> {
  const pages: LogEvent[][] = [];
  for await (const page of readLogStream(client, opts)) pages.push(page);
  return pages;
}

describe('readLogStream (GetLogEvents) on moto', () => {
  it('reads a finished stream oldest first and stops when the token comes back unchanged', async () => {
    const pages = await readAll({ logGroup: GROUP, logStream: STREAM, pageSize: 150 });
    expect(pages.map((p) => p.length)).toEqual([150, 150, 100, 0]);
    const events = pages.flat();
    expect(events.map((e) => e.message)).toEqual(Array.from({ length: 400 }, (_, i) => `e${i}`));
    expect(events[0]).toEqual({ logGroup: GROUP, logStream: STREAM, timestamp: T0, message: 'e0' });
  });

  it('shows the pitfall it avoids: without stopOnSameToken the paginator never ends', async () => {
    const bound = 12;
    let pages = 0;
    let emptyPages = 0;
    for await (const page of paginateGetLogEvents({ client, pageSize: 150 }, { logGroupName: GROUP, logStreamName: STREAM, startFromHead: true })) {
      if ((page.events ?? []).length === 0) emptyPages++;
      if (++pages >= bound) break;
    }
    expect(pages).toBe(bound);
    expect(emptyPages).toBe(bound - 3);
  });

  it('honours a half-open time range', async () => {
    const events = (await readAll({ logGroup: GROUP, logStream: STREAM, startTime: T0 + 10_000, endTime: T0 + 20_000 })).flat();
    expect(events.map((e) => e.message)).toEqual(Array.from({ length: 10 }, (_, i) => `e${i + 10}`));
  });

  it('fails with a clear error once the page cap is reached instead of looping', async () => {
    const err = await readAll({ logGroup: GROUP, logStream: STREAM, pageSize: 50, maxPages: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FnwatchError);
    expect((err as FnwatchError).code).toBe('page-cap');
    expect((err as Error).message).toMatch(/did not reach the end of the stream after 3 pages/);
  });

  it('names a missing log group', async () => {
    const err = await readAll({ logGroup: '/aws/lambda/none', logStream: STREAM }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^log group \/aws\/lambda\/none does not exist \(GetLogEvents/);
  });

  it('stamps account and region when given an ARN', async () => {
    const events = (await readAll({ logGroup: `arn:aws:logs:us-east-1:123456789012:log-group:${GROUP}:*`, logStream: STREAM, endTime: T0 + 1 })).flat();
    expect(events).toEqual([{ logGroup: GROUP, logStream: STREAM, timestamp: T0, message: 'e0', owner: '123456789012', region: 'us-east-1' }]);
  });
});

describe('streamEventKey', () => {
  it('ranks events that share a millisecond', () => {
    const key = streamEventKey();
    expect([5, 5, 6, 6, 6, 7].map((t) => key(t))).toEqual(['5.0', '5.1', '6.0', '6.1', '6.2', '7.0']);
  });
});
