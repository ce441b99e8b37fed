import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../core/alert.ts';
import { FnwatchError, UsageError } from '../core/contracts.ts';
import { TestReceiver } from '../sinks/testing/receiver.ts';
import { startLiveTailServer, testLogGroupArn } from '../sources/cloudwatch-logs/testing/live-tail-server.ts';
import { runReplay } from '../sources/files/replay.ts';
import { startDenyProxy } from '../sources/kinesis/testing/deny-proxy.ts';
import { freePort } from '../sources/kinesis/testing/servers.ts';
import { parseServiceConfig } from './config.ts';
import { DEMO_DATASET } from './demo.ts';
import { createStream, putRecords, readRecordDumps } from './embedded.ts';
import { Service, type ServiceOptions } from './service.ts';
import { alertsByFunction, feedStream, httpGet, listLeases, localKinesisSource, readAlertFile, startLocalAws, useFakeAws, waitFor, type LocalAws } from './testing.ts';

const records = readRecordDumps(DEMO_DATASET);
const quiet = pino({ level: 'silent' });
const devNull = new Writable({ write: (_c, _e, cb) => cb() });
let aws: LocalAws;
let restoreEnv: () => void;
let dir: string;

beforeAll(async () => {
  restoreEnv = useFakeAws();
  aws = await startLocalAws();
  dir = mkdtempSync(join(tmpdir(), 'fnwatch-service-'));
});
afterAll(async () => {
  await aws?.stop();
  restoreEnv?.();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * An alert's content less the peer-group count: with worker threads the fleet prior (how many other
 * functions use a host or an action) counts only the functions of the alert's own worker.
 */
function alertContent(a: Alert): string {
  const unmapped = { ...(a.unmapped as Record<string, unknown> | undefined) };
  delete unmapped.peer_functions;
  return JSON.stringify({ ...a, unmapped });
}

function kinesisSource(stream: string, extra: Record<string, unknown> = {}) {
  return localKinesisSource(aws, stream, { failover: '3s', ...extra });
}

async function start(raw: Record<string, unknown>, opts: ServiceOptions = {}): Promise<Service> {
  return Service.start(parseServiceConfig({ http: { port: 0 }, ...raw }), { log: quiet, stdout: devNull, ...opts });
}

/** Waits until `n` records were consumed and nothing arrived for a moment, then stops. */
/** A restart from the saved state restores all 12 baselines, has nothing left to read and adds no alert. */
async function expectRestartReadsNothing(raw: Record<string, unknown>, alertsFile: string, alerts: number): Promise<void> {
  const again = await start(raw);
  expect(again.functionsProfiled).toBe(12);
  await waitFor('ready', () => (again.ready ? true : undefined));
  await new Promise((r) => setTimeout(r, 500));
  const second = await again.stop();
  expect(second.counts.records).toBe(0);
  expect(readAlertFile(alertsFile)).toHaveLength(alerts);
}

async function drainAndStop(service: Service, n: number) {
  await waitFor('records consumed', () => (service.recordsSeen >= n && Date.now() - service.lastBatchAt > 300 ? true : undefined), 60_000);
  return service.stop();
}

describe('Service on a local Kinesis', () => {
  it('raises the same alerts as replay over the same records, checkpoints, releases leases and snapshots', async () => {
    const reference = await runReplay({ inputs: [DEMO_DATASET] });
    expect(reference.alerts.length).toBeGreaterThan(3);
    await feedStream(aws, 'equiv', 1, records);

    const alertsFile = join(dir, 'equiv-alerts.ndjson');
    const stateDir = join(dir, 'equiv-state');
    const seen: Alert[] = [];
    const service = await start(
      { sources: [kinesisSource('equiv')], sinks: [{ type: 'file', path: alertsFile }], state: { dir: stateDir, snapshotInterval: '1h' } },
      { onAlerts: (a) => seen.push(...a) },
    );
    const summary = await drainAndStop(service, records.length);

    const written = readAlertFile(alertsFile);
    expect(written.map((a) => a.finding_info.uid)).toEqual(reference.alerts.map((a) => a.finding_info.uid));
    expect(alertsByFunction(written)).toEqual(alertsByFunction(reference.alerts));
    expect(seen.map((a) => a.finding_info.uid)).toEqual(written.map((a) => a.finding_info.uid));
    expect(summary.counts.events).toEqual(reference.counts.events);
    expect(summary.counts.records).toBe(records.length);

    // Stopped cleanly: the lease is released and checkpointed at the last record.
    const [lease] = await listLeases(aws, 'app-equiv');
    expect(lease?.leaseOwner).toBeUndefined();
    const snap = JSON.parse(readFileSync(join(stateDir, 'baseline.json'), 'utf8'));
    expect(snap.schema).toBe('fnwatch.baseline/2');
    expect(snap.functions.length).toBe(12);
    expect(snap.positions.equiv['shardId-000000000000']).toBe(lease?.checkpoint);

    // A restart restores the baselines and has nothing left to read.
    await expectRestartReadsNothing({ sources: [kinesisSource('equiv')], sinks: [{ type: 'file', path: alertsFile }], state: { dir: stateDir } }, alertsFile, written.length);
  }, 60_000);

  it('with workers: 2, raises the same alerts as replay, snapshots from the worker threads and restores into them', async () => {
    const reference = await runReplay({ inputs: [DEMO_DATASET] });
    await feedStream(aws, 'equiv-workers', 1, records);
    const alertsFile = join(dir, 'workers-alerts.ndjson');
    const stateDir = join(dir, 'workers-state');
    // A short snapshot interval: snapshots are also taken from the running threads, not only at the end.
    const config = { sources: [kinesisSource('equiv-workers')], sinks: [{ type: 'file', path: alertsFile }], state: { dir: stateDir, snapshotInterval: '200ms' }, workers: 2 };
    const seen: Alert[] = [];
    const service = await start(config, { onAlerts: (a) => seen.push(...a) });
    const summary = await drainAndStop(service, records.length);

    const written = readAlertFile(alertsFile);
    expect(written.length).toBe(reference.alerts.length);
    expect(written.map(alertContent).sort()).toEqual(reference.alerts.map(alertContent).sort());
    expect(seen.map((a) => a.finding_info.uid).sort()).toEqual(written.map((a) => a.finding_info.uid).sort());
    expect(summary.counts).toEqual(reference.counts);
    expect(summary.snapshots).toBeGreaterThan(1);

    const [lease] = await listLeases(aws, 'app-equiv-workers');
    const snap = JSON.parse(readFileSync(join(stateDir, 'baseline.json'), 'utf8'));
    expect(snap.functions.length).toBe(12);
    expect(snap.positions['equiv-workers']['shardId-000000000000']).toBe(lease?.checkpoint);

    await expectRestartReadsNothing(config, alertsFile, written.length);
    expect(JSON.parse(readFileSync(join(stateDir, 'baseline.json'), 'utf8')).functions.length).toBe(12);
  }, 90_000);

  it('serves /healthz, /readyz and /metrics, and dead-letters what it cannot parse', async () => {
    const receiver = await TestReceiver.start({ format: 'ocsf' });
    const deadFile = join(dir, 'dead.ndjson');
    try {
      await createStream(aws.kinesis, 'ops', 2);
      const service = await start({
        sources: [kinesisSource('ops')],
        sinks: [{ type: 'webhook', url: receiver.url, outboxDir: join(dir, 'outbox'), backoffBaseMs: 10, backoffCapMs: 50 }],
        deadLetters: deadFile,
      });
      const base = service.ops!.url;
      expect((await httpGet(`${base}/healthz`)).status).toBe(200);
      await waitFor('ready', async () => ((await httpGet(`${base}/readyz`)).status === 200 ? true : undefined));
      // The demo goes to one shard under one key, so it is read in order and raises the same alerts as a
      // replay; split over two shards, which alerts it raises would depend on how the shards' reads interleave.
      const reference = await runReplay({ inputs: [DEMO_DATASET] });
      const demo = records.map((r) => ({ ...r, partitionKey: 'demo' }));
      const garbage = ['not gzip', '{"half": ', 'x'].map((s, i) => ({ data: Buffer.from(s), partitionKey: `g${i}` }));
      const total = demo.length + garbage.length;
      await putRecords(aws.kinesis, 'ops', [...demo, ...garbage]);
      await waitFor('records consumed', () => (service.recordsSeen >= total && service.counts.alerts >= reference.alerts.length ? true : undefined), 60_000);
      await new Promise((r) => setTimeout(r, 1_100)); // one gauge refresh

      const ready = await httpGet(`${base}/readyz`);
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', leases: 2, records: total });
      const metrics = (await httpGet(`${base}/metrics`)).body;
      const value = (line: string) => Number(metrics.split('\n').find((l) => l.startsWith(line + ' '))?.split(' ')[1]);
      const sum = (name: string) => metrics.split('\n').filter((l) => l.startsWith(name + '{')).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
      expect(value('fnwatch_records_total')).toBe(total);
      expect(value('fnwatch_events_total{kind="invocation"}')).toBe(service.counts.events.invocation);
      expect(value('fnwatch_leases')).toBe(2);
      expect(metrics).toMatch(/^fnwatch_shard_lag_ms\{shard="shardId-000000000000"\} \d+/m);
      expect(metrics).toMatch(/^fnwatch_shard_lag_ms\{shard="shardId-000000000001"\} \d+/m);
      expect(metrics).toMatch(/^fnwatch_parse_errors_total\{reason="[a-z-]+"\} \d/m);
      expect(value('fnwatch_dead_letters_total')).toBe(3);
      expect(metrics).toMatch(/^fnwatch_alerts_total\{kind="[a-z-]+",severity="[a-z]+"\} \d/m);
      expect(sum('fnwatch_alerts_total')).toBe(reference.alerts.length);
      expect(metrics).toMatch(/^fnwatch_sink_queue_depth\{sink="webhook"\} \d+/m);
      expect(metrics).toMatch(/^fnwatch_process_resident_memory_bytes \d+/m);
      expect(value('fnwatch_ready')).toBe(1);

      await service.stop();
      const dead = readFileSync(deadFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(dead).toHaveLength(3);
      expect(dead.every((d) => typeof d.position.sequence === 'string' && d.reason)).toBe(true);
      // Every alert reached the receiver before the stop completed.
      const delivered = receiver.requests.flatMap((r) => r.docs).length;
      expect(delivered).toBe(service.counts.alerts);
      expect(receiver.problems).toEqual([]);
    } finally {
      await receiver.close();
    }
  }, 90_000);

  it('refuses to start, naming state.dir, when its state directory cannot be written', async () => {
    const inTheWay = join(dir, 'a-file');
    writeFileSync(inTheWay, 'not a directory');
    const err = await start({ sources: [kinesisSource('unwritable')], state: { dir: join(inTheWay, 'state') } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`state.dir: cannot write to ${join(inTheWay, 'state')}: ENOTDIR`);
    // Refused before any source started: no lease table was created.
    await expect(listLeases(aws, 'app-unwritable')).rejects.toThrow(/app-unwritable.*(not found|does not exist|ResourceNotFound)/i);
  });

  it('with two instances given one state.dir, the one that started first stops saving there and says which took it over', async () => {
    const stateDir = join(dir, 'shared-state');
    await feedStream(aws, 'replica-a', 1, records.slice(0, 500));
    await createStream(aws.kinesis, 'replica-b', 1);
    const lines: Array<{ msg: string; err?: string }> = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
    const state = { dir: stateDir, snapshotInterval: '1h' };
    const first = await start({ sources: [kinesisSource('replica-a')], state }, { log });
    await waitFor('records consumed', () => (first.recordsSeen >= 500 ? true : undefined), 30_000);
    const second = await start({ sources: [kinesisSource('replica-b')], state });
    await waitFor('ready', () => (second.ready ? true : undefined));

    await first.stop();
    const refused = lines.find((l) => l.msg.startsWith('cannot snapshot'));
    expect(refused?.err).toMatch(/^state\.dir: .*baseline\.json is now written by another fnwatch \(host .+, pid \d+, started .+\); this instance no longer saves its baselines there \(a successor started before this one stopped, or two replicas share it: give each its own state\.dir\)$/);
    await second.stop();
    // What is saved is the second instance's, whole: not the first's learning under the second's positions.
    const snap = JSON.parse(readFileSync(join(stateDir, 'baseline.json'), 'utf8'));
    expect(Object.keys(snap.positions)).toEqual(['replica-b']);
    expect(snap.functions).toHaveLength(0);
  }, 60_000);

  it('fails with a clear error naming the stream when the stream does not exist', async () => {
    const service = await start({ sources: [kinesisSource('no-such-stream')] });
    const err = await service.done.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/no-such-stream/);
    expect(service.ready).toBe(false);
  }, 30_000);

  it('fails with a clear error when the stream is deleted while running', async () => {
    await feedStream(aws, 'doomed', 1, records.slice(0, 100));
    const service = await start({ sources: [kinesisSource('doomed')] });
    await waitFor('records consumed', () => (service.recordsSeen >= 100 ? true : undefined));
    await aws.kinesis.send(new DeleteStreamCommand({ StreamName: 'doomed' }));
    const started = Date.now();
    const err = await service.done.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FnwatchError);
    expect((err as Error).message).toMatch(/doomed/);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 40_000);

  it('fails with a clear error when the lease table is not permitted', async () => {
    const proxy = await startDenyProxy(aws.dynamoEndpoint, ['DescribeTable', 'CreateTable']);
    try {
      await createStream(aws.kinesis, 'denied', 1);
      const service = await start({ sources: [kinesisSource('denied', { dynamodbEndpoint: proxy.endpoint })] });
      const err = await service.done.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/app-denied/);
      expect((err as Error).message).toMatch(/AccessDenied|not authorized/);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('fails, does not hang, when the endpoint does not answer', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const service = await start({ sources: [kinesisSource('any', { endpoint: closed, dynamodbEndpoint: closed, retryBudget: '1s', callTimeout: '1s' })] });
    const err = await service.done.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FnwatchError);
    expect((err as Error).message).toContain(closed);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('refuses a port in use and a dead-letter path it cannot write, before reading anything', async () => {
    const busy = (await import('node:net')).createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (busy.address() as { port: number }).port;
      const config = parseServiceConfig({ sources: [kinesisSource('unused')], http: { port } });
      await expect(Service.start(config, { log: quiet })).rejects.toThrow(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} for /metrics: EADDRINUSE`));
      const blocked = join(dir, 'a-file');
      writeFileSync(blocked, 'x');
      await expect(start({ sources: [kinesisSource('unused')], deadLetters: join(blocked, 'dead.ndjson') })).rejects.toThrow(UsageError);
    } finally {
      busy.close();
    }
  });

  it('follows CloudWatch Logs Live Tail as a source', async () => {
    const group = '/aws/lambda/orders-api';
    const t0 = Date.UTC(2026, 0, 5, 12);
    const lines = Array.from({ length: 20 }, (_, i) => ({
      logStreamName: '2026/01/05/[$LATEST]abc',
      logGroupIdentifier: testLogGroupArn(group),
      message: `REPORT RequestId: 0000000${i}-1111-2222-3333-444444444444\tDuration: 12.5 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t\n`,
      timestamp: t0 + i * 1000,
      ingestionTime: t0 + i * 1000 + 200,
    }));
    const server = await startLiveTailServer({
      logGroups: [group],
      onSession: (session) => {
        session.start();
        session.update(lines.slice(0, 10));
        setTimeout(() => session.update(lines.slice(10)), 50);
      },
    });
    try {
      const service = await start({ sources: [{ type: 'cloudwatch-logs', logGroups: [group], endpoint: server.endpoint, region: 'us-east-1' }] });
      await waitFor('ready', () => (service.ready ? true : undefined));
      await waitFor('invocations', () => (service.counts.events.invocation === 20 ? true : undefined));
      const summary = await service.stop();
      expect(summary.counts.log_events).toBe(20);
      expect(summary.counts.dead_letter).toBe(0);
    } finally {
      await server.close();
    }
  }, 30_000);
});
