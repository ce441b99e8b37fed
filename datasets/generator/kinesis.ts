/**
 * The delivery side: CloudWatch Logs batching log events per log stream into subscription
 * DATA_MESSAGEs, and Kinesis shards recording them as `aws kinesis get-records` Records[] entries
 * (one NDJSON line each, gzip-compressed files).
 *
 * Batching follows the subscription behaviour: one record carries events of one log stream, and a
 * stream's buffer goes out when it holds 100 events or its oldest event is 5 s old.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createGzip, type Gzip } from 'node:zlib';
import type { GzipPool } from './gzip-pool.ts';
import type { LogItem } from './lambda.ts';
import { hash32, type Rng } from './prng.ts';

/** Events per DATA_MESSAGE before a stream's buffer is sent. */
export const MAX_EVENTS_PER_RECORD = 100;
/** Age (event time) of a buffer's oldest event at which it is sent. */
export const MAX_BUFFER_AGE_MS = 5000;

/** Bytes a shard may hold uncompressed before the simulation waits for zlib. */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

const CHUNK_CHARS = 1 << 20;
/** Payloads sent to a gzip worker at once (amortizes the message round trip). */
const PAYLOADS_PER_JOB = 256;
/** Jobs a shard may have at the workers before the simulation waits. */
const MAX_JOBS_IN_FLIGHT = 8;

/** Inner payload gzip: zlib defaults, as CloudWatch Logs produces (level 1 saves little time and ~20% size). */
export const PAYLOAD_GZIP = { level: 6 };

/** Per-shard counts for the manifest. */
export interface ShardCounts {
  records: number;
  dataRecords: number;
  controlRecords: number;
  logEvents: number;
}

/**
 * One shard's NDJSON recording. Sequence numbers increase with every record; arrival timestamps
 * never go backwards.
 *
 * @example
 * const shard = new ShardWriter('out/kinesis/shard-000.ndjson.gz', 0, rng, start, new GzipPool(PAYLOAD_GZIP));
 * shard.write(arrivalMs, 'a1b2…', payloadJson, 3);
 * await shard.close();
 */
export class ShardWriter {
  readonly counts: ShardCounts = { records: 0, dataRecords: 0, controlRecords: 0, logEvents: 0 };
  private readonly gzip: Gzip;
  private readonly file: WriteStream;
  private readonly done: Promise<unknown>;
  private sequence: bigint;
  private lastArrival = 0;
  private chunk = '';
  private nextControl: number;
  private failure: Error | undefined;
  /** Lines waiting for their payload to be compressed: [head, payload, tail] */
  private batch: string[] = [];
  /** Jobs at the workers, oldest first; each resolves once its lines are in the output chunk */
  private jobs: Promise<void>[] = [];
  private written: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    readonly index: number,
    private readonly rng: Rng,
    start: number,
    private readonly pool: GzipPool,
  ) {
    this.sequence = BigInt(`49${rng.digits(54)}`);
    this.nextControl = start + rng.int(60_000);
    this.file = createWriteStream(path);
    // Base64 of gzip barely compresses further; a fast level keeps the outer layer cheap.
    this.gzip = createGzip({ level: 1, chunkSize: 256 * 1024 });
    this.gzip.pipe(this.file);
    this.done = once(this.file, 'finish');
    const fail = (err: Error): void => void (this.failure ??= err);
    this.file.on('error', fail);
    this.gzip.on('error', fail);
  }

  /**
   * True when more than {@link MAX_BUFFERED_BYTES} wait to be compressed: await {@link drain}.
   * Waiting at every high-water mark would idle the simulation while zlib works in the background.
   */
  get congested(): boolean {
    return this.jobs.length > MAX_JOBS_IN_FLIGHT || this.gzip.writableLength > MAX_BUFFERED_BYTES;
  }

  /** Waits until at most `maxJobs` compression jobs are outstanding and gzip has room. */
  async drain(maxJobs = MAX_JOBS_IN_FLIGHT / 2): Promise<void> {
    while (this.jobs.length > maxJobs) await this.jobs[0];
    if (this.failure) throw this.failure;
    if (this.gzip.writableNeedDrain) await once(this.gzip, 'drain');
  }

  /** Records a DATA_MESSAGE payload that arrived at `arrival` (ms). */
  write(arrival: number, partitionKey: string, payloadJson: string, logEvents: number): void {
    while (arrival >= this.nextControl) this.control();
    this.line(arrival, partitionKey, payloadJson);
    this.counts.dataRecords++;
    this.counts.logEvents += logEvents;
  }

  /** CloudWatch Logs checks the destination now and then; consumers must drop these. */
  private control(): void {
    const at = this.nextControl;
    const payload = JSON.stringify({
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
      subscriptionFilters: [],
      logEvents: [{ id: '', timestamp: at, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }],
    });
    this.line(at, this.rng.hex(32), payload);
    this.counts.controlRecords++;
    this.nextControl = at + Math.round(this.rng.range(6, 30) * 3_600_000);
  }

  private line(arrival: number, partitionKey: string, payloadJson: string): void {
    if (this.failure) throw this.failure;
    const at = Math.max(arrival, this.lastArrival + 1);
    this.lastArrival = at;
    this.sequence += 10_000_000_000_000_000_000_000n + BigInt(this.rng.int(1_000_000_000));
    this.batch.push(`{"SequenceNumber":"${this.sequence}","ApproximateArrivalTimestamp":${at / 1000},"Data":"`, payloadJson, `","PartitionKey":"${partitionKey}"}\n`);
    if (this.batch.length >= PAYLOADS_PER_JOB * 3) this.submit();
    this.counts.records++;
  }

  /** Sends the pending payloads to a worker; their lines are written in order once all earlier jobs are. */
  private submit(): void {
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    const payloads: string[] = [];
    for (let i = 1; i < lines.length; i += 3) payloads.push(lines[i]!);
    const compressed = this.pool.compress(payloads);
    const job = Promise.all([compressed, this.written]).then(
      ([datas]) => {
        for (let i = 0; i < datas.length; i++) {
          this.chunk += lines[3 * i]! + datas[i]! + lines[3 * i + 2]!;
          if (this.chunk.length >= CHUNK_CHARS) this.flushChunk();
        }
        this.jobs.shift();
      },
      (err: Error) => {
        this.failure ??= err;
        this.jobs.shift();
      },
    );
    this.written = job;
    this.jobs.push(job);
  }

  /** Lines are handed to gzip in large chunks: one stream write per line costs more than the line. */
  private flushChunk(): void {
    if (this.chunk.length === 0) return;
    this.gzip.write(this.chunk);
    this.chunk = '';
  }

  async close(): Promise<void> {
    this.submit();
    await this.drain(0);
    this.flushChunk();
    this.gzip.end();
    await this.done;
    if (this.failure) throw this.failure;
  }
}

interface StreamBuffer {
  key: string;
  owner: string;
  group: string;
  stream: string;
  shard: ShardWriter;
  partitionKey: string;
  items: LogItem[];
  first: number;
  sent: boolean;
}

/**
 * Batches log events per log stream the way a subscription filter delivers them, and hands each
 * batch to the shard its partition key maps to (`distribution: ByLogStream`).
 *
 * @example
 * const batcher = new SubscriptionBatcher(shards, rng);
 * for (const item of itemsInTimeOrder) batcher.add(item);
 * batcher.flushAll();
 */
export class SubscriptionBatcher {
  private readonly open = new Map<string, StreamBuffer>();
  /** Buffers in the order their first event arrived: the age rule flushes from the front. */
  private queue: StreamBuffer[] = [];
  private head = 0;

  constructor(
    private readonly shards: readonly ShardWriter[],
    private readonly rng: Rng,
  ) {}

  add(item: LogItem): void {
    this.advance(item.sort);
    const key = `${item.owner}\u0000${item.group}\u0000${item.stream}`;
    let buf = this.open.get(key);
    if (!buf) {
      const h1 = hash32(key, 1);
      const h2 = hash32(key, 2);
      buf = {
        key,
        owner: item.owner,
        group: item.group,
        stream: item.stream,
        shard: this.shards[h1 % this.shards.length]!,
        partitionKey: h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0') + hash32(key, 3).toString(16).padStart(8, '0') + hash32(key, 4).toString(16).padStart(8, '0'),
        items: [],
        first: item.sort,
        sent: false,
      };
      this.open.set(key, buf);
      this.queue.push(buf);
    }
    buf.items.push(item);
    if (buf.items.length >= MAX_EVENTS_PER_RECORD) this.send(buf, item.sort);
  }

  /** Sends every buffer whose oldest event is at least 5 s older than `now`. */
  advance(now: number): void {
    while (this.head < this.queue.length) {
      const buf = this.queue[this.head]!;
      if (!buf.sent) {
        if (buf.first > now - MAX_BUFFER_AGE_MS) break;
        this.send(buf, buf.first + MAX_BUFFER_AGE_MS);
      }
      this.head++;
    }
    if (this.head > 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  flushAll(): void {
    for (const buf of this.queue.slice(this.head)) if (!buf.sent) this.send(buf, buf.first + MAX_BUFFER_AGE_MS);
    this.queue = [];
    this.head = 0;
  }

  private send(buf: StreamBuffer, at: number): void {
    buf.sent = true;
    this.open.delete(buf.key);
    let events = '';
    for (let i = 0; i < buf.items.length; i++) {
      const e = buf.items[i]!;
      events += `${i ? ',' : ''}{"id":"${e.id}","timestamp":${e.ts},"message":${JSON.stringify(e.message)}}`;
    }
    const payload = `{"owner":"${buf.owner}","logGroup":${JSON.stringify(buf.group)},"logStream":${JSON.stringify(buf.stream)},"subscriptionFilters":["fnwatch"],"messageType":"DATA_MESSAGE","logEvents":[${events}]}`;
    buf.shard.write(at + 150 + this.rng.int(1000), buf.partitionKey, payload, buf.items.length);
  }
}

/** Shard file name for an index. */
export function shardFileName(index: number): string {
  return `shard-${String(index).padStart(3, '0')}.ndjson.gz`;
}
