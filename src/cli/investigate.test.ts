/**
 * `fnwatch investigate` against moto: a hand-shaped Lambda log dataset (and a CloudTrail log group)
 * loaded with PutLogEvents must give the same alerts as the same events run through the Pipeline
 * directly; the command line must print a usable summary, write NDJSON alerts, and fail cleanly.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../core/alert.ts';
import { UsageError } from '../core/contracts.ts';
import { formatTime } from '../core/time.ts';
import { Pipeline, type PipelineOptions } from '../pipeline/pipeline.ts';
import { loadBaseline, saveBaseline } from '../profiler/snapshot.ts';
import { TestReceiver } from '../sinks/testing/receiver.ts';
import { createLogsClient } from '../sources/cloudwatch-logs/client.ts';
import { FAKE_AWS_ENV, useFakeAwsEnv } from '../sources/cloudwatch-logs/testing/aws-env.ts';
import { HOUR, investigationScenario, putLogEvents, TRAIL_GROUP, type LambdaLogWriter } from '../sources/cloudwatch-logs/testing/lambda-dataset.ts';
import { startMoto, type Moto } from '../sources/cloudwatch-logs/testing/moto.ts';
import { formatInvestigation, investigate, type InvestigationResult } from './investigate.ts';

const run = promisify(execFile);
const restoreEnv = useFakeAwsEnv();
let moto: Moto;
let client: CloudWatchLogsClient;
let scenario: LambdaLogWriter;
let tmp: string;
// Hour-aligned and recent enough for CloudWatch Logs to accept; 30 hours of data ending ~18 h ago.
const T0 = Math.floor((Date.now() - 2 * 86_400_000) / HOUR) * HOUR;
const FROM = T0 + 24 * HOUR;
const TO = T0 + 30 * HOUR;

beforeAll(async () => {
  moto = await startMoto();
  client = createLogsClient({ endpoint: moto.endpoint });
  scenario = investigationScenario(T0);
  await putLogEvents(client, scenario.events);
  tmp = mkdtempSync(join(tmpdir(), 'fnwatch-investigate-'));
});
afterAll(async () => {
  await moto?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  restoreEnv();
});

/** The reference: the same events, in time order, through a Pipeline, split at `FROM`. */
function direct(opts: PipelineOptions, learnFrom: number | undefined): { alerts: Alert[]; learningAlerts: number } {
  const alerts: Alert[] = [];
  let learningAlerts = 0;
  let learning = learnFrom !== undefined;
  const p = new Pipeline({ ...opts, onAlert: (a) => (learning ? learningAlerts++ : alerts.push(a)) });
  for (const e of scenario.sorted()) {
    if (e.timestamp < (learnFrom ?? FROM)) continue;
    if (learning && e.timestamp >= FROM) {
      p.advance(FROM - 1);
      learning = false;
    }
    p.processLogEvent({ ...e, owner: '123456789012', region: 'us-east-1' });
  }
  p.advance(TO - 1);
  p.finish();
  return { alerts, learningAlerts };
}

describe('investigate() over moto', () => {
  let result: InvestigationResult;
  beforeAll(async () => {
    result = await investigate({
      client,
      logGroupPrefixes: ['/aws/lambda/'],
      cloudTrailLogGroups: [TRAIL_GROUP],
      learnFrom: T0,
      from: FROM,
      to: TO,
      requestsPerSecond: 1000,
      pageLimit: 2_000,
    });
  });

  it('finds the same alerts as the Pipeline run directly on the same events', () => {
    const reference = direct({ parser: { cloudTrailLogGroups: [TRAIL_GROUP] } }, T0);
    expect(result.alerts).toEqual(reference.alerts);
    expect(result.learningAlerts).toBe(reference.learningAlerts);
    expect(new Set(result.alerts.map((a) => a.finding_info.types[0]))).toEqual(
      new Set(['new-egress-host', 'new-resource-access', 'denial-of-wallet', 'dormant-wakeup']),
    );
  });

  it('reads every event of the three log groups', () => {
    expect(result.groups.map((g) => g.name)).toEqual(['/aws/lambda/billing-cron', '/aws/lambda/orders-api', TRAIL_GROUP]);
    expect(result.fetch.events).toBe(scenario.events.filter((e) => e.timestamp >= T0 && e.timestamp < TO).length);
    expect(result.counts.dead_letter).toBe(0);
    expect(result.counts.events.resource_access).toBe(31);
  });

  it('summarises per function what changed and what alerted', () => {
    const orders = result.functions.find((f) => f.fn.name === 'orders-api')!;
    expect(orders.window.invocations).toBe(6 * 60 + 400);
    expect(orders.changes).toContain('new egress: exfil.example.net:8443');
    expect(orders.changes).toContain('new API actions: secretsmanager:GetSecretValue');
    expect(orders.changes.some((c) => c.startsWith('invocation rate '))).toBe(true);
    expect(orders.findings.map((f) => f.alert.finding_info.types[0]).sort()).toEqual(['denial-of-wallet', 'new-egress-host', 'new-resource-access']);
    expect(orders.findings.find((f) => f.alert.finding_info.types[0] === 'denial-of-wallet')!.updates).toBeGreaterThanOrEqual(1);
    const billing = result.functions.find((f) => f.fn.name === 'billing-cron')!;
    expect(billing.changes[0]).toMatch(/^invocation rate [\d.]+x/);

    const text = formatInvestigation(result);
    expect(text).toContain(`Investigated 3 log groups from ${formatTime(FROM)} to ${formatTime(TO)} (6h), learning from ${formatTime(T0)} (24h)`);
    expect(text).toMatch(/^orders-api {2}\(123456789012 us-east-1\)$/m);
    expect(text).toContain('  changed: new egress: exfil.example.net:8443');
    for (const a of result.alerts.filter((x) => x.activity_id === 1)) expect(text).toContain(a.finding_info.types[0]);
    const latestDesc = orders.findings.find((f) => f.alert.finding_info.types[0] === 'denial-of-wallet')!.alert.finding_info.desc;
    expect(text).toContain(latestDesc);
  });

  it('starts from a saved baseline instead of a learning window, with the same result as the Pipeline', async () => {
    const learner = new Pipeline({ parser: { cloudTrailLogGroups: [TRAIL_GROUP] } });
    for (const e of scenario.sorted()) if (e.timestamp < FROM) learner.processLogEvent({ ...e, owner: '123456789012', region: 'us-east-1' });
    learner.advance(FROM - 1);
    const dir = join(tmp, 'baseline');
    saveBaseline(dir, learner.snapshot());

    const viaBaseline = await investigate({ client, logGroupPrefixes: ['/aws/lambda/'], cloudTrailLogGroups: [TRAIL_GROUP], baseline: loadBaseline(dir), from: FROM, to: TO, requestsPerSecond: 1000 });
    const reference = direct({ parser: { cloudTrailLogGroups: [TRAIL_GROUP] }, baseline: loadBaseline(dir) }, undefined);
    expect(viaBaseline.alerts).toEqual(reference.alerts);
    expect(viaBaseline.alerts.length).toBeGreaterThan(0);
  });

  it('refuses a learning window that does not end before --from, and an empty range', async () => {
    await expect(investigate({ client, logGroups: ['/aws/lambda/orders-api'], learnFrom: FROM, from: FROM, to: TO })).rejects.toThrow(UsageError);
    await expect(investigate({ client, logGroups: ['/aws/lambda/orders-api'], from: TO, to: TO })).rejects.toThrow(/empty time range/);
  });
});

describe('fnwatch investigate (command line)', () => {
  const env = { ...process.env, ...FAKE_AWS_ENV, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const cli = (args: string[]) =>
    run(process.execPath, ['bin/fnwatch.js', 'investigate', ...args], { env: { ...env, AWS_ENDPOINT_URL: moto.endpoint }, cwd: join(import.meta.dirname, '../..') }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('prints the summary and writes the alerts as NDJSON', async () => {
    const file = join(tmp, 'alerts.ndjson');
    const html = join(tmp, 'report.html');
    const r = await cli([
      '--log-group', '/aws/lambda/orders-api',
      '--log-group', '/aws/lambda/billing-cron',
      '--cloudtrail-log-group', TRAIL_GROUP,
      '--learn-from', formatTime(T0),
      '--from', formatTime(FROM),
      '--to', formatTime(TO),
      '--alerts', file,
      '--report', html,
    ]);
    expect(r.stderr).not.toMatch(/Error|at .*\.ts:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Investigated 3 log groups');
    expect(r.stdout).toContain('billing-cron');
    const written = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert);
    expect(written).toEqual(direct({ parser: { cloudTrailLogGroups: [TRAIL_GROUP] } }, T0).alerts);
    expect(r.stderr).toContain(`wrote ${written.length} alerts to ${file}`);
    expect(r.stderr).toContain(`wrote the report to ${html}`);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/i);
    for (const name of ['orders-api', 'billing-cron', 'exfil.example.net:8443']) expect(page).toContain(name);
  });

  it('delivers the alerts to a --webhook-url (signed) and to --alerts alike', async () => {
    const secret = 'whsec_' + Buffer.from('investigate-test-secret-0123456789').toString('base64');
    const rx = await TestReceiver.start({ format: 'ocsf', secret });
    try {
      const file = join(tmp, 'webhook-alerts.ndjson');
      const r = await run(process.execPath, [
        'bin/fnwatch.js', 'investigate',
        '--log-group-prefix', '/aws/lambda/',
        '--cloudtrail-log-group', TRAIL_GROUP,
        '--learn-from', formatTime(T0),
        '--from', formatTime(FROM),
        '--to', formatTime(TO),
        '--alerts', file,
        '--webhook-url', rx.url,
        '--outbox', join(tmp, 'outbox'),
      ], { env: { ...env, AWS_ENDPOINT_URL: moto.endpoint, FNWATCH_WEBHOOK_SECRET: secret }, cwd: join(import.meta.dirname, '../..') });
      const written = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert);
      expect(written).toEqual(direct({ parser: { cloudTrailLogGroups: [TRAIL_GROUP] } }, T0).alerts);
      expect(written.length).toBeGreaterThan(0);
      expect(rx.problems).toEqual([]);
      expect(rx.accepted().map((a) => a.doc)).toEqual(written);
      expect(r.stderr).toContain(`webhook: delivered ${written.length} alert(s)`);
    } finally {
      await rx.close();
    }
  });

  it('names an unknown log group in one line and exits non-zero', async () => {
    const r = await cli(['--log-group', '/aws/lambda/nope', '--from', '-6h']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('fnwatch: log group /aws/lambda/nope does not exist');
  });

  it('rejects bad times in one line with exit code 2', async () => {
    const bad = await cli(['--log-group', '/aws/lambda/orders-api', '--from', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^fnwatch: --from: "yesterday" is not a time: use ISO-8601/);
    const inverted = await cli(['--log-group', '/aws/lambda/orders-api', '--from', '-1h', '--to', '-2h']);
    expect(inverted.code).toBe(2);
    expect(inverted.stderr.trim()).toMatch(/^fnwatch: empty time range: --from \S+ is not before --to \S+$/);
  });
});
