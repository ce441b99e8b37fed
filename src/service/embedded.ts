/**
 * Local stand-ins for AWS, for the demo and the service tests: kinesalite (Kinesis) and dynalite
 * (DynamoDB) in this process on 127.0.0.1 and a free port, and a producer that puts recorded Kinesis
 * records (the `aws kinesis get-records` dumps in `datasets/*\/kinesis/`) into a stream.
 */
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FnwatchError, UsageError } from '../core/contracts.ts';

const require = createRequire(import.meta.url);

/** A local emulator listening on 127.0.0.1. */
export interface EmbeddedServer {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** The demo's settings: stream and table state changes take (next to) no time. */
const DEMO_OPTIONS = {
  kinesalite: { createStreamMs: 20, deleteStreamMs: 20, updateStreamMs: 20, shardLimit: 100 },
  dynalite: { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 },
} as const;

/**
 * Starts kinesalite or dynalite in memory in this process on 127.0.0.1, port 0 (a free one). The
 * one place that does: the demo, the service tests and the Kinesis source's test servers
 * (`src/sources/kinesis/testing/servers.ts`) all start them here. `options` are the emulator's own
 * (default: the demo's).
 *
 * @example
 * const kinesis = await startEmbedded('kinesalite');
 * // … createKinesisClient({ endpoint: kinesis.endpoint, region: 'us-east-1' })
 * await kinesis.stop();
 */
export async function startEmbedded(name: 'kinesalite' | 'dynalite', options: object = DEMO_OPTIONS[name]): Promise<EmbeddedServer> {
  const server = (require(name) as (o: object) => Server)(options);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        // The SDK keeps connections alive; close() waits for them unless they are cut.
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Creates a stream and waits until it is ACTIVE.
 *
 * @example
 * await createStream(kinesis, 'fnwatch-demo', 2);
 */
export async function createStream(kinesis: KinesisClient, stream: string, shards: number, timeoutMs = 30_000): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new FnwatchError(`stream ${stream} is not ACTIVE after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One record as a producer puts it: the raw payload bytes and the partition key. */
export interface ProducerRecord {
  data: Uint8Array;
  partitionKey: string;
}

/**
 * The records of every `*.ndjson(.gz)` dump in `dir` (file name order, then line order). Each
 * line's `Data` is base64 of the payload; the producer puts the decoded bytes.
 *
 * @example
 * const records = readRecordDumps('datasets/demo/kinesis'); // 6,174 records
 */
export function readRecordDumps(dir: string): ProducerRecord[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ndjson(\.gz)?$/.test(f))
      .sort();
  } catch (err) {
    throw new UsageError(`cannot read record dumps in ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (files.length === 0) throw new UsageError(`no *.ndjson or *.ndjson.gz record dumps in ${dir}`);
  const records: ProducerRecord[] = [];
  for (const f of files) {
    const raw = readFileSync(join(dir, f));
    const text = (f.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo++;
      if (line.trim() === '') continue;
      let rec: { Data?: unknown; PartitionKey?: unknown };
      try {
        rec = JSON.parse(line);
      } catch {
        throw new UsageError(`${join(dir, f)}:${lineNo}: not a JSON record`);
      }
      if (typeof rec.Data !== 'string') throw new UsageError(`${join(dir, f)}:${lineNo}: record has no base64 Data`);
      records.push({ data: Buffer.from(rec.Data, 'base64'), partitionKey: typeof rec.PartitionKey === 'string' && rec.PartitionKey ? rec.PartitionKey : `key-${lineNo}` });
    }
  }
  return records;
}

/**
 * Puts records in order, ≤500 per PutRecords call, re-putting the entries a call reports as failed.
 * `onPut` gets the wall-clock time each chunk was accepted (latency measurements). Returns the last
 * sequence number put in each shard.
 *
 * @example
 * const last = await putRecords(kinesis, 'fnwatch-demo', readRecordDumps('datasets/demo/kinesis'));
 * last.get('shardId-000000000000'); // → '4959…'
 */
export async function putRecords(
  kinesis: KinesisClient,
  stream: string,
  records: readonly ProducerRecord[],
  onPut?: (first: number, count: number, acceptedAt: number) => void,
): Promise<Map<string, string>> {
  const last = new Map<string, string>();
  const MAX_BYTES = 4 * 1024 * 1024;
  for (let i = 0; i < records.length; ) {
    let bytes = 0;
    let end = i;
    while (end < records.length && end - i < 500 && bytes + records[end]!.data.length + 256 <= MAX_BYTES) bytes += records[end++]!.data.length + 256;
    if (end === i) end = i + 1;
    let entries: PutRecordsRequestEntry[] = records.slice(i, end).map((r) => ({ Data: r.data, PartitionKey: r.partitionKey }));
    for (let attempt = 1; entries.length > 0; attempt++) {
      const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
      for (const r of out.Records ?? []) {
        if (r.ShardId && r.SequenceNumber && (!last.has(r.ShardId) || BigInt(r.SequenceNumber) > BigInt(last.get(r.ShardId)!))) last.set(r.ShardId, r.SequenceNumber);
      }
      if (!out.FailedRecordCount) break;
      if (attempt >= 10) throw new FnwatchError(`PutRecords to ${stream}: ${out.FailedRecordCount} records still failing after ${attempt} attempts`);
      entries = entries.filter((_, k) => out.Records?.[k]?.ErrorCode);
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
    onPut?.(i, end - i, Date.now());
    i = end;
  }
  return last;
}
