/**
 * Parser throughput against the decode-only floor (`decodePayload`: gunzip + JSON.parse).
 * Run: `npx tsx src/parsers/bench.ts [payloads]`. For each mix prints µs per payload (process CPU
 * time, best of several rounds, so other load on the machine disturbs it less) and floor ÷ parse.
 */
import { gzipSync } from 'node:zlib';
import type { ParseSink } from '../core/parse-sink.ts';
import { createParser, decodePayload, type Parser } from './index.ts';

const INVOCATIONS_PER_PAYLOAD = 10;
const TS = '2024-01-01T10:00:00.000Z';
const EGRESS = '{"fnwatch":"egress","host":"api.stripe.com","port":443,"proto":"tls"}';

/** Platform-heavy: START, two short app lines, END, REPORT (an egress line in one invocation of ten). */
function textShort(i: number, rid: string): string[] {
  return [
    `START RequestId: ${rid} Version: $LATEST\n`,
    `${TS}\t${rid}\tINFO\tprocessing order ${i}\n`,
    `${TS}\t${rid}\tINFO\t${i % 10 === 0 ? EGRESS : `loaded ${i % 300} rows`}\n`,
    `END RequestId: ${rid}\n`,
    `REPORT RequestId: ${rid}\tDuration: ${(10 + (i % 90)).toFixed(2)} ms\tBilled Duration: ${11 + (i % 90)} ms\tMemory Size: 512 MB\tMax Memory Used: ${80 + (i % 20)} MB\t${i % 10 === 0 ? 'Init Duration: 210.55 ms\t' : ''}\n`,
  ];
}

/** Typical service: four structured app lines of ~300 chars per invocation. */
function textTypical(i: number, rid: string): string[] {
  const app = (n: number) =>
    `${TS}\t${rid}\tINFO\t${JSON.stringify({ msg: `step ${n} done`, orderId: `o-${i}`, customer: { id: `c-${i % 97}`, tier: 'gold', region: 'eu-west-1' }, items: [{ sku: 'SKU-1234', qty: 2 }, { sku: 'SKU-9876', qty: 1 }], latencyMs: (i * 7) % 250, traceId: `1-65928a40-${rid.replace(/-/g, '').slice(0, 24)}` })}\n`;
  return [`START RequestId: ${rid} Version: $LATEST\n`, app(1), app(2), app(3), app(4), `END RequestId: ${rid}\n`, textShort(i, rid)[4]];
}

function jsonFormat(i: number, rid: string): string[] {
  return [
    JSON.stringify({ time: TS, type: 'platform.start', record: { requestId: rid, version: '$LATEST' } }),
    JSON.stringify({ timestamp: TS, level: 'INFO', requestId: rid, message: `processing order ${i}` }),
    JSON.stringify({ timestamp: TS, level: 'INFO', requestId: rid, message: i % 10 === 0 ? EGRESS : `loaded ${i % 300} rows` }),
    JSON.stringify({ time: TS, type: 'platform.runtimeDone', record: { requestId: rid, status: 'success', metrics: { durationMs: 10 + (i % 90) } } }),
    JSON.stringify({
      time: TS,
      type: 'platform.report',
      record: { requestId: rid, status: 'success', metrics: { durationMs: 10 + (i % 90), billedDurationMs: 11 + (i % 90), memorySizeMB: 512, maxMemoryUsedMB: 80 + (i % 20) } },
    }),
  ];
}

/** Gzipped DATA_MESSAGE payloads with real-shaped 56-digit ids (≈ timestamp × 2^144 + sequence). */
function payloads(count: number, make: (i: number, rid: string) => string[]): { data: Buffer[]; events: number } {
  const data: Buffer[] = [];
  let seq = 0;
  for (let p = 0; p < count; p++) {
    const logEvents: { id: string; timestamp: number; message: string }[] = [];
    for (let k = 0; k < INVOCATIONS_PER_PAYLOAD; k++) {
      const i = p * INVOCATIONS_PER_PAYLOAD + k;
      const ts = 1_704_103_200_000 + i;
      const rid = `${(0x10000000 + i).toString(16)}-0000-4000-8000-${String(i).padStart(12, '0')}`;
      for (const message of make(i, rid)) logEvents.push({ id: (BigInt(ts) * 2n ** 144n + BigInt(seq++)).toString(), timestamp: ts, message });
    }
    const doc = {
      owner: '123456789012',
      logGroup: `/aws/lambda/fn-${p % 50}`,
      logStream: `2024/01/01/[$LATEST]${(p % 200).toString(16).padStart(32, '0')}`,
      subscriptionFilters: ['fnwatch'],
      messageType: 'DATA_MESSAGE',
      logEvents,
    };
    data.push(gzipSync(JSON.stringify(doc)));
  }
  return { data, events: count * make(0, 'r').length * INVOCATIONS_PER_PAYLOAD };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const sink: ParseSink = {
  event: () => {},
  deadLetter: (dl) => {
    throw new Error(`unexpected dead letter ${dl.reason}: ${dl.detail}`);
  },
  ignored: () => {},
  control: () => {},
  logEvent: () => {},
};

const count = Number(process.argv[2] ?? 1000);
for (const [name, make] of [
  ['text, platform-heavy', textShort],
  ['text, typical app lines', textTypical],
  ['json, platform-heavy', jsonFormat],
] as const) {
  const { data, events } = payloads(count, make);
  const best = { floor: Infinity, parse: Infinity, nodedupe: Infinity };
  const run = (parser: Parser) => {
    const t = cpuMs();
    for (const b of data) parser.payload(b, {}, sink);
    return cpuMs() - t;
  };
  for (let round = 0; round < 8; round++) {
    const t = cpuMs();
    for (const b of data) decodePayload(b);
    best.floor = Math.min(best.floor, cpuMs() - t);
    // A fresh parser per round, or every later round would be all duplicates.
    best.parse = Math.min(best.parse, run(createParser({ region: 'us-east-1' })));
    best.nodedupe = Math.min(best.nodedupe, run(createParser({ region: 'us-east-1', dedupeIds: 0 })));
  }
  const us = (ms: number) => ((ms / data.length) * 1000).toFixed(1).padStart(6);
  console.log(
    `${name.padEnd(26)} ${events / count} events/payload  floor ${us(best.floor)} µs  parse ${us(best.parse)} µs (×${(best.floor / best.parse).toFixed(2)})` +
      `  without dedupe ${us(best.nodedupe)} µs (×${(best.floor / best.nodedupe).toFixed(2)})`,
  );
}
