import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/alert.ts';
import type { SinkDeadLetter } from '../dead-letter.ts';
import type { WebhookFormat } from '../formats/index.ts';
import { memoryLogger } from '../log.ts';
import { CountingSinkMetrics } from '../metrics.ts';
import { sampleAlert, sampleAlerts } from '../testing/alerts.ts';
import { freePort, functionOf, seqOf, TestReceiver, type ReceiverOptions } from '../testing/receiver.ts';
import { parseSecrets } from './sign.ts';
import { WEBHOOK_DEFAULTS, WebhookSink, type WebhookSinkOptions } from './sink.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const HEC_TOKEN = '4a8a737d-5452-426c-a6f7-106dca4e813f';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fnwatch-webhook-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function receiver(opts: ReceiverOptions): Promise<TestReceiver> {
  const rx = await TestReceiver.start(opts);
  cleanup.push(() => rx.close());
  return rx;
}

async function sink(over: Partial<WebhookSinkOptions> & { url: string }, metrics = new CountingSinkMetrics(), log = memoryLogger()) {
  const s = await WebhookSink.open(
    {
      ...WEBHOOK_DEFAULTS,
      format: 'ocsf',
      secrets: parseSecrets(SECRET, 'test'),
      outboxDir: tempDir(),
      backoffBaseMs: 20,
      backoffCapMs: 200,
      flushTimeoutMs: 20_000,
      ...over,
    },
    { log, metrics },
  );
  cleanup.push(() => s.close());
  return { sink: s, metrics, log };
}

async function writeInChunks(s: WebhookSink, alerts: Alert[], chunk: number): Promise<void> {
  for (let i = 0; i < alerts.length; i += chunk) await s.write(alerts.slice(i, i + chunk));
}

function deadLetters(path: string): SinkDeadLetter[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SinkDeadLetter);
}

/** Checks that each function's alerts arrived in increasing order. */
function expectPerFunctionOrder(format: WebhookFormat, docs: unknown[]): void {
  const last = new Map<string, number>();
  for (const d of docs) {
    const fn = functionOf(format, d);
    const seq = seqOf(format, d);
    expect(seq, `${fn} order`).toBeGreaterThan(last.get(fn) ?? -1);
    last.set(fn, seq);
  }
}

describe('WebhookSink delivery to a real receiver', () => {
  for (const format of ['ocsf', 'splunk-hec', 'ecs'] as const) {
    it(`delivers every alert, signed and valid, as ${format}`, async () => {
      const rx = await receiver({ format, secret: SECRET, splunkToken: HEC_TOKEN });
      const { sink: s, metrics } = await sink({ url: rx.url, format, splunkToken: format === 'splunk-hec' ? HEC_TOKEN : undefined, batchMaxAlerts: 8 });
      const alerts = sampleAlerts(60);
      await writeInChunks(s, alerts, 7);
      await s.flush();

      expect(rx.problems).toEqual([]);
      const got = rx.accepted();
      expect(got.map((g) => seqOf(format, g.doc))).toEqual(alerts.map((_, i) => i));
      expect(rx.requests.length).toBeGreaterThanOrEqual(8);
      expect(Math.max(...rx.requests.map((r) => r.docs.length))).toBeLessThanOrEqual(8);
      for (const r of rx.requests) expect(r.id).toMatch(/^fw-[0-9a-f]{24}\.1\.[0-9a-f]{16}(\+\d+)?$/);
      expect(metrics).toMatchObject({ queuedCount: 60, deliveredCount: 60, deadLetteredCount: 0 });
      expect(s.pending).toBe(0);
    });
  }

  it('queues while the receiver is down and delivers everything, in order, once it is up', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/fnwatch`;
    const { sink: s, metrics } = await sink({ url, batchMaxAlerts: 5 });
    const alerts = sampleAlerts(40);
    await writeInChunks(s, alerts, 3); // resolves: durable in the outbox although nobody listens
    await new Promise((r) => setTimeout(r, 400));
    expect(metrics.deliveredCount).toBe(0);
    expect(metrics.retriedCount).toBeGreaterThan(0);
    expect(s.pending).toBe(40);

    const rx = await receiver({ format: 'ocsf', secret: SECRET, port });
    await s.flush();
    expect(rx.problems).toEqual([]);
    const docs = rx.accepted().map((g) => g.doc);
    expect(docs.map((d) => seqOf('ocsf', d))).toEqual(alerts.map((_, i) => i));
    expectPerFunctionOrder('ocsf', docs);
  });

  it('dead-letters only the alert the receiver rejects with 400, with the response, and delivers the rest in order', async () => {
    const bad = 13;
    const rx = await receiver({
      format: 'ocsf',
      secret: SECRET,
      respond: ({ docs }) => (docs.some((d) => seqOf('ocsf', d) === bad) ? { status: 400, body: '{"error":"field resources[0].uid rejected"}' } : undefined),
    });
    const { sink: s, metrics } = await sink({ url: rx.url, batchMaxAlerts: 10, backoffBaseMs: 5 });
    await writeInChunks(s, sampleAlerts(50), 10);
    await s.flush();

    const docs = rx.accepted().map((g) => g.doc);
    expect(docs.map((d) => seqOf('ocsf', d))).toEqual(Array.from({ length: 50 }, (_, i) => i).filter((i) => i !== bad));
    const dl = deadLetters(s.deadLetters.path);
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ reason: 'rejected', status: 400, response: '{"error":"field resources[0].uid rejected"}', attempts: 3, sink: 'webhook' });
    expect((dl[0]!.alert as Alert).unmapped!.seq).toBe(bad);
    expect(metrics.deadLetteredCount).toBe(1);
    // The lone offender was tried exactly maxRejectedAttempts times.
    const tries = rx.requests.filter((r) => r.docs.length === 1 && seqOf('ocsf', r.docs[0]) === bad);
    expect(tries).toHaveLength(3);
  });

  it('honours Retry-After on 429', async () => {
    const rx = await receiver({ format: 'ocsf', secret: SECRET, respond: ({ n }) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : undefined) });
    const { sink: s, log } = await sink({ url: rx.url, backoffBaseMs: 1, backoffCapMs: 2 });
    await s.write(sampleAlerts(3));
    await s.flush();
    expect(rx.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(rx.requests[1]!.at - rx.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(rx.requests[1]!.id).toBe(rx.requests[0]!.id);
    expect(log.lines.join('\n')).toMatch(/HTTP 429\); retry 1 in 1000 ms \(Retry-After\)/);
  });

  it('retries 5xx and timeouts with the same webhook-id', async () => {
    const rx = await receiver({
      format: 'ocsf',
      secret: SECRET,
      respond: ({ n }) => (n === 0 ? { status: 503 } : n === 1 ? { status: 200, delayMs: 1500 } : undefined),
    });
    const { sink: s, metrics } = await sink({ url: rx.url, timeoutMs: 300 });
    await s.write(sampleAlerts(4));
    await s.flush();
    expect(rx.requests.length).toBe(3);
    expect(new Set(rx.requests.map((r) => r.id)).size).toBe(1);
    expect(metrics.retriedCount).toBe(2);
    expect(metrics.deliveredCount).toBe(4);
  });

  it('dead-letters a batch whose retriable failures outlast maxRetryDurationMs, then carries on', async () => {
    const rx = await receiver({ format: 'ocsf', secret: SECRET, respond: ({ docs }) => (seqOf('ocsf', docs[0]) < 2 ? { status: 503, body: 'maintenance' } : undefined) });
    const { sink: s, metrics } = await sink({ url: rx.url, batchMaxAlerts: 2, maxRetryDurationMs: 150, backoffBaseMs: 10, backoffCapMs: 20 });
    await s.write(sampleAlerts(4));
    await s.flush();
    expect(rx.accepted().map((g) => seqOf('ocsf', g.doc))).toEqual([2, 3]);
    const dl = deadLetters(s.deadLetters.path);
    expect(dl.map((d) => [d.reason, d.status, d.response, (d.alert as Alert).unmapped!.seq])).toEqual([
      ['retries-exhausted', 503, 'maintenance', 0],
      ['retries-exhausted', 503, 'maintenance', 1],
    ]);
    expect(metrics.deadLetteredCount).toBe(2);
  });

  it('stops on 410 and keeps the alerts in the outbox for the next run', async () => {
    const rx = await receiver({ format: 'ocsf', secret: SECRET, respond: () => ({ status: 410 }) });
    const dir = tempDir();
    const log = memoryLogger();
    const first = await WebhookSink.open({ ...WEBHOOK_DEFAULTS, format: 'ocsf', url: rx.url, secrets: parseSecrets(SECRET, 't'), outboxDir: dir }, { log });
    await first.write(sampleAlerts(5));
    await first.flush();
    expect(first.state).toBe('stopped');
    expect(first.pending).toBe(5);
    expect(rx.requests).toHaveLength(1);
    expect(log.lines.join('\n')).toMatch(/answered HTTP 410 \(gone\): delivery stopped; 5 alert\(s\) stay in the outbox/);
    await first.close();

    const good = await receiver({ format: 'ocsf', secret: SECRET });
    const { sink: second } = await sink({ url: good.url, outboxDir: dir });
    await second.flush();
    expect(good.accepted().map((g) => seqOf('ocsf', g.doc))).toEqual([0, 1, 2, 3, 4]);
  });

  it('dead-letters invalid alerts at write time and keeps the valid ones', async () => {
    const rx = await receiver({ format: 'ocsf', secret: SECRET });
    const { sink: s, metrics } = await sink({ url: rx.url });
    const broken = { ...sampleAlert(1), finding_info: undefined } as unknown as Alert;
    await s.write([sampleAlert(0), broken, sampleAlert(2)]);
    await s.flush();
    expect(rx.accepted().map((g) => seqOf('ocsf', g.doc))).toEqual([0, 2]);
    const dl = deadLetters(s.deadLetters.path);
    expect(dl).toMatchObject([{ reason: 'invalid-alert', error: expect.stringMatching(/finding_info is required/) }]);
    expect(metrics.deadLetteredCount).toBe(1);
  });

  it('blocks write() at the outbox cap while the receiver fails, and completes when it recovers (onFull: block)', async () => {
    let healthy = false;
    const rx = await receiver({ format: 'ocsf', secret: SECRET, respond: () => (healthy ? undefined : { status: 503 }) });
    const { sink: s, metrics } = await sink({ url: rx.url, maxOutboxBytes: 24 * 1024, batchMaxAlerts: 4 });
    const alerts = sampleAlerts(60); // ~100 KB in all
    let done = false;
    const writing = writeInChunks(s, alerts, 4).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(done).toBe(false);
    expect(metrics.peakBytes).toBeLessThanOrEqual(24 * 1024);
    healthy = true;
    await writing;
    await s.flush();
    expect(rx.accepted().map((g) => seqOf('ocsf', g.doc))).toEqual(alerts.map((_, i) => i));
    expect(metrics.droppedCount).toBe(0);
  });

  it('drops the oldest alerts at the cap, recording each in the dead-letter file (onFull: drop-oldest)', async () => {
    let healthy = false;
    const rx = await receiver({ format: 'ocsf', secret: SECRET, respond: () => (healthy ? undefined : { status: 503 }) });
    const { sink: s, metrics } = await sink({ url: rx.url, maxOutboxBytes: 24 * 1024, onFull: 'drop-oldest', batchMaxAlerts: 4 });
    await writeInChunks(s, sampleAlerts(60), 4); // never waits for the receiver
    expect(metrics.droppedCount).toBeGreaterThan(0);
    healthy = true;
    await s.flush();
    const delivered = rx.accepted().map((g) => seqOf('ocsf', g.doc));
    const dropped = deadLetters(s.deadLetters.path).filter((d) => d.reason === 'outbox-full');
    expect(dropped).toHaveLength(metrics.droppedCount);
    const droppedSeqs = dropped.map((d) => Number.parseInt(d.finding_uid!.slice(3), 16));
    // Dropped are the oldest; delivered are the rest, in order; together they are everything.
    expect([...droppedSeqs, ...delivered]).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(dropped[0]).toMatchObject({ function: 'fn-0', kind: 'denial-of-wallet' });
  });
});
