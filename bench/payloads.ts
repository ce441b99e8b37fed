/**
 * Realistic subscription payloads for the benchmarks. The scenario generator (`fnwatch gen`) writes
 * what a CloudWatch Logs → Kinesis subscription would have carried for a simulated account: Lambda
 * text and JSON logs, egress instrumentation lines, a CloudTrail log group. Its records are small
 * (a few log events each, one per minute and stream), while busy production streams fill payloads
 * with ~100 events; so the generator's log events are re-packed here, per log stream and in order,
 * into gzipped DATA_MESSAGE payloads of up to {@link PAYLOAD_EVENTS} events, base64-encoded as a
 * Kinesis `get-records` dump carries them.
 */
import { createReadStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip, gzipSync } from 'node:zlib';
import { generateDataset } from '../datasets/generator/generate.ts';
import { decodePayload } from '../src/parsers/index.ts';

/** Log events per payload once a stream's buffer is full. */
export const PAYLOAD_EVENTS = 100;
/**
 * A buffered stream is delivered once its oldest event is this old (event time), so quiet streams
 * still arrive in rough time order (an hour at most: late events stay in the totals, not the seasonal
 * model, so a longer skew would change what the pipeline does, not only how fast).
 */
export const PAYLOAD_MAX_AGE_MS = 60 * 60_000;

/** Where generated datasets are cached between bench runs (the generator is seeded: same files). */
export const CACHE_DIR = process.env.FNWATCH_BENCH_CACHE ?? '/tmp/fnwatch-bench';

export interface DatasetSpec {
  seed: number;
  days: number;
  functions: number;
  scale: number;
}

/** A set of payloads ready to feed to the floor and the pipeline. */
export interface PayloadSet {
  /** base64 of gzip(DATA_MESSAGE JSON), as `Data` in a Kinesis get-records dump */
  data: string[];
  /** log events in each payload */
  events: Uint16Array;
  logEvents: number;
  bytes: number;
  /** log events per source: Lambda groups vs CloudTrail groups */
  cloudTrailLogEvents: number;
  functions: number;
}

/** Directory of a cached generated dataset, generating it on first use. */
export async function datasetDir(spec: DatasetSpec, quiet = true): Promise<string> {
  const dir = join(CACHE_DIR, `gen-s${spec.seed}-d${spec.days}-f${spec.functions}-x${spec.scale}`);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  mkdirSync(CACHE_DIR, { recursive: true });
  if (!quiet) process.stderr.write(`generating ${dir} …\n`);
  await generateDataset({ ...spec, out: dir });
  return dir;
}

/** The Kinesis record `Data` strings of a generated dataset, shard files in order. */
export async function* recordData(dir: string): AsyncGenerator<string> {
  const kinesis = join(dir, 'kinesis');
  for (const f of readdirSync(kinesis).filter((n) => n.endsWith('.ndjson.gz')).sort()) {
    const lines = createInterface({ input: createReadStream(join(kinesis, f)).pipe(createGunzip()), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.length === 0) continue;
      yield (JSON.parse(line) as { Data: string }).Data;
    }
  }
}

interface LogEntry {
  id: string;
  timestamp: number;
  message: string;
}
interface StreamBuffer {
  owner: string;
  logGroup: string;
  logStream: string;
  events: LogEntry[];
}

/**
 * Re-packs a generated dataset into ~100-event payloads.
 *
 * @example
 * const set = await buildPayloads({ seed: 7, days: 1, functions: 20, scale: 0.5 });
 * for (const d of set.data) decodePayload(d);
 */
export async function buildPayloads(spec: DatasetSpec, opts: { maxEvents?: number; quiet?: boolean } = {}): Promise<PayloadSet> {
  const dir = await datasetDir(spec, opts.quiet ?? true);
  const buffers = new Map<string, StreamBuffer>();
  const data: string[] = [];
  const counts: number[] = [];
  let bytes = 0;
  let logEvents = 0;
  let cloudTrailLogEvents = 0;
  const groups = new Set<string>();
  const flush = (b: StreamBuffer): void => {
    const doc = { messageType: 'DATA_MESSAGE', owner: b.owner, logGroup: b.logGroup, logStream: b.logStream, subscriptionFilters: ['fnwatch'], logEvents: b.events };
    const b64 = gzipSync(JSON.stringify(doc)).toString('base64');
    data.push(b64);
    counts.push(b.events.length);
    bytes += b64.length;
    logEvents += b.events.length;
    if (!b.logGroup.startsWith('/aws/lambda/')) cloudTrailLogEvents += b.events.length;
    b.events = [];
  };
  for await (const d of recordData(dir)) {
    if (opts.maxEvents !== undefined && logEvents >= opts.maxEvents) break;
    const doc = decodePayload(d) as { messageType: string; owner: string; logGroup: string; logStream: string; logEvents: LogEntry[] };
    if (doc.messageType !== 'DATA_MESSAGE') continue;
    groups.add(doc.logGroup);
    const key = `${doc.logGroup}\n${doc.logStream}`;
    let b = buffers.get(key);
    if (!b) buffers.set(key, (b = { owner: doc.owner, logGroup: doc.logGroup, logStream: doc.logStream, events: [] }));
    for (const e of doc.logEvents) {
      b.events.push({ id: e.id, timestamp: e.timestamp, message: e.message });
      if (b.events.length >= PAYLOAD_EVENTS) flush(b);
    }
    const now = doc.logEvents.length > 0 ? doc.logEvents[doc.logEvents.length - 1]!.timestamp : 0;
    for (const [k, other] of buffers) {
      if (other.events.length > 0 && now - other.events[0]!.timestamp > PAYLOAD_MAX_AGE_MS) flush(other);
      if (other.events.length === 0) buffers.delete(k);
    }
  }
  for (const b of buffers.values()) if (b.events.length > 0) flush(b);
  return { data, events: Uint16Array.from(counts), logEvents, bytes, cloudTrailLogEvents, functions: [...groups].filter((g) => g.startsWith('/aws/lambda/')).length };
}
