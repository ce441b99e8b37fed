/**
 * Single-core throughput: the decode floor (base64 + gunzip + JSON.parse of each payload), the same
 * plus JSON.parse of the messages that are JSON (a comparison only), the parser alone (null sink),
 * and the full pipeline (decode → parse → profile → detect → score → null sink),
 * in log events per second over the same payloads: CPU time of the process pinned to one core, best
 * of several rounds (wall time on a machine shared with other work measures the others too).
 *
 * Run as a child (pinned to one CPU by bench/run.ts): `node --import tsx bench/throughput.ts '<spec json>' <rounds>`;
 * prints one JSON line ({@link ThroughputResult}).
 */
import { gunzipSync } from 'node:zlib';
import type { Position } from '../src/core/events.ts';
import type { ParseSink } from '../src/core/parse-sink.ts';
import { createParser, decodePayload } from '../src/parsers/index.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { bestCpuOf } from './measure.ts';
import { buildPayloads, type DatasetSpec, type PayloadSet } from './payloads.ts';

export interface ThroughputResult {
  payloads: number;
  log_events: number;
  events_per_payload: number;
  bytes_per_payload: number;
  /** share of the floor's time spent in each step */
  floor_split: { base64: number; gunzip: number; json: number };
  floor_events_per_s: number;
  /**
   * The floor plus `JSON.parse` of every log message that is JSON (JSON-format Lambda lines,
   * CloudTrail records, JSON egress lines): not the floor, a comparison for it. Absent in
   * results from before it was measured.
   */
  floor_with_messages_events_per_s?: number;
  parse_events_per_s: number;
  pipeline_events_per_s: number;
  ratio: number;
  normalized_events: number;
  alerts: number;
}

const NULL_SINK: ParseSink = { event() {}, deadLetter() {}, ignored() {}, control() {}, logEvent() {} };

/**
 * Measures floor, parser and pipeline over `set`.
 *
 * @example
 * const r = measureThroughput(await buildPayloads(spec), 5);
 * console.log(r.ratio); // pipeline ÷ floor
 */
export function measureThroughput(set: PayloadSet, rounds: number): ThroughputResult {
  const { data } = set;
  const positions: Position[] = data.map((_, i) => ({ shard: 'shardId-000000000000', sequence: String(i) }));
  let normalized = 0;
  let alerts = 0;
  let p = new Pipeline({ onAlert: () => {} });
  const runPipeline = (): void => {
    for (let i = 0; i < data.length; i++) p.process({ type: 'payload', data: data[i]!, position: positions[i]! });
    p.finish();
    const e = p.counts.events;
    normalized = e.invocation + e.resource_access + e.egress + e.change;
    alerts = p.counts.alerts;
  };
  let parser = createParser();
  const runParser = (): void => {
    for (let i = 0; i < data.length; i++) parser.payload(data[i]!, positions[i]!, NULL_SINK);
  };
  const runFloor = (): void => {
    for (let i = 0; i < data.length; i++) decodePayload(data[i]!);
  };
  const runFloorWithMessages = (): void => {
    for (let i = 0; i < data.length; i++) {
      const doc = decodePayload(data[i]!) as { logEvents: { message: string }[] };
      for (const e of doc.logEvents) if (e.message.charCodeAt(0) === 0x7b) JSON.parse(e.message);
    }
  };
  // Warm up every path before timing, then interleave so drifting machine load hits all alike.
  runFloor();
  runFloorWithMessages();
  runParser();
  runPipeline();
  let floor = Infinity;
  let floorWithMessages = Infinity;
  let parse = Infinity;
  let pipeline = Infinity;
  for (let r = 0; r < rounds; r++) {
    // A fresh pipeline and parser per round (a second pass through one would be all duplicates),
    // built outside the timing: constructing one is a start-up cost (~0.1 s, the profile LRU's
    // preallocated tables), not a per-event one.
    parser = createParser();
    p = new Pipeline({ onAlert: () => {} });
    floor = Math.min(floor, bestCpuOf(1, runFloor));
    floorWithMessages = Math.min(floorWithMessages, bestCpuOf(1, runFloorWithMessages));
    parse = Math.min(parse, bestCpuOf(1, runParser));
    pipeline = Math.min(pipeline, bestCpuOf(1, runPipeline));
  }
  const bytes = data.map((d) => Buffer.from(d, 'base64'));
  const texts = bytes.map((b) => gunzipSync(b).toString('utf8'));
  const b64 = bestCpuOf(rounds, () => {
    for (const d of data) Buffer.from(d, 'base64');
  });
  const gz = bestCpuOf(rounds, () => {
    for (const b of bytes) gunzipSync(b).toString('utf8');
  });
  const json = bestCpuOf(rounds, () => {
    for (const t of texts) JSON.parse(t);
  });
  const sum = b64 + gz + json;
  const perS = (ms: number) => Math.round((set.logEvents / ms) * 1000);
  return {
    payloads: data.length,
    log_events: set.logEvents,
    events_per_payload: +(set.logEvents / data.length).toFixed(1),
    bytes_per_payload: Math.round(set.bytes / data.length),
    floor_split: { base64: +(b64 / sum).toFixed(3), gunzip: +(gz / sum).toFixed(3), json: +(json / sum).toFixed(3) },
    floor_events_per_s: perS(floor),
    floor_with_messages_events_per_s: perS(floorWithMessages),
    parse_events_per_s: perS(parse),
    pipeline_events_per_s: perS(pipeline),
    ratio: +(floor / pipeline).toFixed(3),
    normalized_events: normalized,
    alerts,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const spec = JSON.parse(process.argv[2]!) as DatasetSpec;
  const rounds = Number(process.argv[3] ?? 5);
  const set = await buildPayloads(spec);
  console.log(JSON.stringify(measureThroughput(set, rounds)));
}
