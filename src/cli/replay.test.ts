import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TestReceiver } from '../sinks/testing/receiver.ts';
import { fixtureDir, invocationRecord, ndjson, reportLine } from '../sources/files/testing.ts';

const BIN = fileURLToPath(new URL('../../bin/fnwatch.js', import.meta.url));
const INVICTUS = '/work/shared/datasets/cloudtrail-invictus/CloudTrail';
const DEMO = fileURLToPath(new URL('../../datasets/demo/kinesis', import.meta.url));
const fx = fixtureDir('fnwatch-replay-cli-');
afterAll(() => fx.remove());

const T0 = Date.UTC(2024, 0, 1, 0);
const HOUR = 3_600_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function fnwatch(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'replay', ...args], { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** 30 hours of an hourly function calling api.stripe.com, then once a host never seen. */
function egressStory(): unknown[] {
  const rows: unknown[] = [];
  for (let h = 0; h < 30; h++) {
    const t = T0 + h * HOUR;
    const host = h === 28 ? 'evil.example.net' : 'api.stripe.com';
    const egress = `${new Date(t + 10).toISOString()}\treq-${h}\tINFO\t{"fnwatch":"egress","host":"${host}","port":443,"proto":"tls"}\n`;
    rows.push({ logGroup: '/aws/lambda/orders', logStream: '2024/01/01/[$LATEST]abc', owner: '111111111111', region: 'us-east-1', timestamp: t + 10, message: egress });
    rows.push({ logGroup: '/aws/lambda/orders', logStream: '2024/01/01/[$LATEST]abc', owner: '111111111111', region: 'us-east-1', timestamp: t + 20, message: reportLine(`req-${h}`, 30) });
  }
  return rows;
}

describe('fnwatch replay', () => {
  it('replays the Invictus CloudTrail dataset cleanly', async () => {
    const summary = join(fx.dir, 'invictus-summary.json');
    const r = await fnwatch(INVICTUS, '--summary-json', summary);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    expect(Object.keys(s).slice(0, 6)).toEqual(['records', 'log_events', 'events', 'control_messages', 'dead_letter', 'alerts']);
    expect(Object.keys(s.events)).toEqual(['invocation', 'resource_access', 'egress', 'change']);
    expect(s.records).toBeGreaterThan(0);
    expect(s.events.resource_access + s.events.change).toBeGreaterThan(0);
    expect(s.dead_letter).toBe(0);
    expect(s.files).toBe(55);
    expect(r.stdout).toMatch(/^Replayed 55 files/);
    expect(r.stdout).toContain(`records           ${s.records.toLocaleString('en-US')}`);
  });

  it('writes alerts, dead letters and the summary, and prints alerts grouped by function', async () => {
    fx.write('story/logs.ndjson.gz', ndjson(egressStory()) + '{"logGroup": "/aws/lambda/orders", "timest\n', true);
    fx.write('story/kinesis/shard-000.ndjson', ndjson([invocationRecord('billing', '1', T0 + 5 * HOUR)]));
    fx.write('story/README.md', '# recording notes\n');
    const alerts = join(fx.dir, 'out', 'alerts.ndjson');
    const dead = join(fx.dir, 'out', 'dead.ndjson');
    const summary = join(fx.dir, 'out', 'summary.json');
    const r = await fnwatch(join(fx.dir, 'story'), '--alerts', alerts, '--dead-letter', dead, '--summary-json', summary);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    expect(s).toMatchObject({ records: 1, log_events: 61, events: { invocation: 31, egress: 30 }, dead_letter: 1, alerts: 1, files: 2 });
    const written = readFileSync(alerts, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(written).toHaveLength(s.alerts);
    expect(written[0]).toMatchObject({ class_uid: 2004, finding_info: { types: ['new-egress-host'] }, resources: [{ name: 'orders' }] });
    const letters = readFileSync(dead, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(letters).toEqual([expect.objectContaining({ reason: 'bad-json', position: { file: join(fx.dir, 'story', 'logs.ndjson.gz'), line: 61 } })]);
    expect(r.stdout).toContain('1 alert (1 finding) on 1 function:');
    expect(r.stdout).toMatch(/\norders {2}\(111111111111, us-east-1\)\n {2}(MEDIUM {3}|HIGH {5})new-egress-host {6}2024-01-02T04:00:00\.010Z {2}orders connected to evil\.example\.net/);
    expect(r.stdout).toMatch(/dead letters +1 {2}\(bad-json ×1; first at .*logs\.ndjson\.gz:61; written to /);
    expect(r.stdout).toMatch(/skipped files +1\n {4}.*README\.md: not a replay input: not JSON/);
  });

  it('keeps only the --from/--to range, given as ISO-8601 or epoch ms', async () => {
    const path = fx.write('range.ndjson', ndjson(egressStory()));
    const summary = join(fx.dir, 'range.json');
    const r = await fnwatch(path, '--from', '2024-01-01T05:00Z', '--to', String(T0 + 10 * HOUR), '--summary-json', summary, '--quiet');
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    expect(s).toMatchObject({ log_events: 10, events: { invocation: 5, egress: 5 }, filtered: 50 });
  });

  it('fails with one line and exit code 2 on bad input, before writing anything', async () => {
    const missing = join(fx.dir, 'no-such-dir');
    const summary = join(fx.dir, 'never.json');
    const filter = fx.write('filter.json', JSON.stringify({ events: [{ logStreamName: 's', timestamp: T0, message: 'x', eventId: '1' }], searchedLogStreams: [] }));
    const runs = await Promise.all([
      fnwatch(missing, '--summary-json', summary),
      fnwatch(filter, '--summary-json', summary, '--alerts', join(fx.dir, 'never.ndjson')),
      fnwatch(filter, '--from', '1704067200'),
      fnwatch(filter, '--log-group', 'g', '--from', '2024-01-02', '--to', '2024-01-01'),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    for (const r of runs) expect(r.stderr).toMatch(/^fnwatch: [^\n]+\n$/);
    expect(runs[0]!.stderr).toBe(`fnwatch: no such file or directory: ${missing}\n`);
    expect(runs[1]!.stderr).toContain(`${filter}: aws logs filter-log-events output does not name its log group; pass --log-group NAME`);
    expect(runs[2]!.stderr).toContain('looks like epoch seconds');
    expect(runs[3]!.stderr).toContain('empty time range');
    expect(existsSync(summary)).toBe(false);
    expect(existsSync(join(fx.dir, 'never.ndjson'))).toBe(false);
  });

  it('delivers every alert of the demo to a --webhook-url, signed, as well as to --alerts, and writes --report', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const secretFile = fx.write('webhook.secret', secret + '\n');
    // The receiver checks each request's signature with verifyWebhook (and the standardwebhooks library); failures land in rx.problems.
    const rx = await TestReceiver.start({ format: 'ocsf', secret });
    try {
      const alerts = join(fx.dir, 'demo', 'alerts.ndjson');
      const summary = join(fx.dir, 'demo', 'summary.json');
      const report = join(fx.dir, 'demo', 'report', 'replay.html');
      const r = await fnwatch(DEMO, '--webhook-url', rx.url, '--webhook-secret-file', secretFile, '--outbox', join(fx.dir, 'demo', 'outbox'), '--alerts', alerts, '--summary-json', summary, '--report', report);
      expect(r.code).toBe(0);
      expect(rx.problems).toEqual([]);
      const written = readFileSync(alerts, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
      const s = JSON.parse(readFileSync(summary, 'utf8'));
      expect(s.alerts).toBeGreaterThan(0);
      expect(written).toHaveLength(s.alerts);
      expect(rx.accepted().map((a) => a.doc)).toEqual(written);
      expect(rx.requests.length).toBeGreaterThan(0);
      expect(rx.requests.every((q) => q.status === 200)).toBe(true);
      expect(r.stderr).toContain(`webhook: delivered ${s.alerts} alert(s)`);
      expect(r.stderr).toContain(`wrote the report to ${report}`);
      expect(readFileSync(report, 'utf8')).toContain('fnwatch replay');
    } finally {
      await rx.close();
    }
  }, 60_000);

  it('exits non-zero with one clear line when the webhook rejects the alerts', async () => {
    const rx = await TestReceiver.start({ format: 'ocsf', respond: () => ({ status: 400, body: 'bad request' }) });
    try {
      const outbox = join(fx.dir, 'rejecting', 'outbox');
      const input = fx.write('rejecting/story.ndjson', ndjson(egressStory()));
      const r = await fnwatch(input, '--webhook-url', rx.url, '--outbox', outbox, '--quiet');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/\nfnwatch: alert delivery failed: \d+ alert\(s\) rejected by webhook were dead-lettered to [^\n]*dead-letter\.ndjson\n$/);
      const dead = readFileSync(join(outbox, 'dead-letter.ndjson'), 'utf8').trimEnd().split('\n');
      expect(dead).toHaveLength(1);
      expect(rx.requests.length).toBeGreaterThanOrEqual(1);
    } finally {
      await rx.close();
    }
  }, 60_000);

  it('--workers 2 gives the demo’s summary and alerts as one thread does', async () => {
    const out = (w: string, f: string): string => join(fx.dir, `workers-${w}`, f);
    const [one, two] = await Promise.all(
      ['1', '2'].map((w) => fnwatch(DEMO, '--workers', w, '--alerts', out(w, 'alerts.ndjson'), '--summary-json', out(w, 'summary.json'), '--quiet')),
    );
    expect(one).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(two).toEqual({ code: 0, stdout: '', stderr: '' });
    const summary = (w: string): Record<string, unknown> => {
      const { wall_ms: _wall, events_per_s: _speed, ...rest } = JSON.parse(readFileSync(out(w, 'summary.json'), 'utf8'));
      return rest;
    };
    expect(summary('2')).toEqual(summary('1'));
    expect(summary('1').alerts).toBeGreaterThan(0);
    // kind, function, severity, start, uid; the explanation's peer_functions is per worker (see src/sources/files/replay-workers.test.ts).
    const alerts = (w: string): string[] =>
      readFileSync(out(w, 'alerts.ndjson'), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((a) => `${a.finding_info.types[0]} ${a.resources[0].name} ${a.severity_id} ${a.finding_info.first_seen_time} ${a.finding_info.uid} ${a.time}`)
        .sort();
    expect(alerts('2')).toEqual(alerts('1'));
    expect(alerts('2')).toHaveLength(summary('1').alerts as number);
  }, 60_000);

  it('refuses a --workers count that is not a whole number from 1, and --report with --workers, before writing anything', async () => {
    const report = join(fx.dir, 'workers-report', 'never.html');
    const summary = join(fx.dir, 'workers-report', 'never.json');
    const [zero, word, withReport, withOne] = await Promise.all([
      fnwatch(DEMO, '--workers', '0'),
      fnwatch(DEMO, '--workers', 'abc'),
      fnwatch(DEMO, '--workers', '2', '--report', report, '--summary-json', summary),
      fnwatch(DEMO, '--workers', '1', '--report', join(fx.dir, 'workers-report', 'one.html'), '--quiet'),
    ]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/^error: option '--workers <n>' argument '0' is invalid\. must be a whole number from 1 to \d+ \(got "0"\)\n/);
    expect(word.code).toBe(2);
    expect(word.stderr).toMatch(/^error: option '--workers <n>' argument 'abc' is invalid\. must be a whole number from 1 to \d+ \(got "abc"\)\n/);
    expect(withReport).toMatchObject({ code: 2, stdout: '', stderr: 'fnwatch: --report cannot be used with --workers above 1: the report must see every event on one thread\n' });
    expect(existsSync(report)).toBe(false);
    expect(existsSync(summary)).toBe(false);
    // One worker is the single-thread replay, where the report works.
    expect(withOne.code).toBe(0);
    expect(readFileSync(join(fx.dir, 'workers-report', 'one.html'), 'utf8')).toContain('fnwatch replay');
  }, 60_000);

  it('rejects webhook options without --webhook-url before reading anything', async () => {
    const r = await fnwatch(DEMO, '--outbox', join(fx.dir, 'lonely-outbox'));
    expect(r).toMatchObject({ code: 2, stderr: 'fnwatch: --outbox needs --webhook-url\n' });
  });
});
