import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/alert.ts';
import type { Sink } from '../../core/contracts.ts';
import type { DeadLetter, FnEvent } from '../../core/events.ts';
import { writeEventsArrow } from './arrow.ts';
import { runReplay, type ReplayProgress } from './replay.ts';
import { cloudTrailRecord, fixtureDir, invocationRecord, kinesisEntry, ndjson, reportLine } from './testing.ts';

const fx = fixtureDir();
afterAll(() => fx.remove());

const T0 = Date.UTC(2024, 0, 1, 0);
const HOUR = 3_600_000;

/** A sink that keeps what it is given, the way a file or webhook sink would receive it. */
class MemorySink implements Sink {
  readonly name = 'memory';
  readonly written: Alert[] = [];
  writes = 0;
  flushes = 0;
  async write(alerts: Alert[]): Promise<void> {
    this.writes++;
    this.written.push(...alerts);
  }
  async flush(): Promise<void> {
    this.flushes++;
  }
  async close(): Promise<void> {}
}

/** 30 hours of hourly invocations calling api.stripe.com, then one call to a host never seen: one new-egress-host alert. */
function egressStory(): unknown[] {
  const rows: unknown[] = [];
  for (let h = 0; h < 30; h++) {
    const t = T0 + h * HOUR;
    const host = h === 28 ? 'evil.example.net' : 'api.stripe.com';
    const egress = `${new Date(t + 10).toISOString()}\treq-${h}\tINFO\t{"fnwatch":"egress","host":"${host}","port":443,"proto":"tls"}\n`;
    rows.push({ logGroup: '/aws/lambda/orders', logStream: '2024/01/01/[$LATEST]abc', timestamp: t + 10, message: egress });
    rows.push({ logGroup: '/aws/lambda/orders', logStream: '2024/01/01/[$LATEST]abc', timestamp: t + 20, message: reportLine(`req-${h}`, 30) });
  }
  return rows;
}

describe('runReplay', () => {
  it('runs every format through the pipeline and adds file dead letters to the parser’s', async () => {
    const kinesis = fx.write('all/shard.ndjson.gz', ndjson([0, 1, 2].map((i) => invocationRecord('orders', `s${i}`, T0 + i * 1000))) + 'garbage line\n', true);
    const badPayload = fx.write('all/bad-payload.ndjson', ndjson([kinesisEntry('x1', T0 + 5000, '!!!not base64 gzip!!!')]));
    const trail = fx.write(
      'all/trail.json',
      JSON.stringify({ Records: [cloudTrailRecord('orders', 'GetObject', '2024-01-01T00:00:04Z', 'e1'), cloudTrailRecord('orders', 'PutObject', '2024-01-01T00:00:06Z', 'e2')] }),
    );
    const logs = fx.write('all/logs.ndjson', ndjson([{ logGroup: '/aws/lambda/billing', logStream: 's', timestamp: T0 + 3000, message: reportLine('b1', 40) }]));
    const dead: DeadLetter[] = [];
    const r = await runReplay({ inputs: [kinesis, badPayload, trail, logs], onDeadLetter: (dl) => dead.push(dl) });
    expect(r.counts).toMatchObject({
      records: 3 + 1 + 2,
      log_events: 3 + 1,
      events: { invocation: 4, resource_access: 2, egress: 0, change: 0 },
      dead_letter: 2,
    });
    expect(dead.map((d) => [d.position.file, d.position.line])).toEqual(
      expect.arrayContaining([
        [kinesis, 4],
        [badPayload, 1],
      ]),
    );
    expect(r.merge).toMatchObject({ files: 4, entries: 3 + 1 + 2 + 1, deadLetters: 1 });
  });

  it('hands every alert to the sinks and the result, and flushes them at the end', async () => {
    const path = fx.write('story/logs.ndjson.gz', ndjson(egressStory()), true);
    const sink = new MemorySink();
    const seen: Alert[] = [];
    const progress: ReplayProgress[] = [];
    const r = await runReplay({ inputs: [path], sinks: [sink], onAlert: (a) => seen.push(a), onBatch: (p) => void progress.push(p), batchSize: 16 });
    expect(r.alerts.map((a) => a.finding_info.types[0])).toEqual(['new-egress-host']);
    expect(r.alerts[0]!.finding_info.desc).toContain('evil.example.net');
    expect(sink.written).toEqual(r.alerts);
    expect(seen).toEqual(r.alerts);
    expect(sink.flushes).toBe(1);
    expect(r.counts.alerts).toBe(1);
    expect(progress).toHaveLength(Math.ceil(60 / 16));
    expect(progress.at(-1)).toMatchObject({ entries: 60, events: 60, alerts: 1, bytesDone: progress.at(-1)!.bytesTotal, position: T0 + 29 * HOUR + 20 });
  });

  it('replays the same files to the same alerts, with a baseline taking the place of learning', async () => {
    const rows = egressStory();
    const learn = fx.write('split/learn.ndjson', ndjson(rows.slice(0, 50)));
    const rest = fx.write('split/rest.ndjson', ndjson(rows.slice(50)));
    const whole = await runReplay({ inputs: [learn, rest] });
    const again = await runReplay({ inputs: [learn, rest] });
    expect(again.alerts).toEqual(whole.alerts);
    const trained = await runReplay({ inputs: [learn] });
    expect(trained.alerts).toEqual([]);
    const resumed = await runReplay({ inputs: [rest], pipeline: { baseline: trained.pipeline.snapshot() } });
    expect(resumed.alerts.map((a) => a.finding_info.uid)).toEqual(whole.alerts.map((a) => a.finding_info.uid));
  });

  it('feeds Arrow events to the pipeline as they are, and honours --from/--to on them', async () => {
    const events: FnEvent[] = [0, 1, 2, 3].map((i) => ({ kind: 'invocation', time: T0 + i * HOUR, fn: { name: 'a' }, status: 'success', format: 'text', durationMs: 10 }));
    const path = fx.write('arrow/events.arrow', '');
    await writeEventsArrow(path, events);
    const r = await runReplay({ inputs: [path], from: T0 + HOUR, to: T0 + 3 * HOUR });
    expect(r.counts.events.invocation).toBe(2);
    expect(r.counts.records).toBe(0);
    expect(r.merge.filtered).toBe(2);
  });
});
