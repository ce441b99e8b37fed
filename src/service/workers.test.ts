import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../core/alert.ts';
import { UsageError, type SourceItem } from '../core/contracts.ts';
import type { DeadLetter, FunctionRef } from '../core/events.ts';
import { Engine } from '../pipeline/engine.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import type { BaselineSnapshot } from '../profiler/snapshot.ts';
import { cloudTrailOwner, FunctionRouter, peekLogGroup, WorkerPipeline, WorkQueues } from './workers.ts';

const DEMO = fileURLToPath(new URL('../../datasets/demo/kinesis/shard-000.ndjson.gz', import.meta.url));

/** The bundled demo dataset (generated: 3 days, 12 functions, 3 attacks) as source items, in order. */
function demoItems(): SourceItem[] {
  const lines = gunzipSync(readFileSync(DEMO)).toString('utf8').split('\n').filter(Boolean);
  return lines.map((line, i) => {
    const r = JSON.parse(line) as { Data: string; SequenceNumber: string };
    return { type: 'payload', data: r.Data, position: { shard: 'shardId-000000000000', sequence: r.SequenceNumber, record: i } };
  });
}

/**
 * An alert's content, less the peer-group count: the fleet prior (how many other functions use an
 * egress host or action) is per worker, so a worker counts only the peers in its own partition.
 */
function alertKey(a: Alert): string {
  const unmapped = { ...(a.unmapped as Record<string, unknown> | undefined) };
  delete unmapped.peer_functions;
  return JSON.stringify({ ...a, unmapped });
}

function peers(alerts: Alert[]): Map<string, number> {
  return new Map(alerts.map((a) => [a.finding_info.uid, Number((a.unmapped as Record<string, unknown> | undefined)?.peer_functions ?? 0)]));
}

let open: WorkerPipeline | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe('peekLogGroup', () => {
  const doc = { messageType: 'DATA_MESSAGE', owner: '111111111111', logGroup: '/aws/lambda/orders-api', logStream: 's', logEvents: [{ id: '1', timestamp: 1, message: 'x'.repeat(5000) }] };

  it('reads the group from a prefix of gzip bytes, base64 of gzip, and JSON text', () => {
    const gz = gzipSync(JSON.stringify(doc));
    expect(peekLogGroup(gz)).toBe('/aws/lambda/orders-api');
    expect(peekLogGroup(gz.toString('base64'))).toBe('/aws/lambda/orders-api');
    expect(peekLogGroup(JSON.stringify(doc))).toBe('/aws/lambda/orders-api');
  });

  it('finds a group that comes after a long field, within the larger prefix', () => {
    const late = { messageType: 'DATA_MESSAGE', subscriptionFilters: Array.from({ length: 200 }, (_, i) => `filter-${i}-${(i * 7919) % 1000}`), logGroup: '/aws/lambda/late', logStream: 's', logEvents: [] };
    expect(peekLogGroup(gzipSync(JSON.stringify(late)))).toBe('/aws/lambda/late');
  });

  it('gives up (undefined) on garbage, truncated gzip without the group, and escaped names', () => {
    expect(peekLogGroup('not base64 at all!')).toBeUndefined();
    expect(peekLogGroup(new Uint8Array([1, 2, 3]))).toBeUndefined();
    expect(peekLogGroup(gzipSync(JSON.stringify(doc)).subarray(0, 12))).toBeUndefined();
    expect(peekLogGroup(JSON.stringify({ ...doc, logGroup: '/aws/lambda/a\\"b' }))).toBeUndefined();
    expect(peekLogGroup(null as unknown as string)).toBeUndefined();
  });
});

describe('cloudTrailOwner', () => {
  const record = (ui: object, source = 's3.amazonaws.com') => JSON.stringify({ eventVersion: '1.08', userIdentity: ui, eventTime: '2026-01-05T00:00:00Z', eventSource: source, eventName: 'GetObject' });

  it('names the assumed-role session of a CloudTrail record', () => {
    expect(cloudTrailOwner(record({ type: 'AssumedRole', principalId: 'AROA:orders-api', arn: 'arn:aws:sts::111111111111:assumed-role/orders-role/orders-api', accountId: '111111111111' }))).toEqual({ session: 'orders-api' });
    expect(cloudTrailOwner(record({ type: 'AssumedRole', arn: 'arn:aws-cn:sts::111111111111:assumed-role/r/f' }))).toEqual({ session: 'f' });
  });

  it('says other for callers the parser cannot attribute to a function', () => {
    expect(cloudTrailOwner(record({ type: 'IAMUser', arn: 'arn:aws:iam::111111111111:user/alice' }))).toBe('other');
  });

  it('leaves Lambda API calls, odd layouts and non-records to the parser', () => {
    expect(cloudTrailOwner(record({ type: 'AssumedRole', arn: 'arn:aws:sts::111111111111:assumed-role/r/deployer' }, 'lambda.amazonaws.com'))).toBe('parse');
    expect(cloudTrailOwner(JSON.stringify({ eventVersion: '1.08', eventSource: 's3.amazonaws.com' }))).toBe('parse');
    expect(cloudTrailOwner(record({ type: 'AssumedRole', arn: 'arn:aws:sts::111111111111:assumed-role/r/a\\"b' }))).toBe('parse');
    expect(cloudTrailOwner('START RequestId: x')).toBe('parse');
  });
});

describe('FunctionRouter', () => {
  it('keeps a function on one worker and places new ones on the least-loaded', () => {
    const r = new FunctionRouter(3);
    expect(r.route('busy', 1000)).toBe(0);
    expect(r.route('b', 10)).toBe(1);
    expect(r.route('c', 10)).toBe(2);
    expect(r.route('d', 10)).toBe(1);
    expect(r.route('busy', 1000)).toBe(0);
    expect(r.route('e', 1)).toBe(2);
    expect([...r.load]).toEqual([2000, 20, 11]);
  });

  it('places a set of new functions heaviest first, each on the least-loaded worker, and keeps placed ones', () => {
    const r = new FunctionRouter(2);
    expect(r.routePlaced('a', 5)).toBeUndefined();
    expect([...r.load]).toEqual([0, 0]);
    // In order of appearance one by one: a → 0, b → 1, c → 0 (0: 1010, 1: 600). Heaviest first: c → 0, b → 1, a → 1.
    const placed = r.placeAll([
      ['a', 10],
      ['b', 600],
      ['c', 1000],
    ]);
    expect(Object.fromEntries(placed)).toEqual({ a: 1, b: 1, c: 0 });
    expect([...r.load]).toEqual([1000, 610]);
    expect(r.routePlaced('a', 5)).toBe(1);
    expect(r.placeAll([['c', 1], ['d', 7]]).get('c')).toBe(0);
    expect([...r.load]).toEqual([1001, 622]);
  });
});

describe('WorkQueues', () => {
  it('holds the work of new functions until the batch ends, then places them heaviest first', () => {
    const q = new WorkQueues<string>(new FunctionRouter(2));
    q.send('light', 10, 'l1');
    q.send('heavy', 500, 'h1');
    q.send('light', 10, 'l2');
    expect(q.take()).toEqual([['h1'], ['l1', 'l2']]);
    q.send('light', 10, 'l3');
    q.toAll('tick');
    expect(q.take()).toEqual([['tick'], ['l3', 'tick']]);
  });

  it('keeps the records of a shared stream in stream order on every worker, placing their functions at once', () => {
    // A CloudTrail stream's records 1..6 from sessions a (placed), b (new, held), c (new): a worker's
    // duplicate check expects each stream's ids in order, so none may queue behind a later one.
    const router = new FunctionRouter(2);
    router.route('a', 1000);
    const q = new WorkQueues<string>(router);
    q.send('b', 300, 'b-lambda-payload');
    q.sendNow('a', 1, 'ct1');
    q.sendNow('b', 1, 'ct2');
    q.sendNow('c', 1, 'ct3');
    q.sendNow('b', 1, 'ct4');
    q.send('d', 50, 'd-lambda-payload');
    q.sendNow('a', 1, 'ct5');
    q.toWorker(0, 'ct6');
    const [w0, w1] = q.take();
    const stream = (w: string[]): string[] => w.filter((x) => x.startsWith('ct'));
    for (const w of [w0!, w1!]) expect(stream(w)).toEqual([...stream(w)].sort());
    // b's held payload comes before its first record; all of b and c went to worker 1 (a's is busier)
    expect(w1).toEqual(['b-lambda-payload', 'ct2', 'ct3', 'ct4', 'd-lambda-payload']);
    expect(w0).toEqual(['ct1', 'ct5', 'ct6']);
  });
});

describe('WorkerPipeline', () => {
  it('raises the same alerts and counts as one pipeline over the demo dataset, with 2 workers', async () => {
    const items = demoItems();
    const single: Alert[] = [];
    const p = new Pipeline({ onAlert: (a) => single.push(a) });
    for (const item of items) p.process(item);
    p.finish();
    expect(single.length).toBeGreaterThan(0);

    const parallel: Alert[] = [];
    const wp = (open = await WorkerPipeline.start({ workers: 2, onAlert: (a) => parallel.push(a) }));
    const fromBatches: Alert[] = [];
    for (let i = 0; i < items.length; i += 500) fromBatches.push(...(await wp.processBatch(items.slice(i, i + 500))));
    const busy = await wp.busy();
    expect(busy).toHaveLength(2);
    expect(Math.min(...busy)).toBeGreaterThan(0);
    const counts = await wp.finish();
    expect(wp.busyMs.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(busy[0]! + busy[1]!);

    expect(parallel.map(alertKey).sort()).toEqual(single.map(alertKey).sort());
    expect(fromBatches.map(alertKey).sort()).toEqual(single.map(alertKey).sort());
    expect(counts).toEqual(p.counts);
    const singlePeers = peers(single);
    for (const [uid, n] of peers(parallel)) expect(n).toBeLessThanOrEqual(singlePeers.get(uid)!);
    // Lambda payloads went to the workers raw; the CloudTrail group was parsed on the coordinator.
    expect(wp.routing.raw).toBeGreaterThan(wp.routing.coordinator);
    expect(wp.routing.coordinator).toBeGreaterThan(0);
    expect(wp.snapshot()!.functions.length).toBe(p.snapshot().functions.length);
  }, 60_000);

  it('forgets what it learned on reset, so a second pass over the same items raises the same alerts on the same threads', async () => {
    const items = demoItems();
    const p = new Pipeline();
    for (const item of items) p.process(item);

    const wp = (open = await WorkerPipeline.start({ workers: 2 }));
    const first: Alert[] = [];
    for (let i = 0; i < items.length; i += 500) first.push(...(await wp.processBatch(items.slice(i, i + 500))));
    expect(first.length).toBeGreaterThan(0);
    expect(wp.counts).toEqual(p.counts);
    // Without a reset the same items again are redeliveries: dropped, no alerts.
    expect(await wp.processBatch(items.slice(0, 500))).toEqual([]);

    await wp.reset();
    expect(wp.counts).toEqual(new Pipeline().counts);
    expect(wp.functions).toBe(0);
    expect(wp.watermark).toBe(-Infinity);
    expect(wp.routing).toEqual({ raw: 0, coordinator: 0 });
    const second: Alert[] = [];
    for (let i = 0; i < items.length; i += 500) second.push(...(await wp.processBatch(items.slice(i, i + 500))));
    expect(second.map(alertKey).sort()).toEqual(first.map(alertKey).sort());
    expect(wp.counts).toEqual(p.counts);
    expect(wp.functions).toBe(p.engine.profiles.size);
  }, 60_000);

  it('reports counts, functions and watermark as batches finish, and its state while running', async () => {
    const items = demoItems();
    const half = items.length >> 1;
    const p = new Pipeline();
    for (const item of items.slice(0, half)) p.process(item);

    const wp = (open = await WorkerPipeline.start({ workers: 2 }));
    expect(wp.counts.records).toBe(0);
    expect(wp.functions).toBe(0);
    expect(wp.watermark).toBe(-Infinity);
    await wp.processBatch(items.slice(0, half));
    expect(wp.counts).toEqual(p.counts);
    expect(wp.functions).toBe(p.engine.profiles.size);
    expect(wp.watermark).toBe(p.engine.watermark);

    const running = await wp.state();
    const single = p.snapshot();
    expect(running.baseline.watermark).toBe(single.watermark);
    const names = (fns: Record<string, unknown>[]) => fns.map((f) => (f as { fn: { name: string } }).fn.name).sort();
    expect(names(running.baseline.functions)).toEqual(names(single.functions));
    expect(running.openAlerts.map(([k]) => k).sort()).toEqual(p.engine.scorer.openAlerts().map(([k]) => k).sort());
    expect(running.openAlerts.length).toBeGreaterThan(0);
    // The state is a copy: processing on does not change it.
    const before = JSON.stringify(running);
    await wp.processBatch(items.slice(half));
    expect(JSON.stringify(running)).toBe(before);
  }, 60_000);

  it('restores baselines and open alerts into the worker of their function, which then suppresses repeats', async () => {
    const items = demoItems();
    const half = items.length >> 1;
    // Reference: one pipeline over everything.
    const all: Alert[] = [];
    const p = new Pipeline({ onAlert: (a) => all.push(a) });
    for (const item of items.slice(0, half)) p.process(item);
    const saved = { baseline: p.snapshot(), openAlerts: p.engine.scorer.openAlerts() };
    const firstHalf = all.length;
    for (const item of items.slice(half)) p.process(item);
    p.finish();

    // Restart at half time from the saved state, on 2 workers: the second half alerts as if uninterrupted.
    const resumed: Alert[] = [];
    const wp = (open = await WorkerPipeline.start({ workers: 2, baseline: saved.baseline, openAlerts: saved.openAlerts, onAlert: (a) => resumed.push(a) }));
    expect(wp.functions).toBe(saved.baseline.functions.length);
    const restored = await wp.state();
    expect(restored.openAlerts.map(([k]) => k).sort()).toEqual(saved.openAlerts.map(([k]) => k).sort());
    for (let i = half; i < items.length; i += 500) await wp.processBatch(items.slice(i, Math.min(items.length, i + 500)));
    await wp.finish();
    expect(resumed.map((a) => a.finding_info.uid).sort()).toEqual(all.slice(firstHalf).map((a) => a.finding_info.uid).sort());
    expect(wp.snapshot()!.functions.length).toBe(p.snapshot().functions.length);
  }, 60_000);

  it('merges every worker\'s fleet section into its state, not only the first worker\'s', async () => {
    // Six functions, each beginning to use a destination after its learning period (24 h): one engine
    // writes a late use for each; restored on two workers, each worker holds some of them.
    const ref = (name: string): FunctionRef => ({ name, account: '111111111111', region: 'us-east-1' });
    const T = Date.UTC(2026, 0, 5);
    const engine = new Engine({}, () => {});
    const names = ['auth-api', 'cart-api', 'gdpr-export', 'sso-provisioner', 'search-api', 'pdf-renderer'];
    names.forEach((name, i) => {
      const fn = ref(name);
      for (let h = 0; h < 30; h++) engine.observe({ kind: 'invocation', time: T + h * 3_600_000 + i, fn, requestId: `${name}-${h}`, version: '1', durationMs: 50, billedDurationMs: 50, memorySizeMB: 128, status: 'success', format: 'text' });
      engine.observe({ kind: 'egress', time: T + 3_600_000 + i, fn, host: 'api.stripe.com', port: 443, via: 'instrumentation' });
      engine.observe({ kind: 'egress', time: T + 28 * 3_600_000 + i, fn, host: `late-${i}.example.org`, port: 443, via: 'instrumentation' });
    });
    const baseline = JSON.parse(JSON.stringify(engine.snapshot())) as BaselineSnapshot;
    expect(baseline.fleet!.lateEgress.map(([k]) => k.split('/')[2]).sort()).toEqual([...names].sort());

    const wp = (open = await WorkerPipeline.start({ workers: 2, baseline }));
    const merged = (await wp.state()).baseline;
    expect(merged.functions).toHaveLength(names.length);
    expect(merged.fleet).toEqual(baseline.fleet);
    await wp.finish();
    expect(wp.snapshot()!.fleet).toEqual(baseline.fleet);
  }, 60_000);

  it('dead-letters bad payloads once and counts them', async () => {
    const dead: DeadLetter[] = [];
    const wp = (open = await WorkerPipeline.start({ workers: 2, onDeadLetter: (dl) => dead.push(dl) }));
    const good = gzipSync(JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '111111111111', logGroup: '/aws/lambda/f', logStream: '2026/01/05/[$LATEST]abc', logEvents: [{ id: 'x1', timestamp: 1767571200000, message: 'START RequestId: 449acee3-b4f9-47db-8e67-a358dc9135f9 Version: $LATEST\n' }] }));
    await wp.processBatch([
      { type: 'payload', data: 'not base64 at all!', position: { record: 0 } },
      { type: 'payload', data: good, position: { record: 1 } },
      { type: 'payload', data: gzipSync('{"logGroup":"/aws/lambda/g", truncated'), position: { record: 2 } },
    ]);
    const counts = await wp.finish();
    expect(dead.map((d) => [d.reason, d.position.record])).toEqual([
      ['bad-base64', 0],
      ['bad-json', 2],
    ]);
    // The caller's bytes stay usable: the worker got a copy moved to it, not the caller's buffer.
    expect(good.length).toBeGreaterThan(0);
    expect(gunzipSync(good).toString('utf8')).toContain('/aws/lambda/f');
    expect(counts.records).toBe(3);
    expect(counts.dead_letter).toBe(2);
    expect(counts.log_events).toBe(1);
  }, 30_000);

  it('rejects bad options with a UsageError', async () => {
    await expect(WorkerPipeline.start({ workers: 0 })).rejects.toThrow(UsageError);
    await expect(WorkerPipeline.start({ workers: 2, parser: { isKnownFunction: () => true } })).rejects.toThrow(/isKnownFunction/);
  });
});
