import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, afterAll, describe, expect, it } from 'vitest';
import { FnwatchError, UsageError } from '../../core/contracts.ts';
import type { LogEvent } from '../../core/events.ts';
import { Pipeline } from '../../pipeline/pipeline.ts';
import { createLogsClient } from './client.ts';
import { LiveTailSource, liveTailEventId, type LiveTailEvent, type LiveTailOptions } from './live-tail.ts';
import { useFakeAwsEnv } from './testing/aws-env.ts';
import { startLiveTailServer, testLogGroupArn, type LiveTailServer, type TailEvent, type TailSession } from './testing/live-tail-server.ts';

const restoreEnv = useFakeAwsEnv();
afterAll(restoreEnv);

let server: LiveTailServer | undefined;
let source: LiveTailSource | undefined;
afterEach(async () => {
  await source?.close();
  await server?.close();
  server = undefined;
  source = undefined;
});

const FAST = { backoff: { baseMs: 5, maxMs: 20 } } satisfies Partial<LiveTailOptions>;

function tailEvent(group: string, message: string, timestamp: number, stream = '2026/01/01/[$LATEST]abc'): TailEvent {
  return { logGroupIdentifier: testLogGroupArn(group), logStreamName: stream, message, timestamp, ingestionTime: timestamp + 5 };
}

async function start(groups: string[], onSession: (s: TailSession) => void | Promise<void>, opts: Partial<LiveTailOptions> = {}) {
  server = await startLiveTailServer({ logGroups: groups, onSession });
  const events: LiveTailEvent[] = [];
  source = new LiveTailSource(createLogsClient({ endpoint: server.endpoint }), { logGroups: groups, ...FAST, ...opts, onEvent: (e) => events.push(e) });
  return { server, source, events };
}

/** Collects events until `until` says stop (then closes the source), or the source ends. */
async function collect(src: LiveTailSource, until: (got: LogEvent[]) => boolean, timeoutMs = 10_000): Promise<LogEvent[]> {
  const got: LogEvent[] = [];
  const timer = setTimeout(() => void src.close(), timeoutMs);
  try {
    for await (const batch of src.batches()) {
      for (const item of batch.items) if (item.type === 'log-event') got.push(item.event);
      if (until(got)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return got;
}

describe('LiveTailSource against a local event-stream server', () => {
  it('turns session updates into log events with identity, account and region', async () => {
    const g = '/aws/lambda/orders-api';
    const { server, source } = await start(
      [g],
      (s) => {
        s.start();
        s.update([tailEvent(g, 'REPORT RequestId: a\tDuration: 1.00 ms', 1_000), tailEvent(g, 'same line', 1_001), tailEvent(g, 'same line', 1_001)]);
        s.update([]);
        s.update([tailEvent(g, 'later', 2_000)], true);
      },
      { filterPattern: 'REPORT' },
    );
    const got = await collect(source, (e) => e.length >= 4);
    expect(got.map((e) => e.message)).toEqual(['REPORT RequestId: a\tDuration: 1.00 ms', 'same line', 'same line', 'later']);
    expect(got[0]).toMatchObject({ logGroup: g, logStream: '2026/01/01/[$LATEST]abc', timestamp: 1_000, owner: '123456789012', region: 'us-east-1' });
    expect(new Set(got.map((e) => e.id)).size).toBe(4);
    expect(got[0]!.id).toMatch(/^lt-[\w-]{22}$/);
    expect(server.operations).toEqual(['DescribeLogGroups', 'StartLiveTail']);
    expect(server.sessions[0]!.logGroupIdentifiers).toEqual([testLogGroupArn(g)]);
    expect(server.sessions[0]!.filterPattern).toBe('REPORT');
    // disableHostPrefix: the request reached 127.0.0.1 itself, not stream-127.0.0.1.
    expect(server.sessions[0]!.host).toBe(new URL(server.endpoint).host);
    expect(source.stats).toMatchObject({ sessions: 1, updates: 3, sampledUpdates: 1, events: 4, duplicates: 0 });
  });

  it('feeds a Pipeline the same events as the log events themselves', async () => {
    const g = '/aws/lambda/f';
    const lines = [
      'START RequestId: 11111111-1111-4111-8111-111111111111 Version: 3\n',
      'REPORT RequestId: 11111111-1111-4111-8111-111111111111\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 70 MB\t\n',
      '{"fnwatch":"egress","host":"api.stripe.com","port":443,"proto":"tls"}\n',
    ];
    const { source } = await start([g], (s) => {
      s.start();
      s.update(lines.map((m, i) => tailEvent(g, m, 5_000 + i)));
    });
    const got = await collect(source, (e) => e.length >= 3);
    const viaTail: unknown[] = [];
    const direct: unknown[] = [];
    const a = new Pipeline({ onEvent: (ev) => viaTail.push({ ...ev, id: undefined }) });
    for (const le of got) a.processLogEvent(le);
    const b = new Pipeline({ onEvent: (ev) => direct.push({ ...ev, id: undefined }) });
    lines.forEach((message, i) => b.processLogEvent({ logGroup: g, logStream: '2026/01/01/[$LATEST]abc', timestamp: 5_000 + i, message, owner: '123456789012', region: 'us-east-1' }));
    expect(viaTail).toHaveLength(2);
    expect(viaTail).toEqual(direct);
  });

  it('opens one session per 10 log groups', async () => {
    const groups = Array.from({ length: 12 }, (_, i) => `/aws/lambda/fn-${String(i).padStart(2, '0')}`);
    const { server, source } = await start(groups, (s) => {
      s.start();
      s.update(s.logGroupIdentifiers.map((arn, i) => ({ logGroupIdentifier: arn, logStreamName: 's', message: `from ${arn}`, timestamp: i, ingestionTime: i })));
    });
    const got = await collect(source, (e) => e.length >= 12);
    expect(server.sessions.map((s) => s.logGroupIdentifiers.length).sort((a, b) => a - b)).toEqual([2, 10]);
    expect(new Set(got.map((e) => e.logGroup))).toEqual(new Set(groups));
  });

  it('renews sessions before they expire, overlapping them, without duplicates or gaps', async () => {
    const g = '/aws/lambda/renewed';
    const open = new Set<TailSession>();
    const produced: string[] = [];
    let n = 0;
    // The "service": every 20 ms one new event goes to every open session, as Live Tail does.
    const ticker = setInterval(() => {
      if (open.size === 0) return;
      const e = tailEvent(g, `tick ${n}`, 10_000 + n);
      n++;
      produced.push(e.message);
      for (const s of open) s.update([e]);
    }, 20);
    try {
      const { server, source, events } = await start(
        [g],
        async (s) => {
          s.start();
          open.add(s);
          await s.closed;
          open.delete(s);
        },
        { renewAfterMs: 250, overlapMs: 80 },
      );
      const got = await collect(source, (e) => e.length >= 45);
      await source.close();
      const messages = got.map((e) => e.message);
      expect(new Set(messages).size).toBe(messages.length);
      expect(messages).toEqual(produced.slice(0, messages.length));
      expect(server.sessions.length).toBeGreaterThanOrEqual(3);
      expect(source.stats.renewals).toBeGreaterThanOrEqual(2);
      expect(source.stats.duplicates).toBeGreaterThan(0);
      expect(source.stats.reconnects).toBe(0);
      expect(events.filter((e) => e.type === 'gap')).toEqual([]);
      // Each replaced session was closed by the client once its successor had started.
      for (const s of server.sessions.slice(0, -2)) expect(s.isClosed).toBe(true);
    } finally {
      clearInterval(ticker);
    }
  });

  it('keeps the old session streaming while a renewal fails, then hands over without a gap', async () => {
    const g = '/aws/lambda/renew-fails';
    let sentBeforeRejection = -1;
    let sent = 0;
    let first: TailSession | undefined;
    server = await startLiveTailServer({
      logGroups: [g],
      onSession: async (s) => {
        if (s.index === 0) first = s;
        if (s.index === 1) {
          sentBeforeRejection = sent;
          return s.reject(400, 'LimitExceededException', 'too many concurrent sessions');
        }
        s.start();
        for (let i = 0; !s.isClosed && i < 100; i++) {
          if (s.index === 0) sent = i + 1;
          s.update([tailEvent(g, `s${s.index} #${i}`, s.index * 1_000 + i)]);
          await sleep(20);
        }
      },
    });
    const events: LiveTailEvent[] = [];
    source = new LiveTailSource(createLogsClient({ endpoint: server.endpoint, maxAttempts: 1 }), {
      logGroups: [g],
      backoff: { baseMs: 100, maxMs: 100 },
      renewAfterMs: 300,
      overlapMs: 40,
      onEvent: (e) => events.push(e),
    });
    // A few updates of the new session (60 ms), well before it is renewed in turn (300 ms) even on a
    // busy machine.
    const got = await collect(source, (e) => e.filter((x) => x.message.startsWith('s2 ')).length >= 3);
    // As of the handover (the source goes on renewing every 300 ms).
    const kinds = events.map((e) => e.type).filter((t) => t !== 'session-start');
    const stats = { ...source.stats };
    const messages = got.map((e) => e.message);
    const firstOfNew = messages.findIndex((m) => m.startsWith('s2 '));
    // Session 0 went on delivering through the failed renewal and the backoff after it...
    expect(sentBeforeRejection).toBeGreaterThan(0);
    expect(messages).toContain(`s0 #${sentBeforeRejection + 1}`);
    expect(messages.slice(0, firstOfNew)).toEqual(Array.from({ length: firstOfNew }, (_, i) => `s0 #${i}`));
    // ...lost nothing until its replacement took over, and was then closed by the client (not left
    // streaming beside it; how soon depends on the 40 ms overlap and on how busy the machine is).
    const fromOld = messages.filter((m) => m.startsWith('s0 '));
    expect(fromOld).toEqual(Array.from({ length: fromOld.length }, (_, i) => `s0 #${i}`));
    expect(kinds).toEqual(['reconnect', 'session-renewed']);
    expect(stats).toMatchObject({ reconnects: 1, renewals: 1, gapMs: 0 });
    await expect.poll(() => first?.isClosed, { timeout: 5_000 }).toBe(true);
    expect(sent).toBeLessThan(100);
  });

  it('reconnects with backoff after the server drops the connection, and reports the gap', async () => {
    const g = '/aws/lambda/dropped';
    const { server, source, events } = await start([g], async (s) => {
      s.start();
      s.update([tailEvent(g, `s${s.index} a`, s.index * 10)]);
      await sleep(30);
      s.update([tailEvent(g, `s${s.index} b`, s.index * 10 + 1)]);
      await sleep(30);
      if (s.index === 0) s.drop();
    });
    const got = await collect(source, (e) => e.length >= 4);
    expect(got.map((e) => e.message)).toEqual(['s0 a', 's0 b', 's1 a', 's1 b']);
    expect(server.sessions).toHaveLength(2);
    expect(source.stats).toMatchObject({ sessions: 2, reconnects: 1 });
    expect(events.find((e) => e.type === 'reconnect')).toMatchObject({ type: 'reconnect', attempt: 1, logGroups: [g] });
    expect(events.filter((e) => e.type === 'gap')).toHaveLength(1);
  });

  it('reconnects after a SessionStreamingException frame, and at once after SessionTimeoutException', async () => {
    const g = '/aws/lambda/errors';
    const { source, events } = await start([g], (s) => {
      s.start();
      s.update([tailEvent(g, `s${s.index}`, s.index)]);
      if (s.index === 0) s.exception('SessionStreamingException', 'internal stream error');
      if (s.index === 1) s.exception('SessionTimeoutException', 'session reached 3 hours');
    });
    const got = await collect(source, (e) => e.length >= 3);
    expect(got.map((e) => e.message)).toEqual(['s0', 's1', 's2']);
    const ended = events.filter((e) => e.type === 'session-ended').map((e) => (e as { error?: string }).error);
    expect(ended).toEqual(['SessionStreamingException: internal stream error', 'SessionTimeoutException: session reached 3 hours']);
    expect(source.stats.reconnects).toBe(1);
  });

  it('fails with a UsageError naming the group when access is denied', async () => {
    const g = '/aws/lambda/secret';
    const { source } = await start([g], (s) => s.reject(400, 'AccessDeniedException', 'User is not authorized to perform: logs:StartLiveTail'));
    const err = await collect(source, () => false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('StartLiveTail denied for log group /aws/lambda/secret: AccessDeniedException: User is not authorized to perform: logs:StartLiveTail');
  });

  it('fails with a UsageError for an unknown log group name', async () => {
    server = await startLiveTailServer({ logGroups: ['/aws/lambda/known'], onSession: (s) => s.start() });
    source = new LiveTailSource(createLogsClient({ endpoint: server.endpoint }), { logGroups: ['/aws/lambda/unknown'] });
    await expect(collect(source, () => false)).rejects.toThrow(new UsageError('log group /aws/lambda/unknown does not exist'));
  });

  it('gives up after maxFailures consecutive failed connects', async () => {
    const g = '/aws/lambda/down';
    const { server, source } = await start([g], (s) => s.reject(500, 'InternalFailure', 'service unavailable'), { maxFailures: 3 });
    const err = await collect(source, () => false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FnwatchError);
    expect((err as FnwatchError).retriable).toBe(true);
    expect((err as Error).message).toMatch(/^StartLiveTail failed for log group \/aws\/lambda\/down: InternalFailure/);
    // The SDK retries a 500 itself (3 attempts) on each of our 3 connects.
    expect(server.sessions.length).toBe(9);
  });

  it('drops the oldest batches, counted, when the consumer falls behind', async () => {
    const g = '/aws/lambda/flood';
    const { source, events } = await start(
      [g],
      (s) => {
        s.start();
        for (let i = 0; i < 20; i++) s.update([tailEvent(g, `u${i} x`, i * 2), tailEvent(g, `u${i} y`, i * 2 + 1)]);
        s.update([tailEvent(g, 'last', 100)]);
      },
      { queueLimit: 10 },
    );
    const it = source.batches()[Symbol.asyncIterator]();
    const first = await it.next();
    await sleep(200);
    const rest: string[] = [];
    for (;;) {
      const r = await Promise.race([it.next(), sleep(300).then(() => undefined)]);
      if (!r || r.done) break;
      for (const item of r.value.items) if (item.type === 'log-event') rest.push(item.event.message);
      if (rest.includes('last')) break;
    }
    const delivered = first.value!.items.length + rest.length;
    expect(rest.at(-1)).toBe('last');
    expect(source.stats.dropped).toBeGreaterThan(0);
    expect(delivered + source.stats.dropped).toBe(source.stats.events);
    expect(events.filter((e) => e.type === 'dropped').reduce((n, e) => n + (e as { items: number }).items, 0)).toBe(source.stats.dropped);
    await it.return?.(undefined);
  });
});

describe('liveTailEventId', () => {
  it('depends on every field and on the rank', () => {
    const e = { logGroupIdentifier: 'g', logStreamName: 's', timestamp: 1, ingestionTime: 2, message: 'm' };
    const id = liveTailEventId(e, 0);
    expect(liveTailEventId({ ...e }, 0)).toBe(id);
    expect(liveTailEventId(e, 1)).toBe(`${id}-1`);
    for (const change of [{ logGroupIdentifier: 'h' }, { logStreamName: 't' }, { timestamp: 3 }, { ingestionTime: 3 }, { message: 'n' }]) {
      expect(liveTailEventId({ ...e, ...change }, 0)).not.toBe(id);
    }
  });
});
