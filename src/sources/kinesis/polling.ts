/**
 * Reading a shard with GetShardIterator/GetRecords, within the per-shard limits every polling
 * consumer shares: at most 5 GetRecords calls/s (a minimum spacing, 200 ms by default, and an idle
 * interval, 1 s by default, once the shard is drained) and 2 MB/s (after a response of B bytes the
 * next call waits B / 2 MB/s). Throttling is retried with backoff for as long as it lasts; an expired
 * iterator is renewed after the last record handed out; dropped connections are retried for a
 * bounded time.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetRecordsCommandOutput,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { awsErrorName, errorDetail, isAbort, isThrottle, isTransient, kinesisError, withTimeout } from './errors.ts';
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  pause,
  recordBytes,
  type Backoff,
  type Fetched,
  type KinesisSourceEvent,
  type ShardReader,
  type StartPosition,
} from './reader.ts';

export interface PollingOptions {
  /** Wait after an empty response (default 1000 ms) */
  idleIntervalMs?: number;
  /** Shortest time between two GetRecords calls on one shard (default 200 ms: 5 calls/s) */
  minIntervalMs?: number;
  /** Read budget per shard (default 2 MiB/s) */
  maxBytesPerSecond?: number;
  /** GetRecords `Limit` (default 10,000, the maximum) */
  maxRecordsPerCall?: number;
  /** Backoff on throttling and transient errors */
  backoff?: Backoff;
  /** Transient errors (connections, 5xx) are retried for this long, then the source fails (default 30 s) */
  retryBudgetMs?: number;
  /** A call without an answer after this long counts as a transient failure (default 10 s) */
  callTimeoutMs?: number;
}

/**
 * @example
 * const reader = new PollingReader(kinesis, 'fnwatch-logs', 'http://127.0.0.1:4567', {}, console.log);
 * for await (const f of reader.read('shardId-000000000000', { type: 'TRIM_HORIZON' }, signal)) console.log(f.records.length);
 */
export class PollingReader implements ShardReader {
  private readonly idleMs: number;
  private readonly minMs: number;
  private readonly bytesPerMs: number;
  private readonly limit: number;
  private readonly backoff: Backoff;
  private readonly budgetMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly stream: string,
    private readonly endpoint: string,
    opts: PollingOptions = {},
    private readonly report: (e: KinesisSourceEvent) => void = () => {},
  ) {
    this.idleMs = opts.idleIntervalMs ?? 1_000;
    this.minMs = opts.minIntervalMs ?? 200;
    this.bytesPerMs = (opts.maxBytesPerSecond ?? 2 * 1024 * 1024) / 1000;
    this.limit = opts.maxRecordsPerCall ?? 10_000;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.budgetMs = opts.retryBudgetMs ?? 30_000;
    this.timeoutMs = opts.callTimeoutMs ?? 10_000;
  }

  async *read(shardId: string, start: StartPosition, signal: AbortSignal): AsyncGenerator<Fetched, void, void> {
    let last: string | undefined;
    let iterator = await this.iterator(shardId, start, signal);
    let notBefore = 0;
    let failures = 0;
    let failingSince: number | undefined;
    while (iterator !== undefined && !signal.aborted) {
      if (!(await pause(notBefore - performance.now(), signal))) return;
      const calledAt = performance.now();
      let out: GetRecordsCommandOutput;
      try {
        const input = { ShardIterator: iterator, Limit: this.limit };
        out = await withTimeout(this.timeoutMs, signal, (abortSignal) => this.kinesis.send(new GetRecordsCommand(input), { abortSignal }));
        failures = 0;
        failingSince = undefined;
      } catch (err) {
        if (signal.aborted) return;
        const name = awsErrorName(err);
        if (name === 'ExpiredIteratorException') {
          const from: StartPosition = last === undefined ? start : { type: 'AFTER_SEQUENCE_NUMBER', sequence: last };
          this.report({ type: 'iterator-renewed', shard: shardId, after: last });
          iterator = await this.iterator(shardId, from, signal);
          continue;
        }
        failures++;
        const delayMs = backoffDelay(failures, this.backoff);
        if (isThrottle(err)) {
          this.report({ type: 'throttled', shard: shardId, operation: 'GetRecords', delayMs });
        } else if (isTransient(err) || isAbort(err)) {
          failingSince ??= calledAt;
          if (calledAt - failingSince >= this.budgetMs) throw kinesisError(err, 'GetRecords', this.stream, this.endpoint);
          this.report({ type: 'retry', shard: shardId, operation: 'GetRecords', error: `${name}: ${errorDetail(err)}`, delayMs });
        } else {
          throw kinesisError(err, `GetRecords (${shardId})`, this.stream, this.endpoint);
        }
        notBefore = performance.now() + delayMs;
        continue;
      }

      const records = out.Records ?? [];
      let bytes = 0;
      for (const r of records) bytes += recordBytes(r);
      if (out.MillisBehindLatest !== undefined) this.report({ type: 'lag', shard: shardId, millisBehindLatest: out.MillisBehindLatest });
      notBefore = calledAt + Math.max(this.minMs, bytes / this.bytesPerMs, records.length === 0 ? this.idleMs : 0);
      iterator = out.NextShardIterator ?? undefined;
      const end = iterator === undefined;
      if (records.length > 0) last = records[records.length - 1]!.SequenceNumber;
      if (records.length > 0 || end) {
        yield {
          records,
          bytes,
          millisBehindLatest: out.MillisBehindLatest,
          end,
          childShardIds: out.ChildShards?.map((c) => c.ShardId!).filter(Boolean),
        };
      }
    }
  }

  /** GetShardIterator, retried on throttling (5 calls/s per shard) and, for a bounded time, on transient errors. */
  private async iterator(shardId: string, from: StartPosition, signal: AbortSignal): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = { StreamName: this.stream, ShardId: shardId, ShardIteratorType: from.type };
    if (from.type === 'AFTER_SEQUENCE_NUMBER') input.StartingSequenceNumber = from.sequence;
    if (from.type === 'AT_TIMESTAMP') input.Timestamp = new Date(from.timestamp ?? 0);
    let failures = 0;
    const started = performance.now();
    for (;;) {
      try {
        const out = await withTimeout(this.timeoutMs, signal, (abortSignal) => this.kinesis.send(new GetShardIteratorCommand(input), { abortSignal }));
        return out.ShardIterator ?? undefined;
      } catch (err) {
        if (signal.aborted) return undefined;
        failures++;
        const delayMs = backoffDelay(failures, this.backoff);
        if (isThrottle(err)) {
          this.report({ type: 'throttled', shard: shardId, operation: 'GetShardIterator', delayMs });
        } else if ((isTransient(err) || isAbort(err)) && performance.now() - started < this.budgetMs) {
          this.report({ type: 'retry', shard: shardId, operation: 'GetShardIterator', error: `${awsErrorName(err)}: ${errorDetail(err)}`, delayMs });
        } else {
          throw kinesisError(err, `GetShardIterator (${shardId})`, this.stream, this.endpoint);
        }
        if (!(await pause(delayMs, signal))) return undefined;
      }
    }
  }
}
