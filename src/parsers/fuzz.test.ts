/**
 * Fuzz-style robustness: thousands of mutated payloads from a seeded PRNG. No exception may escape,
 * every known-bad input must end as a dead letter or an ignored line, and the counts must add up.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createParser, type Parser } from './index.ts';
import { RecordingSink } from './test-sink.ts';

/** mulberry32: small, fast, good enough to drive mutations reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const readMessages = (name: string) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { message: string }).message);

const TEXT = readMessages('lambda-text.ndjson');
const JSONL = readMessages('lambda-json.ndjson');
const CT = (JSON.parse(readFileSync(new URL('./fixtures/cloudtrail-function-calls.json', import.meta.url), 'utf8')) as { Records: unknown[] }).Records.map((r) =>
  JSON.stringify(r),
);
const FLOW = readFileSync(new URL('./fixtures/flow-logs-v2.txt', import.meta.url), 'utf8').split('\n').filter(Boolean);

type Doc = Record<string, unknown> & { logEvents: Record<string, unknown>[] };

interface Case {
  kind: string;
  data: Uint8Array | string;
  /** The mutation is known to make the payload (not just a line) undecodable or malformed */
  payloadBad: boolean;
  /** Entries that are known to be malformed (wrong field types) */
  badEntries: number;
}

describe('fuzz: mutated subscription payloads', () => {
  const rand = prng(0x5eed_f00d);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)];
  let idSeq = 0;
  let hugeLines = 0;

  function baseDoc(): Doc {
    const which = int(4);
    const sources = [TEXT, JSONL, CT, FLOW][which];
    const group = ['/aws/lambda/orders-api', '/aws/lambda/fnw10', 'aws-cloudtrail-logs', '/vpc/flow'][which];
    const n = 1 + int(12);
    const logEvents = Array.from({ length: n }, () => ({
      id: rand() < 0.2 ? idSeq++ : `${(10n ** 55n + BigInt(idSeq++)).toString()}`,
      timestamp: 1_704_103_200_000 + int(3_600_000),
      message: mutateMessage(pick(sources)),
    }));
    return { owner: '123456789012', logGroup: group, logStream: `2024/01/01/[$LATEST]${int(1e9).toString(16)}`, subscriptionFilters: ['f'], messageType: 'DATA_MESSAGE', logEvents };
  }

  /** Line-level damage: the payload stays valid, the line may not. */
  function mutateMessage(m: string): string {
    const r = rand();
    if (r < 0.6) return m;
    if (r < 0.7) return m.slice(0, int(m.length));
    if (r < 0.8) {
      const at = int(m.length);
      return m.slice(0, at) + String.fromCharCode(int(0x3000)) + m.slice(at + 1);
    }
    if (r < 0.85) return m.replace(/\d+(\.\d+)?/, pick(['-1', 'NaN', '"x"', '1e999', '']));
    if (r < 0.9) return m.replace(/"[a-zA-Z]+":/, '"":');
    if (r < 0.905 && ++hugeLines) return rand() < 0.5 ? m + ' '.repeat(1 << 20) : pick(['{', 'REPORT RequestId: x\t', '2024-01-01T00:00:00.000Z\tr\tINFO\t']) + 'z'.repeat(1 << 20);
    return pick(['', '\n', '{}', '[]', 'null', '{"type":"platform.report"}', '{"type":"platform.report","record":{"metrics":[]}}', '{"fnwatch":"egress"}', '{"eventVersion":"1.08","eventSource":5}']);
  }

  function wrongTypes(doc: Doc): number {
    const e = pick(doc.logEvents);
    const field = pick(['timestamp', 'message', 'id', 'self'] as const);
    if (field === 'self') {
      doc.logEvents[doc.logEvents.indexOf(e)] = pick([null, 42, 'str', [1]]) as never;
      return 1;
    }
    e[field] = field === 'timestamp' ? pick(['1704103200000', null, {}, 'NaN']) : field === 'message' ? pick([42, null, { a: 1 }, ['x']]) : pick([{}, [], true, 1.5]);
    return 1;
  }

  function makeCase(): Case {
    const doc = baseDoc();
    const r = rand();
    const json = () => JSON.stringify(doc);
    if (r < 0.3) return { kind: 'valid', data: rand() < 0.5 ? gzipSync(json()) : gzipSync(json()).toString('base64'), payloadBad: false, badEntries: 0 };
    if (r < 0.4) {
      const gz = gzipSync(json());
      return { kind: 'truncated-gzip', data: gz.subarray(0, 2 + int(gz.length - 10)), payloadBad: true, badEntries: 0 };
    }
    if (r < 0.45) {
      const gz = Buffer.from(gzipSync(json()));
      gz[10 + int(gz.length - 18)] ^= 1 + int(255); // deflate body: CRC or structure breaks
      return { kind: 'corrupt-gzip', data: gz, payloadBad: true, badEntries: 0 };
    }
    if (r < 0.55) {
      const b64 = gzipSync(json()).toString('base64');
      const at = 4 + int(b64.length - 8);
      return { kind: 'bad-base64', data: b64.slice(0, at) + pick(['!', '*', '%', '#', '\u00e9']) + b64.slice(at), payloadBad: true, badEntries: 0 };
    }
    if (r < 0.65) {
      const text = json();
      const broken = rand() < 0.5 ? text.slice(0, 1 + int(text.length - 2)) : text.replace(/":/, '"');
      return { kind: 'bad-json', data: rand() < 0.5 ? broken : gzipSync(broken), payloadBad: true, badEntries: 0 };
    }
    if (r < 0.72) {
      const bytes = Buffer.from(json());
      const at = bytes.indexOf('"message":"') + 11;
      const bad = Buffer.concat([bytes.subarray(0, at), Buffer.from([pick([0xff, 0xc3, 0xed, 0xf8, 0x80])]), bytes.subarray(at)]);
      return { kind: 'bad-utf8', data: rand() < 0.5 ? bad : gzipSync(bad), payloadBad: true, badEntries: 0 };
    }
    if (r < 0.8) {
      const variant = int(4);
      if (variant === 0) doc.logEvents = { 0: doc.logEvents[0] } as never;
      if (variant === 1) doc.logGroup = 42;
      if (variant === 2) doc.messageType = pick(['DATA', 7, null]);
      if (variant === 3) doc.owner = 123456789012;
      return { kind: 'bad-envelope', data: gzipSync(json()), payloadBad: true, badEntries: 0 };
    }
    const bad = wrongTypes(doc);
    return { kind: 'wrong-field-type', data: rand() < 0.5 ? gzipSync(json()) : json(), payloadBad: false, badEntries: bad };
  }

  it('survives thousands of mutated payloads with every input accounted for', () => {
    const parser: Parser = createParser({
      region: 'us-east-1',
      cloudTrailLogGroups: ['aws-cloudtrail-logs'],
      flowLogGroups: ['/vpc/flow'],
      networkMap: { eni: { 'eni-0a1b2c3d4e5f60718': ['orders-api'] } },
    });
    const totals = { payloads: 0, payloadDeadLetters: 0, entries: 0, logEvents: 0, entryDeadLetters: 0, events: 0, ignored: 0, lineDeadLetters: 0 };
    const byKind = new Map<string, number>();
    const N = 3000;
    for (let i = 0; i < N; i++) {
      const c = makeCase();
      byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
      const sink = new RecordingSink();
      const run = () => parser.payload(c.data, { record: i }, sink);
      expect(run, `case ${i} (${c.kind})`).not.toThrow();
      totals.payloads++;
      if (c.payloadBad) {
        expect(sink.deadLetters.length, `case ${i} (${c.kind})`).toBe(1);
        expect(sink.logEvents.length + sink.events.length + sink.ignoredReasons.length).toBe(0);
        expect(sink.deadLetters[0].position.record).toBe(i);
        expect(sink.deadLetters[0].raw!.length).toBeLessThanOrEqual(4096 + 20);
        totals.payloadDeadLetters++;
        continue;
      }
      expect(sink.loose.deadLetters.length, `case ${i}: entry dead letters`).toBe(c.badEntries);
      expect(sink.loose.events.length + sink.loose.ignored.length).toBe(0);
      expect(sink.misaccounted(), `case ${i} (${c.kind})`).toEqual([]);
      for (const dl of sink.deadLetters) expect(dl.raw === undefined || dl.raw.length <= 4096 + 20).toBe(true);
      totals.entries += sink.logEvents.length + c.badEntries;
      totals.logEvents += sink.logEvents.length;
      totals.entryDeadLetters += c.badEntries;
      totals.events += sink.events.length;
      totals.ignored += sink.ignoredReasons.length;
      totals.lineDeadLetters += sink.deadLetters.length - c.badEntries;
    }
    // Every payload is a dead letter or delivered all its entries; every entry is a log event or a dead letter.
    expect(totals.payloadDeadLetters + (totals.payloads - totals.payloadDeadLetters)).toBe(N);
    expect(totals.logEvents + totals.entryDeadLetters).toBe(totals.entries);
    for (const kind of ['valid', 'truncated-gzip', 'corrupt-gzip', 'bad-base64', 'bad-json', 'bad-utf8', 'bad-envelope', 'wrong-field-type']) {
      expect(byKind.get(kind) ?? 0, kind).toBeGreaterThan(50);
    }
    expect(totals.events).toBeGreaterThan(1000);
    expect(hugeLines).toBeGreaterThan(20);
    expect(totals.lineDeadLetters).toBeGreaterThan(50);
  });

  it('survives mutated already-split log events and CloudTrail objects', () => {
    const parser = createParser({ cloudTrailLogGroups: ['aws-cloudtrail-logs'] });
    for (let i = 0; i < 2000; i++) {
      const sink = new RecordingSink();
      const doc = baseDoc();
      const e = doc.logEvents[0];
      if (rand() < 0.3) wrongTypes(doc);
      const le = { logGroup: doc.logGroup, logStream: doc.logStream, ...(doc.logEvents[0] ?? e) } as never;
      expect(() => parser.logEvent(le, { line: i }, sink)).not.toThrow();
      expect(sink.logEvents.length + sink.deadLetters.length).toBeGreaterThanOrEqual(1);
      expect(sink.misaccounted()).toEqual([]);
      const rec = rand() < 0.5 ? JSON.parse(pick(CT)) : pick([null, 1, 'x', [], { eventSource: {} }, { eventSource: 's3.amazonaws.com', eventName: 'X', eventTime: '2024-01-01T00:00:00Z', userIdentity: { type: 'AssumedRole', arn: 42 }, resources: 'x', requestParameters: [] }]);
      if (rec && typeof rec === 'object' && !Array.isArray(rec)) {
        const keys = Object.keys(rec);
        if (keys.length > 0 && rand() < 0.5) rec[pick(keys)] = pick([null, 1, {}, [], 'x', true]);
      }
      const ct = new RecordingSink();
      expect(() => parser.cloudTrailRecord(rec, { record: i }, ct)).not.toThrow();
      expect(ct.loose.deadLetters.length + ct.loose.ignored.length + (ct.loose.events.length > 0 ? 1 : 0)).toBe(1);
    }
  });
});
