/**
 * The service as a process (`node bin/fnwatch.js run --config FILE`): SIGTERM, a second signal,
 * SIGKILL and restart, bad config. Kinesis and DynamoDB are local (kinesalite, dynalite) in this
 * test process; the service is a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplay } from '../sources/files/replay.ts';
import { freePort } from '../sources/kinesis/testing/servers.ts';
import { DEMO_DATASET } from './demo.ts';
import { readRecordDumps } from './embedded.ts';
import { FAKE_AWS_ENV, feedStream, httpGet, listLeases, readAlertFile, shardSequences, startLocalAws, useFakeAws, waitFor, type LocalAws } from './testing.ts';

const CLI = fileURLToPath(new URL('../../bin/fnwatch.js', import.meta.url));
const records = readRecordDumps(DEMO_DATASET);
let aws: LocalAws;
let restoreEnv: () => void;
let dir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  restoreEnv = useFakeAws();
  aws = await startLocalAws();
  dir = mkdtempSync(join(tmpdir(), 'fnwatch-process-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await aws?.stop();
  restoreEnv?.();
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runService(configPath: string): Running {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...FAKE_AWS_ENV };
  const child = spawn(process.execPath, [CLI, 'run', '--config', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, stderr: () => err, exited };
}

function writeConfig(name: string, stream: string, port: number, extra: Record<string, unknown> = {}, sourceExtra: Record<string, unknown> = {}): string {
  const config = {
    sources: [
      {
        type: 'kinesis',
        streamName: stream,
        applicationName: `app-${stream}`,
        endpoint: aws.kinesisEndpoint,
        dynamodbEndpoint: aws.dynamoEndpoint,
        pollInterval: '100ms',
        idleInterval: '100ms',
        checkpointInterval: '300ms',
        failover: '2s',
        ...sourceExtra,
      },
    ],
    sinks: [{ type: 'file', path: join(dir, `${name}-alerts.ndjson`) }],
    state: { dir: join(dir, `${name}-state`), snapshotInterval: '300ms' },
    deadLetters: join(dir, `${name}-dead.ndjson`),
    http: { port },
    log: { level: 'info' },
    ...extra,
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

async function readyz(port: number): Promise<{ status: number; records: number }> {
  try {
    const r = await httpGet(`http://127.0.0.1:${port}/readyz`);
    return { status: r.status, records: JSON.parse(r.body).records };
  } catch {
    return { status: 0, records: 0 };
  }
}

describe('fnwatch run as a process', () => {
  it('SIGKILL mid-stream, then restart: every record processed, no alert lost, only the unacknowledged tail re-sent', async () => {
    const reference = (await runReplay({ inputs: [DEMO_DATASET] })).alerts.map((a) => a.finding_info.uid);
    const last = await feedStream(aws, 'crash', 1, records);
    const port = await freePort();
    // Slow reads (100 records per fetch) so that the kill lands mid-stream; checkpoints lag the
    // snapshots, so the restart re-reads records the restored baselines already hold.
    const config = writeConfig('crash', 'crash', port, { state: { dir: join(dir, 'crash-state'), snapshotInterval: '1ms' } }, { maxRecordsPerFetch: 100, checkpointInterval: '2s' });

    const first = runService(config);
    await waitFor('half the records', async () => ((await readyz(port)).records >= records.length / 2 ? true : undefined), 60_000);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const sequences = await shardSequences(aws, 'crash', 'shardId-000000000000');
    expect(sequences).toHaveLength(records.length);
    const before = readAlertFile(join(dir, 'crash-alerts.ndjson')).map((a) => a.finding_info.uid);
    const [killedLease] = await listLeases(aws, 'app-crash');
    expect(killedLease?.leaseOwner).toBeDefined(); // not released: it died
    expect(BigInt(killedLease!.checkpoint)).toBeLessThan(BigInt(last.get('shardId-000000000000')!));

    const second = runService(config);
    // The dead worker's lease expires after `failover`, then the new one takes it and finishes the shard.
    await waitFor(
      'the last record checkpointed',
      async () => ((await listLeases(aws, 'app-crash'))[0]?.checkpoint === last.get('shardId-000000000000') ? true : undefined),
      60_000,
    );
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const all = readAlertFile(join(dir, 'crash-alerts.ndjson')).map((a) => a.finding_info.uid);
    const after = all.slice(before.length);
    // No alert lost and none invented.
    expect([...new Set(all)].sort()).toEqual([...new Set(reference)].sort());
    // What was sent twice is the tail of the first run, in order.
    const resent = after.filter((uid) => before.includes(uid));
    expect(resent).toEqual(before.slice(before.length - resent.length));
    expect(new Set(after).size).toBe(after.length);
    const logs = second.stderr().trim().split('\n').map((l) => JSON.parse(l));
    expect(logs.some((l) => l.msg === 'restored baselines')).toBe(true);
    // Records between the checkpoint and the snapshot were skipped, not learned twice; the rest were read.
    const stopped = logs.find((l) => l.msg === 'stopped');
    expect(stopped.skipped).toBeGreaterThan(0);
    expect(stopped.skipped + stopped.counts.records).toBe(records.length - 1 - sequences.indexOf(killedLease!.checkpoint));
  }, 120_000);

  it('SIGTERM drains, checkpoints, snapshots, releases the leases and exits 0', async () => {
    const last = await feedStream(aws, 'term', 1, records);
    const port = await freePort();
    const config = writeConfig('term', 'term', port, {}, { maxRecordsPerFetch: 200 });
    const run = runService(config);
    await waitFor('some records', async () => ((await readyz(port)).records >= 1000 ? true : undefined), 60_000);
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code).toBe(0);
    const [lease] = await listLeases(aws, 'app-term');
    expect(lease?.leaseOwner).toBeUndefined();
    expect(BigInt(lease!.checkpoint)).toBeLessThan(BigInt(last.get('shardId-000000000000')!)); // stopped mid-stream
    const snap = JSON.parse(readFileSync(join(dir, 'term-state', 'baseline.json'), 'utf8'));
    expect(snap.positions.term['shardId-000000000000']).toBe(lease!.checkpoint);
    const logs = run.stderr().trim().split('\n').map((l) => JSON.parse(l));
    const stopped = logs.find((l) => l.msg === 'stopped');
    expect(stopped.counts.records).toBeGreaterThanOrEqual(1000);
    expect(logs.some((l) => l.msg === 'lease released' || /signal received/.test(l.msg))).toBe(true);
  }, 60_000);

  it('a second signal exits at once, without waiting for the drain', async () => {
    // A receiver that never answers: the graceful stop waits for the webhook flush.
    const sockets = new Set<import('node:net').Socket>();
    const blackHole: Server = createServer(() => {});
    blackHole.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', () => r()));
    try {
      await feedStream(aws, 'twice', 1, records);
      const port = await freePort();
      const url = `http://127.0.0.1:${(blackHole.address() as { port: number }).port}/hook`;
      const config = writeConfig('twice', 'twice', port, {
        sinks: [{ type: 'webhook', url, outboxDir: join(dir, 'twice-outbox'), timeoutMs: 60_000, flushTimeoutMs: 60_000 }],
      });
      const run = runService(config);
      await waitFor('an alert in the outbox', async () => {
        const m = await httpGet(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        return m && /^fnwatch_sink_queued_total\{sink="webhook"\} [1-9]/m.test(m.body) ? true : undefined;
      }, 60_000);
      run.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 700));
      expect(run.child.exitCode).toBeNull(); // still draining
      const t0 = Date.now();
      run.child.kill('SIGTERM');
      const { code } = await run.exited;
      expect(code).toBe(143);
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(run.stderr()).toMatch(/second signal/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => blackHole.close(() => r()));
    }
  }, 60_000);

  it('rejects a bad config with the file, line and field, exit code 2', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'sources:\n  - type: kinesis\n    applicationName: app\n    pollEvery: 1s\nsinks:\n  - type: stdout\n');
    const run = runService(path);
    const { code } = await run.exited;
    expect(code).toBe(2);
    expect(run.stderr()).toContain(`${path}:2:5: sources[0].streamName: Required`);
    expect(run.stderr()).toContain('unknown key "pollEvery"');
    expect(run.stderr().trim().split('\n')).toHaveLength(1);
  }, 30_000);

  it('exits non-zero with one clear line when the stream does not exist', async () => {
    const port = await freePort();
    const run = runService(writeConfig('missing', 'missing-stream', port));
    const { code } = await run.exited;
    expect(code).toBe(2);
    expect(run.stderr()).toMatch(/^fnwatch: .*missing-stream.*$/m);
    expect(run.stderr().split('\n').filter((l) => l.startsWith('fnwatch: '))).toHaveLength(1);
  }, 30_000);
});
