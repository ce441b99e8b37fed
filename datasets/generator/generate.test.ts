import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter, FnEvent, InvocationEvent } from '../../src/core/events.ts';
import type { ParseSink } from '../../src/core/parse-sink.ts';
import { createParser } from '../../src/parsers/index.ts';
import { readEventsArrow } from '../../src/sources/files/arrow.ts';
import { generateDataset, type LabelsFile, type ManifestFile } from './generate.ts';
import { ATTACK_KINDS } from './plan.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

interface LogEventOut {
  id: string;
  timestamp: number;
  message: string;
}
interface Payload {
  owner: string;
  logGroup: string;
  logStream: string;
  subscriptionFilters: string[];
  messageType: string;
  logEvents: LogEventOut[];
}
interface KinesisLine {
  SequenceNumber: string;
  ApproximateArrivalTimestamp: number;
  Data: string;
  PartitionKey: string;
}
interface Rec {
  file: string;
  line: KinesisLine;
  keys: string[];
  payload: Payload;
}

const root = mkdtempSync(join(tmpdir(), 'fnwatch-gen-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every record of every shard file, decoded (base64 → gunzip → JSON). */
function readRecords(dir: string): Rec[] {
  const out: Rec[] = [];
  for (const file of readdirSync(join(dir, 'kinesis')).sort()) {
    const text = gunzipSync(readFileSync(join(dir, 'kinesis', file))).toString('utf8');
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      const line = JSON.parse(raw) as KinesisLine;
      const payload = JSON.parse(gunzipSync(Buffer.from(line.Data, 'base64')).toString('utf8')) as Payload;
      out.push({ file, line, keys: Object.keys(line), payload });
    }
  }
  return out;
}

async function readTruth(dir: string): Promise<FnEvent[]> {
  const out: FnEvent[] = [];
  for await (const ev of readEventsArrow(join(dir, 'events.arrow'))) out.push(ev);
  return out;
}

// 5 days from a Thursday: learning Thu-Sat, attacks Sun-Mon, a weekend for the weekly cycle.
const MAIN = { seed: 42, days: 5, functions: 16, scale: 0.05, start: '2026-01-01T00:00:00Z', attacks: [...ATTACK_KINDS] };
const dir = join(root, 'main');
let labels: LabelsFile;
let manifest: ManifestFile;
let records: Rec[];
let truth: FnEvent[];
let invocations: InvocationEvent[];

beforeAll(async () => {
  ({ labels, manifest } = await generateDataset({ ...MAIN, out: dir }));
  records = readRecords(dir);
  truth = await readTruth(dir);
  invocations = truth.filter((e): e is InvocationEvent => e.kind === 'invocation');
});

const lambdaEvents = (): { rec: Rec; ev: LogEventOut }[] =>
  records.filter((r) => r.payload.logGroup.startsWith('/aws/lambda/')).flatMap((rec) => rec.payload.logEvents.map((ev) => ({ rec, ev })));
const invocationsOf = (fn: string, from: number, to: number): InvocationEvent[] => invocations.filter((e) => e.fn.name === fn && e.time >= from && e.time < to);
const spec = (name: string): LabelsFile['functions'][number] => labels.functions.find((f) => f.name === name)!;

describe('dataset layout and manifest', () => {
  it('writes shards, labels, ground truth and a manifest whose sizes, hashes and counts match the files', () => {
    expect(readdirSync(dir).sort()).toEqual(['events.arrow', 'kinesis', 'labels.json', 'manifest.json']);
    for (const f of manifest.files) {
      const bytes = readFileSync(join(dir, f.path));
      expect(statSync(join(dir, f.path)).size, f.path).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
    }
    const data = records.filter((r) => r.payload.messageType === 'DATA_MESSAGE');
    expect(manifest.counts.records).toBe(records.length);
    expect(manifest.counts.logEvents).toBe(data.reduce((n, r) => n + r.payload.logEvents.length, 0));
    expect(manifest.counts.cloudtrailRecords).toBe(data.filter((r) => r.payload.logGroup.startsWith('aws-cloudtrail-logs-')).reduce((n, r) => n + r.payload.logEvents.length, 0));
    expect(manifest.files.find((f) => f.path === 'events.arrow')!.events).toBe(truth.length);
    for (const kind of ['invocation', 'resource_access', 'egress', 'change'] as const) {
      expect(manifest.counts.events[kind], kind).toBe(truth.filter((e) => e.kind === kind).length);
    }
    expect(manifest.licence.spdx).toBe('MIT');
    expect(manifest.command).toContain('--seed 42');
    expect(labels.attacks.map((a) => a.kind).sort()).toEqual([...ATTACK_KINDS].sort());
  });
});

/** Collects descriptions of violations; one assertion at the end keeps 100k-element checks fast. */
function violations(): { check: (ok: boolean, what: () => string) => void; list: string[] } {
  const list: string[] = [];
  return { list, check: (ok, what) => void (ok || (list.length < 10 && list.push(what()))) };
}

describe('Kinesis wire format', () => {
  it('every line is a get-records Records[] entry carrying a CloudWatch Logs subscription message', () => {
    expect(records.length).toBeGreaterThan(1000);
    const v = violations();
    const KEYS = 'SequenceNumber,ApproximateArrivalTimestamp,Data,PartitionKey';
    for (const r of records) {
      const at = () => `${r.file} ${r.line.SequenceNumber}`;
      v.check(r.keys.join(',') === KEYS, () => `${at()}: keys ${r.keys}`);
      v.check(/^49\d{54}$/.test(r.line.SequenceNumber), () => `${at()}: sequence number`);
      v.check(typeof r.line.ApproximateArrivalTimestamp === 'number', () => `${at()}: arrival`);
      v.check(/^[0-9a-f]{8,}$/.test(r.line.PartitionKey), () => `${at()}: partition key`);
      const p = r.payload;
      if (p.messageType === 'CONTROL_MESSAGE') {
        v.check(p.logEvents[0]!.message.startsWith('CWL CONTROL MESSAGE'), () => `${at()}: control message text`);
        continue;
      }
      v.check(p.messageType === 'DATA_MESSAGE', () => `${at()}: messageType ${p.messageType}`);
      v.check(/^\d{12}$/.test(p.owner), () => `${at()}: owner ${p.owner}`);
      v.check(p.subscriptionFilters.length === 1 && p.subscriptionFilters[0] === 'fnwatch', () => `${at()}: filters`);
      v.check(/^(\/aws\/lambda\/[\w-]+|aws-cloudtrail-logs-\d{12})$/.test(p.logGroup), () => `${at()}: group ${p.logGroup}`);
      for (const e of p.logEvents) {
        v.check(/^\d{56}$/.test(e.id), () => `${at()}: id ${e.id}`);
        // CloudWatch event ids carry the event timestamp in their high bits.
        v.check(BigInt(e.id) >> 144n === BigInt(e.timestamp), () => `${at()}: id ${e.id} vs timestamp ${e.timestamp}`);
      }
    }
    expect(v.list).toEqual([]);
    expect(records.some((r) => r.payload.messageType === 'CONTROL_MESSAGE')).toBe(true);
  });

  it('sequence numbers increase and arrival times never go backwards within each shard file', () => {
    const v = violations();
    for (let i = 1; i < records.length; i++) {
      const [a, b] = [records[i - 1]!, records[i]!];
      if (a.file !== b.file) continue;
      v.check(BigInt(b.line.SequenceNumber) > BigInt(a.line.SequenceNumber), () => `${b.file}: ${b.line.SequenceNumber} after ${a.line.SequenceNumber}`);
      v.check(b.line.ApproximateArrivalTimestamp > a.line.ApproximateArrivalTimestamp, () => `${b.file}: arrival ${b.line.ApproximateArrivalTimestamp}`);
    }
    expect(v.list).toEqual([]);
  });

  it('batches like a subscription: one log stream per record, at most 100 events, sent within ~5 s of the oldest', () => {
    const ids = new Set<string>();
    const v = violations();
    let full = 0;
    for (const r of records) {
      const evs = r.payload.logEvents;
      if (r.payload.messageType !== 'DATA_MESSAGE') continue;
      v.check(evs.length > 0 && evs.length <= 100, () => `${r.line.SequenceNumber}: ${evs.length} events`);
      if (evs.length === 100) full++;
      for (const e of evs) {
        v.check(!ids.has(e.id), () => `duplicate log event id ${e.id}`);
        ids.add(e.id);
      }
      if (!r.payload.logGroup.startsWith('/aws/lambda/')) continue;
      const first = evs[0]!.timestamp;
      const sent = r.line.ApproximateArrivalTimestamp * 1000 - first;
      v.check(evs[evs.length - 1]!.timestamp - first < 5000, () => `${r.line.SequenceNumber}: spans more than 5 s`);
      v.check(sent >= 0 && sent < 5000 + 1500 + 100, () => `${r.line.SequenceNumber}: arrived ${sent} ms after its oldest event`);
      for (let i = 1; i < evs.length; i++) v.check(evs[i]!.timestamp >= evs[i - 1]!.timestamp, () => `${r.line.SequenceNumber}: events out of order`);
    }
    expect(v.list).toEqual([]);
    expect(full, 'busy streams fill whole records').toBeGreaterThan(0);
  });
});

describe('Lambda log lines', () => {
  const STREAM = /^\d{4}\/\d{2}\/\d{2}\/\[(\$LATEST|\d+)\][0-9a-f]{32}$/;
  const DURATION = /(?<!(?:Billed|Init|Restore) )Duration: ([\d.]+) ms/;
  const BILLED = /Billed Duration: (\d+) ms/;
  const MEMORY = /Memory Size: (\d+) MB\tMax Memory Used: (\d+) MB/;
  const INIT = /Init Duration: ([\d.]+) ms/;

  it('text REPORT lines match the real layout; billing rounds up to 1 ms; Init Duration marks exactly the first request of a stream', () => {
    const seenStreams = new Set<string>();
    const v = violations();
    let reports = 0;
    let timeouts = 0;
    const timedOut = new Map<string, string>();
    const LAYOUT = /^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\tMax Memory Used: \d+ MB\t/;
    for (const { rec, ev } of lambdaEvents()) {
      const stream = rec.payload.logStream;
      const m = ev.message;
      v.check(STREAM.test(stream), () => `stream name ${stream}`);
      if (m.startsWith('{')) continue;
      v.check(m.endsWith('\n'), () => `no trailing newline: ${m}`);
      const timeout = /^\S+Z (\S+) Task timed out after (\d+\.\d\d) seconds\n$/.exec(m);
      if (timeout) timedOut.set(timeout[1]!, stream);
      if (m.startsWith('START ')) v.check(m === `START RequestId: ${m.slice(17, 53)} Version: ${STREAM.exec(stream)?.[1]}\n`, () => `START ${m} on ${stream}`);
      if (!m.startsWith('REPORT ')) continue;
      reports++;
      v.check(LAYOUT.test(m), () => `layout: ${m}`);
      const duration = parseFloat(DURATION.exec(m)![1]!);
      v.check(parseInt(BILLED.exec(m)![1]!, 10) === Math.ceil(duration), () => `billing: ${m}`);
      const [, size, used] = MEMORY.exec(m)!.map(Number);
      v.check(used! <= size!, () => `memory: ${m}`);
      v.check(INIT.test(m) === !seenStreams.has(stream), () => `Init Duration and cold start disagree on ${stream}: ${m}`);
      seenStreams.add(stream);
      if (/Status: timeout/.test(m)) {
        timeouts++;
        const rid = /RequestId: (\S+)/.exec(m)![1]!;
        v.check(timedOut.get(rid) === stream, () => `timeout REPORT without its "Task timed out" line: ${m}`);
      }
    }
    expect(v.list).toEqual([]);
    expect(reports).toBeGreaterThan(1000);
    expect(timeouts, 'the miner times out').toBeGreaterThan(5);
  });

  it('JSON-format functions log platform.* records and bare application records', () => {
    const types = new Set<string>();
    let app = 0;
    for (const { ev } of lambdaEvents()) {
      if (!ev.message.startsWith('{')) continue;
      const obj = JSON.parse(ev.message) as Record<string, unknown>;
      if (typeof obj.type === 'string') {
        types.add(obj.type);
        expect(Date.parse(obj.time as string)).toBe(ev.timestamp);
        if (obj.type === 'platform.report') {
          const rec = obj.record as { metrics: Record<string, number>; status: string };
          expect(rec.metrics.billedDurationMs).toBe(Math.ceil(rec.metrics.durationMs!));
          expect(['success', 'error', 'timeout']).toContain(rec.status);
        }
      } else {
        expect(Object.keys(obj).slice(0, 4)).toEqual(['timestamp', 'level', 'requestId', 'message']);
        app++;
      }
    }
    expect([...types].sort()).toEqual(['platform.initStart', 'platform.report', 'platform.start']);
    expect(app).toBeGreaterThan(100);
  });

  it('egress lines appear at most once per host:port per environment per 5 minutes', () => {
    const last = new Map<string, number>();
    let n = 0;
    for (const { rec, ev } of lambdaEvents()) {
      const i = ev.message.indexOf('{"fnwatch":"egress"');
      if (i === -1) continue;
      const body = ev.message.startsWith('{"timestamp"') ? (JSON.parse(ev.message) as { message: string }).message : ev.message.slice(i).trimEnd();
      const egress = JSON.parse(body) as { fnwatch: string; host: string; port: number; proto: string };
      expect(Object.keys(egress)).toEqual(['fnwatch', 'host', 'port', 'proto']);
      const key = `${rec.payload.logStream}|${egress.host}:${egress.port}`;
      const prev = last.get(key);
      if (prev !== undefined) expect(ev.timestamp - prev).toBeGreaterThanOrEqual(5 * MIN);
      last.set(key, ev.timestamp);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });
});

describe('CloudTrail through the CloudTrail log group', () => {
  it('records are attributed to the calling function and reach the stream 2-10 minutes after eventTime', () => {
    const names = new Set(labels.functions.map((f) => f.name));
    let calls = 0;
    let deploys = 0;
    for (const r of records.filter((x) => x.payload.logGroup.startsWith('aws-cloudtrail-logs-'))) {
      expect(r.payload.logStream).toMatch(/^\d{12}_CloudTrail_[a-z]{2}-[a-z]+-\d$/);
      for (const e of r.payload.logEvents) {
        const rec = JSON.parse(e.message) as Record<string, any>;
        expect(rec.eventVersion).toBe('1.09');
        expect(Date.parse(rec.eventTime)).toBe(e.timestamp);
        const delay = r.line.ApproximateArrivalTimestamp * 1000 - e.timestamp;
        expect(delay).toBeGreaterThanOrEqual(2 * MIN);
        expect(delay).toBeLessThan(10 * MIN + 10_000);
        if (rec.userIdentity.type === 'AssumedRole') {
          const [, session] = /assumed-role\/[^/]+\/([^/]+)$/.exec(rec.userIdentity.arn)!;
          expect(names.has(session!)).toBe(true);
          expect(rec.userAgent).toContain('exec-env/AWS_Lambda_nodejs20.x');
          expect(rec.eventCategory).toBe(rec.managementEvent ? 'Management' : 'Data');
          calls++;
        } else {
          expect(rec.userIdentity.arn).toMatch(/:user\/ci-deployer$/);
          expect(rec.eventName).toMatch(/^(UpdateFunctionCode20150331v2|PublishVersion20150331|UpdateAlias20150331|UpdateFunctionConfiguration20150331v2)$/);
          deploys++;
        }
      }
    }
    expect(calls).toBeGreaterThan(100);
    expect(deploys).toBeGreaterThan(0);
  });
});

describe('ground truth', () => {
  it('is exactly what the fnwatch parser derives from the Kinesis records', () => {
    const parsed: FnEvent[] = [];
    const dead: DeadLetter[] = [];
    const sink: ParseSink = { event: (e) => void parsed.push(e), deadLetter: (d) => void dead.push(d), ignored() {}, control() {}, logEvent() {} };
    const parser = createParser({ region: 'us-east-1' });
    const inArrivalOrder = [...records].sort((a, b) => a.line.ApproximateArrivalTimestamp - b.line.ApproximateArrivalTimestamp);
    for (const r of inArrivalOrder) parser.payload(r.line.Data, { shard: r.file, sequence: r.line.SequenceNumber }, sink);
    expect(dead).toEqual([]);
    const key = (e: FnEvent): string => `${e.kind}|${e.id}`;
    const expected = new Map(truth.map((e) => [key(e), canonical(e)]));
    expect(parsed.length).toBe(truth.length);
    const v = violations();
    for (const ev of parsed) {
      // The log line says `Status: error` for an out-of-memory kill; the truth knows it was a crash.
      const want = expected.get(key(ev));
      const got = canonical(ev);
      v.check(got === want || (want !== undefined && got === want.replace('"status":"crash"', '"status":"error"')), () => `parsed ${got}\n  truth ${want}`);
    }
    expect(v.list).toEqual([]);
  });
});

/** JSON with sorted keys and no undefined members: equal objects give equal strings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

describe('labels match the data', () => {
  const attack = (kind: string) => labels.attacks.find((a) => a.kind === kind)!;

  it('no attack starts during the learning period', () => {
    expect(labels.learningEnd).toBe(labels.start + 3 * DAY);
    for (const a of labels.attacks) {
      expect(a.start).toBeGreaterThanOrEqual(labels.learningEnd);
      expect(a.end).toBeGreaterThan(a.start);
      expect(a.end).toBeLessThanOrEqual(labels.end);
      expect(a.expect.length).toBeGreaterThan(0);
    }
  });

  it('attack windows fall on simulated minutes, so no injected event precedes a labelled start', () => {
    for (const a of labels.attacks) {
      expect((a.start - labels.start) % MIN, a.id).toBe(0);
      expect((a.end - labels.start) % MIN, a.id).toBe(0);
    }
    // The flood's first minute is the labelled one: the minute before it runs at the usual rate.
    const dow = attack('denial-of-wallet');
    const perMinute = invocationsOf(dow.function, dow.start, dow.end).length / ((dow.end - dow.start) / MIN);
    const arrivalsBefore = truth.filter((e) => e.kind === 'invocation' && e.fn.name === dow.function && e.time >= dow.start - MIN && e.time < dow.start).length;
    expect(arrivalsBefore).toBeLessThan(perMinute / 4);
    // Denied attacker API calls (CloudTrail, whole-second eventTime) are all at or after the start.
    for (const kind of ['error-probing']) {
      const a = attack(kind);
      const before = truth.filter((e) => e.kind === 'resource_access' && e.fn.name === a.function && e.time >= a.start - 5 * MIN && e.time < a.start);
      expect(before.filter((e) => e.kind === 'resource_access' && e.errorCode !== undefined), kind).toEqual([]);
    }
  });

  it('a denial-of-wallet window really runs far above the pre-attack rate', () => {
    const a = attack('denial-of-wallet');
    const during = invocationsOf(a.function, a.start, a.end).length / ((a.end - a.start) / MIN);
    const before = invocationsOf(a.function, a.start - DAY, a.start).length / (DAY / MIN);
    expect(during).toBeGreaterThan(20);
    expect(during).toBeGreaterThan(20 * before);
  });

  it('a dormant function wakes up: silent before, busy during', () => {
    const a = attack('dormant-wakeup');
    expect(invocationsOf(a.function, labels.start, labels.start + 6 * HOUR).length, 'smoke test after deploy').toBeGreaterThan(0);
    const before = invocationsOf(a.function, a.start - DAY, a.start).length;
    const during = invocationsOf(a.function, a.start, a.end).length;
    expect(before).toBeLessThanOrEqual(3);
    expect(during).toBeGreaterThan(30);
  });

  it('crypto-mining runs invocations to near the timeout, with timeouts and (labelled) pool connections', () => {
    const a = attack('crypto-mining');
    const timeout = spec(a.function).timeoutMs;
    const during = invocationsOf(a.function, a.start + timeout, a.end);
    const durations = during.map((e) => e.durationMs!).sort((x, y) => x - y);
    expect(durations[Math.floor(durations.length / 2)]).toBeGreaterThan(0.85 * timeout);
    expect(during.filter((e) => e.status === 'timeout').length).toBeGreaterThan(during.length / 3);
    const before = invocationsOf(a.function, labels.start, a.start);
    expect(before.filter((e) => e.durationMs! > 0.85 * timeout).length).toBeLessThan(before.length / 50);
    const pool = /mining pool ([^:\s]+):(\d+)/.exec(a.description);
    expect(pool, 'the first miner connects to a pool').not.toBeNull();
    const hits = truth.filter((e) => e.kind === 'egress' && e.fn.name === a.function && e.host === pool![1]);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((e) => e.time >= a.start && e.time < a.end + timeout)).toBe(true);
  });

  it('exfiltration and metadata access reach hosts never seen before the window', () => {
    for (const kind of ['exfiltration', 'imds-access']) {
      const a = attack(kind);
      const host = kind === 'imds-access' ? '169.254.169.254' : /host ([^:\s]+):443/.exec(a.description)![1]!;
      const egress = truth.filter((e) => e.kind === 'egress' && e.fn.name === a.function && e.host === host);
      expect(egress.length, kind).toBeGreaterThan(0);
      expect(egress.every((e) => e.time >= a.start && e.time < a.end + 15 * MIN), kind).toBe(true);
    }
  });

  it('a secret grab makes API calls the function never made before', () => {
    const a = attack('secret-grab');
    const actions = (from: number, to: number) =>
      new Set(truth.filter((e) => e.kind === 'resource_access' && e.fn.name === a.function && e.time >= from && e.time < to).map((e) => (e.kind === 'resource_access' ? `${e.action} ${e.resources.join(',')}` : '')));
    const before = actions(labels.start, a.start);
    const during = [...actions(a.start, a.end + MIN)].filter((x) => !before.has(x));
    expect(during.some((x) => x.startsWith('secretsmanager:GetSecretValue'))).toBe(true);
    expect(during.length).toBeGreaterThanOrEqual(2);
  });

  it('error probing raises the error rate and brings AccessDenied calls', () => {
    const a = attack('error-probing');
    const rate = (xs: InvocationEvent[]) => xs.filter((e) => e.status === 'error').length / Math.max(1, xs.length);
    expect(rate(invocationsOf(a.function, a.start, a.end))).toBeGreaterThan(0.3);
    expect(rate(invocationsOf(a.function, labels.start, a.start))).toBeLessThan(0.05);
    const denied = truth.filter((e) => e.kind === 'resource_access' && e.fn.name === a.function && e.time >= a.start && e.time < a.end && e.errorCode?.startsWith('AccessDenied'));
    expect(denied.length).toBeGreaterThanOrEqual(5);
  });

  it('a cost ramp stays up: after the ramp the function runs well above the same hours before it', () => {
    const a = attack('cost-ramp');
    const ramp = Number(/over ([\d.]+) h/.exec(a.description)![1]) * HOUR;
    const from = a.start + ramp;
    expect(labels.end - from, 'the sustained level is in the data').toBeGreaterThanOrEqual(ramp / 2);
    const after = invocationsOf(a.function, from, labels.end).length;
    // The same hours of the days before the attack, to factor out the daily cycle.
    const back = Math.ceil((labels.end - a.start) / DAY);
    const before = [back, back + 1].map((d) => invocationsOf(a.function, from - d * DAY, labels.end - d * DAY).length);
    const extra = Number(/\+(\d+)%/.exec(a.description)![1]) / 100;
    expect(after).toBeGreaterThan((1 + extra / 3) * (before[0]! + before[1]!) / 2);
  });

  it('deploys appear as CloudTrail changes and, for versioned functions, as a new START version', () => {
    const deploys = labels.confounders.filter((c) => c.kind === 'deploy');
    expect(deploys.length).toBeGreaterThan(0);
    for (const d of deploys) {
      const changes = truth.filter((e) => e.kind === 'change' && e.fn.name === d.function && e.time >= d.start - 1000 && e.time < d.start + 2 * MIN);
      expect(changes.length, d.id).toBeGreaterThan(0);
      if (d.id === 'conf-format-switch') expect(changes.map((e) => e.kind === 'change' && e.detail)).toContain('UpdateFunctionConfiguration20150331v2');
      else expect(changes.map((e) => e.kind === 'change' && e.detail)).toContain('UpdateFunctionCode20150331v2');
    }
  });

  it('the format switch changes the function from text to JSON logs', () => {
    const fn = labels.functions.find((f) => f.formatSwitch)!;
    expect(fn.format).toBe('text');
    const at = fn.formatSwitch!.at;
    const own = invocations.filter((e) => e.fn.name === fn.name);
    const before = own.filter((e) => e.time < at);
    const after = own.filter((e) => e.time > at + MIN);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect(before.every((e) => e.format === 'text')).toBe(true);
    expect(after.every((e) => e.format === 'json')).toBe(true);
  });

  it('confounders are labelled not to alert above medium', () => {
    const kinds = new Set(labels.confounders.map((c) => c.kind));
    for (const k of ['deploy', 'flash-crowd', 'scheduled-burst']) expect(kinds.has(k as never), k).toBe(true);
    for (const c of labels.confounders) expect(c.mustNotAlertAbove).toBe('medium');
  });
});

describe('realistic load', () => {
  it('the busiest API has a daily cycle and quiet weekends', () => {
    const api = labels.confounders.find((c) => c.kind === 'flash-crowd')!.function;
    const local = (t: number) => t - 5 * HOUR; // us-east-1 users, UTC-5
    const own = invocations.filter((e) => e.fn.name === api && e.time < labels.learningEnd + DAY);
    const weekday = own.filter((e) => ![0, 6].includes(new Date(local(e.time)).getUTCDay()));
    const weekend = own.filter((e) => [0, 6].includes(new Date(local(e.time)).getUTCDay()));
    const hour = (e: FnEvent) => new Date(local(e.time)).getUTCHours();
    const afternoon = weekday.filter((e) => hour(e) >= 12 && hour(e) < 18).length;
    const night = weekday.filter((e) => hour(e) >= 0 && hour(e) < 6).length;
    expect(afternoon).toBeGreaterThan(4 * Math.max(1, night));
    const weekdayDays = new Set(weekday.map((e) => Math.floor(local(e.time) / DAY))).size;
    const weekendDays = new Set(weekend.map((e) => Math.floor(local(e.time) / DAY))).size;
    expect(weekendDays).toBeGreaterThan(0);
    expect(weekend.length / weekendDays).toBeLessThan((0.7 * weekday.length) / weekdayDays);
  });

  it('rates span orders of magnitude and idle environments are reclaimed (cold starts recur)', () => {
    const perFn = labels.functions.map((f) => invocations.filter((e) => e.fn.name === f.name && e.time < labels.learningEnd).length);
    const busiest = Math.max(...perFn);
    const quietest = Math.min(...perFn.filter((n) => n > 0));
    expect(busiest / quietest).toBeGreaterThan(200);
    const cold = invocations.filter((e) => e.initDurationMs !== undefined);
    expect(cold.length).toBeGreaterThan(50);
    expect(cold.length).toBeLessThan(invocations.length / 2);
  });
});

describe('determinism', () => {
  const tiny = { seed: 9, days: 1, functions: 6, scale: 0.05 };
  const files = (d: string): string[] => ['labels.json', 'manifest.json', 'events.arrow', ...readdirSync(join(d, 'kinesis')).map((f) => `kinesis/${f}`)].sort();

  it('the same seed and options give byte-identical files; another seed does not', async () => {
    const a = join(root, 'a', 'run');
    const b = join(root, 'b', 'run');
    const c = join(root, 'c', 'run');
    await generateDataset({ ...tiny, out: a });
    await generateDataset({ ...tiny, out: b });
    await generateDataset({ ...tiny, seed: 10, out: c });
    expect(files(a)).toEqual(files(b));
    for (const f of files(a)) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
    expect(readFileSync(join(a, 'kinesis/shard-000.ndjson.gz')).equals(readFileSync(join(c, 'kinesis/shard-000.ndjson.gz')))).toBe(false);
  });
});

describe('options', () => {
  it('rejects bad options with a message naming the option', async () => {
    const out = join(root, 'bad');
    await expect(generateDataset({ seed: 1, out, days: 0 })).rejects.toThrow(/--days/);
    await expect(generateDataset({ seed: 1, out, functions: 0 })).rejects.toThrow(/--functions/);
    await expect(generateDataset({ seed: 1.5, out })).rejects.toThrow(/--seed/);
    await expect(generateDataset({ seed: 1, out, scale: -1 })).rejects.toThrow(/--scale/);
    await expect(generateDataset({ seed: 1, out, start: 'not a date' })).rejects.toThrow(/--start/);
    await expect(generateDataset({ seed: 1, out, attacks: ['nope' as never] })).rejects.toThrow(/unknown attack kind/);
  });

  it('honours an explicit attack list, including none', async () => {
    const out = join(root, 'none');
    const r = await generateDataset({ seed: 3, out, days: 1, functions: 4, scale: 0.05, attacks: [] });
    expect(r.labels.attacks).toEqual([]);
    expect(r.labels.options.attacks).toEqual([]);
    expect(r.manifest.command).toContain('--attacks none');
  });
});
